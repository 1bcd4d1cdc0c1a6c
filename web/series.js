// Throughput and latency over time, as series for the charts: the recorded series of a finished
// mode (its /charts throughput, re-binned so that a steady rate draws a flat line) and the live
// series of the running mode (progress.live.points). Pure functions.
import { isNum } from './format.js';

const MIN_PER_INTERVAL = 10; // requests an interval should hold on average
const LIVE_WINDOW_MS = 1000;

// The interval, as a multiple k of the recorded interval `fine` (ms), for `n` requests spread
// over `used` recorded intervals: at least MIN_PER_INTERVAL requests per interval on average,
// and with a rate, a whole number of arrival periods (so that every interval holds the same
// number of arrivals). Never more than `used` (then one interval spans the mode).
function rebinFactor(n, used, fine, rate) {
  if (!(n > 0) || !(used > 0)) return 1;
  let k = Math.min(used, Math.max(1, Math.ceil((MIN_PER_INTERVAL * used) / n)));
  if (isNum(rate) && rate > 0 && isNum(fine) && fine > 0) {
    const period = 1000 / rate;
    for (let j = k; j <= used; j++) {
      const periods = (j * fine) / period;
      if (periods >= 1 && Math.abs(periods - Math.round(periods)) < 0.01) return j;
    }
  }
  return k;
}

// The throughput of one mode from its /charts entry: ok requests per second, [{x: s, y: req/s,
// n, errors, width}] as steps (each point starts an interval and holds until the next; the last
// point closes the last interval), with the interval used. The intervals are chosen from every
// request that ended (ok or not). Each interval's rate is its count over its own width; the
// last interval ends with the mode (its wall time), and when that leaves it shorter than half an
// interval it is merged into the one before rather than drawn as a rate over a sliver. No points
// when no request was ok: failures are not throughput.
export function throughputSeries(m, rate) {
  const tp = (m && m.throughput) || {};
  const fine = tp.interval_ms;
  const oks = (tp.points || []).map(p => p.ok || 0);
  const errs = (tp.points || []).map(p => p.errors || 0);
  const counts = oks.map((n, i) => n + errs[i]);
  let used = counts.length;
  while (used > 0 && !counts[used - 1]) used--;
  const n = counts.reduce((a, b) => a + b, 0);
  if (!n || !oks.some(x => x > 0) || !isNum(fine) || fine <= 0) return {intervalMs: null, points: []};
  const k = rebinFactor(n, used, fine, rate);
  const width = k * fine;
  // The series spans the mode, to its wall time: a request counts in the fine interval its end
  // falls in (so the last may end past the wall time by less than one fine interval), and a mode
  // may go on after its last request (stopping its workers), ending no request then.
  const endMs = isNum(m.wall_ms) && m.wall_ms > (used - 1) * fine ? m.wall_ms : used * fine;
  const bins = [];
  for (let b = 0; b * width < endMs - 1e-9; b++) {
    let c = 0, e = 0;
    for (let j = b * k; j < Math.min(used, (b + 1) * k); j++) {
      c += oks[j];
      e += errs[j];
    }
    bins.push({from: b * width, to: Math.min((b + 1) * width, endMs), n: c, errors: e});
  }
  const last = bins[bins.length - 1];
  if (bins.length > 1 && last.to - last.from < width / 2) {
    const prev = bins[bins.length - 2];
    bins.pop();
    Object.assign(prev, {to: last.to, n: prev.n + last.n, errors: prev.errors + last.errors});
  }
  const points = bins.map(b => ({x: b.from / 1000, y: b.to > b.from ? (b.n * 1000) / (b.to - b.from) : 0, n: b.n, errors: b.errors, width: b.to - b.from}));
  points.push({x: endMs / 1000, y: points[points.length - 1].y, n: 0, end: true});
  return {intervalMs: width, points};
}

// The live series of the running mode from progress.live: throughput over a trailing window
// (at least LIVE_WINDOW_MS or 10 requests, so that a slow steady rate does not draw a comb) and
// the p50/p99 of each tick's sample. → {rps: [{x: s, y}], p50: [{x, y}], p99: [{x, y}]}.
export function liveSeries(live) {
  const pts = [{t_ms: 0, done: 0}].concat(((live && live.points) || []).filter(p => isNum(p.t_ms) && isNum(p.done)));
  const rps = [], p50 = [], p99 = [];
  for (let j = 1; j < pts.length; j++) {
    const p = pts[j];
    let k = j - 1;
    while (k > 0 && p.t_ms - pts[k].t_ms < LIVE_WINDOW_MS && p.done - pts[k].done < MIN_PER_INTERVAL) k--;
    const dt = p.t_ms - pts[k].t_ms;
    if (dt > 0) rps.push({x: p.t_ms / 1000, y: ((p.done - pts[k].done) * 1000) / dt});
    if (isNum(p.p50_ms)) p50.push({x: p.t_ms / 1000, y: p.p50_ms});
    if (isNum(p.p99_ms)) p99.push({x: p.t_ms / 1000, y: p.p99_ms});
  }
  return {rps, p50, p99};
}
