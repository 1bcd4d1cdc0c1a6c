// Numbers derived from a run: ideal times, speed-ups, timeline phases. Pure functions.
import { isNum } from './format.js';

// The server's model a run was measured against: its spec's `expect` ({delay_ms, workers}, filled
// in by the server for the demo target, or given with --expect-*), or null.
export function serverModel(spec) {
  const e = spec && spec.expect;
  return e && isNum(e.delay_ms) && isNum(e.workers) && e.workers >= 1 ? {workers: e.workers, delay_ms: e.delay_ms} : null;
}

// The built-in modes, whose lanes the ideal time knows: sync one, the others C.
const LANE_MODES = new Set(['sync', 'threads', 'async', 'processes', 'h2mux']);

// How many requests a built-in mode keeps in flight at concurrency c (sync one); null for a
// client program, whose shape is its own.
export function lanesOf(mode, c) {
  return LANE_MODES.has(mode) ? (mode === 'sync' ? 1 : c) : null;
}

// The least wall time a mode can take against a server of W workers that answers in D ms:
// sync N×D; the others ceil(N / min(C, W))×D; with a rate, the last request is not due before
// (N-1)/rate. null when the server is unknown.
export function idealMs(mode, spec, server) {
  // A client program's shape (one request at a time or C) is its own: no ideal is guessed for it.
  if (!server || !spec || !LANE_MODES.has(mode)) return null;
  const n = spec.requests, c = spec.concurrency, d = server.delay_ms;
  if (!isNum(n) || !isNum(c) || n < 1) return null;
  const width = mode === 'sync' ? 1 : Math.max(1, Math.min(c, server.workers));
  if (!isNum(d) || d <= 0) return null;
  let ideal = Math.ceil(n / width) * d;
  if (isNum(spec.rate) && spec.rate > 0) ideal = Math.max(ideal, ((n - 1) / spec.rate) * 1000 + d);
  return ideal;
}

// Whether a RESULT's timings describe the workload: some request was ok and the mode ran to the
// end. A mode whose requests all failed, or that was cancelled, is fast for the wrong reason.
export function comparable(r) {
  return !!r && r.ok > 0 && !r.cancelled;
}

// How many times faster than sync a mode's wall time is; null without a comparable sync result
// or when the mode itself is not comparable.
export function speedup(results, mode) {
  const sync = (results || []).find(r => r.mode === 'sync');
  const r = (results || []).find(x => x.mode === mode);
  if (!comparable(sync) || !comparable(r) || !isNum(sync.wall_ms) || !isNum(r.wall_ms) || r.wall_ms <= 0) return null;
  return sync.wall_ms / r.wall_ms;
}

export const PHASES = [
  {key: 'wait', label: 'waiting for a free lane', color: '#f59e0b', alpha: 0.55},
  {key: 'connect', label: 'connecting', color: '#a78bfa'},
  {key: 'tls', label: 'TLS handshake', color: '#db2777', border: '#831843'},
  {key: 'server', label: 'waiting for the server', color: '#bfdbfe', border: '#3b82f6'},
  {key: 'receive', label: 'receiving', color: '#22c55e'},
  {key: 'error', label: 'failed', color: '#dc2626'},
  {key: 'cancelled', label: 'cancelled while in flight', color: '#94a3b8', border: '#475569'},
];

// Fill and outline per phase, as timeline.js wants them.
export const PHASE_COLORS = Object.fromEntries(PHASES.map(p => [p.key, {fill: p.color, stroke: p.border, alpha: p.alpha}]));

const us = v => (isNum(v) && v >= 0 ? v : null);

// The bars of one request row r (index i) on row `row`: its wait for a lane (sched → start, on
// band `waitBand`) when it queued for one, then its phases: connecting, waiting for the server,
// receiving, or one red bar when it failed. Over TLS the handshake (connect → tls_us) is a phase
// of its own between connecting and waiting for the server. Times in ms.
function requestPhases(r, i, row, waitBand, queued, out) {
  const start = us(r.start_us);
  if (start === null) return false;
  const end = us(r.end_us) ?? start;
  const connect = us(r.connect_us), ttfb = us(r.ttfb_us), sched = us(r.sched_us) ?? 0;
  const bar = (key, a, b, band = 0) => out.push({row, band, from: a / 1000, to: b / 1000, key, ref: i});
  if (queued && start > sched) bar('wait', sched, start, waitBand);
  if (r.error_kind || r.error) {
    bar(r.error_kind === 'cancelled' ? 'cancelled' : 'error', start, Math.max(end, start));
    return true;
  }
  let c = connect ?? start;
  if (connect !== null && connect > start) bar('connect', start, connect);
  const tls = us(r.tls_us);
  if (tls !== null && tls > c) {
    bar('tls', c, tls);
    c = tls;
  }
  const t = ttfb ?? c;
  if (ttfb !== null) bar('server', c, Math.max(c, ttfb));
  bar('receive', t, Math.max(end, t));
  return true;
}

// The indices of the rows that queued for a lane: they became due (sched) while the lane that
// ran them was still busy with its previous request. The first request of each lane never
// queued for it (a late start there is the worker starting, not a wait for a lane).
function queuedSet(rows) {
  const lanes = new Map();
  rows.forEach((r, i) => {
    if (us(r.start_us) === null || !isNum(r.lane)) return;
    if (!lanes.has(r.lane)) lanes.set(r.lane, []);
    lanes.get(r.lane).push(i);
  });
  const queued = new Set();
  for (const list of lanes.values()) {
    list.sort((a, b) => rows[a].start_us - rows[b].start_us);
    for (let k = 1; k < list.length; k++) {
      const prev = rows[list[k - 1]];
      const prevEnd = us(prev.end_us) ?? prev.start_us;
      if ((us(rows[list[k]].sched_us) ?? 0) < prevEnd) queued.add(list[k]);
    }
  }
  return queued;
}

function phaseCounts(bars) {
  const phases = Object.fromEntries(PHASES.map(p => [p.key, 0]));
  for (const b of bars) phases[b.key]++;
  return phases;
}

// The per-lane view of a timeline ({lanes, total, sampled, requests: [ROW]}): one row per lane,
// each request's phases on it, and, for each request that queued, its wait in the lane's own
// thin band above them
// (translucent: where several requests waited at once the band is darker).
// Requests multiplexed over connections (h2mux: records carry `conn`) get one row per stream
// slot of each connection, grouped by connection: `groups` lists each connection's first row
// and label.
// → {rows, bars, drawn, errors, lanesUsed, endMs, queued, phases, groups|null}.
export function laneBars(timeline) {
  const list = (timeline && timeline.requests) || [];
  let lanes = (timeline && timeline.lanes) || 0;
  for (const r of list) if (isNum(r.lane) && r.lane + 1 > lanes) lanes = r.lane + 1;
  const rows = [];
  let rowOf = r => r.lane;
  let groups = null;
  if (list.some(r => isNum(r.conn))) {
    // (connection, stream slot) pairs in order; a request without a connection (it failed before
    // one) goes to a group of its own at the end.
    const byConn = new Map();
    for (const r of list) {
      if (!isNum(r.lane)) continue;
      const c = isNum(r.conn) ? r.conn : -1;
      if (!byConn.has(c)) byConn.set(c, new Set());
      byConn.get(c).add(r.lane);
    }
    const index = new Map();
    groups = [];
    for (const c of [...byConn.keys()].sort((a, b) => (a < 0) - (b < 0) || a - b)) {
      groups.push({row: rows.length, conn: c, label: c < 0 ? 'no connection' : 'connection ' + c});
      for (const l of [...byConn.get(c)].sort((a, b) => a - b)) {
        index.set(c + ':' + l, rows.length);
        rows.push((c < 0 ? 'none' : 'conn ' + c) + ' · stream ' + l);
      }
    }
    rowOf = r => index.get((isNum(r.conn) ? r.conn : -1) + ':' + r.lane);
  } else {
    for (let l = 0; l < lanes; l++) rows.push('lane ' + l);
  }
  const bars = [];
  const used = new Set();
  const queued = queuedSet(list);
  let drawn = 0, errors = 0, endMs = 0;
  list.forEach((r, i) => {
    if (!isNum(r.lane) || !requestPhases(r, i, rowOf(r), 1, queued.has(i), bars)) return;
    drawn++;
    used.add(r.lane);
    if ((r.error_kind || r.error) && r.error_kind !== 'cancelled') errors++;
    endMs = Math.max(endMs, (us(r.end_us) ?? us(r.start_us)) / 1000);
  });
  return {rows, bars, drawn, errors, lanesUsed: used.size, endMs, queued: queued.size, phases: phaseCounts(bars), groups};
}

// The per-request view, as the talk draws a semaphore: one row per request in seq order, its
// wait for a lane and then its service side by side. → {rows, bars, phases, waits}.
export function requestBars(timeline) {
  const all = (timeline && timeline.requests) || [];
  const queued = queuedSet(all);
  const list = all.map((r, i) => [r, i]).sort((a, b) => a[0].seq - b[0].seq);
  const rows = [];
  const bars = [];
  for (const [r, i] of list) {
    if (requestPhases(r, i, rows.length, 0, queued.has(i), bars)) rows.push('#' + r.seq);
  }
  const phases = phaseCounts(bars);
  return {rows, bars, phases, waits: phases.wait};
}

// Whether requests could queue for one of `lanes` lanes: more requests than lanes, or arrivals
// at a rate.
export function canQueue(spec, lanes) {
  return !!spec && ((isNum(spec.requests) && spec.requests > lanes) || (isNum(spec.rate) && spec.rate > 0));
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
  if (us(r.tls_us) !== null) out.splice(5, 0, ['TLS done', ms(r.tls_us)]);
  if (r.http_version) out.push(['HTTP', r.http_version]);
  if (typeof r.reused === 'boolean') out.push(['connection', (isNum(r.conn) ? '#' + r.conn + ', ' : '') + (r.reused ? 'reused' : 'new')]);
  if (r.error_kind || r.error) out.push(['error', (r.error_kind || '') + (r.error ? ': ' + r.error : '')]);
  return out;
}

// The phases a request's own time is split into (the phase chart): connecting, the TLS
// handshake, waiting for the server, receiving.
export const SERVICE_PHASES = ['connect', 'tls', 'server', 'receive'];

// The mean time per request (ms) in each service phase over a timeline's ok rows (a sample's rows
// when the timeline is sampled: the mean is of those). → {n, connect, tls, server, receive}.
export function phaseMeans(timeline) {
  const out = {n: 0, connect: 0, tls: 0, server: 0, receive: 0};
  for (const r of (timeline && timeline.requests) || []) {
    if (r.error_kind || r.error || us(r.start_us) === null) continue;
    const bars = [];
    requestPhases(r, 0, 0, 0, false, bars);
    for (const b of bars) if (b.key in out) out[b.key] += b.to - b.from;
    out.n++;
  }
  if (out.n) for (const k of SERVICE_PHASES) out[k] /= out.n;
  return out;
}

// The HTTP versions a RESULT's answers used ({"1.1": 9} → "HTTP/1.1"; a mix → "HTTP/1.1 ×3,
// HTTP/2 ×6"); null when it says none.
export function httpText(r) {
  const v = Object.entries((r && r.http_versions) || {}).filter(([, n]) => n > 0);
  if (!v.length) return null;
  if (v.length === 1) return 'HTTP/' + v[0][0];
  return v.map(([k, n]) => `HTTP/${k} ×${n}`).join(', ');
}

// A RESULT's connections: opened (RESULT `connections`) and reused (the answered requests that
// did not open one); null when it does not say.
export function connectionsOf(r) {
  if (!r || !isNum(r.connections)) return null;
  const answered = Object.values(r.http_versions || {}).reduce((a, n) => a + (isNum(n) ? n : 0), 0) || r.ok || 0;
  return {opened: r.connections, reused: Math.max(0, answered - r.connections)};
}
