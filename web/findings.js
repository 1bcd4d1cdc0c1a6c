// RUN's findings in words (computed by the server once the run ended: backend/common/findings.c):
// one sentence each, the numbers it comes from on demand (a disclosure). Shown at the top of the
// run view and of the offline report.
import { el, exposed } from './dom.js';
import { fmtMs, fmtNum, fmtInt, fmtRatio, isNum, modeColor } from './format.js';

const KIND_LABEL = {errors: 'errors', knee: 'knee', ideal: 'ideal time', little: "Little's law", cost: 'CPU cost'};

// The label and text of one number of a finding's values.
function valueText(key, v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return Object.entries(v).map(([k, n]) => `${k} ${fmtInt(n)}`).join(', ');
  if (typeof v === 'string') return v;
  if (!isNum(v)) return String(v);
  if (key.endsWith('_ms') || key === 'cpu_ms_per_1000') return fmtMs(v);
  if (key === 'share') return fmtNum(v * 100, 1) + ' %';
  if (key.startsWith('ratio') || key.startsWith('vs_')) return fmtRatio(v);
  if (key.startsWith('rps')) return fmtNum(v) + ' req/s';
  if (key === 'concurrency' || key === 'top_concurrency') return 'C = ' + fmtInt(v);
  return Number.isInteger(v) ? fmtInt(v) : fmtNum(v);
}

const KEY_LABEL = {
  concurrency: 'level', top_concurrency: 'top level', wall_ms: 'wall time', ideal_ms: 'ideal', ratio: 'ratio',
  ratio_min: 'best ratio', concurrent_ideal_ms: 'concurrent ideal', vs_concurrent_ideal: 'vs concurrent ideal',
  delay_ms: 'server delay', workers: 'server workers', requests: 'requests', levels: 'levels',
  rps: 'req/s there', rps_beyond_max: 'best req/s beyond', rps_first: 'req/s at the first level',
  p50_ms: 'p50 there', top_p50_ms: 'p50 at the top level', in_flight: 'in flight', lanes: 'lanes',
  share: 'share', rps_ok: 'ok req/s', mean_latency_ms: 'mean latency', cpu_ms_per_1000: 'CPU per 1,000',
  cheapest: 'cheapest', errors: 'failed', by_kind: 'by kind', message: 'most common', message_count: 'its count',
};

function numbers(values) {
  const dl = el('dl', {class: 'facts finding-numbers'});
  for (const [k, v] of Object.entries(values || {})) {
    const text = valueText(k, v);
    if (text === null || text === '') continue;
    dl.append(el('div', {dataset: {key: k}}, el('dt', {text: KEY_LABEL[k] || k.replace(/_/g, ' ')}), el('dd', {text})));
  }
  return dl;
}

// The findings with those that say the same of several modes said once: "sync, threads: …"
// (the same kind and the same sentence after the mode's name). [{kind, modes, text, values}].
function grouped(list) {
  const out = [];
  for (const f of list) {
    const prefix = f.mode ? f.mode + ': ' : null;
    const rest = prefix && f.text.startsWith(prefix) ? f.text.slice(prefix.length) : null;
    const same = rest !== null && out.find(g => g.kind === f.kind && g.rest === rest);
    if (same) {
      same.modes.push(f.mode);
      continue;
    }
    out.push({kind: f.kind, modes: f.mode ? [f.mode] : [], rest, text: f.text, values: f.values});
  }
  for (const g of out) if (g.modes.length > 1) g.text = `${g.modes.join(', ')}: ${g.rest} (in each of these ${g.modes.length} modes)`;
  return out;
}

// A card listing the run's findings, or null when it has none (a run still going, a run too
// small for any). Exposes window.__conlab.findings = [{kind, mode, text}].
export function renderFindings(run) {
  const list = (run && run.findings) || [];
  exposed().findings = list.map(f => ({kind: f.kind, mode: f.mode, text: f.text, values: f.values}));
  if (!list.length) return null;
  return el('section', {class: 'card findings', id: 'findings', 'aria-labelledby': 'findings-title'},
    el('h2', {id: 'findings-title', text: 'Findings'}),
    el('ul', {class: 'findings-list'}, grouped(list).map(f => el('li', {class: 'finding', dataset: {kind: f.kind, mode: f.modes.join(' ')}},
      el('p', {class: 'finding-text'},
        el('span', {class: 'badge badge-finding', text: KIND_LABEL[f.kind] || f.kind}), ' ',
        f.modes.map(m => el('span', {class: 'swatch', style: `background:${modeColor(m)}`})),
        el('span', {text: f.text})),
      el('details', {class: 'finding-facts'}, el('summary', {text: 'the numbers'}), numbers(f.values))))));
}
