// Exports and the offline report, errors drawn in red, waiting for a slot with a rate, and a
// large run that stays responsive (only /charts aggregates, never the request pages).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtMs } from '../../web/format.js';
import { startServer, launchBrowser, openPage, waitRunEnded, screenshot, runViaApi, api, apiRows, queuedRows, timelineGeometry, timelineXY, canvasPixels, isAmber, isRed, isBlank } from './helpers.mjs';

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
      assert.equal(lines[0], 'mode,seq,lane,sched_us,start_us,connect_us,ttfb_us,end_us,status,bytes,error_kind,error,concurrency,tls_us,reused,http_version,conn');
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
        const charts = await off.page.evaluate(() => ['#summary-chart', '#latency-chart', '#throughput-chart']
          .map(sel => [...document.querySelectorAll(sel)].filter(c => Chart.getChart(c)).length));
        assert.deepEqual(charts, [1, 1, 1]);
        // 12 requests through 4 lanes: every mode has its lanes drawn, and (they queue) its
        // per-request view too.
        const timelines = await off.page.$$eval('canvas.timeline', cs => cs.map(c => `${c.dataset.mode}/${c.dataset.view}/${c.dataset.rows}`));
        assert.deepEqual(timelines, ['sync', 'threads', 'async', 'processes'].flatMap(m => [`${m}/lanes/${m === 'sync' ? 1 : 4}`, `${m}/requests/12`]));
        assert.equal(await off.page.textContent('.run-title .run-label'), label);
        await off.page.fill('#zoom-from', '10');
        await off.page.fill('#zoom-to', '40');
        await off.page.click('.zoom button[type=submit]');
        assert.equal(await off.page.$eval('canvas.timeline', c => c.dataset.xMax), '40');
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
      // Each failed request the API lists is a red bar on its lane.
      const sel = 'canvas.timeline[data-view="lanes"][data-mode="threads"]';
      const g = await timelineGeometry(page, sel);
      const rows = await apiRows(server.base, run.id, 'threads');
      const px = await canvasPixels(page, sel, rows.map(r => timelineXY(g, (r.start_us + r.end_us) / 2000, r.lane, 0)));
      assert.ok(px.every(isRed), JSON.stringify(px));
      assert.match(await page.textContent('.summary-table tr[data-mode="threads"] td.bad'), /^6/);
      // The failures table names the kind and the message, with its count.
      const failures = (await api(server.base, `/api/runs/${run.id}/failures`)).data.failures;
      const shown = await page.$$eval('.failures-table tbody tr', trs => trs.map(tr => [...tr.children].map(c => c.textContent)));
      const threads = failures.find(f => f.mode === 'threads');
      const sync = failures.find(f => f.mode === 'sync');
      assert.equal(threads.kind, 'status');
      assert.equal(threads.count, 6);
      assert.equal(sync.message, threads.message);
      // The same message in both modes: one row, its count once, each mode's share.
      assert.deepEqual(shown.map(r => r.slice(0, 4)), [[threads.message, 'status', '12', 'sync 6 of 6, threads 6 of 6']]);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
  });

  it('draws waiting for a lane when requests are due at a rate', async () => {
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=200'}, requests: 9, concurrency: 3, rate: 100, modes: ['threads']});
    const tab = await openPage(browser);
    try {
      const {page, problems} = tab;
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 20000);
      // Due every 10 ms, but 3 lanes against a 200 ms server: 6 of the 9 wait for a lane.
      const rows = await apiRows(server.base, run.id, 'threads');
      const queued = queuedRows(rows);
      assert.equal(queued.length, 6);
      const sel = 'canvas.timeline[data-view="requests"][data-mode="threads"]';
      const g = await timelineGeometry(page, sel);
      const order = rows.slice().sort((a, b) => a.seq - b.seq).map(r => r.seq);
      const px = await canvasPixels(page, sel, queued.map(r => timelineXY(g, (r.sched_us + r.start_us) / 2000, order.indexOf(r.seq), 0)));
      assert.ok(px.every(isAmber), JSON.stringify(px));
      // The wait ends where the request starts. Per lane, the last request that queued: in the
      // lane view's waiting strip (band 1), the middle of its transfer holds no wait (no later
      // request of that lane waits then).
      const lanesSel = 'canvas.timeline[data-view="lanes"][data-mode="threads"]';
      const lg = await timelineGeometry(page, lanesSel);
      const last = new Map();
      for (const r of queued) if (!last.has(r.lane) || last.get(r.lane).start_us < r.start_us) last.set(r.lane, r);
      const mids = [...last.values()].map(r => timelineXY(lg, (r.start_us + r.end_us) / 2000, r.lane, 1));
      const inStrip = await canvasPixels(page, lanesSel, mids);
      assert.ok(inStrip.every(p => !isAmber(p)), JSON.stringify(inStrip));
      // ...while the strip is amber in the middle of its wait.
      const waits = await canvasPixels(page, lanesSel, [...last.values()].map(r => timelineXY(lg, (r.sched_us + r.start_us) / 2000, r.lane, 1)));
      assert.ok(waits.every(isAmber), JSON.stringify(waits));
      assert.equal(await page.evaluate(() => window.__conlab.timelines.threads.queued), 6);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
  });

  it('keeps a large run responsive, and a zoomed timeline loads every request of its window', async () => {
    const MODES = ['sync', 'threads', 'async'];
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=0'}, requests: 20000, concurrency: 50, modes: MODES}, 180000);
    assert.equal(run.status, 'done');
    const tab = await openPage(browser);
    try {
      const {page, problems} = tab;
      const paged = [];
      let release;
      const held = new Promise(r => (release = r));
      await page.route(/\/requests\?/, async route => {
        paged.push(route.request().url());
        await held;
        await route.continue();
      });
      const t0 = Date.now();
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 30000);
      const loadMs = Date.now() - t0;
      assert.ok(loadMs < 15000, `drawn in ${loadMs} ms`);
      assert.deepEqual(paged, [], 'the first view uses the /charts aggregates only');
      const t = await page.evaluate(() => window.__conlab.timelines);
      for (const m of MODES) {
        assert.equal(t[m].total, 20000);
        assert.equal(t[m].sampled, true);
        assert.ok(t[m].requests > 0 && t[m].requests <= 5000, `${m} drew ${t[m].requests}`);
        assert.equal(t[m].lanes, m === 'sync' ? 1 : 50);
      }
      assert.match(await page.textContent('.timeline-mode[data-mode="threads"] h3'), /a sample of .* of 20,000/);

      // A sequential client is never idle: once every request of a window is loaded, the sync
      // lane is drawn as busy as the API's rows say it was. The window: the 10 ms where the
      // sample misses the most of that (a busy machine's slow requests may all be in it).
      const syncRows = await apiRows(server.base, run.id, 'sync');
      const sampleRows = (await api(server.base, `/api/runs/${run.id}/charts`)).data.modes.find(m => m.mode === 'sync').timeline.requests;
      const covered = (list, a, b) => {
        let sum = 0, until = a;
        for (const r of list) {
          const s0 = Math.max(a, r.start_us / 1000, until), e0 = Math.min(b, r.end_us / 1000);
          if (e0 > s0) sum += e0 - s0;
          until = Math.max(until, Math.min(b, r.end_us / 1000));
        }
        return sum / (b - a);
      };
      const gap = a => covered(syncRows, a, a + 10) - covered(sampleRows, a, a + 10);
      let from = 20;
      // inside every mode, so that each has requests in the window
      const shortest = Math.min(...run.results.map(r => r.wall_ms));
      for (let a = 20; a + 20 < shortest && a < 2000; a += 10) if (gap(a) > gap(from)) from = a;
      const to = from + 10;
      const sel = 'canvas.timeline[data-view="lanes"][data-mode="sync"]';
      const coverage = async () => {
        const g = await timelineGeometry(page, sel);
        const pts = [];
        for (let x = Math.ceil(g.plotLeft) + 1; x < g.plotRight - 1; x += 2) pts.push({x, y: timelineXY(g, 0, 0, 0).y});
        const px = await canvasPixels(page, sel, pts);
        return px.filter(p => !isBlank(p)).length / px.length;
      };
      await page.fill('#zoom-from', String(from));
      await page.fill('#zoom-to', String(to));
      await page.click('.zoom button[type=submit]');
      assert.equal(await page.$eval(sel, c => c.dataset.xMax), String(to));
      const sampled = await coverage();
      release();
      await page.waitForFunction(ms => ms.every(m => window.__conlab.timelines[m].detail), MODES, {timeout: 15000});
      const full = await coverage();
      const truth = covered(syncRows, from, to), fromSample = covered(sampleRows, from, to);
      const what = `sync lane between ${from} and ${to} ms: busy ${truth} of the time (the sample ${fromSample}), drawn ${sampled} from the sample, ${full} with every request`;
      assert.ok(full >= truth - 0.1, what);
      // Where the sample misses much, the loaded requests fill it in.
      if (truth - fromSample > 0.3) assert.ok(full > sampled + 0.2, what);
      for (const m of MODES) {
        const {data} = await api(server.base, `/api/runs/${run.id}/requests?mode=${m}&from_us=${from * 1000}&to_us=${to * 1000}&limit=1`);
        const d = await page.evaluate(mode => window.__conlab.timelines[mode].detail, m);
        assert.ok(data.total > 0, m);
        assert.equal(d.loaded, data.total, `${m}: every request of the window`);
        assert.equal(d.drawn, data.total, m);
        assert.match(await page.textContent(`.timeline-mode[data-mode="${m}"] h3`), new RegExp(`every request between ${fmtMs(from)} and ${fmtMs(to)}: ${data.total.toLocaleString('en-US')}`));
      }
      assert.ok(paged.every(u => u.includes(`from_us=${from * 1000}&to_us=${to * 1000}`)), paged.join(' '));
      await screenshot(page, 'run-large-zoomed');
      await page.click('#zoom-reset');
      assert.equal(await page.evaluate(() => window.__conlab.timelines.sync.detail), null);
      assert.deepEqual(problems, []);
    } finally {
      await tab.context.close();
    }
    assert.equal((await api(server.base, '/api/runs/' + run.id)).data.progress.done, 60000);
  });
});
