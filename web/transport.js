// How each mode reached the target: the HTTP version(s) its answers used, the connections it
// opened and reused, and its TLS handshakes (RESULT `http_versions`, `connections`, `tls_ms`,
// `busy_ms`); and the phase chart: where a request's own time goes, per mode.
import { el, chartBox, exposed } from './dom.js';
import { fmtMs, fmtInt, isNum, modeColor } from './format.js';
import { PHASES, SERVICE_PHASES, phaseMeans, httpText, connectionsOf } from './model.js';
import { phaseChart } from './charts.js';

// The connections table of a run's results, or null when no result says how it connected.
export function transportTable(results) {
  const list = (results || []).filter(r => httpText(r) || connectionsOf(r));
  if (!list.length) return null;
  const tls = list.some(r => r.tls_ms > 0);
  const tbody = el('tbody');
  for (const r of list) {
    const c = connectionsOf(r);
    const td = (label, text, attrs) => el('td', Object.assign({'data-label': label, text}, attrs || {}));
    const share = tls && r.tls_ms > 0 && r.busy_ms > 0 ? ` (${Math.round((100 * r.tls_ms) / r.busy_ms)} % of the requests' time)` : '';
    tbody.append(el('tr', {dataset: {mode: r.mode}},
      el('th', {scope: 'row'}, el('span', {class: 'swatch', style: `background:${modeColor(r.mode)}`}), r.mode),
      td('HTTP', httpText(r) || '–', {class: 'http'}),
      td('new connections', c ? fmtInt(c.opened) : '–', {class: 'opened'}),
      td('reused', c ? fmtInt(c.reused) : '–', {class: 'reused'}),
      ...(tls ? [td('TLS handshakes', r.tls_ms > 0 ? fmtMs(r.tls_ms) + share : '–', {class: 'tls'})] : [])));
  }
  exposed().transport = Object.fromEntries(list.map(r => [r.mode, {http: httpText(r), connections: connectionsOf(r), tls_ms: r.tls_ms ?? null}]));
  return el('div', {class: 'transport', id: 'transport'},
    el('h3', {text: 'Connections and HTTP versions'}),
    el('p', {class: 'muted', text: 'Per mode: the HTTP version its answers came in, the connections it opened and the requests that reused one' + (tls ? ', and the time its TLS handshakes took (summed over the connections it opened).' : '.')}),
    el('div', {class: 'table-wrap'}, el('table', {class: 'data transport-table'},
      el('thead', {}, el('tr', {}, ['mode', 'HTTP', 'new connections', 'reused', ...(tls ? ['TLS handshakes'] : [])].map(h => el('th', {scope: 'col', text: h})))),
      tbody)));
}

// The phase chart into `section` (hidden when no mode has an ok request); returns the chart or
// null.
export function renderPhases(section, charts) {
  const rows = ((charts && charts.modes) || []).map(m => Object.assign({mode: m.mode, sampled: !!(m.timeline && m.timeline.sampled)}, phaseMeans(m.timeline))).filter(r => r.n > 0);
  section.hidden = !rows.length;
  if (!rows.length) return null;
  const phases = PHASES.filter(p => SERVICE_PHASES.includes(p.key) && (p.key !== 'tls' || rows.some(r => r.tls > 0)));
  const {box, canvas} = chartBox(Math.max(120, rows.length * 40 + 70), {'aria-label': 'Mean time per request in each phase, per mode', role: 'img', id: 'phase-chart'});
  section.append(el('h2', {text: 'Phases'}),
    el('p', {class: 'muted', text: 'Where a request\'s own time goes, per mode: the mean time per ok request connecting, in the TLS handshake, waiting for the server and receiving (a reused connection spends none connecting)' +
      (rows.some(r => r.sampled) ? '; over the timeline\'s sample for the modes with many requests.' : '.')}),
    box);
  exposed().phases = Object.fromEntries(rows.map(r => [r.mode, Object.fromEntries(SERVICE_PHASES.map(k => [k, r[k]]))]));
  return phaseChart(canvas, rows, phases);
}
