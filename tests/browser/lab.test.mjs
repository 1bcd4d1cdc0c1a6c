// conlab-test: serial (its sweep must show a knee, which needs the machine to itself: tests/tests.cmake)
// The lab in the page: a sweep's run view draws throughput and p50/p99 against concurrency (one
// line per mode, log₂ axis, the knee marked) from the API's numbers, and clicking a point opens
// that level's timelines; findings are listed at the top next to their numbers; compare of two
// sweeps point by point. Screenshot: build/screenshots/sweep-run.png. A CPU-bound run's findings,
// a sweep's live progress and the presets, which need no quiet machine, are in lab_runs.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmtMs, fmtNum } from '../../web/format.js';
import { startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, runViaApi, api, until, canvasPixels } from './helpers.mjs';

let server, browser, sweep;
const LEVELS = [1, 2, 3, 4, 6];

before(async () => {
  server = await startServer(['--demo-workers', '3', '--demo-delay-ms', '1000']);
  browser = await launchBrowser();
  // 6 requests at 100 ms through 3 workers: 600, 300, 200 ms, then 200 ms at every level: the
  // knee is 3.
  sweep = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=100'}, requests: 6,
    concurrency: LEVELS, modes: ['threads', 'async'], label: 'sweep test'});
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

// What a chart draws, read from Chart.js itself: per dataset its label and points, and the x
// axis' tick labels; plus the pixel of each point.
async function chartData(page, selector) {
  return page.$eval(selector, c => {
    const chart = Chart.getChart(c);
    return {
      datasets: chart.data.datasets.map((d, i) => ({label: d.label, mode: d.mode, metric: d.metric,
        points: d.data.map((p, j) => ({c: p.c, x: p.x, y: p.y, px: chart.getDatasetMeta(i).data[j].x, py: chart.getDatasetMeta(i).data[j].y}))})),
      ticks: chart.scales.x.ticks.map(t => chart.scales.x.getLabelForValue ? String(Math.round(2 ** t.value)) : t.label),
      tickLabels: chart.scales.x.ticks.map(t => t.label),
      xType: chart.scales.x.type,
      knees: chart.options.plugins.conlabKnees.knees,
    };
  });
}

test('a sweep run: scaling charts from the API numbers, the knee marked, a point opens its timelines', async () => {
  assert.equal(sweep.status, 'done');
  // The knee itself is test_lab.py's to prove; here the page must draw the API's. (A machine
  // busy enough to hide it fails this timing premise: rerun alone.)
  const knee = sweep.findings.find(f => f.kind === 'knee');
  assert.ok(knee, JSON.stringify(sweep.findings));
  const {page, problems, context} = await openPage(browser);
  try {
    await page.goto(`${server.base}/runs/${sweep.id}`);
    await waitRunEnded(page);
    await page.waitForSelector('#sweep-point .timeline-mode');

    // Throughput: one line per mode, every level, the API's req/s.
    const rps = await chartData(page, '#sweep-rps');
    assert.deepEqual(rps.datasets.map(d => d.mode), ['threads', 'async']);
    for (const d of rps.datasets) {
      const mine = sweep.results.filter(r => r.mode === d.mode);
      assert.deepEqual(d.points.map(p => p.c), LEVELS, d.label);
      for (const p of d.points) {
        const r = mine.find(x => x.concurrency === p.c);
        assert.equal(p.y, r.rps, `${d.mode} at C=${p.c}`);
        assert.equal(p.x, Math.log2(p.c)); // log₂ axis
      }
      // Points sit left to right in level order, equal steps per doubling.
      const px = d.points.map(p => p.px);
      for (let i = 1; i < px.length; i++) assert.ok(px[i] > px[i - 1]);
      const perDoubling = (px[1] - px[0]); // 1 → 2
      assert.ok(Math.abs((px[3] - px[1]) - perDoubling) < 1, 'log₂: 2 → 4 as wide as 1 → 2');
    }
    assert.deepEqual(rps.tickLabels, LEVELS.map(String));
    assert.deepEqual(rps.knees.map(k => [k.mode, k.concurrency]), sweep.findings.filter(f => f.kind === 'knee').map(f => [f.mode, f.values.concurrency]));

    // Latency: p50 and p99 per mode, the API's numbers.
    const lat = await chartData(page, '#sweep-latency');
    assert.equal(lat.datasets.length, 4);
    for (const d of lat.datasets) {
      for (const p of d.points) {
        const r = sweep.results.find(x => x.mode === d.mode && x.concurrency === p.c);
        assert.equal(p.y, r.latency_ms[d.metric], `${d.label} at C=${p.c}`);
      }
    }

    // The knee's dashed line is drawn at its level (3 here), in a knee's mode colour (threads
    // #2563eb, async #059669: when both level off at 3, the later line over the earlier), and
    // none at C=1 (a knee is never the first level).
    const g = await page.$eval('#sweep-rps', (c, k) => {
      const ch = Chart.getChart(c);
      return {x3: ch.scales.x.getPixelForValue(Math.log2(k)), x1: ch.scales.x.getPixelForValue(0), top: ch.chartArea.top, bottom: ch.chartArea.bottom};
    }, knee.values.concurrency);
    const kneeColour = ([r, gg, b, a]) => a > 200 && ((r === 37 && gg === 99 && b === 235) || (r === 5 && gg === 150 && b === 105));
    const column = x => {
      const pts = [];
      for (let y = Math.round(g.top) + 30; y < g.bottom - 4; y += 2) pts.push({x, y});
      return pts;
    };
    const at3 = (await canvasPixels(page, '#sweep-rps', column(g.x3))).filter(kneeColour);
    const at1 = (await canvasPixels(page, '#sweep-rps', column(g.x1))).filter(kneeColour);
    // A dashed line down the plot (6 on, 4 off) colours most of the column; at C=1 only the
    // two modes' points (radius 5) and their lines cross it.
    assert.ok(at3.length >= 30, `the knee line at x=${g.x3}: ${at3.length} of ${column(g.x3).length} pixels`);
    assert.ok(at1.length < 15, `no line at C=1: ${at1.length} pixels`);

    // The knee's level is open at first; the page says so.
    let info = await page.evaluate(() => window.__conlab.sweep);
    assert.equal(info.open.concurrency, knee.values.concurrency);
    assert.deepEqual(info.open.modes, ['threads', 'async']);

    await screenshot(page, 'sweep-run');

    // Click async's point at C=6: that level's timelines open, their rows the API's rows.
    const asyncPts = rps.datasets.find(d => d.mode === 'async').points;
    const p6 = asyncPts.find(p => p.c === 6);
    await page.$eval('#sweep-rps', c => c.scrollIntoView({block: 'center'}));
    const box = await (await page.$('#sweep-rps')).boundingBox();
    await page.mouse.click(box.x + p6.px, box.y + p6.py);
    await until(async () => (await page.evaluate(() => window.__conlab.sweep.open)).concurrency === 6, 10000, 'level 6 to open');
    await page.waitForSelector('#sweep-point .timeline-mode[data-mode="async"]');
    info = await page.evaluate(() => window.__conlab.sweep.open);
    // The point clicked names its mode: async's, or threads' when their points sit on each other
    // (equal req/s at C=6).
    const under = rps.datasets.filter(d => d.points.some(p => p.c === 6 && Math.hypot(p.px - p6.px, p.py - p6.py) < 4)).map(d => d.mode);
    assert.ok(under.includes(info.mode), `${info.mode} not among ${under}`);
    const {data: rows} = await api(server.base, `/api/runs/${sweep.id}/requests?mode=async&concurrency=6`);
    const drawn = await page.evaluate(() => window.__conlab.timelines.async);
    assert.equal(drawn.requests, rows.total);
    assert.equal(drawn.lanes, 6);
    assert.equal(await page.textContent('#sweep-point-title'), 'C = 6: the 2 modes at this level');

    // The level table opens a level too (a keyboard's way in).
    await page.click('#sweep .level-open[data-concurrency="1"]');
    await until(async () => (await page.evaluate(() => window.__conlab.sweep.open)).concurrency === 1, 10000, 'level 1 to open');
    assert.equal((await page.evaluate(() => window.__conlab.timelines.threads)).lanes, 1);

    // Findings at the top, next to their numbers.
    const f = await page.$$eval('#findings .finding', els => els.map(e => ({kind: e.dataset.kind, modes: e.dataset.mode.split(' '), text: e.querySelector('.finding-text').textContent, keys: [...e.querySelectorAll('[data-key]')].map(d => d.dataset.key)})));
    // Every finding, those that say the same of several modes said once naming them all.
    assert.equal(f.reduce((a, x) => a + x.modes.length, 0), sweep.findings.length);
    const k = f.find(x => x.kind === 'knee' && x.modes.includes(knee.mode));
    assert.ok(k.text.includes(knee.text.slice(knee.mode.length + 2)), k.text);
    assert.ok(k.keys.includes('concurrency'));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test("a sweep's offline report holds the whole run: findings, the scaling charts with the knee, every level's summary", async () => {
  const {page, problems, context} = await openPage(browser, {acceptDownloads: true});
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conlab-lab-report-'));
  try {
    await page.goto(`${server.base}/runs/${sweep.id}`);
    await waitRunEnded(page);
    await page.waitForSelector('#sweep-point .timeline-mode');
    const [download] = await Promise.all([page.waitForEvent('download', {timeout: 15000}), page.click('#download-report')]);
    const file = path.join(tmp, download.suggestedFilename());
    await download.saveAs(file);
    const off = await openPage(browser, {offline: true});
    try {
      await off.page.goto(pathToFileURL(file).href);
      await off.page.waitForSelector('main#app[data-ready="true"]', {timeout: 15000});
      // The run's header, not one level's.
      assert.match(await off.page.textContent('.run-header'), /concurrency\s*1, 2, 3, 4, 6/);
      // The findings, each of them.
      const modes = await off.page.$$eval('#findings .finding', els => els.flatMap(e => e.dataset.mode.split(' ').map(m => e.dataset.kind + ':' + m)));
      assert.deepEqual(modes.sort(), sweep.findings.map(f => f.kind + ':' + (f.mode || '')).sort());
      // The scaling charts with the API's req/s and the knee.
      const rps = await chartData(off.page, '#sweep-rps');
      for (const d of rps.datasets) for (const p of d.points) assert.equal(p.y, sweep.results.find(r => r.mode === d.mode && r.concurrency === p.c).rps);
      assert.deepEqual(rps.knees.map(k => [k.mode, k.concurrency]), sweep.findings.filter(f => f.kind === 'knee').map(f => [f.mode, f.values.concurrency]));
      // Every level's summary, each mode's wall time and req/s as the API has them.
      const levels = await off.page.$$eval('#levels .level-summary', els => els.map(e => ({c: Number(e.dataset.concurrency),
        rows: [...e.querySelectorAll('tbody tr')].map(tr => ({mode: tr.dataset.mode, wall: tr.querySelector('[data-label="wall time"]').textContent, rps: tr.querySelector('[data-label="req/s"]').textContent}))})));
      assert.deepEqual(levels.map(l => l.c), LEVELS);
      for (const l of levels) {
        const want = sweep.results.filter(r => r.concurrency === l.c);
        assert.deepEqual(l.rows, want.map(r => ({mode: r.mode, wall: fmtMs(r.wall_ms), rps: fmtNum(r.rps)})), `C=${l.c}`);
      }
      // And one level opened below, as in the page: the knee's.
      const got = await off.page.evaluate(() => window.__conlab.summary.rows.map(r => [r.mode, r.wall_ms]));
      const atKnee = sweep.results.filter(r => r.concurrency === rps.knees[0].concurrency);
      assert.deepEqual(got, atKnee.map(r => [r.mode, r.wall_ms]));
      assert.deepEqual(off.problems, []);
    } finally {
      await off.context.close();
    }
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
    fs.rmSync(tmp, {recursive: true, force: true});
  }
});

test('history lists sweeps; compare two sweeps point by point', async () => {
  const other = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=100'}, requests: 6,
    concurrency: [2, 3, 4], modes: ['threads'], label: 'second sweep'});
  const {page, problems, context} = await openPage(browser);
  try {
    // History lists a sweep with its levels and its modes' time over them, keeps it out of the
    // trends, and picks it for a comparison.
    await page.goto(`${server.base}/history`);
    await waitView(page, 'history');
    const row = `#runs tr[data-id="${sweep.id}"]`;
    assert.ok((await page.textContent(row)).includes('6 × [1, 2, 3, 4, 6]'));
    const sum = sweep.results.filter(r => r.mode === 'threads').reduce((a, r) => a + r.wall_ms, 0);
    assert.ok((await page.textContent(`${row} td[data-mode="threads"]`)).startsWith('Σ'), String(sum));
    const hist = await page.evaluate(() => window.__conlab.history);
    assert.ok(!hist.trendIds.includes(sweep.id) && !hist.trendIds.includes(other.id));
    await page.check(`${row} input[type=checkbox]`);
    await page.check(`#runs tr[data-id="${other.id}"] input[type=checkbox]`);
    await page.click('#compare-button');
    await waitView(page, 'compare');
    assert.ok(page.url().includes('/compare?'));
    await waitView(page, 'compare');
    const got = await page.evaluate(() => window.__conlab.sweepCompare);
    const want = [];
    for (const mode of ['threads', 'async']) {
      for (const c of [1, 2, 3, 4, 6]) {
        const a = sweep.results.find(r => r.mode === mode && r.concurrency === c);
        const b = other.results.find(r => r.mode === mode && r.concurrency === c);
        if (a || b) want.push({mode, concurrency: c, rps_a: a ? a.rps : null, rps_b: b ? b.rps : null});
      }
    }
    assert.deepEqual(got.points.map(p => ({mode: p.mode, concurrency: p.concurrency, rps_a: p.rps_a, rps_b: p.rps_b})), want);
    assert.equal(await page.$$eval('#sweep-compare tbody tr', t => t.length), want.length);
    assert.ok(await page.$('#sweep-compare-chart'));
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
