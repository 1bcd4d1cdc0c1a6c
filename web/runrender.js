// Draws a run: its header, summary (bars + table), timelines, latency distribution and
// throughput. Used by the run view and, unchanged, by the offline HTML report, so it only
// needs the run, its /charts aggregates and the dashboard's config (demo target).
import { el, clear, chartBox, exposed } from './dom.js';
import { fmtMs, fmtNum, fmtInt, fmtKb, fmtRatio, fmtDate, cpuMs, isNum, runModes, modeColor } from './format.js';
import { targetModel, idealMs, speedup, timelineBars, PHASES } from './model.js';
import { summaryChart, timelineChart, latencyChart, throughputChart } from './charts.js';

export function statusBadge(status) {
  return el('span', {class: 'badge badge-' + (status || 'unknown'), text: status || 'unknown'});
}

// Title, target and spec of a run.
export function renderRunHeader(run) {
  const s = run.spec || {};
  const t = s.target || {};
  const title = el('h1', {class: 'run-title'});
  if (run.label) title.append(el('span', {class: 'run-label', text: run.label}), ' ');
  title.append(el('span', {class: 'run-id', text: 'run ' + run.id}), ' ', statusBadge(run.status));
  title.lastChild.id = 'run-status';
  const facts = [
    ['target', `${t.method || 'GET'} ${t.url || ''}`],
    ['requests', fmtInt(s.requests)],
    ['concurrency', fmtInt(s.concurrency)],
    ['modes', (s.modes || []).join(', ')],
    ['timeout', isNum(s.timeout_ms) ? fmtMs(s.timeout_ms) : '–'],
    ['rate', s.rate ? fmtNum(s.rate) + ' req/s' : 'no limit'],
    ['keep-alive', s.keepalive === false ? 'off' : 'on'],
    ['started', fmtDate(run.created_at)],
    ['finished', fmtDate(run.finished_at)],
  ];
  const dl = el('dl', {class: 'facts'});
  for (const [k, v] of facts) dl.append(el('div', {}, el('dt', {text: k}), el('dd', {text: v})));
  const parts = [title, dl];
  if (run.message) parts.push(el('p', {class: 'run-message', role: 'status', text: run.message}));
  return el('header', {class: 'run-header'}, parts);
}

// Rows of the summary: one per finished mode, in run order.
export function summaryRows(run, config) {
  const server = targetModel(run.spec, config);
  const results = run.results || [];
  return results.map(r => ({
    mode: r.mode,
    wall_ms: r.wall_ms,
    ideal_ms: idealMs(r.mode, run.spec, server),
    speedup: speedup(results, r.mode),
    result: r,
  }));
}

function summaryTable(rows) {
  const head = ['mode', 'ok', 'errors', 'wall time', 'ideal', 'speed-up', 'req/s', 'p50', 'p90', 'p99', 'max', 'CPU time', 'peak memory'];
  const tbody = el('tbody');
  for (const row of rows) {
    const r = row.result;
    const lat = r.latency_ms || {};
    const kinds = r.errors_by_kind ? Object.entries(r.errors_by_kind).filter(([, n]) => n > 0).map(([k, n]) => `${k}: ${n}`).join(', ') : '';
    const cpu = cpuMs(r);
    tbody.append(el('tr', {dataset: {mode: r.mode}},
      el('th', {scope: 'row'}, el('span', {class: 'swatch', style: `background:${modeColor(r.mode)}`}), r.mode),
      el('td', {text: fmtInt(r.ok)}),
      el('td', {class: r.errors > 0 ? 'bad' : '', title: kinds || null, text: fmtInt(r.errors) + (kinds ? ` (${kinds})` : '')}),
      el('td', {text: fmtMs(r.wall_ms), dataset: {wallMs: String(r.wall_ms)}}),
      el('td', {text: fmtMs(row.ideal_ms)}),
      el('td', {text: row.mode === 'sync' ? '1×' : fmtRatio(row.speedup)}),
      el('td', {text: fmtNum(r.rps)}),
      el('td', {text: fmtMs(lat.p50)}),
      el('td', {text: fmtMs(lat.p90)}),
      el('td', {text: fmtMs(lat.p99)}),
      el('td', {text: fmtMs(lat.max)}),
      el('td', {text: cpu === null ? '–' : fmtMs(cpu), title: r.cpu_ms ? `user ${fmtMs(r.cpu_ms.user)}, sys ${fmtMs(r.cpu_ms.sys)}` : null}),
      el('td', {text: fmtKb(r.peak_rss_kb)}),
    ));
  }
  return el('div', {class: 'table-wrap'},
    el('table', {class: 'data summary-table'},
      el('thead', {}, el('tr', {}, head.map(h => el('th', {scope: 'col', text: h})))),
      tbody));
}

// The summary section (bars + table) into `section`; returns the chart (null when no mode has
// finished yet).
export function renderSummary(section, run, config) {
  clear(section);
  const rows = summaryRows(run, config);
  section.append(el('h2', {text: 'Summary'}));
  if (!rows.length) {
    section.append(el('p', {class: 'muted', text: 'No mode has finished yet.'}));
    exposed().summary = {rows: []};
    return null;
  }
  const server = targetModel(run.spec, config);
  if (server) {
    section.append(el('p', {class: 'muted', text:
      `Target: the demo server, ${server.workers} workers, ${fmtMs(server.delay_ms)} per response.` +
      (rows.some(r => isNum(r.ideal_ms)) ? ' The black tick on each bar is the ideal time: sync N×D, the others ⌈N / min(C, W)⌉×D.' : '')}));
  }
  const {box, canvas} = chartBox(260, {'aria-label': 'Wall time per mode', role: 'img', id: 'summary-chart'});
  section.append(box, summaryTable(rows));
  exposed().summary = {rows: rows.map(r => ({mode: r.mode, wall_ms: r.wall_ms, ideal_ms: r.ideal_ms, speedup: r.speedup}))};
  return summaryChart(canvas, rows);
}

function legend() {
  return el('ul', {class: 'legend', 'aria-label': 'Timeline phases'},
    PHASES.map(p => el('li', {}, el('span', {class: 'swatch' + (p.key === 'wait' ? ' thin' : ''), style: `background:${p.color};border-color:${p.border || 'rgba(15,23,42,.55)'}`}), p.label)));
}

// Timelines of every mode on one shared time axis, with zoom (range inputs, drag, reset).
function renderTimelines(section, charts) {
  section.append(el('h2', {text: 'Timelines'}),
    el('p', {class: 'muted', text: 'One row per lane (thread, process or async slot); each request is a bar from its start to its end. Hover a bar for its details; drag across a timeline to zoom.'}),
    legend());
  const modes = (charts && charts.modes) || [];
  const built = modes.map(m => ({m, bars: timelineBars(m.timeline)}));
  let full = 0;
  for (const {m, bars} of built) full = Math.max(full, bars.endMs, isNum(m.wall_ms) ? m.wall_ms : 0);
  full = full > 0 ? full : 1;

  const from = el('input', {type: 'number', id: 'zoom-from', min: 0, step: 'any', value: 0, inputmode: 'decimal'});
  const to = el('input', {type: 'number', id: 'zoom-to', min: 0, step: 'any', value: +full.toFixed(3), inputmode: 'decimal'});
  const status = el('span', {class: 'muted zoom-status', 'aria-live': 'polite'});
  const queue = el('input', {type: 'checkbox', id: 'show-queue-wait'});
  const instances = [];
  const state = {min: 0, max: full, full};
  const info = {};
  exposed().timelines = info;
  exposed().zoom = state;

  function apply(min, max) {
    if (!isNum(min) || !isNum(max) || max <= min) return;
    state.min = Math.max(0, min);
    state.max = max;
    from.value = +state.min.toFixed(3);
    to.value = +state.max.toFixed(3);
    for (const c of instances) {
      c.options.scales.x.min = state.min;
      c.options.scales.x.max = state.max;
      c.update('none');
    }
    const zoomed = state.min > 0 || state.max < full;
    status.textContent = zoomed ? `showing ${fmtMs(state.min)} – ${fmtMs(state.max)}` : '';
  }
  const zoomForm = el('form', {class: 'zoom', onsubmit: e => { e.preventDefault(); apply(Number(from.value), Number(to.value)); }},
    el('label', {for: 'zoom-from'}, 'From (ms) '), from,
    el('label', {for: 'zoom-to'}, 'to (ms) '), to,
    el('button', {type: 'submit', text: 'Zoom'}),
    el('button', {type: 'button', id: 'zoom-reset', text: 'Reset zoom', onclick: () => apply(0, full)}),
    status);
  const queueRow = el('div', {class: 'controls'},
    el('label', {class: 'check', for: 'show-queue-wait'}, queue, ' show how long each request waited for a free lane since the mode started'));
  section.append(zoomForm, queueRow);
  if (!built.length) section.append(el('p', {class: 'muted', text: 'No timeline yet.'}));

  for (const {m, bars} of built) {
    const t = m.timeline || {};
    const note = `${fmtInt(bars.drawn)} requests on ${bars.labels.length} lane${bars.labels.length === 1 ? '' : 's'}` +
      (t.sampled ? ` — a sample of ${fmtInt(t.requests ? t.requests.length : 0)} of ${fmtInt(t.total)} (per lane and time slice the longest request, and every error)` : '') +
      (bars.errors ? `, ${fmtInt(bars.errors)} errors` : '');
    const height = Math.min(560, Math.max(96, bars.labels.length * 26 + 64));
    const {box, canvas} = chartBox(height, {'aria-label': `Timeline of ${m.mode}: ${note}`, role: 'img', dataset: {mode: m.mode}, class: 'timeline'});
    const band = el('div', {class: 'drag-band', hidden: true});
    box.append(band);
    section.append(el('div', {class: 'timeline-mode', dataset: {mode: m.mode}},
      el('h3', {}, el('span', {class: 'swatch', style: `background:${modeColor(m.mode)}`}), m.mode, ' ', el('small', {class: 'muted', text: note})),
      box));
    const chart = timelineChart(canvas, m.mode, bars, t.requests || [], 0, full);
    instances.push(chart);
    info[m.mode] = {
      lanes: bars.labels.length,
      lanesUsed: bars.lanesUsed,
      requests: bars.drawn,
      errors: bars.errors,
      total: t.total,
      sampled: !!t.sampled,
      phases: Object.fromEntries(Object.entries(bars.phases).map(([k, v]) => [k, v.length])),
    };
    dragZoom(canvas, band, chart, apply);
  }
  queue.addEventListener('change', () => {
    built.forEach(({m}, k) => {
      const bars = timelineBars(m.timeline, queue.checked);
      const chart = instances[k];
      chart.data.datasets.find(d => d.phase === 'wait').data = bars.phases.wait;
      chart.update('none');
      info[m.mode].phases.wait = bars.phases.wait.length;
    });
  });
  return instances;
}

// Drag across a chart's plot area to zoom every timeline to that time range.
function dragZoom(canvas, band, chart, apply) {
  let startX = null;
  const xOf = e => e.clientX - canvas.getBoundingClientRect().left;
  const clamp = x => Math.min(Math.max(x, chart.chartArea.left), chart.chartArea.right);
  canvas.addEventListener('pointerdown', e => {
    if (e.button !== 0) return;
    const x = xOf(e);
    if (x < chart.chartArea.left || x > chart.chartArea.right) return;
    startX = x;
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener('pointermove', e => {
    if (startX === null) return;
    const x = clamp(xOf(e));
    band.hidden = false;
    band.style.left = Math.min(startX, x) + 'px';
    band.style.width = Math.abs(x - startX) + 'px';
    band.style.top = chart.chartArea.top + 'px';
    band.style.height = chart.chartArea.bottom - chart.chartArea.top + 'px';
  });
  const finish = e => {
    if (startX === null) return;
    const x = clamp(xOf(e));
    const a = Math.min(startX, x), b = Math.max(startX, x);
    startX = null;
    band.hidden = true;
    if (b - a >= 6) apply(chart.scales.x.getValueForPixel(a), chart.scales.x.getValueForPixel(b));
  };
  canvas.addEventListener('pointerup', finish);
  canvas.addEventListener('pointercancel', () => { startX = null; band.hidden = true; });
}

function renderLatency(section, charts) {
  const modes = (charts && charts.modes) || [];
  const kind = el('select', {id: 'latency-kind'},
    el('option', {value: 'cdf', text: 'cumulative (CDF)'}),
    el('option', {value: 'histogram', text: 'histogram'}));
  const log = el('input', {type: 'checkbox', id: 'latency-log'});
  const {box, canvas} = chartBox(300, {'aria-label': 'Latency distribution of every mode', role: 'img', id: 'latency-chart'});
  let chart = null;
  const draw = () => {
    chart = latencyChart(canvas, modes, kind.value, log.checked);
    exposed().latency = {kind: kind.value, log: log.checked, modes: modes.map(m => m.mode)};
  };
  kind.addEventListener('change', draw);
  log.addEventListener('change', draw);
  section.append(el('h2', {text: 'Latency distribution'}),
    el('div', {class: 'controls'},
      el('label', {for: 'latency-kind'}, 'Show '), kind,
      el('label', {class: 'check'}, log, ' logarithmic time axis')),
    box);
  draw();
  return () => chart;
}

function renderThroughput(section, charts) {
  const modes = (charts && charts.modes) || [];
  const {box, canvas} = chartBox(260, {'aria-label': 'Throughput over time per mode', role: 'img', id: 'throughput-chart'});
  section.append(el('h2', {text: 'Throughput over time'}),
    el('p', {class: 'muted', text: 'Requests completed per second, per interval of the mode (a request counts when it ends).'}), box);
  return throughputChart(canvas, modes);
}

// Renders the whole run into root (cleared first). Returns {destroy} to free its charts.
export function renderRun(root, run, charts, config) {
  clear(root);
  const all = [];
  const summary = el('section', {id: 'summary', class: 'card'});
  const timelines = el('section', {id: 'timelines', class: 'card'});
  const latency = el('section', {id: 'latency', class: 'card'});
  const throughput = el('section', {id: 'throughput', class: 'card'});
  root.append(renderRunHeader(run), summary, timelines, latency, throughput);
  const s = renderSummary(summary, run, config);
  if (s) all.push(s);
  all.push(...renderTimelines(timelines, charts));
  const lat = renderLatency(latency, charts);
  all.push(renderThroughput(throughput, charts));
  const x = exposed();
  x.run = {id: run.id, status: run.status, label: run.label || '', modes: runModes(run)};
  return {
    destroy() {
      for (const c of all) c.destroy();
      const l = lat();
      if (l) l.destroy();
    },
  };
}
