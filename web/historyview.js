// History (`/history`): runs newest first, filtered by target and label, failed runs marked; a
// trend chart of each mode across the runs of one workload (never mixing workloads; click a
// point to open that run); pick two to compare.
import { el, clear, chartBox, exposed, hasHover } from './dom.js';
import { listRuns } from './client.js';
import { fmtMs, fmtDate, fmtInt, modesOf } from './format.js';
import { trendChart, TREND_METRICS } from './charts.js';
import { statusBadge, healthBadges } from './runrender.js';
import { failureLevel, cancelledText } from './health.js';
import { comparable } from './model.js';
import { workloadKey, workloadText } from './workload.js';
import { isSweep, levelsText } from './sweep.js';

// "2026-12-06 15:03:35 UTC" as a date and a time that each stay on one line.
function dateParts(text) {
  const i = text.indexOf(' ');
  return i < 0 ? text : [el('span', {text: text.slice(0, i)}), ' ', el('span', {text: text.slice(i + 1)})];
}

export async function mountHistory(root, ctx) {
  const {navigate, query} = ctx;
  let chart = null;
  const picked = [];
  const pre = query.get('pick');
  if (pre) picked.push(pre);

  const urlSelect = el('select', {id: 'filter-url'}, el('option', {value: '', text: 'all targets'}));
  const labelInput = el('input', {type: 'search', id: 'filter-label', placeholder: 'part of a label', value: query.get('label') || ''});
  const workloadSelect = el('select', {id: 'trend-workload'});
  const metric = el('select', {id: 'trend-metric'}, Object.entries(TREND_METRICS).map(([k, m]) => el('option', {value: k, text: m.label})));
  metric.value = TREND_METRICS[query.get('metric')] ? query.get('metric') : 'wall';
  const compareBtn = el('button', {type: 'button', id: 'compare-button', class: 'primary', disabled: true, text: 'Compare the two picked runs'});
  const pickNote = el('span', {class: 'muted', id: 'pick-note', 'aria-live': 'polite'});
  const trendTitle = el('h2', {id: 'trend-title', text: 'Trend'});
  const trendNote = el('p', {class: 'muted'});
  const {box, canvas} = chartBox(280, {id: 'trend-chart', role: 'img', 'aria-label': 'Trend of each mode across runs of one target'});
  const tableBody = el('tbody');
  const tableHead = el('thead');
  const table = el('table', {class: 'data runs-table'}, tableHead, tableBody);
  const count = el('p', {class: 'muted', 'aria-live': 'polite'});
  const errorBox = el('p', {class: 'form-error', role: 'alert', hidden: true});

  compareBtn.addEventListener('click', () => {
    if (picked.length === 2) navigate(`/compare?a=${encodeURIComponent(picked[0])}&b=${encodeURIComponent(picked[1])}`);
  });

  const filters = el('form', {class: 'filters', role: 'search', onsubmit: e => { e.preventDefault(); load(); }},
    el('div', {class: 'field'}, el('label', {for: 'filter-url', text: 'Target URL'}), urlSelect),
    el('div', {class: 'field'}, el('label', {for: 'filter-label', text: 'Label'}), labelInput),
    el('div', {class: 'field'}, el('label', {for: 'trend-metric', text: 'Trend of'}), metric),
    el('div', {class: 'actions'}, el('button', {type: 'submit', text: 'Filter'})));

  clear(root).append(
    el('section', {class: 'card'}, el('h1', {text: 'History'}), filters, errorBox),
    el('section', {class: 'card', id: 'trend'}, trendTitle,
      el('div', {class: 'controls'}, el('label', {for: 'trend-workload', text: 'Workload '}), workloadSelect), trendNote, box),
    el('section', {class: 'card', id: 'runs'},
      el('h2', {text: 'Runs'}), count,
      el('div', {class: 'compare-bar'}, compareBtn, pickNote),
      el('div', {class: 'table-wrap'}, table)));

  let urlsKnown = false;
  let allRuns = [];

  function updatePick() {
    compareBtn.disabled = picked.length !== 2;
    pickNote.textContent = picked.length === 0 ? 'Pick two runs to compare them.'
      : picked.length === 1 ? `Picked ${picked[0]}; pick one more.` : `A = ${picked[0]}, B = ${picked[1]}.`;
    for (const box of tableBody.querySelectorAll('input[type=checkbox]')) box.checked = picked.includes(box.value);
  }

  // The columns of the runs listed: one wall time per mode any of them ran.
  function drawHead(modes) {
    clear(tableHead).append(
      el('tr', {}, ['run', 'started', 'status', 'label', 'target', 'N × C'].map(h => el('th', {scope: 'col', rowspan: modes.length ? 2 : 1, text: h})),
        modes.length ? el('th', {scope: 'colgroup', colspan: modes.length, class: 'group', text: 'wall time'}) : null),
      modes.length ? el('tr', {}, modes.map(m => el('th', {scope: 'col', text: m}))) : null);
  }

  function drawTable(runs) {
    clear(tableBody);
    const modes = modesOf(runs);
    drawHead(modes);
    for (const r of runs) {
      // A mode whose requests all failed has no wall time worth reading as speed.
      const wall = m => {
        const x = (r.results || []).find(y => y.mode === m);
        if (!x) return el('td', {class: 'num', 'data-label': m});
        // A sweep's mode ran at every level: its time in the run is the sum.
        if (isSweep(r)) {
          const all = r.results.filter(y => y.mode === m);
          return el('td', {class: 'num', 'data-label': m, dataset: {mode: m}, title: `over ${all.length} levels`, text: 'Σ ' + fmtMs(all.reduce((a, y) => a + y.wall_ms, 0))});
        }
        const level = failureLevel(x);
        return el('td', {class: 'num' + (level === 'all' ? ' bad' : level === 'cancelled' ? ' cut' : ''), 'data-label': m, dataset: {mode: m},
          text: level === 'all' ? 'all failed' : level === 'cancelled' ? cancelledText(x) : fmtMs(x.wall_ms)});
      };
      const box = el('input', {type: 'checkbox', value: r.id, 'aria-label': `pick run ${r.id} to compare`, onchange: e => {
        const i = picked.indexOf(r.id);
        if (e.target.checked && i < 0) {
          picked.push(r.id);
          if (picked.length > 2) picked.shift();
        } else if (!e.target.checked && i >= 0) picked.splice(i, 1);
        updatePick();
      }});
      const s = r.spec || {};
      tableBody.append(el('tr', {dataset: {id: r.id}},
        el('td', {class: 'id-cell', 'data-label': 'run'}, box, ' ', el('a', {href: '/runs/' + encodeURIComponent(r.id), 'data-link': '', text: r.id})),
        el('td', {class: 'date-cell', 'data-label': 'started'}, dateParts(fmtDate(r.created_at))),
        el('td', {class: 'status-cell', 'data-label': 'status'}, statusBadge(r.status, r), ' ', healthBadges(r)),
        el('td', {class: 'label-cell', 'data-label': 'label', text: r.label || (s.label || '')}),
        el('td', {class: 'url-cell', 'data-label': 'target', text: s.target ? s.target.url : ''}),
        el('td', {class: 'num nc-cell', 'data-label': 'N × C', text: `${fmtInt(s.requests)} × ${isSweep(s) ? '[' + levelsText(s.concurrency) + ']' : fmtInt(s.concurrency)}`}),
        modes.map(wall)));
    }
    updatePick();
  }

  // Runs grouped by workload, newest group first: [{key, text, runs}].
  function workloads(runs) {
    const groups = new Map();
    for (const r of runs) {
      const key = workloadKey(r.spec);
      if (!groups.has(key)) groups.set(key, {key, text: workloadText(r.spec), runs: []});
      groups.get(key).runs.push(r);
    }
    return [...groups.values()];
  }

  function drawTrend(runs) {
    if (chart) chart.destroy();
    chart = null;
    // A sweep has one result per mode and level: sweeps are compared point by point instead.
    const sweeps = runs.filter(r => isSweep(r) && (r.results || []).length).length;
    const groups = workloads(runs.filter(r => (r.results || []).length && !isSweep(r)));
    const want = workloadSelect.value || query.get('workload');
    clear(workloadSelect).append(...groups.map(g => el('option', {value: g.key, text: `${g.text} (${g.runs.length} run${g.runs.length === 1 ? '' : 's'})`})));
    // Unless one was asked for, the newest workload that has a speed to chart.
    const charted = g => g.runs.some(r => (r.results || []).some(comparable));
    const group = groups.find(g => g.key === want) || groups.find(charted) || groups[0];
    if (group) workloadSelect.value = group.key;
    workloadSelect.disabled = groups.length < 2;
    const same = group ? group.runs.slice().reverse() : [];
    trendTitle.textContent = `Trend of ${TREND_METRICS[metric.value].label}`;
    trendNote.textContent = group
      ? `${same.length} run${same.length === 1 ? '' : 's'} of one workload, oldest first: ${group.text}.` +
        (groups.length > 1 ? ` The list holds ${groups.length} workloads; a trend never mixes them (pick another above).` : '') +
        ` Modes whose requests all failed are left out. ${hasHover() ? 'Click' : 'Tap'} a point to open its run.` +
        (sweeps ? ` Sweeps (${sweeps}) are left out of trends: pick two and compare them point by point.` : '')
      : sweeps ? 'Only sweeps here: pick two and compare them point by point.' : 'No finished runs yet.';
    exposed().history = {target: group && group.runs[0].spec.target.url, workload: group ? group.text : null, workloads: groups.length,
      metric: metric.value, trendIds: same.map(r => r.id), listed: runs.map(r => r.id)};
    if (same.length) chart = trendChart(canvas, same, metric.value, run => navigate('/runs/' + encodeURIComponent(run.id)));
  }

  function syncAddress() {
    const q = new URLSearchParams();
    if (urlSelect.value) q.set('url', urlSelect.value);
    if (labelInput.value) q.set('label', labelInput.value);
    if (metric.value !== 'wall') q.set('metric', metric.value);
    const next = '/history' + (q.toString() ? '?' + q : '');
    if (next !== location.pathname + location.search) history.replaceState(history.state, '', next);
  }

  function render() {
    const needle = labelInput.value.trim().toLowerCase();
    const runs = needle ? allRuns.filter(r => (r.label || '').toLowerCase().includes(needle)) : allRuns;
    count.textContent = `${runs.length} run${runs.length === 1 ? '' : 's'}` + (needle || urlSelect.value ? ' match the filters.' : ', newest first.');
    drawTable(runs);
    drawTrend(runs);
    syncAddress();
  }

  async function load() {
    errorBox.hidden = true;
    try {
      const res = await listRuns({limit: 1000, url: urlSelect.value || undefined});
      allRuns = res.runs || [];
      if (!urlsKnown) {
        urlsKnown = true;
        const urls = [...new Set(allRuns.map(r => r.spec && r.spec.target && r.spec.target.url).filter(Boolean))];
        for (const u of urls) urlSelect.append(el('option', {value: u, text: u}));
        const want = query.get('url');
        if (want && urls.includes(want)) {
          urlSelect.value = want;
          return load();
        }
      }
      render();
    } catch (err) {
      errorBox.textContent = 'Could not load the history: ' + err.message;
      errorBox.hidden = false;
    }
    root.dataset.ready = 'true';
  }

  urlSelect.addEventListener('change', load);
  metric.addEventListener('change', render);
  workloadSelect.addEventListener('change', render);
  labelInput.addEventListener('input', render);
  await load();
  return () => {
    if (chart) chart.destroy();
  };
}
