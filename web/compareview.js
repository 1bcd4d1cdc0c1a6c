// Compare (`/compare?a=ID&b=ID`): two runs side by side with the deltas per mode. It says so
// when the two ran different workloads (and then colours nothing better or worse), and never
// rates a mode whose requests all failed or that was cancelled.
import { el, clear, chartBox, exposed } from './dom.js';
import { getRun } from './client.js';
import { fmtMs, fmtNum, fmtDate, fmtInt, fmtDelta, isNum, modesOf } from './format.js';
import { compareChart } from './charts.js';
import { comparable } from './model.js';
import { failureLevel } from './health.js';
import { workloadDiffs } from './workload.js';
import { statusBadge, healthBadges } from './runrender.js';
import { isSweep, levelsText } from './sweep.js';
import { renderSweepCompare } from './sweepview.js';

function runCard(tag, run) {
  const s = run.spec || {};
  return el('section', {class: 'card compare-run', dataset: {side: tag}},
    el('h2', {}, `${tag}: `, el('a', {href: '/runs/' + encodeURIComponent(run.id), 'data-link': '', text: run.id}), ' ', statusBadge(run.status, run), ' ', healthBadges(run)),
    run.label ? el('p', {class: 'run-label', text: run.label}) : null,
    el('dl', {class: 'facts'},
      [['target', `${(s.target && s.target.method) || 'GET'} ${(s.target && s.target.url) || ''}`],
        ['requests', fmtInt(s.requests)], ['concurrency', levelsText(s.concurrency)],
        ['keep-alive', s.keepalive === false ? 'off' : 'on'], ['started', fmtDate(run.created_at)]]
        .map(([k, v]) => el('div', {}, el('dt', {text: k}), el('dd', {text: v})))));
}

const METRICS = [
  {key: 'wall', label: 'wall time', get: r => r.wall_ms, fmt: fmtMs, lowerIsBetter: true},
  {key: 'rps', label: 'req/s', get: r => r.rps, fmt: v => fmtNum(v), lowerIsBetter: false},
  {key: 'p99', label: 'p99', get: r => r.latency_ms && r.latency_ms.p99, fmt: fmtMs, lowerIsBetter: true},
  {key: 'errors', label: 'errors', get: r => r.errors, fmt: v => fmtInt(v), lowerIsBetter: true},
];

export async function mountCompare(root, ctx) {
  const {query} = ctx;
  const a = query.get('a'), b = query.get('b');
  let chart = null;
  if (!a || !b) {
    clear(root).append(el('section', {class: 'card'}, el('h1', {text: 'Compare two runs'}),
      el('p', {}, 'Pick two runs in the ', el('a', {href: '/history', 'data-link': '', text: 'history'}), ' to compare them.')));
    root.dataset.ready = 'true';
    return () => {};
  }
  clear(root).append(el('p', {class: 'muted loading', text: 'Loading runs…'}));
  let runA, runB;
  try {
    [runA, runB] = await Promise.all([getRun(a), getRun(b)]);
  } catch (err) {
    clear(root).append(el('section', {class: 'card'}, el('h1', {text: 'Compare two runs'}),
      el('p', {class: 'form-error', text: `Could not load the runs: ${err.message}`})));
    root.dataset.ready = 'true';
    return () => {};
  }
  const modes = modesOf([runA, runB]);
  const find = (run, m) => (run.results || []).find(r => r.mode === m);

  const head = [
    el('tr', {}, el('th', {scope: 'col', rowspan: 2, text: 'mode'}),
      METRICS.map(m => el('th', {scope: 'colgroup', colspan: 3, class: 'group', text: m.label}))),
    el('tr', {}, METRICS.map(() => ['A', 'B', 'Δ'].map(t => el('th', {scope: 'col', text: t})))),
  ];
  const diffs = workloadDiffs(runA.spec, runB.spec);
  const body = el('tbody');
  const deltas = {};
  const notes = [];
  for (const mode of modes) {
    const ra = find(runA, mode), rb = find(runB, mode);
    // Speed is only compared between modes that ran to the end with ok requests.
    const why = [['A', ra], ['B', rb]].filter(([, r]) => r && !comparable(r))
      .map(([tag, r]) => `${tag}: ${failureLevel(r) === 'all' ? 'all failed' : 'cancelled'}`);
    if (why.length) notes.push(`${mode} — ${why.join(', ')}: no speed compared.`);
    const cells = [];
    deltas[mode] = {};
    for (const m of METRICS) {
      const speed = m.key !== 'errors';
      const va = ra && (!speed || comparable(ra)) ? m.get(ra) : null, vb = rb && (!speed || comparable(rb)) ? m.get(rb) : null;
      let cls = '';
      // Colour only differences above 2% (below that it is noise on a loaded machine), and only
      // between runs of the same workload.
      if (!diffs.length && isNum(va) && isNum(vb) && va !== vb && Math.abs(vb - va) > 0.02 * Math.max(Math.abs(va), Math.abs(vb))) {
        cls = (vb < va) === m.lowerIsBetter ? 'better' : 'worse';
      }
      deltas[mode][m.key] = isNum(va) && isNum(vb) ? vb - va : null;
      const shown = (r, v) => (isNum(v) ? m.fmt(v) : r && speed && !comparable(r) ? (failureLevel(r) === 'all' ? 'all failed' : 'cancelled') : '–');
      cells.push(el('td', {text: shown(ra, va)}), el('td', {text: shown(rb, vb)}),
        el('td', {class: 'delta ' + cls, dataset: {metric: m.key}, text: fmtDelta(va, vb, m.fmt)}));
    }
    body.append(el('tr', {dataset: {mode}}, el('th', {scope: 'row', text: mode}), cells));
  }
  const warning = diffs.length
    ? el('section', {class: 'card alerts', id: 'workload-warning', role: 'alert'},
      el('h2', {text: 'These runs measured different workloads'}),
      el('ul', {}, diffs.map(d => el('li', {dataset: {field: d.field}, text: `${d.field}: A ${d.a}, B ${d.b}`}))),
      el('p', {text: 'The deltas below compare different experiments, so none is coloured better or worse.'}))
    : null;
  const {box, canvas} = chartBox(280, {id: 'compare-chart', role: 'img', 'aria-label': 'Wall time per mode of both runs'});
  // A sweep has one result per mode and level: it is compared point by point instead.
  const points = isSweep(runA) || isSweep(runB) ? renderSweepCompare(runA, runB) : null;
  clear(root).append(
    el('h1', {text: 'Compare two runs'}),
    warning,
    el('div', {class: 'compare-grid'}, runCard('A', runA), runCard('B', runB)),
    el('section', {class: 'card', id: 'deltas'},
      el('h2', {text: 'Per mode'}),
      el('p', {class: 'muted', text: diffs.length ? 'Δ = B − A.' : 'Δ = B − A; green is better, red is worse (differences under 2% are left uncoloured).'}),
      notes.length ? el('ul', {class: 'compare-notes'}, notes.map(n => el('li', {class: 'bad', text: n}))) : null,
      el('p', {class: 'scroll-hint', text: 'The table scrolls sideways for more columns →'}),
      el('div', {class: 'table-wrap'}, el('table', {class: 'data compare-table'}, el('thead', {}, head), body)),
      box));
  if (points) {
    root.querySelector('#deltas').replaceWith(points.node);
    points.draw();
  } else {
    chart = compareChart(canvas, modes, runA, runB);
  }
  exposed().compare = {a: runA.id, b: runB.id, modes, deltas, diffs};
  root.dataset.ready = 'true';
  return () => {
    if (chart) chart.destroy();
    if (points) points.destroy();
  };
}
