// Draws a run: its header, what went wrong in words (failed modes, thresholds), the summary
// (bars + table), timelines, latency, throughput and the failures table. Used by the run view
// and, unchanged, by the offline HTML report, so it needs only the run, its /charts aggregates,
// its failures (the server's model is the spec's `expect`); fetching is optional (extra.fetchWindow).
import { el, clear, chartBox, exposed } from './dom.js';
import { fmtMs, fmtOver, fmtNum, fmtRate, fmtInt, fmtKb, fmtRatio, fmtDate, cpuMs, isNum, runModes, modeColor } from './format.js';
import { serverModel, idealMs, speedup } from './model.js';
import { failureLevel, failedCount, cancelledCount, cancelledText, failureAlerts, failureGroups, runHealth, healthLabel, crossedText, thresholdsText } from './health.js';
import { summaryChart, latencyChart, throughputChart } from './charts.js';
import { renderTimelines } from './timelines.js';
import { renderFindings } from './findings.js';
import { transportTable, renderPhases } from './transport.js';

// A run's status as a badge. `run` (optional) tones it: a run that ended "done" with every
// request failed gets a neutral badge, never a green one beside "all requests failed".
export function statusBadge(status, run) {
  const level = run ? runHealth(run).level : 'none';
  const tone = status === 'done' && (level === 'all' || level === 'mostly') ? ' badge-ended' : '';
  return el('span', {class: 'badge badge-' + (status || 'unknown') + tone, text: status || 'unknown'});
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

// What a spec's target.tls sets, in words: never a certificate's or a key's text.
function tlsText(tls) {
  if (!tls) return '';
  const parts = [];
  if (tls.insecure) parts.push('insecure (no verification)');
  if (tls.ca) parts.push('a CA');
  if (tls.cert) parts.push('a client certificate');
  if (tls.key) parts.push('a client key');
  return parts.join(', ');
}

// Title, target and spec of a run.
export function renderRunHeader(run) {
  const s = run.spec || {};
  const t = s.target || {};
  const title = el('h1', {class: 'run-title'});
  if (run.label) title.append(el('span', {class: 'run-label', text: run.label}), ' ');
  const badge = statusBadge(run.status, run);
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
    t.http && t.http !== '1.1' ? ['HTTP', t.http] : null,
    tlsText(t.tls) ? ['TLS', tlsText(t.tls)] : null,
    (t.resolve || []).length ? ['resolve', t.resolve.join(', ')] : null,
    (s.modes || []).includes('h2mux') ? ['h2mux connections', fmtInt(s.connections ?? 1)] : null,
    s.work_us ? ['work per response', fmtMs(s.work_us / 1000)] : null,
    s.thresholds ? ['thresholds', thresholdsText(s.thresholds)] : null,
    ['started', fmtDate(run.created_at)],
    ['finished', fmtDate(run.finished_at)],
  ].filter(Boolean);
  const dl = el('dl', {class: 'facts'});
  for (const [k, v] of facts) dl.append(el('div', {}, el('dt', {text: k}), el('dd', {text: v})));
  const parts = [title, dl];
  if (run.message) parts.push(el('p', {class: 'run-message', role: 'status', text: run.message}));
  const note = cancelNote(run);
  if (note) parts.push(el('p', {class: 'cancel-note', id: 'cancel-note', role: 'status', text: note}));
  return el('header', {class: 'run-header'}, parts);
}

// "Cancelled during sync (cancelled after 4 of 9); threads, async and processes did not run."
// for a cancelled run, else null.
function cancelNote(run) {
  if (run.status !== 'cancelled') return null;
  const results = run.results || [];
  const cut = results.filter(r => r.cancelled);
  const ran = new Set(results.map(r => r.mode));
  const never = ((run.spec && run.spec.modes) || []).filter(m => !ran.has(m));
  let text = cut.length
    ? 'Cancelled during ' + cut.map(r => `${r.mode}${isNum(r.concurrency) && Array.isArray(run.spec.concurrency) ? ' at C=' + r.concurrency : ''} (${cancelledText(r)})`).join(', ')
    : 'Cancelled' + (results.length ? ' between modes' : ' before it started');
  if (never.length && results.length) text += `; ${never.join(', ')} did not run`;
  return text + '. A cancelled mode\'s numbers cover the requests that ended before the cancel.';
}

// What went wrong, in words, at the top of the run: modes whose requests all or mostly failed
// (with their most common error) and the thresholds crossed. Fills `section` (hidden when
// nothing is to be said).
export function renderAlerts(section, run, failures) {
  clear(section);
  const alerts = failureAlerts(run.results, failures);
  const items = alerts.map(a => el('li', {class: 'alert-' + a.level, dataset: {modes: a.modes.join(' ')}, text: a.text}));
  const v = run.verdict;
  // A client that broke the protocol (docs/CLIENTS.md): the rule, the line and its stderr.
  for (const r of run.results || []) {
    if (!r.client || !r.error) continue;
    items.push(el('li', {class: 'alert-client', dataset: {modes: r.mode}},
      el('span', {text: r.error}), r.stderr ? el('pre', {class: 'client-stderr', text: r.stderr}) : null));
  }
  if (v && !v.pass) for (const f of v.failed || []) items.push(el('li', {class: 'alert-threshold', dataset: {modes: f.mode}, text: `${f.mode}: threshold crossed — ${crossedText(f)}.`}));
  const named = alerts.reduce((a, x) => a + x.modes.length, 0);
  const all = alerts.length && named === (run.results || []).length && alerts.every(a => a.level === 'all');
  const head = all ? 'Every request failed: these timings measure failures, not the server.'
    : alerts.length ? 'Some modes failed: their numbers are not comparable with the others.'
      : v && !v.pass ? 'The run crossed its thresholds.' : null;
  section.hidden = !head;
  if (head) section.append(el('h2', {text: head}), el('ul', {}, items));
  exposed().alerts = {head, items: items.map(li => li.textContent)};
}

// The ideal time of a RESULT: the one the server's `ideal` finding gives for that mode and
// level, else the same formula over the spec's `expect` (null without a model).
function idealOf(run, r, server) {
  const f = ((run && run.findings) || []).find(x => x.kind === 'ideal' && x.mode === r.mode && x.values && x.values.concurrency === r.concurrency);
  if (f && isNum(f.values.ideal_ms)) return f.values.ideal_ms;
  return idealMs(r.mode, Object.assign({}, run.spec, {concurrency: r.concurrency ?? run.spec.concurrency}), server);
}

// Rows of the summary: one per finished mode, in run order.
function summaryRows(run) {
  const server = serverModel(run.spec);
  const results = run.results || [];
  return results.map(r => {
    const ideal = idealOf(run, r, server);
    const level = failureLevel(r);
    return {
      mode: r.mode,
      wall_ms: r.wall_ms,
      ideal_ms: ideal,
      // Over the ideal only when the mode ran every request to an answer: a timeout or a cancel
      // ends a mode early for the wrong reason.
      over_ms: isNum(ideal) && (level === 'none' || level === 'empty') ? r.wall_ms - ideal : null,
      speedup: speedup(results, r.mode),
      failed: level === 'all',
      cancelled: level === 'cancelled',
      result: r,
    };
  });
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
  const results = rows.map(r => r.result);
  const ideal = rows.some(r => isNum(r.ideal_ms));
  // Attempts per second and the latency over every request say something apart from req/s and
  // the ok latency only when a request failed.
  const failing = results.some(r => failedCount(r) > 0);
  const attempts = failing && results.some(r => isNum(r.attempts_per_s));
  const all = failing && results.some(r => r.latency_all_ms);
  const head = ['mode', 'ok', 'errors', 'wall time', ...(ideal ? ['ideal', 'over ideal'] : []), 'speed-up', 'req/s',
    // The latency from due (a rate) or over every request (failures) takes p90's room: the table
    // must fit its card.
    ...(attempts ? ['attempts/s'] : []), 'p50', ...(due || all ? [] : ['p90']), 'p99', 'max', ...(all ? ['p99 of all'] : []),
    ...(due ? ['p50 from due', 'p99 from due'] : []), 'CPU time', 'peak memory'];
  if (run.verdict) head.push('thresholds');
  const tbody = el('tbody');
  for (const row of rows) {
    const r = row.result;
    const lat = r.latency_ms || {};
    const kinds = r.errors_by_kind ? Object.entries(r.errors_by_kind).filter(([k, n]) => n > 0 && k !== 'cancelled').map(([k, n]) => `${k}: ${n}`).join(', ') : '';
    const failed = failedCount(r);
    const cpu = cpuMs(r);
    const td = (label, text, attrs) => el('td', Object.assign({'data-label': label, text}, attrs || {}));
    const noSpeed = row.failed || row.cancelled;
    tbody.append(el('tr', {dataset: {mode: r.mode}, class: row.failed ? 'failed' : row.cancelled ? 'cancelled' : null},
      el('th', {scope: 'row', title: r.client ? `a client: ${r.hello || ''}; start-up ${fmtMs(r.startup_ms)}, not in its wall time` : null}, el('span', {class: 'swatch', style: `background:${modeColor(r.mode)}`}), r.mode,
        row.cancelled ? el('small', {class: 'muted mode-state', text: ' ' + cancelledText(r)}) : null),
      td('ok', fmtInt(r.ok)),
      el('td', {'data-label': 'errors', class: failed > 0 ? 'bad' : null}, fmtInt(failed), kinds ? el('small', {class: 'kinds', text: ' ' + kinds}) : null),
      td('wall time', fmtMs(r.wall_ms), {dataset: {wallMs: String(r.wall_ms)}}),
      ...(ideal ? [td('ideal', fmtMs(row.ideal_ms)), td('over ideal', fmtOver(row.over_ms), {class: 'over'})] : []),
      td('speed-up', noSpeed || !isNum(row.speedup) ? '–' : row.mode === 'sync' ? '1×' : fmtRatio(row.speedup)),
      // req/s is the API's: ok requests per second of wall time. A rate of failures is no
      // throughput, and a cancelled mode's is cut short.
      td('req/s', row.failed ? 'all failed' : row.cancelled ? '–' : fmtNum(r.rps), {class: row.failed ? 'bad rps' : 'rps'}),
      ...(attempts ? [td('attempts/s', fmtNum(r.attempts_per_s))] : []),
      td('p50', fmtMs(lat.p50)),
      due || all ? null : td('p90', fmtMs(lat.p90)),
      td('p99', fmtMs(lat.p99)),
      td('max', fmtMs(lat.max)),
      ...(all ? [td('p99 of all', fmtMs((r.latency_all_ms || {}).p99))] : []),
      ...(due ? [td('p50 from due', fmtMs((r.latency_from_due_ms || {}).p50)),
        td('p99 from due', fmtMs((r.latency_from_due_ms || {}).p99))] : []),
      td('CPU time', cpu === null ? '–' : fmtMs(cpu), {title: r.cpu_ms ? `user ${fmtMs(r.cpu_ms.user)}, sys ${fmtMs(r.cpu_ms.sys)}` : null}),
      td('peak memory', fmtKb(r.peak_rss_kb)),
      verdictCell(run, r.mode)));
  }
  const notes = [];
  if (attempts) notes.push('req/s counts the ok requests per second of wall time; attempts/s counts every request.');
  if (all) notes.push('p50–max are over the ok requests; "p99 of all" counts each failed request at its elapsed time (the latency thresholds use it).');
  return el('div', {},
    el('div', {class: 'table-wrap'},
      el('table', {class: 'data summary-table'},
        el('thead', {}, el('tr', {}, head.map(h => el('th', {scope: 'col', text: h})))),
        tbody)),
    notes.length ? el('p', {class: 'muted table-note', text: notes.join(' ')}) : null);
}

// The summary table alone of a run (the offline report's summary of each level of a sweep).
export function summaryTableOf(run) {
  return summaryTable(run, summaryRows(run));
}

// One sentence on the target and the ideal time, true to this run (rate, 0 ms server).
function idealCaption(run, server, rows) {
  if (!server) return null;
  let text = `Target: a server of ${server.workers} workers, ${fmtMs(server.delay_ms)} per response (the run's expected model).`;
  if (!(server.delay_ms > 0)) text += ' It answers at once, so there is no ideal time to mark: the time is the client\'s own.';
  else if (rows.some(r => isNum(r.ideal_ms))) {
    const sync = rows.some(r => r.mode === 'sync');
    const others = rows.some(r => r.mode !== 'sync');
    text += ' The black tick on each bar is the ideal time: ' + [sync ? 'sync N×D' : null, others ? (sync ? 'the others' : 'each mode') + ' ⌈N / min(C, W)⌉×D' : null].filter(Boolean).join(', ');
    text += run.spec && run.spec.rate > 0 ? `, or (N−1)/R + D when the rate of ${fmtRate(run.spec.rate)} spaces the requests further apart.` : '.';
  }
  return el('p', {class: 'muted', id: 'ideal-caption', text});
}

// The summary section (bars + table) into `section`; returns the chart (null when no mode has
// finished yet).
export function renderSummary(section, run) {
  clear(section);
  const rows = summaryRows(run);
  section.append(el('h2', {text: 'Summary'}));
  if (!rows.length) {
    section.append(el('p', {class: 'muted', text: 'No mode has finished yet.'}));
    exposed().summary = {rows: []};
    return null;
  }
  const {box, canvas} = chartBox(260, {'aria-label': 'Wall time per mode', role: 'img', id: 'summary-chart'});
  section.append(idealCaption(run, serverModel(run.spec), rows) || '', box, summaryTable(run, rows), transportTable(run.results) || '');
  exposed().summary = {rows: rows.map(r => ({mode: r.mode, wall_ms: r.wall_ms, ideal_ms: r.ideal_ms, over_ms: r.over_ms, speedup: r.speedup, failed: r.failed, cancelled: r.cancelled}))};
  return summaryChart(canvas, rows);
}

// Why a chart of these modes has nothing to draw for some (or all) of them.
function emptyNote(results, what) {
  const list = results || [];
  const cut = list.filter(r => !(r.ok > 0) && r.cancelled).map(r => r.mode);
  const empty = list.filter(r => !(r.ok > 0) && !r.cancelled).map(r => r.mode);
  const out = [];
  if (empty.length) {
    out.push(empty.length === list.length
      ? `No ${what}: no request was ok in any mode (see the failures below).`
      : `No ${what} for ${empty.join(', ')}: no request was ok there (see the failures below).`);
  }
  if (cut.length) out.push(`No ${what} for ${cut.join(', ')}: the run was cancelled before a request ended there.`);
  return out.length ? el('p', {class: 'empty-note', text: out.join(' ')}) : null;
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
  const failing = (run.results || []).some(r => failedCount(r) > 0);
  caption.textContent = 'Ok requests ended per second' + (failing ? ' (failed ones are not throughput: see Failures)' : '') +
    ', each drawn over the interval it was counted in; the intervals are wide enough to hold about ten requests each (one interval for a short mode; a short last one is merged into the one before)' +
    (run.spec && run.spec.rate > 0 ? ' and a whole number of arrivals at the run\'s rate' : '') + (intervals.length ? ` (intervals: ${intervals.join(', ')}).` : '.');
  exposed().throughput = {intervals: Object.fromEntries(chart.data.datasets.map(d => [d.mode, d.intervalMs]))};
  return chart;
}

// The failures table: each error (kind and message) once, with its count, the modes it happened
// in and when it was first and last seen (ms since its mode started), like Locust's Failures
// tab. Hidden when no request failed (a cancel's requests are not failures).
export function renderFailures(section, run, failures) {
  clear(section);
  section.hidden = false;
  if (failures === undefined) {
    section.append(el('h2', {text: 'Failures'}), el('p', {class: 'muted', text: 'The failures could not be loaded.'}));
    return;
  }
  const modes = runModes(run);
  const groups = failureGroups(failures, modes);
  if (!groups.length) {
    section.hidden = true;
    return;
  }
  const total = m => (run.results || []).filter(r => r.mode === m).reduce((a, r) => a + r.requests - cancelledCount(r), 0);
  const tbody = el('tbody');
  for (const g of groups) {
    const td = (label, text, cls) => el('td', {'data-label': label, class: cls || null, text});
    tbody.append(el('tr', {dataset: {kind: g.kind, modes: g.modes.map(([m]) => m).join(' ')}},
      el('th', {scope: 'row', class: 'message', text: g.message || g.kind}), td('kind', g.kind),
      td('count', fmtInt(g.count)),
      td('modes', g.modes.map(([m, n]) => `${m} ${fmtInt(n)} of ${fmtInt(total(m))}`).join(', '), 'modes'),
      td('first seen', fmtMs(g.first_us / 1000)), td('last seen', fmtMs(g.last_us / 1000))));
  }
  section.append(el('h2', {text: 'Failures'}),
    el('p', {class: 'muted', text: 'Every failed request, each message once with its count and the modes it happened in; first and last seen in time since its mode started.'}),
    el('div', {class: 'table-wrap'}, el('table', {class: 'data failures-table'},
      el('thead', {}, el('tr', {}, ['message', 'kind', 'count', 'modes', 'first seen', 'last seen'].map(h => el('th', {scope: 'col', text: h})))),
      tbody)));
}

// Renders the whole run into root (cleared first). extra: {failures (rows of /failures, or
// undefined when they could not be loaded), fetchWindow (zoom detail; absent offline)}.
// Returns {destroy} to free its charts.
export function renderRun(root, run, charts, extra = {}) {
  clear(root);
  const all = [];
  const alerts = el('section', {id: 'alerts', class: 'card alerts', role: 'alert'});
  const summary = el('section', {id: 'summary', class: 'card'});
  const timelines = el('section', {id: 'timelines', class: 'card'});
  const phases = el('section', {id: 'phases', class: 'card'});
  const latency = el('section', {id: 'latency', class: 'card'});
  const throughput = el('section', {id: 'throughput', class: 'card'});
  const failures = el('section', {id: 'failures', class: 'card'});
  root.append(renderRunHeader(run), alerts, extra.findings === false ? '' : renderFindings(run) || '', summary, timelines, phases, latency, throughput, failures);
  renderAlerts(alerts, run, extra.failures);
  const s = renderSummary(summary, run);
  if (s) all.push(s);
  all.push(...renderTimelines(timelines, charts, {spec: run.spec, fetchWindow: extra.fetchWindow}));
  const ph = renderPhases(phases, charts);
  if (ph) all.push(ph);
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
