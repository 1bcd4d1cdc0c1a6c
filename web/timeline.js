// A timeline drawn straight on a canvas: one row per lane (or per request), time across, one
// bar per phase of each request. Drawn by hand rather than with the chart library so that tens
// of thousands of bars draw in a few milliseconds, a row can hold a band of its own for waiting,
// and a picked request's details go to the page (never into a tooltip the canvas clips).
//
// The canvas carries its geometry in data-* attributes (plot box in CSS pixels, time range in
// ms, row count, bands), so that anyone (tests included) can map a time and a row to a pixel.
import { fmtAxisMs } from './format.js';
import { themeColors } from './dom.js';

export const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const AXIS_H = 40; // tick labels + axis title under the plot
const MIN_LABEL_PX = 12; // a row label needs this much height; denser rows label every k-th

// Ticks of a linear axis from min to max (ms) whose labels, at most `px` wide in total, never
// overlap: the step is the smallest 1-2-5 step whose spacing holds the widest label + a gap.
function axisTicks(min, max, px, measure) {
  if (!(max > min) || !(px > 0)) return [];
  const labelsFor = step => {
    const first = Math.ceil(min / step - 1e-9) * step;
    const ticks = [];
    for (let v = first; v <= max + step * 1e-9 && ticks.length < 1000; v += step) ticks.push({value: v});
    const ctx = ticks.map(t => ({value: t.value}));
    for (const t of ticks) t.label = fmtAxisMs(t.value, ctx);
    return ticks;
  };
  const span = max - min;
  let exp = Math.floor(Math.log10(span / Math.max(1, px / 60)));
  for (let guard = 0; guard < 40; guard++, exp++) {
    for (const m of [1, 2, 5]) {
      const step = m * Math.pow(10, exp);
      if (span / step > 200) continue;
      const ticks = labelsFor(step);
      const widest = Math.max(0, ...ticks.map(t => measure(t.label)));
      if ((step / span) * px >= widest + 14) return ticks;
    }
  }
  return labelsFor(span);
}

// opts: {rows: [label], bars: [{row, band, from, to, key, ref}], bands: 1 | 2, xMin, xMax,
//        colors: {key: {fill, stroke?, alpha?}}, onPick(bar|null, pinned), onZoom(from, to),
//        title, labelWidth (px for the row labels: the same for every timeline of a run, so that
//        every plot has the same width), groups ([{row, label}]: rows that start a group, h2mux's
//        connections, drawn with a separator line above)}. band 1 is the thin strip at the top of a row (waiting),
//        band 0 the rest. The canvas takes the keyboard focus: the arrow keys move from request to
//        request (left/right in time, up/down between rows), Enter pins one, Escape unpins.
// Returns {setRange(min, max), setBars(bars), setRows(rows), pickAt(x, y), geometry(), destroy()}.
export function timelineChart(canvas, opts) {
  let rows = opts.rows || [];
  let groups = opts.groups || null;
  let bars = [];
  let byRow = [];
  let xMin = opts.xMin, xMax = opts.xMax;
  let picked = null, hovered = null;
  let geo = null;
  const ctx = canvas.getContext('2d');
  const bands = opts.bands === 2 ? 2 : 1;

  function index(list) {
    bars = list || [];
    byRow = rows.map(() => []);
    for (const b of bars) if (byRow[b.row]) byRow[b.row].push(b);
  }

  function layout() {
    const w = canvas.parentNode.clientWidth || 300;
    const h = canvas.parentNode.clientHeight || 120;
    ctx.font = FONT;
    const widest = isFinite(opts.labelWidth) ? opts.labelWidth : Math.max(0, ...rows.map(r => ctx.measureText(r).width));
    const left = Math.ceil(Math.min(widest, w * 0.3)) + 10;
    const right = w - 12;
    const top = 6;
    const bottom = h - AXIS_H;
    return {w, h, left, right, top, bottom, rowH: rows.length ? (bottom - top) / rows.length : 0};
  }

  const xToPx = t => geo.left + ((t - xMin) / (xMax - xMin)) * (geo.right - geo.left);
  const pxToX = p => xMin + ((p - geo.left) / (geo.right - geo.left)) * (xMax - xMin);

  // The vertical extent [y, height] of a band of a row.
  function bandBox(row, band) {
    const y0 = geo.top + row * geo.rowH;
    const pad = Math.min(2, geo.rowH * 0.1);
    const inner = geo.rowH - 2 * pad;
    if (bands === 1) return [y0 + geo.rowH * 0.14, Math.max(1, geo.rowH * 0.72)];
    const strip = Math.max(1, inner * 0.3);
    return band === 1 ? [y0 + pad, strip] : [y0 + pad + strip + Math.min(1, pad), Math.max(1, inner - strip - Math.min(1, pad))];
  }

  function barRect(b) {
    let x0 = xToPx(b.from), x1 = xToPx(b.to);
    if (x1 < geo.left || x0 > geo.right) return null;
    x0 = Math.max(geo.left, x0);
    x1 = Math.min(geo.right, x1);
    const [y, h] = bandBox(b.row, b.band || 0);
    return {x: x0, y, w: Math.max(1, x1 - x0), h};
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    geo = layout();
    const W = Math.round(geo.w * dpr), H = Math.round(geo.h * dpr);
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
      canvas.style.width = geo.w + 'px';
      canvas.style.height = geo.h + 'px';
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, geo.w, geo.h);
    ctx.font = FONT;
    const {ink: INK, grid: GRID, strong} = themeColors();
    const ticks = axisTicks(xMin, xMax, geo.right - geo.left, s => ctx.measureText(s).width);
    // grid and tick labels
    ctx.fillStyle = INK;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const t of ticks) {
      const x = Math.round(xToPx(t.value)) + 0.5;
      ctx.fillStyle = GRID;
      ctx.fillRect(x - 0.5, geo.top, 1, geo.bottom - geo.top);
      ctx.fillStyle = INK;
      const w = ctx.measureText(t.label).width;
      const cx = Math.min(Math.max(x, geo.left + w / 2), geo.w - w / 2 - 1);
      ctx.fillText(t.label, cx, geo.bottom + 5);
    }
    ctx.fillText(opts.title || 'time since the mode started', (geo.left + geo.right) / 2, geo.bottom + 22);
    // row labels, every k-th when rows are dense
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const every = geo.rowH >= MIN_LABEL_PX ? 1 : Math.ceil(MIN_LABEL_PX / Math.max(geo.rowH, 0.01));
    for (let r = 0; r < rows.length; r += every) ctx.fillText(rows[r], geo.left - 6, geo.top + (r + 0.5) * geo.rowH, geo.left - 8);
    // bars, one fill style per phase
    ctx.save();
    ctx.beginPath();
    ctx.rect(geo.left, geo.top, geo.right - geo.left, geo.bottom - geo.top);
    ctx.clip();
    const keys = Object.keys(opts.colors);
    for (const key of keys) {
      const c = opts.colors[key];
      ctx.globalAlpha = c.alpha ?? 1;
      ctx.fillStyle = c.fill;
      ctx.strokeStyle = c.stroke || 'rgba(15,23,42,0.45)';
      ctx.lineWidth = 1;
      for (const b of bars) {
        if (b.key !== key) continue;
        const r = barRect(b);
        if (!r) continue;
        ctx.fillRect(r.x, r.y, r.w, r.h);
        if (c.stroke && r.w >= 4 && r.h >= 4) ctx.strokeRect(r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
      }
    }
    ctx.globalAlpha = 1;
    // a separator above each group but the first (h2mux: one group per connection)
    ctx.fillStyle = INK;
    for (const g of groups || []) if (g.row > 0) ctx.fillRect(geo.left - 6, Math.round(geo.top + g.row * geo.rowH) - 1, geo.right - geo.left + 6, 1.5);
    for (const [b, color] of [[hovered, strong], [picked, '#f59e0b']]) {
      const r = b && barRect(b);
      if (!r) continue;
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.strokeRect(r.x - 1, r.y - 1, r.w + 2, r.h + 2);
    }
    ctx.restore();
    ctx.fillStyle = INK;
    ctx.fillRect(geo.left, geo.bottom, geo.right - geo.left, 1);
    // Where each band sits within a row: [offset from the row's top, height] in CSS pixels.
    const band = b => (rows.length ? bandBox(0, b).map((v, i) => (i ? v : v - geo.top)).join(',') : '');
    Object.assign(canvas.dataset, {
      plotLeft: geo.left, plotRight: geo.right, plotTop: geo.top, plotBottom: geo.bottom,
      xMin, xMax, rows: rows.length, bands, groups: (groups || []).map(g => g.row).join(','), bandMain: band(0), bandWait: bands === 2 ? band(1) : band(0),
    });
  }

  // The bar under (x, y) in CSS pixels of the canvas, preferring the request's own phases over
  // its wait; null if none.
  function pickAt(x, y) {
    if (!geo || x < geo.left - 3 || x > geo.right + 3 || y < geo.top || y > geo.bottom || !geo.rowH) return null;
    const row = Math.floor((y - geo.top) / geo.rowH);
    let best = null;
    for (const b of byRow[row] || []) {
      const r = barRect(b);
      if (!r || x < r.x - 3 || x > r.x + r.w + 3 || y < r.y - 2 || y > r.y + r.h + 2) continue;
      if (!best || (best.key === 'wait' && b.key !== 'wait')) best = b;
    }
    return best;
  }

  // Pointer: hover shows a request, a click or tap pins it, a mouse drag zooms.
  const band = opts.dragBand;
  let dragFrom = null;
  const local = e => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const onDown = e => {
    if (e.button !== 0 || e.pointerType === 'touch') return;
    const [x] = local(e);
    if (x < geo.left || x > geo.right) return;
    dragFrom = x;
    canvas.setPointerCapture(e.pointerId);
  };
  const onMove = e => {
    const [x, y] = local(e);
    if (dragFrom !== null && band) {
      const cx = Math.min(Math.max(x, geo.left), geo.right);
      Object.assign(band.style, {left: Math.min(dragFrom, cx) + 'px', width: Math.abs(cx - dragFrom) + 'px', top: geo.top + 'px', height: geo.bottom - geo.top + 'px'});
      band.hidden = false;
      return;
    }
    if (e.pointerType === 'touch') return;
    const b = pickAt(x, y);
    if (b !== hovered) {
      hovered = b;
      draw();
      if (opts.onPick) opts.onPick(b || picked, false);
    }
  };
  const onUp = e => {
    const [x, y] = local(e);
    if (dragFrom !== null) {
      const cx = Math.min(Math.max(x, geo.left), geo.right);
      const a = Math.min(dragFrom, cx), b = Math.max(dragFrom, cx);
      dragFrom = null;
      if (band) band.hidden = true;
      if (b - a >= 6) {
        if (opts.onZoom) opts.onZoom(pxToX(a), pxToX(b));
        return;
      }
    }
    picked = pickAt(x, y);
    draw();
    if (opts.onPick) opts.onPick(picked, true);
  };
  const onLeave = () => {
    if (!hovered) return;
    hovered = null;
    draw();
    if (opts.onPick) opts.onPick(picked, false);
  };
  const onCancel = () => {
    dragFrom = null;
    if (band) band.hidden = true;
  };
  // Keyboard: one stop per request (its first bar that is not a wait), in time order.
  let cursor = null;
  const stops = () => {
    const first = new Map();
    for (const b of bars) {
      if (b.key === 'wait' && first.has(b.ref)) continue;
      const had = first.get(b.ref);
      if (!had || (had.key === 'wait' && b.key !== 'wait') || (b.key !== 'wait' && b.from < had.from)) first.set(b.ref, b);
    }
    return [...first.values()].sort((a, b) => a.from - b.from || a.row - b.row);
  };
  const onKey = e => {
    const list = stops();
    if (!list.length) return;
    let i = cursor ? list.findIndex(b => b.ref === cursor.ref) : -1;
    let next = null;
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      i = i < 0 ? 0 : Math.max(0, Math.min(list.length - 1, i + (e.key === 'ArrowRight' ? 1 : -1)));
      next = list[i];
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const here = i < 0 ? list[0] : list[i];
      const dir = e.key === 'ArrowDown' ? 1 : -1;
      let best = null;
      for (let row = here.row + dir; row >= 0 && row < rows.length && !best; row += dir) {
        for (const b of list) if (b.row === row && (!best || Math.abs(b.from - here.from) < Math.abs(best.from - here.from))) best = b;
      }
      next = i < 0 ? here : best || here;
    } else if (e.key === 'Home' || e.key === 'End') {
      next = e.key === 'Home' ? list[0] : list[list.length - 1];
    } else if (e.key === 'Enter' || e.key === ' ') {
      if (!cursor) cursor = list[0];
      picked = cursor;
      e.preventDefault();
      draw();
      if (opts.onPick) opts.onPick(picked, true);
      return;
    } else if (e.key === 'Escape') {
      picked = cursor = hovered = null;
      draw();
      if (opts.onPick) opts.onPick(null, true);
      return;
    } else {
      return;
    }
    e.preventDefault();
    cursor = hovered = next;
    // Keep the request in view: a zoom that leaves it out pans to it.
    if (next.to < xMin || next.from > xMax) {
      const span = xMax - xMin;
      const from = Math.max(0, next.from - span / 2);
      if (opts.onZoom) opts.onZoom(from, from + span);
    }
    draw();
    if (opts.onPick) opts.onPick(next, false);
  };
  const onBlur = () => {
    if (hovered !== cursor || !cursor) return;
    hovered = null;
    draw();
  };
  canvas.tabIndex = 0;
  canvas.addEventListener('keydown', onKey);
  canvas.addEventListener('blur', onBlur);
  canvas.addEventListener('pointerdown', onDown);
  canvas.addEventListener('pointermove', onMove);
  canvas.addEventListener('pointerup', onUp);
  canvas.addEventListener('pointerleave', onLeave);
  canvas.addEventListener('pointercancel', onCancel);
  const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(() => draw()) : null;
  if (resize) resize.observe(canvas.parentNode);

  index(opts.bars);
  draw();
  return {
    canvas,
    setRange(min, max) {
      xMin = min;
      xMax = max;
      draw();
    },
    setBars(list, newRows, newGroups) {
      if (newRows) rows = newRows;
      if (newGroups !== undefined) groups = newGroups;
      picked = hovered = cursor = null;
      index(list);
      draw();
    },
    pickAt,
    geometry: () => Object.assign({}, geo, {xMin, xMax}),
    destroy() {
      if (resize) resize.disconnect();
      canvas.removeEventListener('keydown', onKey);
      canvas.removeEventListener('blur', onBlur);
      canvas.removeEventListener('pointerdown', onDown);
      canvas.removeEventListener('pointermove', onMove);
      canvas.removeEventListener('pointerup', onUp);
      canvas.removeEventListener('pointerleave', onLeave);
      canvas.removeEventListener('pointercancel', onCancel);
    },
  };
}
