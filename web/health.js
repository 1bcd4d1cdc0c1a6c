// What went wrong in a run, in words: modes whose requests all or mostly failed, their most
// common error, and the thresholds' verdict. Pure functions over RUN, RESULT and the rows of
// GET /api/runs/ID/failures ({mode, kind, message, count, first_us, last_us}).
import { fmtInt, fmtMs, isNum } from './format.js';

// Requests of a RESULT that a cancel stopped (never ran, or cut off in flight): not failures.
export function cancelledCount(r) {
  return (r && r.errors_by_kind && r.errors_by_kind.cancelled) || 0;
}

// Requests of a RESULT that really failed (errors other than a cancel's).
export function failedCount(r) {
  return r ? Math.max(0, (r.errors || 0) - cancelledCount(r)) : 0;
}

// 'cancelled' (the run was cancelled during this mode), 'all' (no request ok), 'mostly' (half
// or more failed), 'some', 'none' (no error), or 'empty' (no request ran).
export function failureLevel(r) {
  if (!r || !(r.requests > 0)) return 'empty';
  if (r.cancelled) return 'cancelled';
  const failed = failedCount(r);
  if (!(r.ok > 0) && failed > 0) return 'all';
  if (failed * 2 >= r.requests) return 'mostly';
  return failed > 0 ? 'some' : 'none';
}

// "cancelled after 3 of 9": how far a cancelled mode got (requests that ended before the cancel).
export function cancelledText(r) {
  return `cancelled after ${fmtInt(r.requests - cancelledCount(r))} of ${fmtInt(r.requests)}`;
}

// The failures rows of one mode, most frequent first (a cancel's rows are not failures).
function failuresOf(failures, mode) {
  return (failures || []).filter(f => f.mode === mode && f.kind !== 'cancelled').sort((a, b) => b.count - a.count);
}

// The failures of a run merged by message: one row per (kind, message) whatever the modes and
// levels it happened in, with its total count and the count per mode, most frequent first:
// [{kind, message, count, modes: [[mode, count]], first_us, last_us}].
export function failureGroups(failures, modes) {
  const groups = new Map();
  for (const f of failures || []) {
    if (f.kind === 'cancelled') continue;
    const key = f.kind + '\u0001' + (f.message || '');
    if (!groups.has(key)) groups.set(key, {kind: f.kind, message: f.message || '', count: 0, per: new Map(), first_us: f.first_us, last_us: f.last_us});
    const g = groups.get(key);
    g.count += f.count;
    g.per.set(f.mode, (g.per.get(f.mode) || 0) + f.count);
    g.first_us = Math.min(g.first_us, f.first_us);
    g.last_us = Math.max(g.last_us, f.last_us);
  }
  const order = m => (modes || []).indexOf(m);
  return [...groups.values()].sort((a, b) => b.count - a.count)
    .map(g => Object.assign(g, {modes: [...g.per].sort((a, b) => order(a[0]) - order(b[0]))}));
}

// “Couldn't connect to server” (connect, 3 of 3)
function errorPhrase(f, total, each) {
  if (!f) return '';
  return `“${f.message || f.kind}” (${f.kind}, ${fmtInt(f.count)}${isNum(total) ? ' of ' + fmtInt(total) : ''}${each ? ' in each' : ''})`;
}

// One sentence per group of modes whose requests all or mostly failed alike (the same counts and
// the same most common error are said once, naming every mode): [{modes, level, text}], in run
// order.
export function failureAlerts(results, failures) {
  const groups = [];
  for (const r of results || []) {
    const level = failureLevel(r);
    if (level !== 'all' && level !== 'mostly') continue;
    const top = failuresOf(failures, r.mode)[0] || null;
    const key = [level, r.requests, failedCount(r), top ? top.kind + top.message + top.count : ''].join('\u0001');
    const same = groups.find(g => g.key === key);
    if (same) same.modes.push(r.mode);
    else groups.push({key, level, modes: [r.mode], r, top});
  }
  return groups.map(({level, modes, r, top}) => {
    const each = modes.length > 1;
    const head = level === 'all'
      ? `${modes.join(', ')}: all ${fmtInt(r.requests)} requests failed${each ? ' in each' : ''}`
      : `${modes.join(', ')}: ${fmtInt(failedCount(r))} of ${fmtInt(r.requests)} requests failed${each ? ' in each' : ''}`;
    return {modes, level, text: head + (top ? ` — most often ${errorPhrase(top, r.requests, each)}.` : '.')};
  });
}

// A run's health at a glance (history, compare): {level: 'all' | 'mostly' | 'some' | 'none' |
// 'empty', modes: [modes whose requests all failed]}. 'all' when every mode that ran to its end
// failed; a mode a cancel stopped counts as neither.
export function runHealth(run) {
  const results = ((run && run.results) || []).filter(r => failureLevel(r) !== 'cancelled');
  const levels = results.map(failureLevel);
  const modes = [...new Set(results.filter((r, i) => levels[i] === 'all').map(r => r.mode))];
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

// The value (or, limit: true, the limit) of a threshold as people read it, with the digits
// `conlab run` prints: "302.4 ms", "66.7 %" (limit "1 %"), "6.59 req/s" (limit "50 req/s").
function thresholdValue(name, v, limit) {
  if (!isNum(v)) return '–';
  if (name === 'p99_ms') return fmtMs(v);
  if (name === 'error_rate') return `${+(v * 100).toFixed(limit ? 3 : 1)} %`;
  return `${limit ? +v.toFixed(3) : v.toFixed(2)} req/s`;
}

// "p99 latency 1000.3 ms > 500 ms" for one crossed threshold {mode, threshold, limit, value}.
export function crossedText(f) {
  const op = f.threshold === 'rps_min' ? '<' : '>';
  if (f.threshold === 'p99_ms' && !isNum(f.value)) return `p99 latency: no request to measure (limit ${thresholdValue(f.threshold, f.limit, true)})`;
  return `${THRESHOLD_NAMES[f.threshold] || f.threshold} ${thresholdValue(f.threshold, f.value)} ${op} ${thresholdValue(f.threshold, f.limit, true)}`;
}

// The thresholds of a spec as words: "p99 latency ≤ 500 ms, error rate ≤ 1 %".
export function thresholdsText(t) {
  if (!t) return '';
  return Object.entries(t).filter(([, v]) => isNum(v)).map(([k, v]) => `${THRESHOLD_NAMES[k] || k} ${k === 'rps_min' ? '≥' : '≤'} ${thresholdValue(k, v, true)}`).join(', ');
}
