// A running run's progress: a bar per mode, the mode running now with its elapsed time and an
// ETA, and its throughput and latency percentiles drawn live from progress.live (the counters
// and samples the runner sends a few times a second).
import { el, chartBox, exposed } from './dom.js';
import { fmtInt, fmtMs, fmtNum, isNum, runModes } from './format.js';
import { targetModel, idealMs } from './model.js';
import { liveSeries, etaMs } from './series.js';
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

// The time the modes not started yet should take, when the server is known; else null.
function remainingIdeal(run, config, current) {
  const server = targetModel(run.spec, config);
  if (isSweep(run)) return null; /* the modes run again at every level */
  const done = new Set((run.results || []).map(r => r.mode));
  let ms = 0;
  for (const m of runModes(run)) {
    if (done.has(m) || m === current) continue;
    const ideal = idealMs(m, run.spec, server);
    if (!isNum(ideal)) return null;
    ms += ideal;
  }
  return ms;
}

// The live panel of `run`. Returns {node, current (the status line), update(status, progress),
// destroy()}.
export function livePanel(run, config) {
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
    else current.textContent = p && p.mode ? `Running ${p.mode}${isSweep(run) && isNum(p.concurrency) ? ` at C=${p.concurrency}` : ''}…` : 'Starting…';
    const live = p && p.live;
    let eta = null;
    if (live && live.mode) {
      const total = (per[live.mode] && per[live.mode].total) || (run.spec && run.spec.requests);
      const finished = (run.results || []).reduce((a, r) => a + (isNum(r.wall_ms) ? r.wall_ms : 0), 0);
      eta = etaMs(live, total);
      const rest = remainingIdeal(run, config, live.mode);
      const left = (run.results || []).length + 1 < runModes(run).length;
      clock.textContent = `${live.mode}: ${fmtMs(live.elapsed_ms)} elapsed, ${fmtInt(live.done)} of ${fmtInt(total)} ended` +
        (live.errors ? ` (${fmtInt(live.errors)} failed)` : '') +
        (isNum(eta) ? `, about ${fmtMs(eta)} left in this mode` : '') +
        (left ? (isNum(rest) && isNum(eta) ? `; the run should end in about ${fmtMs(eta + rest)}` : '; more modes follow') : '') +
        `. Run time so far: ${fmtMs(finished + live.elapsed_ms)}.`;
      drawLive(live);
    } else if (status === 'running') {
      clock.textContent = isNum(p && p.done) && p.done > 0 ? `${fmtInt(p.done)} requests ended so far.` : '';
    }
    exposed().progress = {status, mode: p && p.mode, modes: per,
      live: live ? {mode: live.mode, points: (live.points || []).length, elapsed_ms: live.elapsed_ms, eta_ms: eta, rate: live.elapsed_ms > 0 ? fmtNum((live.done * 1000) / live.elapsed_ms) : null} : null};
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
