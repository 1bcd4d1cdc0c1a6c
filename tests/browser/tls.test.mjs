// Real targets from the form: a run over TLS with a CA named from --tls-dir and a client
// certificate and key pasted as PEM (the demo target requiring mTLS), its TLS phase drawn between
// connecting and waiting, its connections and HTTP version per mode, and the pasted key nowhere
// in the page or the API's answer; h2mux at C=3 over one connection against an h2c demo target.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BIN, runViaApi, startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, api, until, apiRows,
  timelineGeometry, timelineXY, canvasPixels, isServerBlue } from './helpers.mjs';

// The TLS phase's colour (#db2777) over the white card.
const isTlsPink = ([r, g, b, a]) => a > 200 && r > 180 && g < 90 && b > 80 && b < 160;

// A throwaway CA, a server certificate for 127.0.0.1 and localhost, and a client certificate.
function makePki(dir) {
  const ssl = (...args) => execFileSync('openssl', args, {cwd: dir, stdio: 'pipe'});
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=conlab browser test CA');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, subj] of [['server', '/CN=127.0.0.1'], ['client', '/CN=conlab client']]) {
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
      '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  }
}

// `conlab target` on a port the kernel picks; resolves {url, stop()}.
async function startTarget(args) {
  const proc = spawn(BIN, ['target', '--listen', '127.0.0.1:0', ...args], {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  proc.stdout.on('data', d => (log += d));
  proc.stderr.on('data', d => (log += d));
  let exited = null;
  proc.on('exit', code => (exited = code));
  const url = await until(() => {
    if (exited !== null) throw new Error(`conlab target exited with ${exited}: ${log}`);
    const m = /listening on (https?:\/\/\S+)/.exec(log);
    return m && m[1];
  }, 10000, 'conlab target to listen').catch(e => {
    proc.kill('SIGKILL');
    throw e;
  });
  return {
    url,
    async stop() {
      if (exited !== null) return;
      proc.kill('SIGTERM');
      await new Promise(r => (exited !== null ? r() : proc.once('exit', r)));
    },
  };
}

describe('real targets from the form: TLS, HTTP/2, h2mux', {timeout: 120000}, () => {
  let dir, tlsDir, server, tlsTarget, h2cTarget, browser, tab, keyText;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conlab-browser-tls-'));
    makePki(dir);
    tlsDir = path.join(dir, 'tlsdir');
    fs.mkdirSync(tlsDir);
    fs.copyFileSync(path.join(dir, 'ca.pem'), path.join(tlsDir, 'ca.pem'));
    keyText = fs.readFileSync(path.join(dir, 'client.key'), 'utf8');
    [server, tlsTarget, h2cTarget] = await Promise.all([
      startServer(['--tls-dir', tlsDir]),
      startTarget(['--tls-cert', path.join(dir, 'server.pem'), '--tls-key', path.join(dir, 'server.key'),
        '--tls-client-ca', path.join(dir, 'ca.pem'), '--workers', '3', '--delay-ms', '150']),
      startTarget(['--workers', '3', '--delay-ms', '1000']),
    ]);
    browser = await launchBrowser();
    tab = await openPage(browser, {viewport: {width: 1280, height: 800}, allow: [/status of 400/]});
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    for (const s of [server, tlsTarget, h2cTarget]) if (s) await s.stop();
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  // Fills the form's workload and picks exactly `modes`.
  async function fillWorkload(page, url, modes, requests, concurrency) {
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    await page.fill('#f-url', url);
    await page.fill('#f-requests', String(requests));
    await page.fill('#f-concurrency', String(concurrency));
    const all = await page.$$eval('#f-modes input[type=checkbox]', xs => xs.map(x => x.value));
    for (const m of all) await (modes.includes(m) ? page.check('#f-mode-' + m) : page.uncheck('#f-mode-' + m));
  }

  async function runFromForm(page) {
    await page.click('#run-button');
    await page.waitForURL(/\/runs\//);
    await waitRunEnded(page, 60000);
    return decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  }

  it('keeps the target options collapsed, and Run in the first viewport', async () => {
    const {page, problems} = tab;
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    assert.equal(await page.$eval('#target-options', d => d.open), false);
    const box = await (await page.$('#run-button')).boundingBox();
    assert.ok(box && box.y + box.height <= 800, `Run at ${JSON.stringify(box)}`);
    // the --tls-dir names are offered for the CA, the certificate and the key; paths never
    const names = await page.$$eval('#f-ca option', os => os.map(o => o.value));
    assert.ok(names.includes('ca.pem'), names.join());
    assert.ok(!names.some(n => n.includes('/')), names.join());
    assert.deepEqual(await page.$$eval('#f-mode-h2mux', xs => xs.length), 1);
    // the API's message about an option goes next to it, the options opened to show it
    await page.check('#f-mode-h2mux');
    await page.click('#target-options > summary');
    await page.fill('#f-connections', '0');
    await page.click('#target-options > summary');
    await page.click('#run-button');
    await page.waitForSelector('#f-connections-error:not([hidden])');
    assert.match(await page.textContent('#f-connections-error'), /connections/);
    assert.equal(await page.$eval('#target-options', d => d.open), true);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'f-connections');
    assert.deepEqual(problems, []);
  });

  it('runs over TLS with a CA from --tls-dir and a pasted client key, draws the TLS phase, and never shows the key', async () => {
    const {page, problems} = tab;
    await fillWorkload(page, tlsTarget.url, ['sync', 'async'], 3, 3);
    await page.click('#target-options > summary');
    await page.selectOption('#f-ca', 'ca.pem');
    await page.selectOption('#f-cert', '_pem');
    await page.fill('#f-cert-pem', fs.readFileSync(path.join(dir, 'client.pem'), 'utf8'));
    await page.selectOption('#f-key', '_pem');
    await page.fill('#f-key-pem', keyText);
    const id = await runFromForm(page);

    const run = (await api(server.base, '/api/runs/' + id)).data;
    assert.equal(run.status, 'done', JSON.stringify(run.results));
    for (const r of run.results) assert.equal(r.ok, 3, JSON.stringify(r));
    assert.equal(run.spec.target.tls.key, '***');

    // connections and HTTP versions per mode: sync keeps one connection alive for its 3 requests
    await page.waitForSelector('#transport');
    const sync = page.locator('#transport tr[data-mode="sync"]');
    assert.equal(await sync.locator('td.http').textContent(), 'HTTP/1.1');
    assert.equal(await sync.locator('td.opened').textContent(), '1');
    assert.equal(await sync.locator('td.reused').textContent(), '2');
    assert.match(await page.locator('#transport tr[data-mode="async"] td.tls').textContent(), /ms/);
    assert.match(await page.textContent('#timelines .legend'), /TLS handshake/);
    assert.equal(await page.$$eval('#phase-chart', xs => xs.length), 1);

    // the first request's TLS handshake, drawn between connecting and waiting for the server
    const rows = await apiRows(server.base, id, 'sync');
    const first = rows.find(r => r.seq === 0) || rows[0];
    assert.ok(first.tls_us > first.connect_us && first.ttfb_us > first.tls_us, JSON.stringify(first));
    const span = first.ttfb_us / 1000;
    await page.fill('#zoom-from', '0');
    await page.fill('#zoom-to', String(span * 1.2));
    await page.click('form.zoom button[type=submit]');
    const sel = '#timelines canvas.timeline[data-mode="sync"][data-view="lanes"]';
    await page.waitForFunction(s => Number(document.querySelector(s).dataset.xMax) < 1000, sel);
    const g = await timelineGeometry(page, sel);
    const tlsMid = timelineXY(g, (first.connect_us + first.tls_us) / 2000, first.lane, 0);
    const serverMid = timelineXY(g, (first.tls_us + first.ttfb_us) / 2000, first.lane, 0);
    const [tlsPx, serverPx] = await canvasPixels(page, sel, [tlsMid, serverMid]);
    assert.ok(isTlsPink(tlsPx), `TLS phase pixel ${tlsPx} at ${JSON.stringify(tlsMid)} (${JSON.stringify(first)})`);
    assert.ok(isServerBlue(serverPx), `server phase pixel ${serverPx}`);
    await screenshot(page, 'tls-run');

    // the key: nowhere in the page, nor in the API's answer
    const keyBody = keyText.split('\n').filter(l => l && !l.startsWith('-----')).join('');
    const keyLine = keyText.split('\n')[1];
    const html = await page.content();
    const values = await page.$$eval('input, textarea', xs => xs.map(x => x.value).join('\n'));
    for (const text of [html, values, JSON.stringify((await api(server.base, '/api/runs/' + id)).data)]) {
      assert.ok(!text.includes(keyLine) && !text.replace(/\s/g, '').includes(keyBody), 'the pasted key shows');
    }
    // and "run again" does not refill it (the API shows ***)
    await page.goto(server.base + '/?from=' + encodeURIComponent(id));
    await waitView(page, 'form');
    assert.equal(await page.inputValue('#f-key-pem'), '');
    assert.equal(await page.inputValue('#f-ca'), '_pem');
    assert.ok(!(await page.content()).includes(keyLine));
    assert.deepEqual(problems, []);
  });

  it('runs h2mux at C=3 over one connection against an h2c target', async () => {
    const {page, problems} = tab;
    await fillWorkload(page, h2cTarget.url, ['h2mux'], 3, 3);
    await page.click('#target-options > summary');
    await page.selectOption('#f-http', '2-prior-knowledge');
    await page.fill('#f-connections', '1');
    const id = await runFromForm(page);
    const run = (await api(server.base, '/api/runs/' + id)).data;
    assert.equal(run.status, 'done', JSON.stringify(run.results));
    assert.equal(run.results[0].connections, 1);
    const row = page.locator('#transport tr[data-mode="h2mux"]');
    assert.equal(await row.locator('td.http').textContent(), 'HTTP/2');
    assert.equal(await row.locator('td.opened').textContent(), '1');
    // one lane per stream, grouped by connection: one connection, three stream slots
    const info = await page.evaluate(() => window.__conlab.timelines.h2mux);
    assert.deepEqual(info.connections, [0]);
    assert.equal(info.lanes, 3);
    assert.match(await page.textContent('.timeline-mode[data-mode="h2mux"] .timeline-note'), /3 requests as streams on 3 stream slots over 1 connection/);
    await screenshot(page, 'tls-h2mux');
    // over two connections: the stream slots in two groups, a separator between them
    const two = await runViaApi(server.base, {target: {url: h2cTarget.url, http: '2-prior-knowledge'}, requests: 3, concurrency: 3, connections: 2, modes: ['h2mux']});
    assert.equal(two.results[0].connections, 2, JSON.stringify(two.results));
    await page.goto(`${server.base}/runs/${two.id}`);
    await waitRunEnded(page);
    assert.deepEqual((await page.evaluate(() => window.__conlab.timelines.h2mux)).connections, [0, 1]);
    const groups = await page.$eval('canvas.timeline[data-mode="h2mux"][data-view="lanes"]', c => c.dataset.groups.split(',').map(Number));
    assert.equal(groups.length, 2);
    assert.equal(groups[0], 0);
    assert.ok(groups[1] >= 1 && groups[1] <= 2, String(groups));
    assert.equal(await page.locator('#transport tr[data-mode="h2mux"] td.opened').textContent(), '2');
    assert.deepEqual(problems, []);
  });
});
