// The run form (`/`): filled with the talk's experiment against the demo target, presets,
// and the API's message shown next to the field it names.
import { el, clear } from './dom.js';
import { createRun, getRun, getClients, getToken, setToken, ApiError } from './client.js';
import { MODE_ORDER, fmtMs, fmtDuration, fmtRate, isNum } from './format.js';
import { idealMs } from './model.js';
import { parseLevels, levelsOf, levelsText } from './sweep.js';
import { targetOptions } from './targetopts.js';

const FIELDS = ['url', 'method', 'headers', 'body', 'requests', 'concurrency', 'modes', 'timeout', 'rate', 'work', 'keepalive', 'label', 'token', 'p99', 'errrate', 'rpsmin',
  'http', 'connections', 'insecure', 'ca', 'cert', 'key', 'resolve'];

// The form field an API error names ("target.url", "modes[2]", "concurrency", ...).
function fieldFor(apiField) {
  if (!apiField) return null;
  const f = String(apiField).replace(/\[.*$/, '');
  const map = {
    'target.url': 'url', target: 'url', url: 'url',
    'target.method': 'method', method: 'method',
    'target.headers': 'headers', headers: 'headers', header: 'headers',
    'target.body': 'body', body: 'body',
    requests: 'requests', concurrency: 'concurrency', modes: 'modes',
    timeout_ms: 'timeout', timeout: 'timeout', rate: 'rate', keepalive: 'keepalive', label: 'label', work_us: 'work',
    'target.http': 'http', 'target.tls.insecure': 'insecure', 'target.tls.ca': 'ca', 'target.tls.cert': 'cert',
    'target.tls.key': 'key', 'target.tls': 'ca', 'target.resolve': 'resolve', connections: 'connections',
    'thresholds.p99_ms': 'p99', 'thresholds.error_rate': 'errrate', 'thresholds.rps_min': 'rpsmin', thresholds: 'p99',
  };
  if (map[f]) return map[f];
  const head = f.split('.').slice(0, 3).join('.');
  if (map[head]) return map[head];
  const head2 = f.split('.').slice(0, 2).join('.');
  return map[head2] || map[f.split('.')[0]] || null;
}

function presets(demoUrl) {
  const demoWith = q => {
    if (!demoUrl) return null;
    const u = new URL(demoUrl);
    for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
    return u.toString();
  };
  return [
    {id: 'talk', name: 'The talk: 3 requests', hint: '3 requests, 3 at a time, every mode: sync ≈ 3 s, the others ≈ 1 s.',
      spec: {url: demoUrl, requests: 3, concurrency: 3, modes: MODE_ORDER}},
    {id: 'nine', name: '9 requests through 3 workers', hint: '9 requests, 3 at a time: three rounds of one second, ≈ 3 s per concurrent mode, 9 s sync.',
      spec: {url: demoUrl, requests: 9, concurrency: 3, modes: MODE_ORDER}},
    {id: 'many', name: 'Many requests: 1,000 at 50', hint: '1,000 requests, 50 at a time, against the demo target answering in 10 ms (its 3 workers still cap it at 300 req/s).',
      spec: {url: demoWith({delay_ms: '10'}), requests: 1000, concurrency: 50, modes: MODE_ORDER}},
    {id: 'sweep', name: "Sweep: find the server's capacity", hint: '12 requests at each concurrency from 1 to 8 against the demo target answering in 200 ms: req/s grows up to its 3 workers, then only the waiting grows (≈ 25 s).',
      spec: {url: demoWith({delay_ms: '200'}), requests: 12, concurrency: [1, 2, 3, 4, 5, 6, 7, 8], modes: ['threads', 'async', 'processes']}},
    {id: 'cpu', name: 'CPU-bound client', hint: '500 requests, 8 at a time, to a server that answers at once; each response costs its worker 2 ms of CPU: async computes on its one thread, threads and processes on every core.',
      spec: {url: demoWith({delay_ms: '0'}), requests: 500, concurrency: 8, modes: MODE_ORDER, work_us: 2000}},
  ];
}

// The server the form's URL will be measured against, for its estimate: the demo target's
// workers and delay (a `delay_ms` query override wins, as the target reads it) when the URL is the
// demo target's, else null. (Only the form predicts: a run reads its spec's `expect`, which the
// server fills in the same way.)
function demoModel(spec, config) {
  if (!spec || !spec.target || !config || !config.demo || !config.demo_target) return null;
  let url, demo;
  try {
    url = new URL(spec.target.url);
    demo = new URL(config.demo_target);
  } catch {
    return null;
  }
  if (url.protocol !== demo.protocol || url.host !== demo.host) return null;
  let delay = config.demo.delay_ms;
  const q = url.searchParams.get('delay_ms');
  if (q !== null && /^\d+$/.test(q)) delay = Number(q);
  if (!isNum(delay) || !isNum(config.demo.workers) || config.demo.workers < 1) return null;
  return {workers: config.demo.workers, delay_ms: delay};
}

function parseHeaders(text) {
  const headers = {};
  const lines = text.split('\n').map(l => l.trim()).filter(Boolean);
  for (const line of lines) {
    const i = line.indexOf(':');
    if (i <= 0) throw new ApiError(400, `headers: "${line}" is not "Name: value"`, 'target.headers');
    headers[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return headers;
}

export async function mountForm(root, ctx) {
  const {config, navigate, query} = ctx;
  const defaults = (config && config.defaults) || {};
  const demoUrl = config && config.demo_target;
  const limits = (config && config.limits) || {};
  const inputs = {};
  const errors = {};
  const errorNode = key => (errors[key] = el('p', {class: 'field-error', id: `f-${key}-error`, role: 'alert', hidden: true}));

  const field = (key, label, input, hint) => {
    inputs[key] = input;
    input.id = input.id || 'f-' + key;
    input.setAttribute('aria-describedby', `f-${key}-error` + (hint ? ` f-${key}-hint` : ''));
    return el('div', {class: 'field field-' + key},
      el('label', {for: input.id, text: label}), input,
      hint ? el('p', {class: 'hint', id: `f-${key}-hint`, text: hint}) : null,
      errorNode(key));
  };
  const numberInput = (name, attrs) => el('input', Object.assign({type: 'number', name, inputmode: 'numeric'}, attrs));

  const method = el('select', {name: 'method'}, ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'].map(m => el('option', {value: m, text: m})));
  const modeBoxes = {};
  const modeList = el('div', {class: 'modes', id: 'f-modes', role: 'group', 'aria-labelledby': 'f-modes-legend', 'aria-describedby': 'f-modes-error'},
    ((config && config.modes) || MODE_ORDER).map(m => {
      modeBoxes[m] = el('input', {type: 'checkbox', name: 'modes', value: m, id: 'f-mode-' + m});
      // A registered client (GET /api/clients): its description as the label's title.
      const client = ((config && config.clients) || []).find(c => c.name === m);
      return el('label', {class: 'check' + (client ? ' client' : ''), for: 'f-mode-' + m,
        title: client ? client.description || 'a registered client' : null}, modeBoxes[m], ' ' + m);
    }));
  inputs.modes = modeList;
  const keepalive = el('input', {type: 'checkbox', name: 'keepalive', id: 'f-keepalive'});
  inputs.keepalive = keepalive;

  const options = targetOptions({names: (config && config.tls_names) || [], field, errorNode, inputs, numberInput});
  const estimate = el('p', {class: 'estimate', id: 'estimate', 'aria-live': 'polite'});
  const formError = el('p', {class: 'form-error', role: 'alert', hidden: true});
  const submit = el('button', {type: 'submit', class: 'primary', id: 'run-button', text: 'Run'});

  const presetButtons = presets(demoUrl).map(p => el('button', {
    type: 'button', class: 'preset', dataset: {preset: p.id}, title: p.hint, 'aria-pressed': 'false',
    onclick: () => { fill(Object.assign({}, base(), p.spec)); markPreset(p.id); },
  }, el('strong', {text: p.name}), el('span', {text: p.hint})));
  const markPreset = id => presetButtons.forEach(b => b.setAttribute('aria-pressed', String(b.dataset.preset === id)));

  const tokenRow = config && config.token_required
    ? field('token', 'Token (this dashboard requires one to start runs)', el('input', {type: 'password', name: 'token', autocomplete: 'off', value: getToken()}))
    : null;

  const form = el('form', {class: 'run-form card', novalidate: true, 'aria-labelledby': 'form-title'},
    el('h1', {id: 'form-title', text: 'Run an experiment'}),
    el('p', {class: 'muted', text: demoUrl
      ? `The form holds the talk's experiment against the built-in demo target (${config.demo.workers} workers, ${fmtMs(config.demo.delay_ms)} per response). Press Run.`
      : 'No demo target runs inside this dashboard: enter the URL of a server to measure.'}),
    el('div', {class: 'presets', role: 'group', 'aria-label': 'Presets'}, demoUrl ? presetButtons : null),
    el('fieldset', {},
      el('legend', {text: 'Target'}),
      field('url', 'Target URL', el('input', {type: 'url', name: 'url', required: true, autocomplete: 'url', spellcheck: 'false', placeholder: 'http://127.0.0.1:8000/'})),
      el('div', {class: 'row'},
        field('method', 'Method', method),
        field('label', 'Label', el('input', {type: 'text', name: 'label', maxlength: 200, placeholder: 'e.g. the talk, laptop'}))),
      field('headers', 'Headers', el('textarea', {name: 'headers', rows: 2, spellcheck: 'false', placeholder: 'Accept: text/plain'}), 'One "Name: value" per line.'),
      field('body', 'Body', el('textarea', {name: 'body', rows: 2, spellcheck: 'false'}), 'Sent with every request; empty for none.'),
      options.node),
    el('fieldset', {},
      el('legend', {text: 'Workload'}),
      el('div', {class: 'row'},
        field('requests', 'Requests', numberInput('requests', {min: 1, max: limits.max_requests})),
        field('concurrency', 'Concurrency', el('input', {type: 'text', name: 'concurrency', inputmode: 'text', spellcheck: 'false', autocomplete: 'off'}),
          'Workers (threads, processes, async slots); sync uses one. A list such as 1,2,4,8 runs a sweep: every mode at every level.')),
      el('div', {class: 'field field-modes'},
        el('span', {class: 'label', id: 'f-modes-legend', text: 'Modes'}), modeList, errorNode('modes')),
      el('div', {class: 'row'},
        field('timeout', 'Timeout (ms)', numberInput('timeout_ms', {min: 1})),
        field('rate', 'Rate (requests/s, 0 = no limit)', numberInput('rate', {min: 0, step: 'any', inputmode: 'decimal'}))),
      field('work', 'Work per response (µs of CPU)', numberInput('work_us', {min: 0, max: 1000000}), 'What the client computes over each response before its next request: 0 for none.'),
      el('div', {class: 'field field-keepalive'},
        el('label', {class: 'check', for: 'f-keepalive'}, keepalive, ' Keep connections alive'), errorNode('keepalive'))),
    el('fieldset', {class: 'thresholds'},
      el('legend', {text: 'Thresholds (optional): the run fails when a mode crosses one'}),
      el('div', {class: 'row'},
        field('p99', 'p99 latency at most (ms)', numberInput('p99_ms', {min: 0, step: 'any', inputmode: 'decimal'})),
        field('errrate', 'Error rate at most (%)', numberInput('error_rate', {min: 0, max: 100, step: 'any', inputmode: 'decimal'})),
        field('rpsmin', 'Throughput at least (req/s)', numberInput('rps_min', {min: 0, step: 'any', inputmode: 'decimal'})))),
    tokenRow,
    formError,
    el('div', {class: 'actions'}, estimate, submit));

  function base() {
    return {
      url: demoUrl || '', method: (defaults.target && defaults.target.method) || 'GET', headers: {}, body: null,
      requests: defaults.requests ?? 3, concurrency: defaults.concurrency ?? 3, modes: defaults.modes || MODE_ORDER,
      timeout_ms: defaults.timeout_ms ?? 30000, rate: defaults.rate ?? 0, keepalive: defaults.keepalive ?? true, label: '', work_us: 0,
    };
  }

  function fill(v) {
    inputs.url.value = v.url || '';
    method.value = (v.method || 'GET').toUpperCase();
    inputs.headers.value = Object.entries(v.headers || {}).map(([k, x]) => `${k}: ${x}`).join('\n');
    inputs.body.value = v.body ?? '';
    inputs.requests.value = v.requests;
    inputs.concurrency.value = levelsText(v.concurrency).replace(/ /g, '');
    for (const [m, box] of Object.entries(modeBoxes)) box.checked = (v.modes || []).includes(m);
    inputs.timeout.value = v.timeout_ms;
    inputs.rate.value = v.rate;
    inputs.work.value = v.work_us || 0;
    keepalive.checked = v.keepalive !== false;
    inputs.label.value = v.label || '';
    const t = v.thresholds || {};
    inputs.p99.value = t.p99_ms ?? '';
    inputs.errrate.value = t.error_rate !== undefined && t.error_rate !== null ? +(t.error_rate * 100).toPrecision(12) : '';
    inputs.rpsmin.value = t.rps_min ?? '';
    options.fill(v.target, v.connections);
    clearErrors();
    updateEstimate();
  }

  function clearErrors() {
    for (const key of FIELDS) {
      if (!errors[key]) continue;
      errors[key].hidden = true;
      errors[key].textContent = '';
      if (inputs[key]) inputs[key].removeAttribute('aria-invalid');
    }
    formError.hidden = true;
    formError.textContent = '';
  }

  function showError(err) {
    const key = err instanceof ApiError && err.status === 401 && errors.token ? 'token' : fieldFor(err.field);
    if (key && errors[key]) {
      errors[key].textContent = err.message;
      errors[key].hidden = false;
      inputs[key].setAttribute('aria-invalid', 'true');
      if (options.keys.includes(key)) options.open();
      (key === 'modes' ? Object.values(modeBoxes)[0] : options.focusOf(key) || inputs[key]).focus();
    } else {
      formError.textContent = err.message;
      formError.hidden = false;
    }
  }

  function numberOf(input) {
    const t = input.value.trim();
    return t === '' ? undefined : Number(t);
  }

  function readSpec() {
    const spec = {
      target: {url: inputs.url.value.trim(), method: method.value, headers: parseHeaders(inputs.headers.value), body: inputs.body.value === '' ? null : inputs.body.value},
      modes: Object.entries(modeBoxes).filter(([, b]) => b.checked).map(([m]) => m),
      keepalive: keepalive.checked,
      label: inputs.label.value,
    };
    const levels = parseLevels(inputs.concurrency.value);
    if (levels !== undefined) spec.concurrency = levels;
    for (const [key, name] of [['requests', 'requests'], ['timeout', 'timeout_ms'], ['rate', 'rate'], ['work', 'work_us']]) {
      const v = numberOf(inputs[key]);
      if (v !== undefined) spec[name] = Number.isNaN(v) ? inputs[key].value : v;
    }
    const thresholds = {};
    for (const [key, name, scale] of [['p99', 'p99_ms', 1], ['errrate', 'error_rate', 0.01], ['rpsmin', 'rps_min', 1]]) {
      const v = numberOf(inputs[key]);
      if (v !== undefined) thresholds[name] = Number.isNaN(v) ? inputs[key].value : +(v * scale).toPrecision(12);
    }
    if (Object.keys(thresholds).length) spec.thresholds = thresholds;
    return options.read(spec);
  }

  function updateEstimate() {
    let spec;
    try {
      spec = readSpec();
    } catch {
      estimate.textContent = '';
      return;
    }
    const server = demoModel(spec, config);
    const levels = levelsOf(spec);
    if (!server || !(spec.requests >= 1) || !levels.length || !levels.every(c => c >= 1) || !spec.modes.length) {
      estimate.textContent = '';
      return;
    }
    if (!(server.delay_ms > 0)) {
      estimate.textContent = `The demo target answers at once (${fmtMs(server.delay_ms)}): the time is the client's own, so there is no ideal time to estimate.`;
      return;
    }
    // A sweep runs every mode at every level: its ideal is the sum over the levels.
    const idealOf = m => {
      const per = levels.map(c => idealMs(m, Object.assign({}, spec, {concurrency: c}), server));
      return per.every(isNum) ? per.reduce((a, ms) => a + ms, 0) : null;
    };
    const parts = spec.modes.map(m => [m, idealOf(m)]).filter(([, ms]) => isNum(ms));
    const unknown = spec.modes.filter(m => !isNum(idealOf(m)));
    if (!parts.length) {
      estimate.textContent = '';
      return;
    }
    const total = parts.reduce((a, [, ms]) => a + ms, 0);
    estimate.textContent = `Ideal time against the demo target (${server.workers} workers, ${fmtMs(server.delay_ms)} each` +
      (spec.rate > 0 ? `, arrivals at ${fmtRate(spec.rate)}` : '') + '): ' +
      parts.map(([m, ms]) => `${m} ${fmtDuration(ms)}`).join(', ') + ` — about ${fmtDuration(total)} in all` +
      (unknown.length ? ` besides ${unknown.join(', ')} (a client program's time is its own).` : '.');
  }

  form.addEventListener('input', () => { markPreset(null); updateEstimate(); });
  form.addEventListener('change', updateEstimate);
  form.addEventListener('submit', async e => {
    e.preventDefault();
    clearErrors();
    let spec;
    try {
      spec = readSpec();
    } catch (err) {
      showError(err);
      return;
    }
    if (tokenRow) setToken(inputs.token.value.trim());
    submit.disabled = true;
    submit.textContent = 'Starting…';
    try {
      const res = await createRun(spec);
      options.clearSecret();
      navigate('/runs/' + encodeURIComponent(res.id), {fresh: true});
    } catch (err) {
      showError(err);
      submit.disabled = false;
      submit.textContent = 'Run';
    }
  });

  clear(root).append(form);
  // A client program's mode says what it is (its registered description) on hover and to a
  // screen reader.
  getClients().then(res => {
    for (const c of (res && res.clients) || []) {
      const box = modeBoxes[c.name];
      if (!box || !c.description) continue;
      box.parentNode.title = c.description;
      box.setAttribute('aria-description', c.description);
    }
  }, () => {});
  fill(base());
  markPreset(demoUrl ? 'talk' : null);
  const from = query.get('from');
  if (from) {
    try {
      const run = await getRun(from);
      const s = run.spec || {};
      fill(Object.assign(base(), {url: s.target && s.target.url, method: s.target && s.target.method, headers: s.target && s.target.headers, body: s.target && s.target.body},
        {target: s.target, connections: s.connections, requests: s.requests, concurrency: s.concurrency, modes: s.modes, timeout_ms: s.timeout_ms, rate: s.rate, keepalive: s.keepalive, label: s.label || run.label || '', thresholds: s.thresholds, work_us: s.work_us}));
      markPreset(null);
    } catch (err) {
      formError.textContent = `Could not load run ${from}: ${err.message}`;
      formError.hidden = false;
    }
  }
  root.dataset.ready = 'true';
  return () => {};
}
