// Clients (docs/CLIENTS.md) through the real page: the dashboard started as scripts/start.sh
// starts it (the shipped clients registered, the talk's four Python clients in the default run),
// the form lists every client with its description, one click runs the C modes and the Python
// clients side by side against the demo target, and every client is drawn like a mode: its
// summary row, its timeline with a bar per request on its lane.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, api, timelineGeometry, timelineXY, canvasPixels, isBlank, apiRows } from './helpers.mjs';

const C_MODES = ['sync', 'threads', 'async', 'processes'];
const PY = ['py-sync', 'py-threads', 'py-asyncio', 'py-processes'];

describe('clients beside the modes in the page', {timeout: 300000}, () => {
  let server, browser, first, runId;

  before(async () => {
    server = await startServer(['--clients', 'clients/clients.conf', '--demo-delay-ms', '300',
      '--default-modes', [...C_MODES, ...PY].join(',')]);
    browser = await launchBrowser();
    first = await openPage(browser);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('lists the registered clients in the form, the Python four checked', async () => {
    const {page} = first;
    const {data} = await api(server.base, '/api/clients');
    assert.deepEqual(data.clients.map(c => c.name), [...PY, 'go-goroutines', 'node-fetch']);
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    for (const c of data.clients) {
      assert.equal(await page.getAttribute(`label[for="f-mode-${c.name}"]`, 'title'), c.description);
      assert.equal(await page.isChecked('#f-mode-' + c.name), PY.includes(c.name), c.name);
    }
    for (const m of C_MODES) assert.equal(await page.isChecked('#f-mode-' + m), true, m);
    await screenshot(page, 'clients-form');
  });

  it('runs the C modes and the Python clients side by side and draws every one', async () => {
    const {page, problems} = first;
    await page.click('#run-button');
    await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
    runId = new URL(page.url()).pathname.split('/').pop();
    await waitRunEnded(page, 120000);
    assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
    const rows = await page.evaluate(() => window.__conlab.summary.rows);
    assert.deepEqual(rows.map(r => r.mode), [...C_MODES, ...PY]);
    const wall = Object.fromEntries(rows.map(r => [r.mode, r.wall_ms]));
    // The talk's shape in both languages: one after another is about 3× the concurrent ones
    // (a loaded machine stretches the short ones: 1.5× is the bound).
    for (const m of ['py-threads', 'py-asyncio', 'py-processes']) assert.ok(wall['py-sync'] > 1.5 * wall[m], `${m}: ${JSON.stringify(wall)}`);
    const canvases = await page.$$eval('canvas.timeline[data-view="lanes"]', cs => cs.map(c => c.dataset.mode));
    assert.deepEqual(canvases, [...C_MODES, ...PY]);
    for (const m of PY) {
      const sel = `canvas.timeline[data-view="lanes"][data-mode="${m}"]`;
      const g = await timelineGeometry(page, sel);
      assert.equal(g.rows, m === 'py-sync' ? 1 : 3, m);
      const reqs = await apiRows(server.base, runId, m);
      assert.equal(reqs.length, 3, m);
      // each request is drawn on its lane, halfway through it
      const px = await canvasPixels(page, sel, reqs.map(r => timelineXY(g, (r.start_us + r.end_us) / 2000, r.lane, 0)));
      assert.ok(px.every(p => !isBlank(p)), `${m}: ${JSON.stringify(px)}`);
    }
    const th = await page.getAttribute('.summary-table tr[data-mode="py-threads"] th', 'title');
    assert.match(th, /^a client: py-threads .*start-up .* not in its wall time$/);
    await screenshot(page, 'clients-run');
    assert.deepEqual(problems, []);
  });
});
