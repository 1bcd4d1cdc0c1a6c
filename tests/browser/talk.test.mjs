// The talk, end to end through the real page: the form's defaults against the demo target
// (3 workers, 1000 ms), 3 requests at concurrency 3 in every mode; sync ≈ 3× the others; one
// lane for sync and 3 for the concurrent modes; the shared URL in a fresh browser; history,
// its trend chart and compare; a hostile label shown as text; no console errors anywhere.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, api, until, timelineGeometry, timelineXY, canvasPixels, isServerBlue, apiRows } from './helpers.mjs';

const XSS = '<script>alert(1)</script>';
const CONCURRENT = ['threads', 'async', 'processes'];

describe('the talk through the dashboard', {timeout: 300000}, () => {
  let server, browser, first, runId, secondId, summary;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    first = await openPage(browser);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('shows the form filled with the talk against the demo target', async () => {
    const {page} = first;
    const config = (await api(server.base, '/api/config')).data;
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    assert.equal(await page.inputValue('#f-url'), config.demo_target);
    assert.equal(await page.inputValue('#f-requests'), '3');
    assert.equal(await page.inputValue('#f-concurrency'), '3');
    for (const m of ['sync', ...CONCURRENT]) assert.equal(await page.isChecked('#f-mode-' + m), true, m);
    assert.match(await page.textContent('#estimate'), /sync 3\.00 s/);
    await screenshot(page, 'form');
  });

  it('runs it with one click: progress per mode, then the run view at /runs/ID', async () => {
    const {page, problems} = first;
    await page.click('#run-button');
    await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
    runId = new URL(page.url()).pathname.split('/').pop();
    // While it runs (sync alone takes 3 s): a progress bar per mode, the mode named, Cancel.
    await page.waitForSelector('#progress-sync', {timeout: 5000});
    for (const m of CONCURRENT) assert.ok(await page.$('#progress-' + m), m);
    await page.waitForFunction(() => /Running (sync|threads|async|processes)/.test(document.querySelector('#current-mode')?.textContent || ''), null, {timeout: 5000});
    assert.ok(await page.isVisible('#cancel-run'));
    await waitRunEnded(page, 90000);
    assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
    assert.deepEqual(problems, []);
  });

  it('summarizes: four bars, sync about 3× the others, ideal times marked', async () => {
    const {page, problems} = first;
    summary = await page.evaluate(() => window.__conlab.summary.rows);
    assert.deepEqual(summary.map(r => r.mode), ['sync', ...CONCURRENT]);
    const sync = summary[0].wall_ms;
    for (const r of summary.slice(1)) {
      const ratio = sync / r.wall_ms;
      assert.ok(ratio >= 2.5 && ratio <= 3.5, `sync/${r.mode} = ${ratio}`);
    }
    assert.deepEqual(summary.map(r => r.ideal_ms), [3000, 1000, 1000, 1000]);
    const chart = await page.evaluate(() => {
      const c = Chart.getChart(document.querySelector('#summary-chart'));
      return {labels: c.data.labels, wall: c.data.datasets[0].data, ideal: c.data.datasets[1] && c.data.datasets[1].data};
    });
    assert.equal(chart.wall.length, 4);
    assert.deepEqual(chart.ideal, [3000, 1000, 1000, 1000]);
    const rows = await page.$$eval('.summary-table tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)));
    assert.equal(rows.length, 4);
    for (const row of rows) assert.equal(row[1], '3', `ok of ${row[0]}`);
    assert.deepEqual(problems, []);
  });

  it('draws the timelines: 1 lane for sync, 3 lanes with 3 bars for the others, one time axis', async () => {
    const {page, problems} = first;
    const t = await page.evaluate(() => window.__conlab.timelines);
    assert.equal(t.sync.lanes, 1);
    assert.equal(t.sync.requests, 3);
    for (const m of CONCURRENT) {
      assert.equal(t[m].lanes, 3, m);
      assert.equal(t[m].lanesUsed, 3, m);
      assert.equal(t[m].requests, 3, m);
      assert.equal(t[m].errors, 0, m);
      assert.equal(t[m].queued, 0, `${m}: 3 requests through 3 lanes never queue`);
    }
    const canvases = await page.$$eval('canvas.timeline[data-view="lanes"]', cs => cs.map(c => c.dataset.mode));
    assert.deepEqual(canvases, ['sync', ...CONCURRENT]);
    let ref = null;
    for (const m of ['sync', ...CONCURRENT]) {
      const sel = `canvas.timeline[data-view="lanes"][data-mode="${m}"]`;
      const g = await timelineGeometry(page, sel);
      assert.equal(g.rows, m === 'sync' ? 1 : 3, m);
      ref = ref || g;
      assert.deepEqual([g.xMin, g.xMax], [ref.xMin, ref.xMax], 'one shared time axis');
      // Each request the API lists is drawn on its lane: the middle of its wait for the server.
      const rows = await apiRows(server.base, runId, m);
      const px = await canvasPixels(page, sel, rows.map(r => timelineXY(g, ((r.connect_us ?? r.start_us) + r.ttfb_us) / 2000, r.lane, 0)));
      assert.ok(px.every(isServerBlue), `${m}: ${JSON.stringify(px)}`);
      assert.equal(new Set(rows.map(r => r.lane)).size, m === 'sync' ? 1 : 3, m);
    }
    assert.ok(ref.xMax >= 2900, 'the axis spans the sync mode');
    assert.deepEqual(problems, []);
  });

  it('shows a request\'s details under its timeline on hover and zooms (range inputs, drag, reset)', async () => {
    const {page, problems} = first;
    const sel = 'canvas.timeline[data-view="lanes"][data-mode="threads"]';
    const canvas = await page.$(sel);
    await canvas.scrollIntoViewIfNeeded();
    const g = await timelineGeometry(page, sel);
    const rows = await apiRows(server.base, runId, 'threads');
    const r = rows[1];
    const p = timelineXY(g, (r.start_us + r.end_us) / 2000, r.lane, 0);
    const box = await canvas.boundingBox();
    await page.mouse.move(box.x + p.x, box.y + p.y);
    const details = '.timeline-mode[data-mode="threads"] .request-details';
    await page.waitForFunction(s => /request#\d+ on lane \d/.test(document.querySelector(s).textContent), details, {timeout: 5000});
    const text = await page.textContent(details);
    assert.match(text, new RegExp(`request#${r.seq} on lane ${r.lane}`));
    assert.match(text, /first byte/);
    // The details are in the page, fully visible, not in a tooltip the canvas clips.
    const dbox = await page.$eval(details, e => {
      const b = e.getBoundingClientRect();
      return {w: b.width, h: b.height, sw: e.scrollWidth, cw: e.clientWidth};
    });
    assert.ok(dbox.h > 20 && dbox.sw <= dbox.cw + 1, JSON.stringify(dbox));

    const axes = () => page.$$eval('canvas.timeline', cs => cs.map(c => [Number(c.dataset.xMin), Number(c.dataset.xMax)]));
    await page.fill('#zoom-from', '100');
    await page.fill('#zoom-to', '600');
    await page.click('.zoom button[type=submit]');
    for (const a of await axes()) assert.deepEqual(a, [100, 600]);

    await page.click('#zoom-reset');
    const full = await axes();
    assert.equal(full[0][0], 0);
    // The zoom buttons may have scrolled the page: the canvas where it is now.
    await canvas.scrollIntoViewIfNeeded();
    const at = await canvas.boundingBox();
    const y = at.y + (g.plotTop + g.plotBottom) / 2;
    await page.mouse.move(at.x + g.plotLeft + 10, y);
    await page.mouse.down();
    await page.mouse.move(at.x + g.plotLeft + 120, y, {steps: 5});
    await page.mouse.up();
    const dragged = await axes();
    assert.ok(dragged[0][0] > 0 && dragged[0][1] < full[0][1], `drag zoomed to ${dragged[0]}`);
    for (const a of dragged) assert.deepEqual(a, dragged[0]);
    await page.click('#zoom-reset');
    assert.deepEqual(await axes(), full);
    assert.deepEqual(problems, []);
  });

  it('draws latency (CDF, histogram, log axis) and throughput for every mode', async () => {
    const {page, problems} = first;
    const lat = () => page.evaluate(() => {
      const c = Chart.getChart(document.querySelector('#latency-chart'));
      return {modes: c.data.datasets.map(d => d.label), points: c.data.datasets.map(d => d.data.length), type: c.scales.x.type};
    });
    let l = await lat();
    assert.deepEqual(l.modes, ['sync', ...CONCURRENT]);
    assert.ok(l.points.every(n => n > 0));
    await page.selectOption('#latency-kind', 'histogram');
    await page.check('#latency-log');
    l = await lat();
    assert.equal(l.type, 'logarithmic');
    assert.ok(l.points.every(n => n > 0));
    const tp = await page.evaluate(() => Chart.getChart(document.querySelector('#throughput-chart')).data.datasets.map(d => [d.label, d.data.length]));
    assert.deepEqual(tp.map(d => d[0]), ['sync', ...CONCURRENT]);
    assert.ok(tp.every(d => d[1] > 0));
    await page.selectOption('#latency-kind', 'cdf');
    await page.uncheck('#latency-log');
    await screenshot(page, 'run');
    assert.deepEqual(problems, []);
  });

  it('opens the shared URL in a fresh browser with the same numbers', async () => {
    const fresh = await openPage(browser);
    try {
      await fresh.page.goto(`${server.base}/runs/${runId}`);
      await waitRunEnded(fresh.page, 20000);
      const again = await fresh.page.evaluate(() => window.__conlab.summary.rows);
      assert.deepEqual(again, summary);
      assert.equal(await fresh.page.inputValue('#share-link'), `${server.base}/runs/${runId}`);
      assert.deepEqual(fresh.problems, []);
    } finally {
      await fresh.context.close();
    }
  });

  it('reads well at phone width', async () => {
    const phone = await openPage(browser, {viewport: {width: 390, height: 844}});
    try {
      await phone.page.goto(`${server.base}/runs/${runId}`);
      await waitRunEnded(phone.page, 20000);
      const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 1, `page wider than the phone by ${overflow}px`);
      await screenshot(phone.page, 'run-phone');
      await phone.page.goto(`${server.base}/`);
      await waitView(phone.page, 'form');
      assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth) <= 1);
      await screenshot(phone.page, 'form-phone');
      assert.deepEqual(phone.problems, []);
    } finally {
      await phone.context.close();
    }
  });

  it('shows a label with markup as text, never as markup', async () => {
    const {page, problems} = first;
    await page.goto(server.base + '/');
    await waitView(page, 'form');
    await page.fill('#f-label', XSS);
    await page.click('#run-button');
    await page.waitForURL(/\/runs\/[A-Za-z0-9]+$/, {timeout: 5000});
    secondId = new URL(page.url()).pathname.split('/').pop();
    assert.notEqual(secondId, runId);
    await waitRunEnded(page, 90000);
    assert.equal(await page.textContent('.run-title .run-label'), XSS);
    assert.equal(await page.evaluate(() => document.querySelectorAll('#app script').length), 0);
    assert.deepEqual(problems, [], 'no dialog, no error');
  });

  it('lists both runs in the history, charts them, and a click on a point opens the run', async () => {
    const {page, problems} = first;
    await page.click('nav a[href="/history"]');
    await waitView(page, 'history');
    assert.equal(new URL(page.url()).pathname, '/history');
    const ids = await page.$$eval('.runs-table tbody tr', trs => trs.map(tr => tr.dataset.id));
    assert.deepEqual(ids, [secondId, runId], 'newest first');
    const label = await page.textContent(`.runs-table tr[data-id="${secondId}"] .label-cell`);
    assert.equal(label, XSS);
    const trend = await page.evaluate(() => {
      const c = Chart.getChart(document.querySelector('#trend-chart'));
      return c.data.datasets.map(d => [d.label, d.data.length]);
    });
    assert.deepEqual(trend, [['sync', 2], ['threads', 2], ['async', 2], ['processes', 2]]);
    assert.deepEqual(await page.evaluate(() => window.__conlab.history.trendIds), [runId, secondId], 'oldest first');

    await page.selectOption('#trend-metric', 'p99');
    assert.equal(await page.evaluate(() => Chart.getChart(document.querySelector('#trend-chart')).options.scales.y.title.text), 'p99 latency');
    await page.selectOption('#trend-metric', 'rps');
    await page.fill('#filter-label', 'script');
    assert.deepEqual(await page.$$eval('.runs-table tbody tr', trs => trs.map(tr => tr.dataset.id)), [secondId]);
    await page.fill('#filter-label', '');
    await screenshot(page, 'history');

    const canvas = await page.$('#trend-chart');
    await canvas.scrollIntoViewIfNeeded();
    const p = await page.evaluate(() => {
      const c = document.querySelector('#trend-chart');
      const el = Chart.getChart(c).getDatasetMeta(0).data[0];
      const r = c.getBoundingClientRect();
      return {x: r.left + el.x, y: r.top + el.y};
    });
    await page.mouse.click(p.x, p.y);
    await page.waitForURL(new RegExp(`/runs/${runId}$`), {timeout: 5000});
    await waitRunEnded(page, 20000);
    assert.deepEqual(problems, []);
  });

  it('compares the two runs side by side, at a shareable URL', async () => {
    const {page, problems} = first;
    await page.goto(server.base + '/history');
    await waitView(page, 'history');
    assert.equal(await page.isDisabled('#compare-button'), true);
    await page.check(`.runs-table tr[data-id="${runId}"] input[type=checkbox]`);
    await page.check(`.runs-table tr[data-id="${secondId}"] input[type=checkbox]`);
    await page.click('#compare-button');
    await page.waitForURL(/\/compare\?/, {timeout: 5000});
    await waitView(page, 'compare');
    const q = new URL(page.url()).searchParams;
    assert.deepEqual([q.get('a'), q.get('b')], [runId, secondId]);
    const rows = await page.$$eval('.compare-table tbody tr', trs => trs.map(tr => tr.dataset.mode));
    assert.deepEqual(rows, ['sync', ...CONCURRENT]);
    const deltas = await page.$$eval('.compare-table tbody tr td.delta[data-metric="wall"]', tds => tds.map(td => td.textContent));
    assert.equal(deltas.length, 4);
    // Δ in ms and in %, with the digits that tell 1000.3 ms from 1002.6 ms.
    for (const d of deltas) assert.match(d, /^[+−±][\d.]+ (ms|s) \([+−±][\d.]+%\)$/);
    assert.equal(await page.textContent('.compare-run[data-side="B"] .run-label'), XSS);
    const chart = await page.evaluate(() => Chart.getChart(document.querySelector('#compare-chart')).data.datasets.map(d => d.data.length));
    assert.deepEqual(chart, [4, 4]);
    await screenshot(page, 'compare');

    const fresh = await openPage(browser);
    try {
      await fresh.page.goto(page.url());
      await waitView(fresh.page, 'compare');
      assert.deepEqual(await fresh.page.$$eval('.compare-table tbody tr td.delta[data-metric="wall"]', tds => tds.map(td => td.textContent)), deltas);
      assert.deepEqual(fresh.problems, []);
    } finally {
      await fresh.context.close();
    }
    assert.deepEqual(problems, []);
  });
});
