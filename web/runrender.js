// Draws a run: its header, what went wrong in words (failed modes, thresholds), the summary
// (bars + table), timelines, latency, throughput and the failures table. Used by the run view
// and, unchanged, by the offline HTML report, so it needs only the run, its /charts aggregates,
// its failures and the dashboard's config (demo target); fetching is optional (extra.fetchWindow).
import { el, clear, chartBox, exposed } from './dom.js';
import { fmtMs, fmtNum, fmtRate, fmtInt, fmtKb, fmtRatio, fmtDate, cpuMs, isNum, runModes, modeColor } from './format.js';
import { targetModel, idealMs, speedup } from './model.js';
import { failureLevel, failureAlerts, failuresOf, runHealth, healthLabel, crossedText, thresholdsText } from './health.js';
import { summaryChart, latencyChart, throughputChart } from './charts.js';
import { renderTimelines } from './timelines.js';

export function statusBadge(status) {
  return el('span', {class: 'badge badge-' + (status || 'unknown'), text: status || 'unknown'});
}

// The badges after a run's status: its requests' health and its thresholds' verdict.
export function healthBadges(run) {
  const out = [];
  const label = healthLabel(runHealth(run));
  if (label) out.push(el('span', {class: 'badge badge-health badge-' + (runHealth(run).level === 'some' ? 'warn' : 'bad'), text: label}));
  if (run.verdict) out.push(el('span', {class: 'badge badge-verdict badge-' + (run.verdict.pass ? 'pass' : 'bad'), text: run.verdict.pass ? 'thresholds passed' : 'thresholds failed'}));
  return out;
}

function concurrencyText(c) {
  return Array.isArray(c) ? c.map(fmtInt).join(', ') : fmtInt(c);
}

// Title, target and spec of a run.
export function renderRunHeader(run) {
  const s = run.spec || {};
  const t = s.target || {};
  const title = el('h1', {class: 'run-title'});
  if (run.label) title.append(el('span', {class: 'run-label', text: run.label}), ' ');
  const badge = statusBadge(run.status);
  badge.id = 'run-status';
  title.append(el('span', {class: 'run-id', text: 'run ' + run.id}), ' ', badge, ' ', el('span', {class: 'health-badges', id: 'run-health'}, healthBadges(run)));
  const facts = [
    ['target', `${t.method || 'GET'} ${t.url || ''}`],
    ['requests', fmtInt(s.requests)],
    ['concurrency', concurrencyText(s.concurrency)],
    ['modes', (s.modes || []).join(', ')],
    ['timeout', isNum(s.timeout_ms) ? fmtMs(s.timeout_ms) : '–'],
    ['rate', s.rate ? fmtRate(s.rate) : 'no limit'],
    ['keep-alive', s.keepalive === false ? 'off' : 'on'],
    s.work_us ? ['work per response', fmtMs(s.work_us / 1000)] : null,
    s.thresholds ? ['thresholds', thresholdsText(s.thresholds)] : null,
    ['started', fmtDate(run.created_at)],
    ['finished', fmtDate(run.finished_at)],
  ].filter(Boolean);
  const dl = el('dl', {class: 'facts'});
  for (const [k, v] of facts) dl.append(el('div', {}, el('dt', {text: k}), el('dd', {text: v})));
  const parts = [title, dl];
  if (run.message) parts.push(el('p', {class: 'run-message', role: 'status', text: run.message}));
  return el('header', {class: 'run-header'}, parts);
}

// What went wrong, in words, at the top of the run: modes whose requests all or mostly failed
// (with their most common error) and the thresholds crossed. Fills `section` (hidden when
// nothing is to be said).
export function renderAlerts(section, run, failures) {
  clear(section);
  const alerts = failureAlerts(run.results, failures);
  const items = alerts.map(a => el('li', {class: 'alert-' + a.level, dataset: {mode: a.mode}, text: a.text}));
  const v = run.verdict;
  // A client that broke the protocol (docs/CLIENTS.md): the rule, the line and its stderr.
  for (const r of run.results || []) {
    if (!r.client || !r.error) continue;
    items.push(el('li', {class: 'alert-client', dataset: {mode: r.mode}},
      el('span', {text: r.error}), r.stderr ? el('pre', {class: 'client-stderr', text: r.stderr}) : null));
  }
  if (v && !v.pass) for (const f of v.failed || []) items.push(el('li', {class: 'alert-threshold', dataset: {mode: f.mode}, text: `${f.mode}: threshold crossed — ${crossedText(f)}.`}));
  const all = alerts.length && alerts.length === (run.results || []).length && alerts.every(a => a.level === 'all');
  const head = all ? 'Every request failed: these timings measure failures, not the server.'
    : alerts.length ? 'Some modes failed: their numbers are not comparable with the others.'
      : v && !v.pass ? 'The run crossed its thresholds.' : null;
  section.hidden = !head;
  if (head) section.append(el('h2', {text: head}), el('ul', {}, items));
  exposed().alerts = {head, items: items.map(li => li.textContent)};
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
    failed: failureLevel(r) === 'all',
    result: r,
  }));
}

function verdictCell(run, mode) {
  if (!run.verdict) return null;
  const crossed = (run.verdict.failed || []).filter(f => f.mode === mode);
  return el('td', {class: crossed.length ? 'bad verdict' : 'good verdict', 'data-label': 'thresholds',
    text: crossed.length ? 'fail: ' + crossed.map(crossedText).join('; ') : 'pass'});
}

function summaryTable(run, rows) {
  // With a rate, the latency from each request's due time (corrected for coordinated omission).
  const due = !!(run.spec && run.spec.rate > 0);
  const head = ['mode', 'ok', 'errors', 'wall time', 'ideal', 'speed-up', 'req/s', 'p50', 'p90', 'p99', 'max',
    ...(due ? ['p50 from due', 'p99 from due'] : []), 'CPU time', 'peak memory'];
  if (run.verdict) head.push('thresholds');
  const tbody = el('tbody');
  for (const row of rows) {
    const r = row.result;
    const lat = r.latency_ms || {};
    const kinds = r.errors_by_kind ? Object.entries(r.errors_by_kind).filter(([, n]) => n > 0).map(([k, n]) => `${k}: ${n}`).join(', ') : '';
    const cpu = cpuMs(r);
    const td = (label, text, attrs) => el('td', Object.assign({'data-label': label, text}, attrs || {}));
    tbody.append(el('tr', {dataset: {mode: r.mode}, class: row.failed ? 'failed' : null},
      el('th', {scope: 'row', title: r.client ? `a client: ${r.hello || ''}; start-up ${fmtMs(r.startup_ms)}, not in its wall time` : null},
        el('span', {class: 'swatch', style: `background:${modeColor(r.mode)}`}), r.mode),
      td('ok', fmtInt(r.ok)),
      td('errors', fmtInt(r.errors) + (kinds ? ` (${kinds})` : ''), {class: r.errors > 0 ? 'bad' : ''}),
      td('wall time', fmtMs(r.wall_ms), {dataset: {wallMs: String(r.wall_ms)}}),
      td('ideal', fmtMs(row.ideal_ms)),
      td('speed-up', row.failed ? '–' : row.mode === 'sync' ? '1×' : fmtRatio(row.speedup)),
      // A rate of failures is not a throughput: no req/s without an ok request.
      td('req/s', row.failed ? 'all failed' : fmtNum(r.rps), {class: row.failed ? 'bad rps' : 'rps'}),
      td('p50', fmtMs(lat.p50)),
      td('p90', fmtMs(lat.p90)),
      td('p99', fmtMs(lat.p99)),
      td('max', fmtMs(lat.max)),
      ...(due ? [td('p50 from due', fmtMs((r.latency_from_due_ms || {}).p50)),
        td('p99 from due', fmtMs((r.latency_from_due_ms || {}).p99))] : []),
      td('CPU time', cpu === null ? '–' : fmtMs(cpu), {title: r.cpu_ms ? `user ${fmtMs(r.cpu_ms.user)}, sys ${fmtMs(r.cpu_ms.sys)}` : null}),
      td('peak memory', fmtKb(r.peak_rss_kb)),
      verdictCell(run, r.mode)));
  }
  return el('div', {class: 'table-wrap'},
    el('table', {class: 'data summary-table'},
      el('thead', {}, el('tr', {}, head.map(h => el('th', {scope: 'col', text: h})))),
      tbody));
}

// One sentence on the target and the ideal time, true to this run (rate, 0 ms server).
function idealCaption(run, server, rows) {
  if (!server) return null;
  let text = `Target: the demo server, ${server.workers} workers, ${fmtMs(server.delay_ms)} per response.`;
  if (!(server.delay_ms > 0)) text += ' It answers at once, so there is no ideal time to mark: the time is the client\'s own.';
  else if (rows.some(r => isNum(r.ideal_ms))) {
    text += ' The black tick on each bar is the ideal time: sync N×D, the others ⌈N / min(C, W)⌉×D';
    text += run.spec && run.spec.rate > 0 ? `, or (N−1)/R + D when the rate of ${fmtRate(run.spec.rate)} spaces the requests further apart.` : '.';
  }
  return el('p', {class: 'muted', id: 'ideal-caption', text});
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
  const {box, canvas} = chartBox(260, {'aria-label': 'Wall time per mode', role: 'img', id: 'summary-chart'});
  section.append(idealCaption(run, targetModel(run.spec, config), rows) || '', box, summaryTable(run, rows));
  exposed().summary = {rows: rows.map(r => ({mode: r.mode, wall_ms: r.wall_ms, ideal_ms: r.ideal_ms, speedup: r.speedup, failed: r.failed}))};
  return summaryChart(canvas, rows);
}

// Why a chart of these modes has nothing to draw for some (or all) of them.
function emptyNote(results, what) {
  const empty = (results || []).filter(r => !(r.ok > 0)).map(r => r.mode);
  if (!empty.length) return null;
  const all = empty.length === (results || []).length;
  return el('p', {class: 'empty-note', text: all
    ? `No ${what}: no request was ok in any mode (see the failures below).`
    : `No ${what} for ${empty.join(', ')}: no request was ok there (see the failures below).`});
}

function renderLatency(section, run, charts) {
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
    el('p', {class: 'muted', text: 'Over the ok requests. The time axis starts at zero; tick the logarithmic axis to see the spread.'}),
    emptyNote(run.results, 'latency') || '',
    el('div', {class: 'controls'},
      el('label', {for: 'latency-kind'}, 'Show '), kind,
      el('label', {class: 'check'}, log, ' logarithmic time axis')),
    box);
  draw();
  return () => chart;
}

function renderThroughput(section, run, charts) {
  const modes = (charts && charts.modes) || [];
  const {box, canvas} = chartBox(260, {'aria-label': 'Throughput over time per mode', role: 'img', id: 'throughput-chart'});
  const caption = el('p', {class: 'muted', id: 'throughput-caption'});
  section.append(el('h2', {text: 'Throughput over time'}), caption, emptyNote(run.results, 'throughput') || '', box);
  const chart = throughputChart(canvas, modes, run.spec);
  const intervals = chart.data.datasets.filter(d => isNum(d.intervalMs)).map(d => `${d.mode} ${fmtMs(d.intervalMs)}`);
  caption.textContent = 'Ok requests ended per second (failed ones are not throughput: see Failures), per interval of the mode; the intervals are wide enough to hold about ten requests each (one interval for a short mode)' +
    (run.spec && run.spec.rate > 0 ? ' and a whole number of arrivals at the run\'s rate' : '') + (intervals.length ? ` (intervals: ${intervals.join(', ')}).` : '.');
  exposed().throughput = {intervals: Object.fromEntries(chart.data.datasets.map(d => [d.mode, d.intervalMs]))};
  return chart;
}

// The failures table: per mode, each error kind and message with its count and when it was
// first and last seen (ms since the mode started), like Locust's Failures tab.
export function renderFailures(section, run, failures) {
  clear(section);
  section.append(el('h2', {text: 'Failures'}));
  if (failures === undefined) {
    section.append(el('p', {class: 'muted', text: 'The failures could not be loaded.'}));
    return;
  }
  const rows = runModes(run).flatMap(m => failuresOf(failures, m));
  if (!rows.length) {
    section.append(el('p', {class: 'muted', text: (run.results || []).length ? 'No request failed.' : 'No mode has finished yet.'}));
    return;
  }
  const total = m => ((run.results || []).find(r => r.mode === m) || {}).requests;
  const tbody = el('tbody');
  for (const f of rows) {
    const n = total(f.mode);
    const td = (label, text, cls) => el('td', {'data-label': label, class: cls || null, text});
    tbody.append(el('tr', {dataset: {mode: f.mode, kind: f.kind}},
      el('th', {scope: 'row', text: f.mode}), td('kind', f.kind), td('message', f.message || '', 'message'),
      td('count', fmtInt(f.count) + (isNum(n) && n > 0 ? ` of ${fmtInt(n)}` : '')),
      td('first seen', fmtMs(f.first_us / 1000)), td('last seen', fmtMs(f.last_us / 1000))));
  }
  section.append(el('p', {class: 'muted', text: 'Every failed request, grouped by mode, kind and message; first and last seen in time since the mode started.'}),
    el('div', {class: 'table-wrap'}, el('table', {class: 'data failures-table'},
      el('thead', {}, el('tr', {}, ['mode', 'kind', 'message', 'count', 'first seen', 'last seen'].map(h => el('th', {scope: 'col', text: h})))),
      tbody)));
}

// Renders the whole run into root (cleared first). extra: {failures (rows of /failures, or
// undefined when they could not be loaded), fetchWindow (zoom detail; absent offline)}.
// Returns {destroy} to free its charts.
export function renderRun(root, run, charts, config, extra = {}) {
  clear(root);
  const all = [];
  const alerts = el('section', {id: 'alerts', class: 'card alerts', role: 'alert'});
  const summary = el('section', {id: 'summary', class: 'card'});
  const timelines = el('section', {id: 'timelines', class: 'card'});
  const latency = el('section', {id: 'latency', class: 'card'});
  const throughput = el('section', {id: 'throughput', class: 'card'});
  const failures = el('section', {id: 'failures', class: 'card'});
  root.append(renderRunHeader(run), alerts, summary, timelines, latency, throughput, failures);
  renderAlerts(alerts, run, extra.failures);
  const s = renderSummary(summary, run, config);
  if (s) all.push(s);
  all.push(...renderTimelines(timelines, charts, {spec: run.spec, fetchWindow: extra.fetchWindow}));
  const lat = renderLatency(latency, run, charts);
  all.push(renderThroughput(throughput, run, charts));
  renderFailures(failures, run, extra.failures);
  exposed().run = {id: run.id, status: run.status, label: run.label || '', modes: runModes(run), verdict: run.verdict || null};
  return {
    destroy() {
      for (const c of all) c.destroy();
      const l = lat();
      if (l) l.destroy();
    },
  };
}
