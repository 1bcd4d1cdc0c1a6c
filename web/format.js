// How numbers, times and modes are shown. Pure functions.

// The built-in modes, in the order the page lists them; any other mode a run names (a client,
// h2mux, ...) follows them in the run's own order.
export const MODE_ORDER = ['sync', 'threads', 'async', 'processes'];
const MODE_COLORS = {sync: '#64748b', threads: '#2563eb', async: '#059669', processes: '#c026d3', h2mux: '#0891b2'};
const OTHER_COLORS = ['#f97316', '#7c3aed', '#0d9488', '#be123c', '#a16207', '#4d7c0f'];

// A mode's colour (hex, or rgba with alpha): fixed for the built-in modes, stable per name for
// any other.
export function modeColor(mode, alpha) {
  let hex = MODE_COLORS[mode];
  if (!hex) {
    let h = 0;
    for (const ch of String(mode)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    hex = OTHER_COLORS[h % OTHER_COLORS.length];
  }
  if (alpha === undefined) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

export function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

// A measured time with the digits that tell modes apart, as the findings write wall times:
// 0.420 ms, 4.25 ms, 12.3 ms, 1000.3 ms, 12345.7 ms, 125.3 s; a whole number of ms as it is
// (3000 ms, and 30 s from 10 s up).
export function fmtMs(ms) {
  if (!isNum(ms)) return '–';
  if (ms === 0) return '0 ms';
  const a = Math.abs(ms);
  if (a >= 10000 && ms % 1000 === 0) return ms / 1000 + ' s';
  if (a >= 100000) return (ms / 1000).toFixed(1) + ' s';
  if (Number.isInteger(ms)) return ms + ' ms';
  if (a >= 10) return ms.toFixed(1) + ' ms';
  if (a >= 1) return ms.toFixed(2) + ' ms';
  return ms.toFixed(3) + ' ms';
}

// A rough duration, for estimates and clocks: 450 ms, 3.00 s, 1 min 05 s.
export function fmtDuration(ms) {
  if (!isNum(ms)) return '–';
  const a = Math.abs(ms);
  if (a < 1000) return Math.round(ms) + ' ms';
  if (a < 60000) return (ms / 1000).toFixed(a >= 10000 ? 1 : 2) + ' s';
  const s = Math.round(a / 1000);
  return `${ms < 0 ? '−' : ''}${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

// A time over (or under) an ideal to a tenth of a ms, as the findings write it: "+1.2 ms",
// "−0.4 ms", "±0.0 ms"; from 100 s in seconds.
export function fmtOver(ms) {
  if (!isNum(ms)) return '–';
  const a = Math.abs(ms);
  if (a < 0.05) return '±0.0 ms';
  return (ms > 0 ? '+' : '−') + (a >= 100000 ? (a / 1000).toFixed(1) + ' s' : a.toFixed(1) + ' ms');
}

export function fmtNum(v, digits) {
  if (!isNum(v)) return '–';
  if (digits === undefined) digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return v.toLocaleString('en-US', {minimumFractionDigits: digits, maximumFractionDigits: digits});
}

// A rate as given: "20 req/s", "2.5 req/s", "0.333 req/s".
export function fmtRate(r) {
  return isNum(r) ? `${Number.isInteger(r) ? r.toLocaleString('en-US') : +r.toPrecision(3)} req/s` : '–';
}

export function fmtInt(v) {
  return isNum(v) ? Math.round(v).toLocaleString('en-US') : '–';
}

export function fmtKb(kb) {
  if (!isNum(kb)) return '–';
  if (kb >= 1024 * 1024) return (kb / 1024 / 1024).toFixed(2) + ' GiB';
  if (kb >= 1024) return (kb / 1024).toFixed(1) + ' MiB';
  return kb.toFixed(0) + ' KiB';
}

// "3.02×" for a speed-up ratio; near 1 with a third decimal ("1.003×"), so that ratios that
// differ do not read alike.
export function fmtRatio(r) {
  if (!isNum(r)) return '–';
  return (r >= 10 ? r.toFixed(1) : Math.abs(r - 1) < 0.2 ? r.toFixed(3) : r.toFixed(2)) + '×';
}

// A signed difference with its percentage: "+12.3 ms (+4.1%)".
export function fmtDelta(a, b, fmt) {
  if (!isNum(a) || !isNum(b)) return '–';
  const d = b - a;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const p = Math.abs((d / a) * 100);
  const pct = a !== 0 ? ` (${sign}${p.toFixed(p < 1 ? 2 : 1)}%)` : '';
  return sign + fmt(Math.abs(d)) + pct;
}

// The viewer's time zone as people write it: "UTC", "UTC+1", "UTC−5:30".
function zoneName(d) {
  const off = -d.getTimezoneOffset();
  if (off === 0) return 'UTC';
  const a = Math.abs(off);
  return `UTC${off > 0 ? '+' : '−'}${Math.floor(a / 60)}${a % 60 ? ':' + String(a % 60).padStart(2, '0') : ''}`;
}

// "2026-11-25 20:33:34 UTC+1" in the viewer's local time with its zone, from an ISO 8601 string.
export function fmtDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${zoneName(d)}`;
}

export function cpuMs(result) {
  const c = result && result.cpu_ms;
  return c && (isNum(c.user) || isNum(c.sys)) ? (c.user || 0) + (c.sys || 0) : null;
}

// Modes of a run in run order: those with results first, then the rest of the spec's.
export function runModes(run) {
  const out = [];
  for (const r of (run && run.results) || []) if (!out.includes(r.mode)) out.push(r.mode);
  for (const m of (run && run.spec && run.spec.modes) || []) if (!out.includes(m)) out.push(m);
  return out;
}

// The modes of several runs, for columns and legends: the built-in modes first in their usual
// order, then any other in the order the runs name them.
export function modesOf(runs) {
  const seen = [];
  for (const run of runs || []) for (const m of runModes(run)) if (!seen.includes(m)) seen.push(m);
  return MODE_ORDER.filter(m => seen.includes(m)).concat(seen.filter(m => !MODE_ORDER.includes(m)));
}

// An axis tick in ms, with as many decimals as the tick step needs (so 1000.2 and 1000.4 ms
// do not both read "1.00 s"). ticks is Chart.js's tick list.
export function fmtAxisMs(value, ticks) {
  const v = Number(value);
  if (!isNum(v)) return '';
  if (v === 0) return '0';
  let step = Infinity;
  for (let i = 1; i < (ticks || []).length; i++) step = Math.min(step, Math.abs(ticks[i].value - ticks[i - 1].value));
  if (!isNum(step) || step <= 0) return fmtMs(v);
  const decimals = unit => Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / unit) - 1e-9)));
  if (Math.abs(v) >= 1000 && step >= 10) return (v / 1000).toFixed(decimals(1000)) + ' s';
  return v.toFixed(decimals(1)) + ' ms';
}

// An axis tick of a plain number with as many decimals as the tick step needs ("14", "14.5"),
// the same for every tick of the axis. ticks is Chart.js's tick list.
export function fmtAxisNum(value, ticks) {
  const v = Number(value);
  if (!isNum(v)) return '';
  let step = Infinity;
  for (let i = 1; i < (ticks || []).length; i++) step = Math.min(step, Math.abs(ticks[i].value - ticks[i - 1].value));
  const decimals = isNum(step) && step > 0 ? Math.max(0, Math.min(3, Math.ceil(-Math.log10(step) - 1e-9))) : 0;
  return v.toLocaleString('en-US', {minimumFractionDigits: decimals, maximumFractionDigits: decimals});
}
