// Concurrency sweeps as data: a spec whose `concurrency` is a list runs every mode at every
// level. Pure functions over the API's RUN (no DOM).
import { modesOf, isNum } from './format.js';

// True for a spec (or a run's spec) whose concurrency is a list of levels.
export function isSweep(specOrRun) {
  const spec = specOrRun && specOrRun.spec ? specOrRun.spec : specOrRun;
  return !!spec && Array.isArray(spec.concurrency);
}

// The levels of a spec, increasing: [C] for a single level.
export function levelsOf(spec) {
  const c = spec && spec.concurrency;
  if (Array.isArray(c)) return c.filter(isNum);
  return isNum(c) ? [c] : [];
}

// "3" or "1, 2, 4, 8".
export function levelsText(c) {
  return Array.isArray(c) ? c.join(', ') : String(c ?? '');
}

// The form's text as the spec's concurrency: "8" → 8, "1,2,4" → [1, 2, 4]; anything else is
// returned as typed, for the API to refuse naming the field.
export function parseLevels(text) {
  const t = String(text ?? '').trim();
  if (t === '') return undefined;
  if (!t.includes(',')) return /^-?\d+$/.test(t) ? Number(t) : t;
  const parts = t.split(',').map(s => s.trim()).filter(s => s !== '');
  return parts.every(s => /^-?\d+$/.test(s)) ? parts.map(Number) : t;
}

// The RESULTs of one level, in run order.
export function resultsAt(run, level) {
  return ((run && run.results) || []).filter(r => r.concurrency === level);
}

// Per mode (in the order of the page's modes), its points in level order:
// [{mode, points: [{concurrency, rps, p50, p99, wall_ms, ok, errors, result}]}]. A level whose
// requests all failed has null rps and latencies: a rate of failures is no throughput.
export function sweepSeries(run) {
  const results = (run && run.results) || [];
  const modes = modesOf([run]).filter(m => results.some(r => r.mode === m));
  return modes.map(mode => ({
    mode,
    points: results.filter(r => r.mode === mode && isNum(r.concurrency))
      .sort((a, b) => a.concurrency - b.concurrency)
      .map(r => {
        const ok = r.ok > 0 && !r.cancelled;
        const lat = ok && r.latency_ms ? r.latency_ms : {};
        return {concurrency: r.concurrency, rps: ok ? r.rps : null, p50: isNum(lat.p50) ? lat.p50 : null,
          p99: isNum(lat.p99) ? lat.p99 : null, wall_ms: r.wall_ms, ok: r.ok, errors: r.errors, result: r};
      }),
  }));
}

// The knees the API found: [{mode, concurrency, text}] (findings of kind "knee").
export function kneesOf(run) {
  return ((run && run.findings) || []).filter(f => f.kind === 'knee' && f.values && isNum(f.values.concurrency))
    .map(f => ({mode: f.mode, concurrency: f.values.concurrency, text: f.text}));
}

// The points of two sweeps side by side: one row per (mode, level) that either ran, in mode
// then level order: [{mode, concurrency, a: RESULT|null, b: RESULT|null}].
export function pairPoints(runA, runB) {
  const key = r => r.mode + '@' + r.concurrency;
  const rows = new Map();
  for (const [side, run] of [['a', runA], ['b', runB]]) {
    for (const r of (run && run.results) || []) {
      if (!isNum(r.concurrency)) continue;
      if (!rows.has(key(r))) rows.set(key(r), {mode: r.mode, concurrency: r.concurrency, a: null, b: null});
      rows.get(key(r))[side] = r;
    }
  }
  const modes = modesOf([runA, runB]);
  const order = m => modes.indexOf(m);
  return [...rows.values()].sort((x, y) => order(x.mode) - order(y.mode) || x.concurrency - y.concurrency);
}
