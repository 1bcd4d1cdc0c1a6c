// Numbers derived from a run: ideal times, speed-ups, timeline phases. Pure functions.
import { isNum } from './format.js';

// What is known about the target's server: {workers, delay_ms} when the run's target is the
// dashboard's demo target (a `delay_ms` query override wins over the configured delay), else null.
export function targetModel(spec, config) {
  if (!spec || !spec.target || !config || !config.demo || !config.demo_target) return null;
  let url, demo;
  try {
    url = new URL(spec.target.url);
    demo = new URL(config.demo_target);
  } catch {
    return null;
  }
  if (url.protocol !== demo.protocol || url.host !== demo.host) return null;
  let delay = config.demo.delay_ms;
  const q = url.searchParams.get('delay_ms');
  if (q !== null && /^\d+$/.test(q)) delay = Number(q);
  if (!isNum(delay) || !isNum(config.demo.workers) || config.demo.workers < 1) return null;
  return {workers: config.demo.workers, delay_ms: delay};
}

// The least wall time a mode can take against a server of W workers that answers in D ms:
// sync N×D; the others ceil(N / min(C, W))×D; with a rate, the last request is not due before
// (N-1)/rate. null when the server is unknown.
export function idealMs(mode, spec, server) {
  if (!server || !spec) return null;
  const n = spec.requests, c = spec.concurrency, d = server.delay_ms;
  if (!isNum(n) || !isNum(c) || n < 1) return null;
  const width = mode === 'sync' ? 1 : Math.max(1, Math.min(c, server.workers));
  if (!isNum(d) || d <= 0) return null;
  let ideal = Math.ceil(n / width) * d;
  if (isNum(spec.rate) && spec.rate > 0) ideal = Math.max(ideal, ((n - 1) / spec.rate) * 1000 + d);
  return ideal;
}

// How many times faster than sync a mode's wall time is; null without a sync result.
export function speedup(results, mode) {
  const sync = (results || []).find(r => r.mode === 'sync');
  const r = (results || []).find(x => x.mode === mode);
  if (!sync || !r || !isNum(sync.wall_ms) || !isNum(r.wall_ms) || r.wall_ms <= 0) return null;
  return sync.wall_ms / r.wall_ms;
}

export const PHASES = [
  {key: 'connect', label: 'connecting', color: '#a78bfa'},
  {key: 'server', label: 'waiting for the server', color: '#bfdbfe', border: '#3b82f6'},
  {key: 'receive', label: 'receiving', color: '#22c55e'},
  {key: 'error', label: 'error', color: '#dc2626'},
  {key: 'wait', label: 'waiting for a slot', color: '#f59e0b'},
];

const us = v => (isNum(v) && v >= 0 ? v : null);

// A timeline ({lanes, total, sampled, requests: [ROW]}) as floating bars per phase, in ms:
// {labels: ['lane 0', ...], phases: {key: [{x: [from, to], y: label, i: row index}]},
//  drawn, errors, lanesUsed, endMs}. A request is drawn from start to end, split at connect
// and first byte; an error is one red bar. Waiting for a slot (sched → start) is drawn as a
// thin bar before it when the request was due at a time of its own (sched > 0, with a rate);
// without a rate every request is due at 0 and that wait is only drawn when queueWaits is set
// (it then runs under the lane's earlier requests, like the talk's semaphore picture).
export function timelineBars(timeline, queueWaits) {
  const rows = (timeline && timeline.requests) || [];
  let lanes = (timeline && timeline.lanes) || 0;
  for (const r of rows) if (isNum(r.lane) && r.lane + 1 > lanes) lanes = r.lane + 1;
  const labels = [];
  for (let l = 0; l < lanes; l++) labels.push('lane ' + l);
  const phases = {};
  for (const p of PHASES) phases[p.key] = [];
  const used = new Set();
  let drawn = 0, errors = 0, endMs = 0;
  rows.forEach((r, i) => {
    const start = us(r.start_us);
    if (start === null || !isNum(r.lane)) return;
    const y = labels[r.lane];
    const end = us(r.end_us) ?? start;
    const connect = us(r.connect_us), ttfb = us(r.ttfb_us), sched = us(r.sched_us) ?? 0;
    const bar = (key, a, b) => phases[key].push({x: [a / 1000, b / 1000], y, i});
    drawn++;
    used.add(r.lane);
    endMs = Math.max(endMs, end / 1000);
    if (start > sched && (sched > 0 || queueWaits)) bar('wait', sched, start);
    if (r.error_kind || r.error) {
      errors++;
      bar('error', start, Math.max(end, start));
      return;
    }
    const c = connect ?? start;
    if (connect !== null && connect > start) bar('connect', start, connect);
    const t = ttfb ?? c;
    if (ttfb !== null) bar('server', c, ttfb);
    bar('receive', t, Math.max(end, t));
  });
  return {labels, phases, drawn, errors, lanesUsed: used.size, endMs};
}

// The details of one request row, as [name, value] pairs (times in ms from the mode's start).
export function requestDetails(r) {
  const ms = v => (us(v) === null ? '–' : (v / 1000).toFixed(3) + ' ms');
  const span = (a, b) => (us(a) === null || us(b) === null ? '–' : ((b - a) / 1000).toFixed(3) + ' ms');
  const out = [
    ['request', '#' + r.seq + ' on lane ' + r.lane],
    ['status', r.status === null || r.status === undefined ? '–' : String(r.status)],
    ['due', ms(r.sched_us)],
    ['started', ms(r.start_us)],
    ['connected', ms(r.connect_us)],
    ['first byte', ms(r.ttfb_us)],
    ['ended', ms(r.end_us)],
    ['total', span(r.start_us, r.end_us)],
    ['bytes', isNum(r.bytes) ? String(r.bytes) : '–'],
  ];
  if (r.error_kind || r.error) out.push(['error', (r.error_kind || '') + (r.error ? ': ' + r.error : '')]);
  return out;
}
