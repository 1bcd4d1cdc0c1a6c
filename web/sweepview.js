// A sweep's run view and a comparison of two sweeps. The view: the findings at the top, how
// throughput and latency scale with concurrency (one line per mode, log₂ axis, the knee marked),
// a table of every point, and one level opened below with the run view's own summary,
// timelines, latency and throughput for it (clicking a point, or a level's button, opens it).
import { el, clear, chartBox, exposed } from './dom.js';
import { fmtMs, fmtNum, fmtInt, fmtDelta, isNum, modeColor } from './format.js';
import { renderRun, renderRunHeader, renderAlerts, renderFailures, summaryTableOf } from './runrender.js';
import { renderFindings } from './findings.js';
import { sweepSeries, kneesOf, levelsOf, resultsAt, pairPoints } from './sweep.js';
import { sweepRpsChart, sweepLatencyChart, sweepCompareChart } from './sweepcharts.js';

// "12.3 req/s · p50 100 ms · p99 201 ms" for one point (or why it has no speed).
function pointText(p) {
  if (!p) return '–';
  if (!isNum(p.rps)) return p.result && p.result.cancelled ? 'cancelled' : 'all failed';
  return `${fmtNum(p.rps)} req/s · p50 ${fmtMs(p.p50)} · p99 ${fmtMs(p.p99)}` + (p.errors ? ` · ${fmtInt(p.errors)} failed` : '');
}

function pointsTable(series, levels, open) {
  const tbody = el('tbody');
  for (const c of levels) {
    tbody.append(el('tr', {dataset: {concurrency: String(c)}},
      el('th', {scope: 'row'}, el('button', {type: 'button', class: 'level-open', dataset: {concurrency: String(c)},
        'aria-label': `Open level C=${c}`, text: `C = ${c}`, onclick: () => open(c, null)})),
      series.map(s => el('td', {dataset: {mode: s.mode}, text: pointText(s.points.find(p => p.concurrency === c))}))));
  }
  return el('div', {class: 'table-wrap'}, el('table', {class: 'data sweep-table'},
    el('thead', {}, el('tr', {}, el('th', {scope: 'col', text: 'level'}),
      series.map(s => el('th', {scope: 'col'}, el('span', {class: 'swatch', style: `background:${modeColor(s.mode)}`}), s.mode)))),
    tbody));
}

// Renders a sweep into root (cleared first). extra: {failures (rows of /failures or undefined),
// chartsAt(level) → Promise<charts of that level>, fetchWindow (zoom detail)}. Returns
// {ready (the first level drawn), open(level, mode), destroy()}. extra.allLevels adds every
// level's summary table (the offline report).
export function renderSweep(root, run, extra = {}) {
  clear(root);
  const levels = levelsOf(run.spec);
  const series = sweepSeries(run);
  const knees = kneesOf(run);
  const alerts = el('section', {id: 'alerts', class: 'card alerts', role: 'alert'});
  const scaling = el('section', {id: 'sweep', class: 'card', 'aria-labelledby': 'sweep-title'});
  const point = el('section', {id: 'sweep-point', class: 'card sweep-point', hidden: true, 'aria-live': 'polite'});
  // Every failure of the sweep, each message once (an opened level lists its own).
  const failures = el('section', {id: 'sweep-failures', class: 'card'});
  root.append(renderRunHeader(run), renderFindings(run) || '', alerts, scaling, failures, point);
  renderAlerts(alerts, run, extra.failures);
  renderFailures(failures, run, extra.failures);

  const rps = chartBox(280, {id: 'sweep-rps', role: 'img', 'aria-label': 'Requests per second against concurrency, one line per mode'});
  const lat = chartBox(280, {id: 'sweep-latency', role: 'img', 'aria-label': 'p50 and p99 latency against concurrency, one line per mode'});
  const kneeText = knees.length
    ? knees.map(k => `${k.mode} levels off at C=${k.concurrency}`).join('; ') + ' (the dashed line).'
    : 'No knee: throughput did not level off within these levels (or the sweep is too short to say).';
  scaling.append(
    el('h2', {id: 'sweep-title', text: `Scaling: ${fmtInt(run.spec.requests)} requests per mode at each of ${levels.length} levels`}),
    el('p', {class: 'muted', id: 'sweep-caption', text: `Each point is one mode at one concurrency level, on a log₂ axis. ${kneeText} Click a point, or a level below, to open its timelines.`}),
    el('div', {class: 'sweep-charts'},
      el('figure', {}, el('figcaption', {class: 'muted', text: 'throughput'}), rps.box),
      el('figure', {}, el('figcaption', {class: 'muted', text: 'latency: p50 solid, p99 dashed'}), lat.box)),
    pointsTable(series, levels, c => open(c, null)));

  const charts = [];
  let drawn = null;
  let token = 0;
  const info = {levels, knees, series: series.map(s => ({mode: s.mode, points: s.points.map(p => ({concurrency: p.concurrency, rps: p.rps, p50: p.p50, p99: p.p99}))})), open: null};
  exposed().sweep = info;

  // Opens one level below the charts: the run view's sections for the results of that level,
  // and scrolls to it (to `mode`'s timeline when given) unless quiet.
  async function open(level, mode, quiet) {
    const mine = ++token;
    point.hidden = false;
    clear(point).append(el('h2', {text: `C = ${level}`}), el('p', {class: 'muted', text: 'Loading this level…'}));
    let levelCharts = {modes: []};
    try {
      if (extra.chartsAt) levelCharts = await extra.chartsAt(level);
    } catch (err) {
      if (mine === token) clear(point).append(el('h2', {text: `C = ${level}`}), el('p', {class: 'form-error', text: `Could not load this level: ${err.message}`}));
      return;
    }
    if (mine !== token) return;
    if (drawn) drawn.destroy();
    const sub = Object.assign({}, run, {spec: Object.assign({}, run.spec, {concurrency: level}), results: resultsAt(run, level), verdict: null});
    const body = el('div', {class: 'sweep-point-body'});
    const failures = extra.failures === undefined ? undefined : extra.failures.filter(f => f.concurrency === level);
    clear(point).append(
      el('div', {class: 'sweep-point-head'},
        el('h2', {id: 'sweep-point-title', text: `C = ${level}: the ${resultsAt(run, level).length} modes at this level`}),
        el('button', {type: 'button', id: 'sweep-point-close', text: 'Close', onclick: () => { if (drawn) drawn.destroy(); drawn = null; point.hidden = true; info.open = null; }})),
      body);
    drawn = renderRun(body, sub, levelCharts, {failures, fetchWindow: extra.fetchWindow, findings: false});
    const header = body.querySelector('.run-header');
    if (header) header.remove(); // the run's own header is above
    exposed().sweep = Object.assign(info, {open: {concurrency: level, mode, modes: (levelCharts.modes || []).map(m => m.mode)}});
    const target = mode && point.querySelector(`.timeline-mode[data-mode="${mode}"]`);
    if (!quiet) (target || point).scrollIntoView({block: 'start'});
  }

  // The offline report holds every level's summary (the page opens one level at a time).
  if (extra.allLevels) {
    root.append(el('section', {class: 'card', id: 'levels', 'aria-labelledby': 'levels-title'},
      el('h2', {id: 'levels-title', text: 'Every level'}),
      levels.map(c => el('div', {class: 'level-summary', dataset: {concurrency: String(c)}},
        el('h3', {text: `C = ${c}`}),
        summaryTableOf(Object.assign({}, run, {spec: Object.assign({}, run.spec, {concurrency: c}), results: resultsAt(run, c), verdict: run.verdict && Object.assign({}, run.verdict, {failed: (run.verdict.failed || []).filter(f => f.concurrency === c)})}))))));
  }

  const pick = (mode, level) => open(level, mode);
  charts.push(sweepRpsChart(rps.canvas, series, levels, knees, pick));
  charts.push(sweepLatencyChart(lat.canvas, series, levels, knees, pick));
  // The knee is where a reader looks first: open it (else the highest level).
  const first = knees.length ? knees[0].concurrency : levels[levels.length - 1];
  const ready = isNum(first) ? open(first, null, true) : Promise.resolve();
  return {
    ready,
    open,
    destroy() {
      for (const c of charts) c.destroy();
      if (drawn) drawn.destroy();
    },
  };
}

// The point-by-point comparison of two runs, at least one a sweep: a table of req/s and p99 at
// each (mode, level) either ran, and both throughput curves on one chart. Returns
// {node, destroy()}.
export function renderSweepCompare(runA, runB) {
  const rows = pairPoints(runA, runB);
  const levels = [...new Set(rows.map(r => r.concurrency))].sort((a, b) => a - b);
  const rps = r => (r && r.ok > 0 && !r.cancelled ? r.rps : null);
  const p99 = r => (r && r.ok > 0 && !r.cancelled && r.latency_ms ? r.latency_ms.p99 : null);
  const tbody = el('tbody');
  const points = [];
  for (const row of rows) {
    const va = rps(row.a), vb = rps(row.b), la = p99(row.a), lb = p99(row.b);
    points.push({mode: row.mode, concurrency: row.concurrency, rps_a: va, rps_b: vb, p99_a: la, p99_b: lb});
    tbody.append(el('tr', {dataset: {mode: row.mode, concurrency: String(row.concurrency)}},
      el('th', {scope: 'row'}, el('span', {class: 'swatch', style: `background:${modeColor(row.mode)}`}), `${row.mode} at C=${row.concurrency}`),
      el('td', {text: isNum(va) ? fmtNum(va) : row.a ? 'no ok request' : '–'}),
      el('td', {text: isNum(vb) ? fmtNum(vb) : row.b ? 'no ok request' : '–'}),
      el('td', {class: 'delta', dataset: {metric: 'rps'}, text: fmtDelta(va, vb, v => fmtNum(v))}),
      el('td', {text: fmtMs(la)}), el('td', {text: fmtMs(lb)}),
      el('td', {class: 'delta', dataset: {metric: 'p99'}, text: fmtDelta(la, lb, fmtMs)})));
  }
  const {box, canvas} = chartBox(280, {id: 'sweep-compare-chart', role: 'img', 'aria-label': 'Requests per second against concurrency of both runs'});
  const node = el('section', {class: 'card', id: 'sweep-compare'},
    el('h2', {text: 'Point by point'}),
    el('p', {class: 'muted', text: 'Each mode at each concurrency level either run measured; Δ = B − A. On the chart A is dashed, B solid.'}),
    el('div', {class: 'table-wrap'}, el('table', {class: 'data sweep-compare-table'},
      el('thead', {}, el('tr', {}, ['point', 'A req/s', 'B req/s', 'Δ req/s', 'A p99', 'B p99', 'Δ p99'].map(h => el('th', {scope: 'col', text: h})))),
      tbody)),
    box);
  exposed().sweepCompare = {points, levels};
  let chart = null;
  return {
    node,
    draw() {
      chart = sweepCompareChart(canvas, sweepSeries(runA), sweepSeries(runB), levels);
    },
    destroy() {
      if (chart) chart.destroy();
    },
  };
}
