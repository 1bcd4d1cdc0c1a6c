#!/usr/bin/env node
// node-fetch: Node's built-in fetch (undici, keep-alive) and a promise pool: C lanes, each
// awaiting one request after another, taking the next seq as it becomes free. Speaks
// docs/CLIENTS.md. process.hrtime.bigint() reads CLOCK_MONOTONIC on Linux (libuv's uv_hrtime).
import { createInterface } from 'node:readline';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const write = (o) => process.stdout.write(JSON.stringify(o) + '\n');

// workUs of CPU time (this process: one JS thread) hashing the body.
function work(body, workUs) {
  if (workUs <= 0) return 0;
  const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
  const data = body.length ? body : new Uint8Array([120]);
  let h = 0;
  for (const end = cpu() + workUs; cpu() < end;)
    for (let i = 0; i < data.length && i < 4096; i++) h = (h * 31 + data[i]) >>> 0;
  return h;
}

function kindOf(e) {
  const code = e.cause?.code ?? e.code ?? '';
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/.test(code)) return 'timeout';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH') return 'connect';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE') return 'reset';
  return 'other';
}

const rl = createInterface({ input: process.stdin });
const spec = JSON.parse(await new Promise((resolve) => rl.once('line', resolve)));
rl.close();
const { url, method, headers, body } = spec.target;
const n = spec.requests;
const lanes = Math.min(spec.concurrency, n);
await (await fetch('data:,warm')).text(); // loads undici before hello
const t0 = nowUs();
write({ hello: `node-fetch (node ${process.version}, fetch)`, t_us: t0 });

let next = 0;
async function lane(id) {
  for (let seq = next++; seq < n; seq = next++) {
    if (spec.rate > 0) { // a timer may fire a little early: wait until it is really due
      const due = t0 + (seq * 1e6) / spec.rate;
      for (let left = due - nowUs(); left > 0; left = due - nowUs())
        await new Promise((r) => setTimeout(r, Math.ceil(left / 1000)));
    }
    const start = nowUs();
    try {
      const r = await fetch(url, {
        method, body: body ?? undefined, redirect: 'manual',
        headers: spec.keepalive ? headers : { ...headers, connection: 'close' },
        signal: AbortSignal.timeout(spec.timeout_ms),
      });
      const data = new Uint8Array(await r.arrayBuffer());
      const ok = r.status >= 200 && r.status < 400;
      write({ seq, lane: id, start_us: start, end_us: nowUs(), status: r.status, bytes: data.length,
              error_kind: ok ? null : 'status', error: null });
      work(data, spec.work_us);
    } catch (e) {
      write({ seq, lane: id, start_us: start, end_us: nowUs(), status: 0, bytes: 0,
              error_kind: kindOf(e), error: String(e.cause?.message ?? e.message).slice(0, 180) });
    }
  }
}
await Promise.all(Array.from({ length: lanes }, (_, id) => lane(id)));
write({ done: n });
