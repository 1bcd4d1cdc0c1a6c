// The shards of a run the dashboard coordinated (RUN's `shards`): one row per shard with its
// status, when it joined, its clock's skew at the barrier, its ok requests per second, its failed
// requests and its CPU time; a failed shard says why. Shown while the run waits and runs, and after.
import { el } from './dom.js';
import { fmtDate, fmtInt, fmtNum } from './format.js';

const isNum = v => typeof v === 'number' && Number.isFinite(v);

// A <section id="shards"> for the run, or null when it is not sharded.
export function shardTable(run) {
  const shards = Array.isArray(run.shards) ? run.shards : null;
  if (!shards || !shards.length) return null;
  const joined = shards.filter(s => s.joined_at).length;
  const head = ['shard', 'status', 'joined', 'skew ms', 'req/s', 'errors', 'CPU ms'];
  const rows = shards.map(s => el('tr', {class: 'shard-' + String(s.status), dataset: {shard: String(s.shard)}},
    el('td', {class: 'num', text: fmtInt(s.shard)}),
    el('td', {}, el('span', {class: 'shard-status', text: String(s.status)}),
      s.message ? el('div', {class: 'muted shard-message', text: String(s.message)}) : null),
    el('td', {text: s.joined_at ? fmtDate(s.joined_at) : '—'}),
    el('td', {class: 'num', text: isNum(s.skew_ms) ? fmtNum(s.skew_ms, 1) : '—'}),
    el('td', {class: 'num', text: isNum(s.rps) ? fmtNum(s.rps, 1) : '—'}),
    el('td', {class: 'num', text: fmtInt(s.errors || 0)}),
    el('td', {class: 'num', text: isNum(s.cpu_ms) ? fmtNum(s.cpu_ms, 1) : '—'})));
  return el('section', {class: 'card', id: 'shards', 'aria-labelledby': 'shards-title'},
    el('h2', {id: 'shards-title', text: `Shards (${joined} of ${shards.length} joined)`}),
    el('div', {class: 'table-wrap'},
      el('table', {class: 'data shards-table'},
        el('thead', {}, el('tr', {}, head.map(h => el('th', {scope: 'col', text: h})))),
        el('tbody', {}, rows))),
    el('p', {class: 'muted table-note', text: 'skew: the shard\'s clock minus the dashboard\'s at its latest barrier; req/s: its ok requests per second over the points it finished; CPU: its user + system time.'}));
}

// Puts the run's shard table in place of the one in root (or after `after`); returns it.
export function placeShards(root, run, after) {
  const fresh = shardTable(run);
  const old = root.querySelector('#shards');
  if (old && fresh) old.replaceWith(fresh);
  else if (old) old.remove();
  else if (fresh && after) after.after(fresh);
  return fresh;
}
