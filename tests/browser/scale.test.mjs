// conlab-test: serial (it asserts the ETA within 300 ms: tests/tests.cmake)
// Every picture to scale and every number alike (issue 18), read from the page as a person sees
// it (text, element boxes, canvas pixels) against the API's numbers: the talk's ETA while sync
// runs (at the full 1 s delay), its timelines on one plot width with bars in proportion to their
// durations, the keyboard on a timeline, throughput drawn over the intervals it measured, the
// dark theme, findings' numbers on demand, timeouts counted as failures (which requests time out
// depends on the machine's pace). The checks that need no quiet machine are in
// scale_runs.test.mjs, which may run beside another test.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmtMs, fmtOver, fmtNum } from '../../web/format.js';
import { BIN, startServer, launchBrowser, openPage, waitRunEnded, api, until, runViaApi, apiRows,
  timelineGeometry, timelineXY, canvasPixels, isAmber, isBlank, steppedMean, drawnThroughput } from './helpers.mjs';

const CONCURRENT = ['threads', 'async', 'processes'];

// The x extent [first, last] of what is drawn along y between x0 and x1 on a canvas, leaving out
// the amber of a wait; null when nothing is.
async function drawnExtent(page, sel, y, x0, x1) {
  const pts = [];
  for (let x = Math.ceil(x0); x <= x1; x++) pts.push({x, y});
  const px = await canvasPixels(page, sel, pts);
  const hit = px.map((p, i) => (!isBlank(p) && !isAmber(p) ? pts[i].x : null)).filter(x => x !== null);
  return hit.length ? [hit[0], hit[hit.length - 1]] : null;
}

describe('every picture to scale, every number alike', {timeout: 540000}, () => {
  let server, browser, tab, talk;

  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
    tab = await openPage(browser);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('gives the talk\'s sync mode an ETA within 0.3 s of the truth at mid-run, and the run one', async () => {
    const {page, problems} = tab;
    const {data} = await api(server.base, '/api/runs', {method: 'POST', body: {target: {url: server.demo}, requests: 3, concurrency: 3}});
    await page.goto(`${server.base}/runs/${data.id}`);
    const seen = await until(async () => {
      const p = await page.evaluate(() => window.__conlab.progress);
      if (!p || !p.live || p.live.mode !== 'sync' || !(p.live.elapsed_ms >= 1200 && p.live.elapsed_ms <= 2200)) return null;
      return {live: p.live, clock: await page.textContent('#live-clock'), at: Date.now()};
    }, 20000, 'sync at mid-run');
    await page.waitForFunction(() => document.querySelector('#app > .view').dataset.state === 'done', null, {timeout: 60000, polling: 50});
    const ended = Date.now();
    talk = (await api(server.base, `/api/runs/${data.id}`)).data;
    const sync = talk.results.find(r => r.mode === 'sync');
    const truth = sync.wall_ms - seen.live.elapsed_ms;
    assert.ok(Math.abs(seen.live.eta_ms - truth) <= 300, `ETA ${seen.live.eta_ms} ms at ${seen.live.elapsed_ms} ms; sync ended ${truth} ms later`);
    // The page says it: "about 1.25 s left in this mode".
    const m = /about ([\d.]+) (ms|s) left in this mode/.exec(seen.clock);
    assert.ok(m, seen.clock);
    const shown = Number(m[1]) * (m[2] === 's' ? 1000 : 1);
    assert.ok(Math.abs(shown - truth) <= 310, `${seen.clock} (truth ${truth} ms)`);
    // And the run's: the three concurrent modes' ideal second each after sync.
    const r = /the run should end in about ([\d.]+) (ms|s)/.exec(seen.clock);
    assert.ok(r, seen.clock);
    const runLeft = ended - seen.at;
    const runShown = Number(r[1]) * (r[2] === 's' ? 1000 : 1);
    assert.ok(Math.abs(runShown - runLeft) <= Math.max(700, 0.2 * runLeft), `${seen.clock} (the run ended ${runLeft} ms later)`);
    assert.deepEqual(problems, []);
  });

  it('draws every mode\'s timeline on one plot width and one time axis, each bar as long as its request took (±3 %)', async () => {
    const {page, problems} = tab;
    await page.goto(`${server.base}/runs/${talk.id}`);
    await waitRunEnded(page);
    const geos = {};
    for (const c of await page.$$eval('canvas.timeline', cs => cs.map(c => `canvas.timeline[data-view="${c.dataset.view}"][data-mode="${c.dataset.mode}"]`))) geos[c] = await timelineGeometry(page, c);
    const all = Object.values(geos);
    assert.ok(all.length >= 5, Object.keys(geos).join(' '));
    for (const g of all) {
      assert.deepEqual([g.plotLeft, g.plotRight, g.xMin, g.xMax], [all[0].plotLeft, all[0].plotRight, all[0].xMin, all[0].xMax], 'one plot width, one axis');
    }
    const g0 = all[0];
    const pxPerMs = (g0.plotRight - g0.plotLeft) / (g0.xMax - g0.xMin);
    const lengths = {};
    for (const mode of ['sync', ...CONCURRENT]) {
      const rows = (await apiRows(server.base, talk.id, mode)).sort((a, b) => a.seq - b.seq);
      // sync on its per-request view (its lane is one unbroken bar), the others on their lanes.
      const view = mode === 'sync' ? 'requests' : 'lanes';
      const sel = `canvas.timeline[data-view="${view}"][data-mode="${mode}"]`;
      const g = geos[sel];
      for (const [i, r] of rows.entries()) {
        const y = timelineXY(g, 0, view === 'requests' ? i : r.lane, 0).y;
        const ext = await drawnExtent(page, sel, y, g.plotLeft, g.plotRight);
        const want = ((r.end_us - r.start_us) / 1000) * pxPerMs;
        assert.ok(ext, `${mode} #${r.seq} drawn`);
        const got = ext[1] - ext[0] + 1;
        assert.ok(Math.abs(got - want) <= Math.max(0.03 * want, 2), `${mode} #${r.seq}: ${got} px for ${want} px`);
        const x0 = timelineXY(g, r.start_us / 1000, 0, 0).x;
        assert.ok(Math.abs(ext[0] - x0) <= 2, `${mode} #${r.seq} starts at ${ext[0]} px, its start ${x0} px`);
      }
      // The whole mode on its lane 0: sync's three seconds against the others' one.
      const lanes = `canvas.timeline[data-view="lanes"][data-mode="${mode}"]`;
      const ext = await drawnExtent(page, lanes, timelineXY(geos[lanes], 0, 0, 0).y, g0.plotLeft, g0.plotRight);
      const own = rows.filter(r => r.lane === 0);
      lengths[mode] = {px: ext[1] - ext[0] + 1, ms: (Math.max(...own.map(r => r.end_us)) - Math.min(...own.map(r => r.start_us))) / 1000};
    }
    for (const m of CONCURRENT) {
      const drawn = lengths.sync.px / lengths[m].px, real = lengths.sync.ms / lengths[m].ms;
      assert.ok(Math.abs(drawn / real - 1) <= 0.03, `sync/${m}: drawn ${drawn}, measured ${real}`);
    }
    // The zoom box shows round numbers.
    assert.match(await page.inputValue('#zoom-to'), /^\d+$/);
    assert.deepEqual(problems, []);
  });

  it('reaches a timeline\'s requests from the keyboard: Tab, arrows, Enter pins', async () => {
    const {page, problems} = tab;
    await page.focus('#zoom-reset');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.matches('canvas.timeline')), true, 'Tab reaches the first timeline');
    const sel = 'canvas.timeline[data-view="lanes"][data-mode="threads"]';
    await page.focus(sel);
    const details = '.timeline-mode[data-mode="threads"] .request-details';
    const rows = (await apiRows(server.base, talk.id, 'threads')).sort((a, b) => a.start_us - b.start_us || a.lane - b.lane);
    await page.keyboard.press('ArrowRight');
    assert.match(await page.textContent(details), new RegExp(`request#${rows[0].seq} on lane ${rows[0].lane}`));
    await page.keyboard.press('ArrowRight');
    assert.match(await page.textContent(details), new RegExp(`request#${rows[1].seq} on lane ${rows[1].lane}`));
    await page.keyboard.press('Enter');
    // Pinned: it stays when the pointer passes over the page.
    await page.mouse.move(5, 5);
    assert.match(await page.textContent(details), new RegExp(`request#${rows[1].seq} on lane ${rows[1].lane}`));
    await page.keyboard.press('ArrowLeft');
    assert.match(await page.textContent(details), new RegExp(`request#${rows[0].seq} on lane ${rows[0].lane}`));
    assert.deepEqual(problems, []);
  });

  it('shows times to a tenth of a ms, the time over the ideal, and req/s as the API has them', async () => {
    const {page, problems} = tab;
    const cells = await page.$$eval('.summary-table tbody tr', trs => trs.map(tr => ({mode: tr.dataset.mode,
      ...Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.label, td.textContent]))})));
    for (const c of cells) {
      const r = talk.results.find(x => x.mode === c.mode);
      const ideal = talk.findings.find(f => f.kind === 'ideal' && f.mode === c.mode).values.ideal_ms;
      assert.equal(c['wall time'], fmtMs(r.wall_ms));
      assert.match(c['wall time'], /^\d{4}\.\d ms$/, c.mode);
      assert.equal(c.ideal, fmtMs(ideal));
      assert.equal(c['over ideal'], fmtOver(r.wall_ms - ideal));
      assert.match(c['over ideal'], /^[+−±]\d+(\.\d+)? ms$/);
      assert.equal(c['req/s'], fmtNum(r.rps));
    }
    // A mode's throughput over time averages to its req/s, each interval drawn over itself.
    for (const d of await drawnThroughput(page, '')) {
      const r = talk.results.find(x => x.mode === d.mode);
      assert.ok(Math.abs(steppedMean(d.points) / r.rps - 1) <= 0.05, `${d.mode}: drawn ${steppedMean(d.points)}, RESULT ${r.rps}`);
      assert.deepEqual(d.misses, [], `${d.mode}: the line is where its values are`);
    }
    // Findings: one sentence each, their numbers on demand.
    const facts = '#findings .finding:first-child .finding-facts dl';
    assert.equal(await page.$eval(facts, e => e.checkVisibility()), false);
    await page.click('#findings .finding:first-child .finding-facts summary');
    assert.equal(await page.$eval(facts, e => e.checkVisibility()), true);
    assert.deepEqual(problems, []);
  });

  it('follows the system\'s dark theme, with readable charts, and toggles it', async () => {
    const browserCtx = await browser.newContext({viewport: {width: 1280, height: 900}, colorScheme: 'dark'});
    const page = await browserCtx.newPage();
    const problems = [];
    page.on('pageerror', e => problems.push(e.message));
    try {
      await page.goto(`${server.base}/runs/${talk.id}`);
      await waitRunEnded(page);
      const luminance = ([r, g, b]) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
      const bg = async () => luminance((await page.evaluate(() => getComputedStyle(document.querySelector('.card')).backgroundColor)).match(/\d+/g).map(Number));
      // The axis labels of a timeline: the brightest ink under the plot.
      const labelInk = async () => {
        const sel = 'canvas.timeline[data-view="lanes"][data-mode="threads"]';
        const g = await timelineGeometry(page, sel);
        const pts = [];
        for (let x = g.plotLeft; x < g.plotRight; x += 1) for (const dy of [8, 10, 12]) pts.push({x, y: g.plotBottom + dy});
        const ink = (await canvasPixels(page, sel, pts)).filter(p => p[3] > 200);
        assert.ok(ink.length > 20, 'tick labels drawn');
        return ink.reduce((a, p) => a + luminance(p), 0) / ink.length;
      };
      const chartInk = () => page.evaluate(() => Chart.getChart(document.querySelector('#summary-chart')).scales.y.options.ticks.color);
      assert.ok(await bg() < 60, 'a dark card');
      assert.ok(await labelInk() > 150, 'light labels on it');
      const darkTicks = await chartInk();
      await page.click('#theme-toggle');
      await waitRunEnded(page);
      assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
      assert.ok(await bg() > 200, 'a light card');
      assert.ok(await labelInk() < 110, 'dark labels on it');
      assert.notEqual(await chartInk(), darkTicks, 'the charts follow');
      assert.deepEqual(problems, []);
    } finally {
      await browserCtx.close();
    }
  });

  it('counts a run\'s timeouts as failures: req/s of ok requests, attempts/s apart, and the latency threshold crossed', async () => {
    const {page, problems} = tab;
    // 12 requests, 6 at a time, to 3 workers of 200 ms with a 300 ms timeout: those that wait for
    // a worker time out.
    const run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=200'}, requests: 12, concurrency: 6, timeout_ms: 300,
      modes: ['threads', 'async'], thresholds: {p99_ms: 250}});
    for (const r of run.results) {
      assert.ok(r.ok > 0 && r.errors > 0, JSON.stringify(r));
      assert.ok(Math.abs(r.rps - (r.ok * 1000) / r.wall_ms) <= 0.002 * r.rps + 0.001, `${r.mode}: rps ${r.rps} is ok/wall`);
      assert.ok(Math.abs(r.attempts_per_s - (r.requests * 1000) / r.wall_ms) <= 0.002 * r.attempts_per_s + 0.001, `${r.mode}: attempts/s`);
      assert.ok(r.latency_all_ms.p99 >= 300, `${r.mode}: a timeout counts at least its timeout`);
    }
    assert.equal(run.verdict.pass, false);
    assert.deepEqual(run.verdict.failed.map(f => f.threshold).sort(), ['p99_ms', 'p99_ms']);
    await page.goto(`${server.base}/runs/${run.id}`);
    await waitRunEnded(page);
    for (const r of run.results) {
      const cells = await page.$$eval(`.summary-table tbody tr[data-mode="${r.mode}"] td`, tds => Object.fromEntries(tds.map(td => [td.dataset.label, td.textContent])));
      assert.equal(cells['req/s'], fmtNum(r.rps));
      assert.equal(cells['attempts/s'], fmtNum(r.attempts_per_s));
      assert.equal(cells['p99 of all'], fmtMs(r.latency_all_ms.p99));
      // The crossed threshold with the digits `conlab run` prints ("p99 319.2 ms > 250 ms").
      const crossed = run.verdict.failed.find(f => f.mode === r.mode);
      assert.equal(cells.thresholds, `fail: p99 latency ${crossed.value.toFixed(1)} ms > 250 ms`);
    }
    // Every column of the summary, thresholds included, fits its card at 1280 px.
    const fit = await page.$$eval('.table-wrap', ws => ws.map(w => [w.scrollWidth, w.clientWidth]));
    assert.ok(fit.every(([s, c]) => s <= c + 1), JSON.stringify(fit));
    const rowsOf = p => p.$$eval('.summary-table tbody tr', trs => trs.map(tr => [tr.dataset.mode,
      ...['req/s', 'attempts/s', 'p99 of all', 'thresholds'].map(l => tr.querySelector(`[data-label="${l}"]`).textContent)]));
    const online = await rowsOf(page);
    // The offline report says the same.
    const dl = await openPage(browser, {acceptDownloads: true});
    try {
      await dl.page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(dl.page);
      const [download] = await Promise.all([dl.page.waitForEvent('download', {timeout: 15000}), dl.page.click('#download-report')]);
      const file = path.join(os.tmpdir(), `conlab-scale-${process.pid}-${download.suggestedFilename()}`);
      await download.saveAs(file);
      const report = await dl.context.newPage();
      await report.goto(pathToFileURL(file).href);
      fs.rmSync(file);
      await report.waitForSelector('main#app[data-ready="true"]', {timeout: 15000});
      assert.deepEqual(await rowsOf(report), online);
      assert.deepEqual(dl.problems, []);
    } finally {
      await dl.context.close();
    }
    // The command line counts the same way: req/s of ok requests, the threshold crossed (exit 3).
    const cli = spawnSync(BIN, ['run', '--no-progress', '--json', '--url', server.demo + '?delay_ms=200', '--requests', '12', '--concurrency', '6',
      '--timeout-ms', '300', '--modes', 'threads,async', '--threshold', 'p99_ms=250'], {encoding: 'utf8', timeout: 60000});
    assert.equal(cli.status, 3, cli.stderr);
    for (const r of JSON.parse(cli.stdout).results) {
      assert.ok(Math.abs(r.rps - (r.ok * 1000) / r.wall_ms) <= 0.002 * r.rps + 0.001, `CLI ${r.mode}: rps ${r.rps} is ok/wall`);
      assert.ok(Math.abs(r.attempts_per_s - (r.requests * 1000) / r.wall_ms) <= 0.002 * r.attempts_per_s + 0.001, `CLI ${r.mode}: attempts/s`);
    }
    assert.deepEqual(problems, []);
  });
});
