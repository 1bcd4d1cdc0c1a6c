// How numbers, times and modes are shown. Pure functions.

export const MODE_ORDER = ['sync', 'threads', 'async', 'processes'];
export const MODE_COLORS = {sync: '#64748b', threads: '#2563eb', async: '#059669', processes: '#c026d3'};

// Clients (docs/CLIENTS.md) are named by their users: a colour of their own from the name.
const CLIENT_COLORS = ['#f97316', '#0891b2', '#a16207', '#be123c', '#4d7c0f', '#7c3aed', '#0f766e', '#9f1239'];

export function modeColor(mode, alpha) {
  let h = 0;
  for (const ch of String(mode)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const hex = MODE_COLORS[mode] || CLIENT_COLORS[h % CLIENT_COLORS.length];
  if (alpha === undefined) return hex;
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${n >> 16},${(n >> 8) & 255},${n & 255},${alpha})`;
}

export function isNum(v) {
  return typeof v === 'number' && Number.isFinite(v);
}

// 0.42 ms, 12.3 ms, 1.00 s, 95.2 s.
export function fmtMs(ms) {
  if (!isNum(ms)) return '–';
  if (ms === 0) return '0 ms';
  const a = Math.abs(ms);
  if (a >= 1000) return (ms / 1000).toFixed(a >= 100000 ? 0 : a >= 10000 ? 1 : 2) + ' s';
  if (a >= 100) return ms.toFixed(0) + ' ms';
  if (a >= 10) return ms.toFixed(1) + ' ms';
  if (a >= 1) return ms.toFixed(2) + ' ms';
  return ms.toFixed(3) + ' ms';
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

// "3.02×" for a speed-up ratio.
export function fmtRatio(r) {
  return isNum(r) ? (r >= 10 ? r.toFixed(1) : r.toFixed(2)) + '×' : '–';
}

// A signed difference with its percentage: "+12.3 ms (+4.1%)".
export function fmtDelta(a, b, fmt) {
  if (!isNum(a) || !isNum(b)) return '–';
  const d = b - a;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const pct = a !== 0 ? ` (${sign}${Math.abs((d / a) * 100).toFixed(1)}%)` : '';
  return sign + fmt(Math.abs(d)) + pct;
}

// The viewer's time zone as people write it: "UTC", "UTC+1", "UTC−5:30".
export function zoneName(d) {
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
// Mode names in the order pages show them: the built-in modes first, then clients as given.
export function orderModes(names) {
  const rest = [];
  for (const m of names) if (!MODE_ORDER.includes(m) && !rest.includes(m)) rest.push(m);
  return [...MODE_ORDER.filter(m => names.includes(m)), ...rest];
}

export function runModes(run) {
  const out = [];
  for (const r of (run && run.results) || []) if (!out.includes(r.mode)) out.push(r.mode);
  for (const m of (run && run.spec && run.spec.modes) || []) if (!out.includes(m)) out.push(m);
  return out;
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
