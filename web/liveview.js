// A running run's progress: a bar per mode, the mode running now with its elapsed time and an
// ETA, and its throughput and latency percentiles drawn live from progress.live (the counters
// and samples the runner sends a few times a second).
import { el, chartBox, exposed } from './dom.js';
import { fmtInt, fmtDuration, fmtNum, isNum, runModes } from './format.js';
import { serverModel, idealMs, lanesOf } from './model.js';
import { liveSeries } from './series.js';
import { liveChart } from './charts.js';
import { isSweep } from './sweep.js';

// Per-mode {done, total} from a RUN's progress, filling gaps when the server sends only totals.
export function modeProgress(run, progress) {
  const modes = runModes(run);
  const out = {};
  const p = progress || {};
  const per = (run.spec && run.spec.requests) || 0;
  let left = p.done || 0;
  for (const m of modes) {
    const known = p.modes && p.modes[m];
    if (known) out[m] = {done: known.done || 0, total: known.total || per};
    else out[m] = {done: Math.min(left, per), total: per};
    left = Math.max(0, left - out[m].done);
  }
  // A finished mode is complete, unless the run is a sweep: then it comes back at the next level.
  if (!isSweep(run)) for (const r of run.results || []) if (out[r.mode]) out[r.mode].done = out[r.mode].total;
  return out;
}

// The ideal time of one mode at one level against the run's server model, or null.
function idealAt(run, mode, level) {
  const ideal = idealMs(mode, Object.assign({}, run.spec, {concurrency: level}), serverModel(run.spec));
  return isNum(ideal) && ideal > 0 ? ideal : null;
}

// The (mode, level) points of a run in run order: levels outer, modes inner.
function points(run) {
  const levels = isSweep(run) ? run.spec.concurrency : [run.spec.concurrency];
  const modes = (run.spec && run.spec.modes) || runModes(run);
  return levels.flatMap(c => modes.map(m => ({mode: m, level: c})));
}

// Milliseconds left in the running mode, or null when nothing can be said yet. The mode needs
// ⌈N / width⌉ rounds (width: its lanes, at most the server's workers when the model is known) of
// R each, R being the server's delay D, or the latency its ended requests took when that is
// longer (a slower server or machine than the model) or when there is no model; less the time
// elapsed. A mode later than that (or with a rate) goes by its pace so far.
function modeEta(run, live, level) {
  const total = run.spec.requests;
  const server = serverModel(run.spec);
  const lanes = lanesOf(live.mode, level);
  const done = live.done || 0;
  if (done >= total) return 0;
  let left = null;
  // A client program (no lanes known) goes by its pace alone.
  if (lanes !== null && run.spec.rate > 0) {
    const ideal = idealMs(live.mode, Object.assign({}, run.spec, {concurrency: level}), server);
    if (isNum(ideal)) left = ideal - live.elapsed_ms;
  } else if (lanes !== null) {
    const samples = (live.points || []).filter(x => isNum(x.p50_ms));
    const latency = samples.length ? samples[samples.length - 1].p50_ms : null;
    let round = server && server.delay_ms > 0 ? server.delay_ms : null;
    // Beyond the server's workers, latency includes the wait for one: the model's D stands.
    if (isNum(latency) && (!server || lanes <= server.workers)) round = Math.max(round ?? 0, latency);
    const width = server ? Math.max(1, Math.min(lanes, server.workers)) : lanes;
    if (isNum(round)) left = Math.ceil(total / width) * round - live.elapsed_ms;
  }
  if (isNum(left) && left > 0) return left;
  return done > 0 ? ((total - done) * live.elapsed_ms) / done : null;
}

// Milliseconds the points after the running one should take (their ideal times), or null when
// some has no model.
function restEta(run, mode, level) {
  const all = points(run);
  const i = all.findIndex(p => p.mode === mode && p.level === level);
  if (i < 0) return null;
  let ms = 0;
  for (const p of all.slice(i + 1)) {
    const ideal = idealAt(run, p.mode, p.level);
    if (!isNum(ideal)) return null;
    ms += ideal;
  }
  return ms;
}

// The live panel of `run`. Returns {node, current (the status line), update(status, progress),
// destroy()}.
export function livePanel(run) {
  const bars = {};
  const current = el('p', {class: 'current-mode', id: 'current-mode', 'aria-live': 'polite'});
  const clock = el('p', {class: 'live-clock', id: 'live-clock'});
  const list = el('div', {class: 'progress-list'});
  for (const m of runModes(run)) {
    const bar = el('progress', {id: 'progress-' + m, max: 1, value: 0, 'aria-label': `progress of ${m}`});
    const count = el('span', {class: 'count'});
    bars[m] = {bar, count, row: el('div', {class: 'progress-row', dataset: {mode: m}}, el('span', {class: 'mode-name', text: m}), bar, count)};
    list.append(bars[m].row);
  }
  const {box, canvas} = chartBox(220, {id: 'live-chart', role: 'img', 'aria-label': 'Throughput and latency of the running mode, live'});
  const chartNote = el('p', {class: 'muted', id: 'live-note', text: 'The running mode\'s throughput and p50/p99 latency appear here as its requests end.'});
  const title = el('h3', {id: 'live-title', text: 'Live'});
  const node = el('div', {class: 'live-body'}, current, clock, list, title, chartNote, box);
  let chart = null, chartMode = null;
  // When each point (mode at a level) began, on this page's clock, to learn the time between one
  // point's end and the next one's start (starting workers, storing rows) for the run's ETA.
  const starts = [];
  const gapMs = () => {
    const gaps = [];
    for (let k = 1; k < starts.length; k++) {
      const prev = (run.results || []).find(r => r.mode === starts[k - 1].mode && r.concurrency === starts[k - 1].level);
      if (prev && isNum(prev.wall_ms)) gaps.push(Math.max(0, starts[k].at - starts[k - 1].at - prev.wall_ms));
    }
    return gaps.length ? gaps.reduce((a, g) => a + g, 0) / gaps.length : 0;
  };

  function drawLive(live) {
    if (!live || !live.mode) return;
    const series = liveSeries(live);
    if (!chart || chartMode !== live.mode) {
      if (chart) chart.destroy();
      chart = liveChart(canvas, live.mode, series);
      chartMode = live.mode;
    } else {
      chart.data.datasets[0].data = series.rps;
      chart.data.datasets[1].data = series.p50;
      chart.data.datasets[2].data = series.p99;
      chart.update('none');
    }
    title.textContent = `${live.mode}, live`;
    chartNote.textContent = series.rps.length ? `Requests ended per second over the last second or ten requests, and the p50/p99 latency of the requests that ended in each quarter second.`
      : `Waiting for ${live.mode}'s first requests to end…`;
  }

  function update(status, p) {
    const per = modeProgress(run, p);
    for (const [m, v] of Object.entries(per)) {
      if (!bars[m]) continue;
      bars[m].bar.max = Math.max(1, v.total);
      bars[m].bar.value = v.done;
      bars[m].count.textContent = `${fmtInt(v.done)} / ${fmtInt(v.total)}`;
      bars[m].row.classList.toggle('active', !!p && p.mode === m);
    }
    if (status === 'cancelling') current.textContent = 'Cancelling…';
    else if (status === 'queued') current.textContent = 'Queued: waiting for the runs before it.';
    else if (status === 'waiting') current.textContent = 'Waiting for its shards to join.';
    else current.textContent = p && p.mode ? `Running ${p.mode}${isSweep(run) && isNum(p.concurrency) ? ` at C=${p.concurrency}` : ''}…` : 'Starting…';
    const live = p && p.live;
    let eta = null, runEta = null;
    if (live && live.mode) {
      const level = isSweep(run) ? (isNum(p.concurrency) ? p.concurrency : run.spec.concurrency[0]) : run.spec.concurrency;
      const total = run.spec.requests;
      const finished = (run.results || []).reduce((a, r) => a + (isNum(r.wall_ms) ? r.wall_ms : 0), 0);
      eta = modeEta(run, live, level);
      const rest = restEta(run, live.mode, level);
      const after = points(run).length - 1 - points(run).findIndex(x => x.mode === live.mode && x.level === level);
      const last = starts[starts.length - 1];
      if (!last || last.mode !== live.mode || last.level !== level) starts.push({mode: live.mode, level, at: Date.now() - live.elapsed_ms});
      runEta = isNum(eta) && isNum(rest) ? eta + rest + after * gapMs() : null;
      clock.textContent = `${live.mode}${isSweep(run) ? ` at C=${level}` : ''}: ${fmtDuration(live.elapsed_ms)} elapsed, ${fmtInt(live.done)} of ${fmtInt(total)} ended` +
        (live.errors ? ` (${fmtInt(live.errors)} failed)` : '') +
        (isNum(eta) ? `, about ${fmtDuration(eta)} left in this mode` : ', its time left is known once a request ends') +
        (after > 0 ? (isNum(runEta) ? `; the run should end in about ${fmtDuration(runEta)}` : `; ${after} more ${isSweep(run) ? 'points' : 'modes'} follow`) : '') +
        `. Run time so far: ${fmtDuration(finished + live.elapsed_ms)}.`;
      drawLive(live);
    } else if (status === 'running') {
      clock.textContent = isNum(p && p.done) && p.done > 0 ? `${fmtInt(p.done)} requests ended so far.` : '';
    }
    exposed().progress = {status, mode: p && p.mode, modes: per,
      live: live ? {mode: live.mode, points: (live.points || []).length, elapsed_ms: live.elapsed_ms, done: live.done, eta_ms: eta, run_eta_ms: runEta, rate: live.elapsed_ms > 0 ? fmtNum((live.done * 1000) / live.elapsed_ms) : null} : null};
  }

  return {
    node,
    current,
    update,
    destroy() {
      if (chart) chart.destroy();
      chart = null;
    },
  };
}
