// What went wrong in a run, in words: modes whose requests all or mostly failed, their most
// common error, and the thresholds' verdict. Pure functions over RUN, RESULT and the rows of
// GET /api/runs/ID/failures ({mode, kind, message, count, first_us, last_us}).
import { fmtInt, fmtMs, fmtNum, isNum } from './format.js';

// 'all' (no request ok), 'mostly' (half or more failed), 'some', 'none' (no error), or
// 'empty' (no request ran).
export function failureLevel(r) {
  if (!r || !(r.requests > 0)) return 'empty';
  if (!(r.ok > 0)) return 'all';
  if (r.errors * 2 >= r.requests) return 'mostly';
  return r.errors > 0 ? 'some' : 'none';
}

// The failures rows of one mode, most frequent first.
export function failuresOf(failures, mode) {
  return (failures || []).filter(f => f.mode === mode).sort((a, b) => b.count - a.count);
}

// “Couldn't connect to server” (connect, 3 of 3)
export function errorPhrase(f, total) {
  if (!f) return '';
  return `“${f.message || f.kind}” (${f.kind}, ${fmtInt(f.count)}${isNum(total) ? ' of ' + fmtInt(total) : ''})`;
}

// One sentence per mode whose requests all or mostly failed, with its most common error:
// [{mode, level, text}], in run order.
export function failureAlerts(results, failures) {
  const out = [];
  for (const r of results || []) {
    const level = failureLevel(r);
    if (level !== 'all' && level !== 'mostly') continue;
    const top = failuresOf(failures, r.mode)[0];
    const head = level === 'all'
      ? `${r.mode}: all ${fmtInt(r.requests)} requests failed`
      : `${r.mode}: ${fmtInt(r.errors)} of ${fmtInt(r.requests)} requests failed`;
    out.push({mode: r.mode, level, text: head + (top ? ` — most often ${errorPhrase(top, r.requests)}.` : '.')});
  }
  return out;
}

// A run's health at a glance (history, compare): {level: 'all' | 'mostly' | 'some' | 'none' |
// 'empty', modes: [modes whose requests all failed]}. 'all' when every finished mode failed.
export function runHealth(run) {
  const results = (run && run.results) || [];
  const levels = results.map(failureLevel);
  const modes = results.filter((r, i) => levels[i] === 'all').map(r => r.mode);
  let level = 'empty';
  if (results.length) {
    if (levels.every(l => l === 'all')) level = 'all';
    else if (levels.some(l => l === 'all' || l === 'mostly')) level = 'mostly';
    else if (levels.some(l => l === 'some')) level = 'some';
    else level = 'none';
  }
  return {level, modes};
}

// A short label for a run's health, or '' when nothing failed.
export function healthLabel(h) {
  if (h.level === 'all') return 'all requests failed';
  if (h.level === 'mostly') return h.modes.length ? `${h.modes.join(', ')}: all failed` : 'mostly failed';
  if (h.level === 'some') return 'some requests failed';
  return '';
}

const THRESHOLD_NAMES = {p99_ms: 'p99 latency', error_rate: 'error rate', rps_min: 'throughput'};

// The value of a threshold as people read it.
export function thresholdValue(name, v) {
  if (!isNum(v)) return '–';
  if (name === 'p99_ms') return fmtMs(v);
  if (name === 'error_rate') return fmtNum(v * 100, v * 100 >= 10 ? 0 : 1) + ' %';
  return fmtNum(v) + ' req/s';
}

// "p99 latency 1.00 s > 500 ms" for one crossed threshold {mode, threshold, limit, value}.
export function crossedText(f) {
  const op = f.threshold === 'rps_min' ? '<' : '>';
  return `${THRESHOLD_NAMES[f.threshold] || f.threshold} ${thresholdValue(f.threshold, f.value)} ${op} ${thresholdValue(f.threshold, f.limit)}`;
}

// The thresholds of a spec as words: "p99 latency ≤ 500 ms, error rate ≤ 1 %".
export function thresholdsText(t) {
  if (!t) return '';
  return Object.entries(t).filter(([, v]) => isNum(v)).map(([k, v]) => `${THRESHOLD_NAMES[k] || k} ${k === 'rps_min' ? '≥' : '≤'} ${thresholdValue(k, v)}`).join(', ');
}
