// The timelines of a run: per mode, one row per lane (each request's phases, and its wait for a
// lane in a band of its own) and, for runs small enough to read request by request, one row per
// request in seq order (its wait, then its service), as the talk draws its semaphore. Every
// mode shares one time axis; zooming (inputs, or a drag on desktop) loads every request in the
// window when the drawn rows are a sample; a picked request's details are written under its
// chart, never in a tooltip the canvas could clip.
import { el, chartBox, exposed, hasHover } from './dom.js';
import { fmtMs, fmtInt, isNum, modeColor } from './format.js';
import { PHASES, PHASE_COLORS, laneBars, requestBars, canQueue, requestDetails } from './model.js';
import { timelineChart, FONT } from './timeline.js';

// Up to this many requests a mode also gets the per-request view.
const PER_REQUEST_MAX = 300;

// The legend of the phases drawn (a run without a failed request has no "failed" entry).
function legend(keys) {
  return el('ul', {class: 'legend', 'aria-label': 'Timeline phases'},
    PHASES.filter(p => keys.has(p.key)).map(p => el('li', {}, el('span', {class: 'swatch' + (p.key === 'wait' ? ' wait' : ''), style: `background:${p.color};border-color:${p.border || 'rgba(15,23,42,.55)'}`}), p.label)));
}

// The width of the widest row label of every timeline, so that all share one plot width.
function labelWidth(labels) {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = FONT;
  return Math.max(0, ...labels.map(l => ctx.measureText(l).width));
}

// A zoom input's value: rounded to what the span needs (whole ms over a second, else 0.1 ms).
const zoomValue = (v, span) => +v.toFixed(span >= 1000 ? 0 : span >= 10 ? 1 : 3);

function figure(caption, height, attrs) {
  const {box, canvas} = chartBox(height, attrs);
  const band = el('div', {class: 'drag-band', hidden: true});
  box.append(band);
  return {node: el('figure', {class: 'timeline-figure'}, el('figcaption', {class: 'muted', text: caption}), box), canvas, band};
}

function detailsList(r) {
  const dl = el('dl', {class: 'facts request-facts'});
  for (const [k, v] of requestDetails(r)) dl.append(el('div', {class: k === 'error' ? 'bad' : null}, el('dt', {text: k}), el('dd', {text: v})));
  return dl;
}

// Renders into `section`. opts: {spec, fetchWindow(chartsMode, fromMs, toMs) → Promise<{total,
// requests}> (absent offline)}. Returns the chart instances (each has destroy()).
export function renderTimelines(section, charts, opts = {}) {
  const hover = hasHover();
  const modes = (charts && charts.modes) || [];
  const spec = opts.spec || {};
  const built = modes.map(m => ({m, lanes: laneBars(m.timeline)}));
  const drawnKeys = new Set(built.flatMap(b => b.lanes.bars.map(x => x.key)));
  section.append(el('h2', {text: 'Timelines'}),
    el('p', {class: 'muted', id: 'timeline-help', text: hover
      ? 'Per lane: one row per worker (thread, process or async slot; for h2mux one per stream slot, grouped by connection), each request a bar from its start to its end, every mode on the same time axis and to the same scale; the amber band above a lane shows requests waiting for a free lane (darker where several waited). Hover or click a bar for its details; drag across a timeline to zoom; or Tab to a timeline and move between requests with the arrow keys (Enter pins one).'
      : 'Per lane: one row per worker (thread, process or async slot; for h2mux one per stream slot, grouped by connection), each request a bar from its start to its end, every mode on the same time axis and to the same scale; the amber band above a lane shows requests waiting for a free lane. Tap a bar for its details; use From and To to zoom.'}),
    legend(drawnKeys));
  let full = 0;
  for (const {m, lanes} of built) full = Math.max(full, lanes.endMs, isNum(m.wall_ms) ? m.wall_ms : 0);
  full = full > 0 ? full : 1;

  const from = el('input', {type: 'number', id: 'zoom-from', min: 0, step: 'any', value: 0, inputmode: 'decimal'});
  const to = el('input', {type: 'number', id: 'zoom-to', min: 0, step: 'any', value: zoomValue(Math.ceil(full), full), inputmode: 'decimal'});
  const status = el('span', {class: 'muted zoom-status', 'aria-live': 'polite'});
  const instances = [];
  const perMode = [];
  const state = {min: 0, max: full, full};
  const info = {};
  exposed().timelines = info;
  exposed().zoom = state;

  function apply(min, max) {
    if (!isNum(min) || !isNum(max) || max <= min) return;
    state.min = Math.max(0, min);
    state.max = max;
    from.value = zoomValue(state.min, state.max - state.min);
    to.value = zoomValue(state.max, state.max - state.min);
    for (const c of instances) c.setRange(state.min, state.max);
    const zoomed = state.min > 0 || state.max < full;
    status.textContent = zoomed ? `showing ${fmtMs(state.min)} – ${fmtMs(state.max)}` : '';
    for (const p of perMode) p.zoomed(zoomed);
  }
  section.append(el('form', {class: 'zoom', onsubmit: e => { e.preventDefault(); apply(Number(from.value), Number(to.value)); }},
    el('label', {for: 'zoom-from'}, 'From (ms) '), from,
    el('label', {for: 'zoom-to'}, 'to (ms) '), to,
    el('button', {type: 'submit', text: 'Zoom'}),
    el('button', {type: 'button', id: 'zoom-reset', text: 'Reset zoom', onclick: () => apply(0, full)}),
    status));
  if (!built.length) section.append(el('p', {class: 'muted empty-note', text: 'No timeline: no mode has finished.'}));

  // Every plot starts at the same x: the row labels get the room of the widest of all.
  const perRequestOf = ({m, lanes}) => {
    const t = m.timeline || {};
    const total = isNum(t.total) ? t.total : lanes.drawn;
    return !t.sampled && total <= PER_REQUEST_MAX && canQueue(spec, lanes.rows.length) ? requestBars(t) : null;
  };
  for (const b of built) b.perRequest = perRequestOf(b);
  const labels = labelWidth(built.flatMap(b => b.lanes.rows.concat(b.perRequest ? b.perRequest.rows : [])));

  for (const {m, lanes, perRequest} of built) {
    const t = m.timeline || {};
    const total = isNum(t.total) ? t.total : lanes.drawn;
    const sample = t.sampled ? ` — a sample of ${fmtInt(t.requests ? t.requests.length : 0)} of ${fmtInt(total)} (per lane and time slice the longest request, and every error); zoom in to load every request of a window` : '';
    const where = lanes.groups
      ? `as streams on ${lanes.rows.length} stream slot${lanes.rows.length === 1 ? '' : 's'} over ${fmtInt(lanes.groups.filter(g => g.conn >= 0).length)} connection${lanes.groups.filter(g => g.conn >= 0).length === 1 ? '' : 's'}`
      : `on ${lanes.rows.length} lane${lanes.rows.length === 1 ? '' : 's'}`;
    const note = el('small', {class: 'muted timeline-note', text: `${fmtInt(lanes.drawn)} requests ${where}` +
      (lanes.queued ? `, ${fmtInt(lanes.queued)} waited for a free lane` : '') + (lanes.errors ? `, ${fmtInt(lanes.errors)} failed` : '') +
      (lanes.phases.cancelled ? `, ${fmtInt(lanes.phases.cancelled)} cut off by the cancel` : '') + sample});
    const details = el('div', {class: 'request-details', 'aria-live': 'polite'},
      el('p', {class: 'muted', text: hover ? 'Hover or click a request to see its details here.' : 'Tap a request to see its details here.'}));
    const rowsOf = {rows: t.requests || []};
    const onPick = (bar, pinned) => {
      if (!bar && !pinned) return;
      details.replaceChildren(bar ? detailsList(rowsOf.rows[bar.ref]) : el('p', {class: 'muted', text: 'No request there.'}));
    };
    const keys = hover ? ' Arrow keys move between requests; Enter pins one.' : '';
    const laneFig = figure(lanes.groups ? 'per stream slot, grouped by connection' : 'per lane', Math.min(560, Math.max(110, lanes.rows.length * 26 + 56)),
      {'aria-label': `Timeline of ${m.mode} per lane.${keys}`, role: 'group', 'aria-roledescription': 'timeline', dataset: {mode: m.mode, view: 'lanes'}, class: 'timeline'});
    const figs = el('div', {class: 'timeline-figures'}, laneFig.node);
    let reqFig = null;
    if (perRequest) {
      reqFig = figure('per request, in the order they were handed out: waiting for a lane, then served', Math.min(560, Math.max(110, perRequest.rows.length * 18 + 56)),
        {'aria-label': `Timeline of ${m.mode} per request.${keys}`, role: 'group', 'aria-roledescription': 'timeline', dataset: {mode: m.mode, view: 'requests'}, class: 'timeline timeline-requests'});
      figs.append(reqFig.node);
    }
    section.append(el('div', {class: 'timeline-mode', dataset: {mode: m.mode}},
      el('h3', {}, el('span', {class: 'swatch', style: `background:${modeColor(m.mode)}`}), m.mode, ' ', note), figs, details));
    const common = {xMin: 0, xMax: full, colors: PHASE_COLORS, onPick, onZoom: apply, labelWidth: labels};
    const laneChart = timelineChart(laneFig.canvas, Object.assign({rows: lanes.rows, bars: lanes.bars, groups: lanes.groups, bands: 2, dragBand: laneFig.band}, common));
    instances.push(laneChart);
    if (perRequest) instances.push(timelineChart(reqFig.canvas, Object.assign({rows: perRequest.rows, bars: perRequest.bars, bands: 1, dragBand: reqFig.band}, common)));
    info[m.mode] = {
      lanes: lanes.rows.length, lanesUsed: lanes.lanesUsed, requests: lanes.drawn, errors: lanes.errors, total, sampled: !!t.sampled,
      queued: lanes.queued, phases: lanes.phases, connections: lanes.groups ? lanes.groups.map(g => g.conn) : null, perRequest: perRequest ? {rows: perRequest.rows.length, waits: perRequest.waits} : null, detail: null,
    };
    if (t.sampled && opts.fetchWindow) perMode.push(detailLoader(m, lanes, laneChart, rowsOf, note, state, opts.fetchWindow, info[m.mode]));
  }
  return instances;
}

const DETAIL_MAX = 20000;

// Loads every request of the zoomed window for a sampled mode, and goes back to the sample when
// the zoom is reset. Returns {zoomed(bool)}.
function detailLoader(m, sample, chart, rowsOf, note, state, fetchWindow, info) {
  const sampleText = note.textContent;
  let token = 0;
  return {
    async zoomed(on) {
      const mine = ++token;
      if (!on) {
        rowsOf.rows = m.timeline.requests;
        chart.setBars(sample.bars, sample.rows, sample.groups);
        note.textContent = sampleText;
        info.detail = null;
        return;
      }
      const [a, b] = [state.min, state.max];
      note.textContent = `loading every request between ${fmtMs(a)} and ${fmtMs(b)}…`;
      try {
        const got = await fetchWindow(m, a, b, DETAIL_MAX);
        if (mine !== token) return;
        const bars = laneBars({lanes: m.timeline.lanes, requests: got.requests});
        rowsOf.rows = got.requests;
        chart.setBars(bars.bars, bars.groups || bars.rows.length >= sample.rows.length ? bars.rows : sample.rows, bars.groups);
        const all = got.requests.length >= got.total;
        note.textContent = all
          ? `every request between ${fmtMs(a)} and ${fmtMs(b)}: ${fmtInt(got.total)}` + (bars.errors ? `, ${fmtInt(bars.errors)} failed` : '')
          : `the first ${fmtInt(got.requests.length)} of the ${fmtInt(got.total)} requests between ${fmtMs(a)} and ${fmtMs(b)}: zoom in further to see them all`;
        info.detail = {from: a, to: b, loaded: got.requests.length, total: got.total, drawn: bars.drawn};
      } catch (err) {
        if (mine !== token) return;
        note.textContent = `${sampleText} (could not load the window: ${err.message})`;
      }
    },
  };
}
