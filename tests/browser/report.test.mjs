// Exports and the offline report, errors drawn in red, waiting for a slot with a rate, and a
// large run that stays responsive (only /charts aggregates, never the request pages).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startServer, launchBrowser, openPage, waitRunEnded, screenshot, runViaApi, api } from './helpers.mjs';

describe('exports, report and large runs', {timeout: 300000}, () => {
  let server, browser, tmp;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conlab-report-'));
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
    if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
  });

  it('links the JSON and CSV exports and downloads a report that opens offline with its charts', async () => {
    const label = 'report <b>not bold</b>';
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=20'}, requests: 12, concurrency: 4, label});
    const tab = await openPage(browser, {acceptDownloads: true});
    try {
      const {page, problems} = tab;
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 20000);
      const online = await page.evaluate(() => ({summary: window.__conlab.summary.rows, timelines: window.__conlab.timelines}));

      const json = await page.request.get(server.base + await page.getAttribute('#export-json', 'href'));
      assert.equal(json.status(), 200);
      const doc = await json.json();
      assert.equal(doc.run.id, run.id);
      assert.equal(doc.requests.threads.length, 12);
      const csv = await page.request.get(server.base + await page.getAttribute('#export-csv', 'href'));
      assert.equal(csv.status(), 200);
      const lines = (await csv.text()).trim().split('\n');
      assert.equal(lines[0], 'mode,seq,lane,sched_us,start_us,connect_us,ttfb_us,end_us,status,bytes,error_kind,error');
      assert.equal(lines.length, 1 + 12 * 4);

      const [download] = await Promise.all([page.waitForEvent('download', {timeout: 15000}), page.click('#download-report')]);
      assert.equal(download.suggestedFilename(), `conlab-run-${run.id}.html`);
      const file = path.join(tmp, download.suggestedFilename());
      await download.saveAs(file);
      const html = fs.readFileSync(file, 'utf8');
      assert.ok(html.length > 200000, 'the chart library is inlined');
      assert.doesNotMatch(html, /<script[^>]+src=/, 'no external scripts');
      assert.doesNotMatch(html, /<link[^>]+stylesheet/, 'no external stylesheet');
      assert.deepEqual(problems, []);

      // Offline, from the file: every request that is not the file itself is a failure.
      const off = await openPage(browser, {offline: true});
      try {
        const outside = [];
        off.page.on('request', r => {
          if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) outside.push(r.url());
        });
        await off.page.goto(pathToFileURL(file).href);
        await off.page.waitForSelector('main#app[data-ready="true"]', {timeout: 15000});
        const offline = await off.page.evaluate(() => ({summary: window.__conlab.summary.rows, timelines: window.__conlab.timelines}));
        assert.deepEqual(offline, online);
        const charts = await off.page.evaluate(() => ['#summary-chart', '#latency-chart', '#throughput-chart', 'canvas.timeline']
          .map(sel => [...document.querySelectorAll(sel)].filter(c => Chart.getChart(c)).length));
        assert.deepEqual(charts, [1, 1, 1, 4]);
        assert.equal(await off.page.textContent('.run-title .run-label'), label);
        await off.page.fill('#zoom-from', '10');
        await off.page.fill('#zoom-to', '40');
        await off.page.click('.zoom button[type=submit]');
        assert.equal(await off.page.evaluate(() => Chart.getChart(document.querySelector('canvas.timeline')).scales.x.max), 40);
        await off.page.click('#zoom-reset');
        await screenshot(off.page, 'report-offline');
        assert.deepEqual(outside, []);
        assert.deepEqual(off.problems, []);
      } finally {
        await off.context.close();
      }
    } finally {
      await tab.context.close();
    }
  });

  it('draws failed requests in red and counts them', async () => {
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=10&status=503'}, requests: 6, concurrency: 3, modes: ['sync', 'threads']});
    const tab = await openPage(browser);
    try {
      const {page, problems} = tab;
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 20000);
      assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done', 'failed requests are data');
      const t = await page.evaluate(() => window.__conlab.timelines);
      assert.equal(t.threads.errors, 6);
      assert.equal(t.threads.phases.error, 6);
      const red = await page.evaluate(() => Chart.getChart(document.querySelector('canvas.timeline[data-mode="threads"]')).data.datasets.find(d => d.phase === 'error'));
      assert.equal(red.data.length, 6);
      assert.equal(red.backgroundColor, '#dc2626');
      assert.match(await page.textContent('.summary-table tr[data-mode="threads"] td.bad'), /^6/);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
  });

  it('shows waiting for a slot when requests are due at a rate, and on demand without one', async () => {
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=200'}, requests: 9, concurrency: 3, rate: 100, modes: ['threads']});
    const tab = await openPage(browser);
    try {
      const {page, problems} = tab;
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 20000);
      // Due every 10 ms, but 3 lanes against a 200 ms server: 6 of the 9 wait for a lane.
      const waited = await page.evaluate(() => window.__conlab.timelines.threads.phases.wait);
      assert.ok(waited >= 6, `waited: ${waited}`);
      await page.check('#show-queue-wait');
      assert.ok(await page.evaluate(() => window.__conlab.timelines.threads.phases.wait) >= waited);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
  });

  it('keeps a large run responsive: sampled timelines from /charts, no request pages', async () => {
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=0'}, requests: 20000, concurrency: 50, modes: ['threads', 'async']}, 120000);
    assert.equal(run.status, 'done');
    const tab = await openPage(browser);
    try {
      const {page, problems} = tab;
      const paged = [];
      page.on('request', r => {
        if (r.url().includes('/requests')) paged.push(r.url());
      });
      const t0 = Date.now();
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 30000);
      const loadMs = Date.now() - t0;
      assert.ok(loadMs < 15000, `drawn in ${loadMs} ms`);
      const t = await page.evaluate(() => window.__conlab.timelines);
      for (const m of ['threads', 'async']) {
        assert.equal(t[m].total, 20000);
        assert.equal(t[m].sampled, true);
        assert.ok(t[m].requests > 0 && t[m].requests <= 5000, `${m} drew ${t[m].requests}`);
        assert.equal(t[m].lanes, 50);
      }
      const t1 = Date.now();
      await page.fill('#zoom-from', '50');
      await page.fill('#zoom-to', '60');
      await page.click('.zoom button[type=submit]');
      assert.equal(await page.evaluate(() => Chart.getChart(document.querySelector('canvas.timeline')).scales.x.max), 60);
      assert.ok(Date.now() - t1 < 5000, 'zooming stays quick');
      assert.deepEqual(paged, [], 'the page never pages through requests');
      assert.match(await page.textContent('.timeline-mode[data-mode="threads"] h3'), /a sample of .* of 20,000/);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
    assert.equal((await api(server.base, '/api/runs/' + run.id)).data.progress.done, 40000);
  });
});
