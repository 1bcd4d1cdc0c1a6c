// The form's "Target options" (collapsed by default): the HTTP version, TLS (insecure; CA,
// client certificate and client key each a name from the dashboard's --tls-dir or PEM text
// pasted), --resolve entries and h2mux's number of connections. A client key is a secret: the
// page never writes it anywhere but into its own textarea, which is emptied once the run starts,
// and a run's spec (whose key the API shows as ***) never refills it.
import { el } from './dom.js';

const HTTP = [['1.1', 'HTTP/1.1'], ['2', 'HTTP/2 (negotiated by ALPN over TLS)'], ['2-prior-knowledge', 'HTTP/2 with prior knowledge (h2c)']];
const PEM = '_pem'; // a select's value for "PEM text"; no --tls-dir name starts with '_'
const PEM_FIELDS = [
  ['ca', 'CA certificate', 'The CA that signed the server\'s certificate (verification against the system CAs when none).'],
  ['cert', 'Client certificate', 'For a server that requires mTLS.'],
  ['key', 'Client key', 'A secret: sent with the run, shown as *** by the API, never shown back by this page.'],
];

const isPem = v => typeof v === 'string' && v.includes('-----BEGIN ');

// opts: {names: [--tls-dir names], field(key, label, input, hint) → node, errorNode(key) → node,
// inputs, numberInput}. Returns {node, read(spec), fill(spec), open(), clearSecret(), keys}.
export function targetOptions(opts) {
  const {names = [], field, errorNode, inputs, numberInput} = opts;
  const http = el('select', {name: 'http'}, HTTP.map(([v, t]) => el('option', {value: v, text: t})));
  const insecure = el('input', {type: 'checkbox', name: 'insecure', id: 'f-insecure'});
  inputs.insecure = insecure;
  const resolve = el('textarea', {name: 'resolve', rows: 1, spellcheck: 'false', autocomplete: 'off', placeholder: 'example.com:443:127.0.0.1'});
  const connections = numberInput('connections', {min: 1, max: 1000});

  const pem = {};
  const pemBlock = ([key, label, hint]) => {
    const source = el('select', {name: key + '_source', id: 'f-' + key, 'aria-describedby': `f-${key}-error f-${key}-hint`},
      el('option', {value: '', text: 'none'}),
      names.map(n => el('option', {value: n, text: n + ' (from --tls-dir)'})),
      el('option', {value: PEM, text: 'PEM text, pasted below'}));
    const text = el('textarea', {name: key, id: `f-${key}-pem`, rows: 3, spellcheck: 'false', autocomplete: 'off', hidden: true,
      class: key === 'key' ? 'pem secret' : 'pem', 'aria-label': label + ' (PEM text)', placeholder: '-----BEGIN …'});
    const sync = () => { text.hidden = source.value !== PEM; };
    source.addEventListener('change', sync);
    pem[key] = {source, text, sync};
    inputs[key] = source;
    return el('div', {class: 'field field-' + key},
      el('label', {for: source.id, text: label}), source, text,
      el('p', {class: 'hint', id: `f-${key}-hint`, text: hint}), errorNode(key));
  };

  const details = el('details', {class: 'target-options', id: 'target-options'},
    el('summary', {text: 'Target options: HTTP version, TLS, resolve, h2mux connections'}),
    el('div', {class: 'row'},
      field('http', 'HTTP version', http, 'HTTP/2 over TLS is negotiated; h2c needs prior knowledge. h2mux needs HTTP/2.'),
      field('connections', 'Connections (h2mux)', connections, 'h2mux runs its requests as streams over this many connections.')),
    el('div', {class: 'field field-insecure'},
      el('label', {class: 'check', for: 'f-insecure'}, insecure, ' Insecure: do not verify the server\'s certificate'), errorNode('insecure')),
    el('div', {class: 'row'}, PEM_FIELDS.map(pemBlock)),
    field('resolve', 'Resolve', resolve, 'One HOST:PORT:ADDRESS per line: a host name (and its certificate) reached at a local address.'));

  function read(spec) {
    if (http.value !== '1.1') spec.target.http = http.value;
    const tls = {};
    if (insecure.checked) tls.insecure = true;
    for (const [key] of PEM_FIELDS) {
      const {source, text} = pem[key];
      if (source.value === PEM) {
        if (text.value.trim() !== '') tls[key] = text.value;
      } else if (source.value) {
        tls[key] = source.value;
      }
    }
    if (Object.keys(tls).length) spec.target.tls = tls;
    const list = resolve.value.split('\n').map(l => l.trim()).filter(Boolean);
    if (list.length) spec.target.resolve = list;
    const c = connections.value.trim();
    if (c !== '' && !(c === '1' && !spec.modes.includes('h2mux'))) spec.connections = Number.isNaN(Number(c)) ? c : Number(c);
    return spec;
  }

  // Fills from a spec's target and connections. A key shown as *** (any run's) is never refilled.
  function fill(target, conns) {
    const t = target || {};
    http.value = HTTP.some(([v]) => v === t.http) ? t.http : '1.1';
    const tls = t.tls || {};
    insecure.checked = !!tls.insecure;
    for (const [key] of PEM_FIELDS) {
      const {source, text, sync} = pem[key];
      const v = key === 'key' && !isPem(tls.key) ? null : tls[key];
      text.value = '';
      if (isPem(v)) {
        source.value = PEM;
        text.value = v;
      } else {
        source.value = v && names.includes(v) ? v : '';
      }
      sync();
    }
    pem.key.text.placeholder = tls.key ? 'The key is not kept: paste it again' : '-----BEGIN …';
    resolve.value = (t.resolve || []).join('\n');
    connections.value = conns ?? 1;
    if ((t.http && t.http !== '1.1') || tls.insecure || tls.ca || tls.cert || tls.key || (t.resolve || []).length || (conns && conns !== 1)) details.open = true;
  }

  return {
    node: details,
    read,
    fill,
    open: () => { details.open = true; },
    // The secret leaves the page once the run is created.
    clearSecret: () => { pem.key.text.value = ''; },
    // The element to focus for a field's error (the pasted text when PEM is chosen).
    focusOf: key => (pem[key] && pem[key].source.value === PEM ? pem[key].text : null),
    keys: ['http', 'connections', 'insecure', 'ca', 'cert', 'key', 'resolve'],
  };
}
