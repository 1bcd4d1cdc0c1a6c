// The lab in the page, what needs no quiet machine (lab.test.mjs holds the sweep whose knee does):
// a CPU-bound run's findings listed at the top next to their numbers, a sweep's live progress,
// the two presets. Screenshot: build/screenshots/cpu-bound-run.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, runViaApi, api } from './helpers.mjs';

let server, browser;

before(async () => {
  server = await startServer(['--demo-workers', '3', '--demo-delay-ms', '1000']);
  browser = await launchBrowser();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test('findings of a CPU-bound run listed at the top of the run view', async () => {
  const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=0'}, requests: 200, concurrency: 4,
    modes: ['sync', 'threads', 'async', 'processes'], work_us: 2000, label: 'CPU-bound client'});
  assert.equal(run.status, 'done');
  const {page, problems, context} = await openPage(browser);
  try {
    await page.goto(`${server.base}/runs/${run.id}`);
    await waitRunEnded(page);
    const shown = await page.$$eval('#findings .finding', els => els.flatMap(e => e.dataset.mode.split(' ').map(m => e.dataset.kind + ':' + m)));
    assert.deepEqual(shown.sort(), run.findings.map(f => f.kind + ':' + (f.mode || '')).sort());
    assert.ok(shown.some(s => s.startsWith('cost:')), shown.join(' '));
    // The findings come first: right under the share bar, above the summary.
    const order = await page.$$eval('.run-body > *', els => els.map(e => e.id || e.className));
    assert.ok(order.indexOf('findings') < order.indexOf('summary'), order.join(' '));
    assert.ok((await page.textContent('.run-header')).includes('work per response'));
    await screenshot(page, 'cpu-bound-run');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('live progress of a sweep counts every level of a mode', async () => {
  const {page, problems, context} = await openPage(browser);
  try {
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    // After the first of 5 levels, threads has done 6 of its 30 requests: a finished first
    // level does not fill its bar.
    const got = await page.evaluate(async () => {
      const {modeProgress} = await import('/liveview.js');
      const run = {spec: {requests: 6, concurrency: [1, 2, 3, 4, 6], modes: ['threads', 'async']},
        results: [{mode: 'threads', concurrency: 1}, {mode: 'async', concurrency: 1}]};
      return modeProgress(run, {done: 14, total: 60, mode: 'threads', concurrency: 2,
        modes: {threads: {done: 8, total: 30}, async: {done: 6, total: 30}}});
    });
    assert.deepEqual(got, {threads: {done: 8, total: 30}, async: {done: 6, total: 30}});
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the presets: a sweep of C = 1..8 at 200 ms and a CPU-bound client', async () => {
  const {page, problems, context} = await openPage(browser);
  try {
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    await page.click('button[data-preset="sweep"]');
    assert.equal(await page.inputValue('#f-concurrency'), '1,2,3,4,5,6,7,8');
    assert.ok((await page.inputValue('#f-url')).includes('delay_ms=200'));
    assert.match(await page.textContent('#estimate'), /Ideal time/);
    await page.click('button[data-preset="cpu"]');
    assert.equal(await page.inputValue('#f-work'), '2000');
    assert.ok((await page.inputValue('#f-url')).includes('delay_ms=0'));
    // A list in the form is a sweep in the spec; a bad one is refused naming the field.
    await page.click('button[data-preset="talk"]');
    await page.fill('#f-concurrency', '4,2');
    await page.click('#run-button');
    await page.waitForSelector('#f-concurrency-error:not([hidden])');
    assert.match(await page.textContent('#f-concurrency-error'), /^concurrency:/);
    await page.fill('#f-concurrency', '1,3');
    await page.fill('#f-requests', '3');
    await page.fill('#f-url', server.demo + '?delay_ms=0');
    await page.click('#run-button');
    await waitView(page, 'run');
    await waitRunEnded(page);
    const id = page.url().split('/runs/')[1];
    const {data: run} = await api(server.base, '/api/runs/' + id);
    assert.deepEqual(run.spec.concurrency, [1, 3]);
    assert.ok(await page.$('#sweep-rps'));
    assert.deepEqual(problems.filter(p => !/400/.test(p)), []);
  } finally {
    await context.close();
  }
});
