// The conlab HTTP API client (docs/API.md): one function per endpoint. (Not named api.js: the
// server routes every path starting with /api to the API.) Failures throw ApiError with
// the HTTP status, the server's message and, for a bad spec, the field at fault.

export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
  }
}

const TOKEN_KEY = 'conlab.token';

// The dashboard's bearer token (kept in localStorage), sent with every request when set: a
// dashboard started with --token wants it for reads too (unless --public-read).
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the token lives for this call only */
  }
}

async function call(method, path, body) {
  const headers = {Accept: 'application/json'};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, 'cannot reach the dashboard: ' + e.message);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, res.ok ? `invalid JSON from ${path}` : `${res.status} ${res.statusText}`);
    }
  }
  if (!res.ok) throw new ApiError(res.status, (data && data.error) || `${res.status} ${res.statusText}`, data && data.field);
  return data;
}

const runPath = id => '/api/runs/' + encodeURIComponent(id);

export const getConfig = () => call('GET', '/api/config');
// {clients: [{name, description}]}: the programs registered as modes.
export const getClients = () => call('GET', '/api/clients');
export const createRun = spec => call('POST', '/api/runs', spec);
export const getRun = id => call('GET', runPath(id));
// concurrency: only that level of a sweep.
export const getCharts = (id, concurrency) => call('GET', runPath(id) + '/charts' + (concurrency ? '?concurrency=' + encodeURIComponent(concurrency) : ''));
// {failures: [{mode, kind, message, count, first_us, last_us}]}
export const getFailures = id => call('GET', runPath(id) + '/failures');
export const cancelRun = id => call('POST', runPath(id) + '/cancel');

// {runs: [RUN...]} newest first; url filters by exact target URL, label by exact label.
export function listRuns({limit = 200, offset = 0, url, label} = {}) {
  const q = new URLSearchParams({limit: String(limit), offset: String(offset)});
  if (url) q.set('url', url);
  if (label) q.set('label', label);
  return call('GET', '/api/runs?' + q);
}

// One page of a mode's requests in seq order. opts: {limit, offset, concurrency (a sweep's
// level), fromUs/toUs (only the requests that overlap that window)}.
export function requestsPage(id, mode, {limit = 1000, offset = 0, concurrency, fromUs, toUs} = {}) {
  const q = new URLSearchParams({mode, limit: String(limit), offset: String(offset)});
  if (concurrency !== undefined && concurrency !== null) q.set('concurrency', String(concurrency));
  if (fromUs !== undefined) q.set('from_us', String(Math.max(0, Math.floor(fromUs))));
  if (toUs !== undefined) q.set('to_us', String(Math.ceil(toUs)));
  return call('GET', runPath(id) + '/requests?' + q);
}

export const exportUrl = (id, format) => runPath(id) + '/export.' + format;

// Downloads an export with the token (a plain link cannot carry the Authorization header).
export async function downloadExport(id, format) {
  const res = await fetch(exportUrl(id, format), {headers: {Authorization: 'Bearer ' + getToken()}});
  if (!res.ok) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = `conlab-${id}.${format}`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// Server-sent events read through fetch (EventSource cannot send the token). Calls on(event,
// data) per event; resolves when the stream ends, rejects when it cannot be read. `signal`
// aborts it.
async function readEvents(path, on, signal) {
  const headers = {Accept: 'text/event-stream'};
  const token = getToken();
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(path, {headers, signal});
  if (!res.ok || !res.body) throw new ApiError(res.status, `${res.status} ${res.statusText}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buf += value.replace(/\r\n?/g, '\n');
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
      if (data.length) on(event, data.join('\n'));
    }
  }
}

// Follows a run's server-sent events until it ends. Handlers: progress({status, progress}),
// mode({mode, result}), end(RUN or null), error(message) when the stream is refused or lost
// before the end. Returns a function that stops listening.
export function watchRun(id, handlers) {
  const abort = new AbortController();
  let closed = false;
  const stop = () => {
    closed = true;
    abort.abort();
  };
  const lost = () => {
    if (!closed && handlers.error) handlers.error('lost the progress stream');
  };
  readEvents(runPath(id) + '/events', (event, text) => {
    if (closed) return;
    let data = null;
    try {
      data = JSON.parse(text);
    } catch {
      if (event !== 'end') return;
    }
    if (event === 'end') {
      stop();
      if (handlers.end) handlers.end(data);
    } else if (handlers[event] && data) {
      handlers[event](data);
    }
  }, abort.signal).then(lost, lost);
  return stop;
}
