// The workload of a run: what must be the same for two runs' numbers to be compared (target,
// requests, concurrency, modes, rate, work per response, keep-alive). Pure functions.
import { fmtInt, fmtRate, fmtMs } from './format.js';

const list = v => (Array.isArray(v) ? v.join(', ') : v === undefined || v === null ? '' : String(v));

// [name, value as text] per field of a spec's workload.
const FIELDS = [
  ['target', s => `${(s.target && s.target.method) || 'GET'} ${(s.target && s.target.url) || ''}`],
  ['requests', s => fmtInt(s.requests)],
  ['concurrency', s => (Array.isArray(s.concurrency) ? s.concurrency.map(fmtInt).join(', ') : fmtInt(s.concurrency))],
  ['modes', s => list(s.modes)],
  ['rate', s => (s.rate > 0 ? fmtRate(s.rate) : 'no limit')],
  ['work per response', s => (s.work_us > 0 ? fmtMs(s.work_us / 1000) : 'none')],
  ['keep-alive', s => (s.keepalive === false ? 'off' : 'on')],
];

function workloadFields(spec) {
  const s = spec || {};
  return FIELDS.map(([name, get]) => [name, get(s)]);
}

// A string equal for two specs exactly when their workloads are.
export function workloadKey(spec) {
  return workloadFields(spec).map(([, v]) => v).join('\u0001');
}

// The fields in which two specs differ: [{field, a, b}].
export function workloadDiffs(specA, specB) {
  const a = workloadFields(specA), b = workloadFields(specB);
  return a.map(([field, va], i) => ({field, a: va, b: b[i][1]})).filter(d => d.a !== d.b);
}

// "GET http://x/ · 9 requests × 3 · sync, threads · no rate limit" (what a trend is of).
export function workloadText(spec) {
  const f = Object.fromEntries(workloadFields(spec));
  return `${f.target} · ${f.requests} requests × ${f.concurrency} · ${f.modes}` +
    (f.rate !== 'no limit' ? ` · rate ${f.rate}` : '') + (f['work per response'] !== 'none' ? ` · work ${f['work per response']}` : '') +
    (f['keep-alive'] === 'off' ? ' · no keep-alive' : '');
}
