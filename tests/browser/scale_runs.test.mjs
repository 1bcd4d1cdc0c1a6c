// Every picture to scale and every number alike (issue 18), the checks that need no quiet machine
// (scale.test.mjs holds those that do): throughput drawn over the intervals it measured at a
// sweep level's req/s, a cancelled run without failure wording, a run stored with --expect-*,
// the history's workload picker and width, Run on the first screen, a failing sweep's offline
// report. Read from the page as a person sees it (text, element boxes, canvas pixels) against the
// API's numbers.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fmtOver } from '../../web/format.js';
import { BIN, startServer, launchBrowser, openPage, waitView, waitRunEnded, api, until, runViaApi,
  steppedMean, drawnThroughput } from './helpers.mjs';

// Two dashboards that share nothing (each its own server, browser connection and contexts) run
// at once, so that their waits for the demo target overlap; the tests of each run in order.
describe('every picture to scale, every number alike: runs that need no quiet machine', {concurrency: true, timeout: 300000}, () => {
  describe('a sweep', {concurrency: 1}, () => {
    let server, browser, tab, sweep;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser();
      tab = await openPage(browser);
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    it('draws a sweep level\'s throughput at its RESULT req/s (±5 %), and no sync in a caption without sync', async () => {
      const {page, problems} = tab;
      const levels = [1, 3, 6];
      sweep = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=100'}, requests: 12, concurrency: levels, modes: ['threads', 'async']});
      await page.goto(`${server.base}/runs/${sweep.id}`);
      await waitRunEnded(page);
      for (const c of levels) {
        await page.click(`#sweep .level-open[data-concurrency="${c}"]`);
        await until(async () => (await page.evaluate(() => window.__conlab.sweep.open || {})).concurrency === c, 10000, `level ${c}`);
        for (const d of await drawnThroughput(page, '#sweep-point')) {
          const r = sweep.results.find(x => x.mode === d.mode && x.concurrency === c);
          assert.ok(Math.abs(steppedMean(d.points) / r.rps - 1) <= 0.05, `${d.mode} at C=${c}: drawn ${JSON.stringify(d.points)}, RESULT ${r.rps}`);
          assert.deepEqual(d.misses, [], `${d.mode} at C=${c}`);
        }
        const caption = await page.textContent('#sweep-point #ideal-caption');
        assert.doesNotMatch(caption, /sync/, caption);
      }
      assert.deepEqual(problems, []);
    });
  });

  describe('single runs, a failing sweep and the history', {concurrency: 1}, () => {
    let server, browser, tab;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser();
      tab = await openPage(browser);
    });

    after(async () => {
      if (browser) await browser.close().catch(() => {});
      if (server) await server.stop();
    });

    it('says "cancelled after N of 9" for a cancelled run, with no failure wording and no speed-up', async () => {
      const {page, problems} = tab;
      // sync's 9 requests of 1 s: the cancel lands in sync even on a loaded machine (at 400 ms a
      // slow page once let sync end first, whose speed-up of 1× is then right)
      const {data} = await api(server.base, '/api/runs', {method: 'POST', body: {target: {url: server.demo + '?delay_ms=1000'}, requests: 9, concurrency: 3}});
      await page.goto(`${server.base}/runs/${data.id}`);
      await page.waitForFunction(() => (document.querySelector('#progress-sync') || {}).value >= 2, null, {timeout: 15000});
      await page.click('#cancel-run');
      await waitRunEnded(page);
      const run = (await api(server.base, `/api/runs/${data.id}`)).data;
      assert.equal(run.status, 'cancelled');
      const text = await page.innerText('body');
      assert.doesNotMatch(text, /fail/i);
      assert.match(text, /cancelled after \d of 9/);
      const row = await page.$$eval('.summary-table tbody tr[data-mode="sync"] td', tds => Object.fromEntries(tds.map(td => [td.dataset.label, td.textContent])));
      assert.equal(row['speed-up'], '–');
      const bars = await page.evaluate(() => Chart.getChart(document.querySelector('#summary-chart')).options.plugins.conlabBarTexts.texts);
      assert.ok(bars.every(t => !/×/.test([].concat(t).join(' '))), JSON.stringify(bars));
      await page.goto(`${server.base}/history`);
      await waitView(page, 'history');
      const hist = await page.innerText(`.runs-table tr[data-id="${data.id}"]`);
      assert.match(hist, /cancelled after \d of 9/);
      assert.doesNotMatch(hist, /fail/i);
      assert.deepEqual(problems, []);
    });

    it('shows the ideal of a run stored from the command line with --expect-*, and the CLI\'s own numbers', async () => {
      const {page, problems} = tab;
      const cli = spawnSync(BIN, ['run', '--no-progress', '--url', server.demo + '?delay_ms=50', '--requests', '3', '--concurrency', '3', '--modes', 'threads',
        '--expect-delay-ms', '50', '--expect-workers', '3', '--db', server.db, '--label', 'from the CLI'], {encoding: 'utf8', timeout: 60000});
      assert.equal(cli.status, 0, cli.stdout + cli.stderr);
      const run = (await api(server.base, '/api/runs?limit=1')).data.runs[0];
      assert.equal(run.label, 'from the CLI');
      assert.deepEqual(run.spec.expect, {delay_ms: 50, workers: 3});
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page);
      const r = run.results[0];
      const cells = await page.$$eval('.summary-table tbody tr[data-mode="threads"] td', tds => Object.fromEntries(tds.map(td => [td.dataset.label, td.textContent])));
      assert.equal(cells.ideal, '50 ms');
      assert.equal(cells['over ideal'], fmtOver(r.wall_ms - 50));
      // The CLI's table line for threads says the same wall time and req/s, to its own digits.
      const lines = cli.stdout.split('\n');
      const head = lines.find(l => /^mode\s/.test(l)).replace('wall s', 'wall_s').trim().split(/\s+/);
      const line = lines.find(l => /^threads\s/.test(l)).trim().split(/\s+/);
      const col = name => Number(line[head.indexOf(name)]);
      assert.ok(Math.abs(col('wall_s') * 1000 - r.wall_ms) <= 0.5, `CLI wall ${col('wall_s')} s, API ${r.wall_ms} ms`);
      assert.ok(Math.abs(col('req/s') - r.rps) <= 0.006, `CLI req/s ${col('req/s')}, API ${r.rps}`);
      assert.deepEqual(problems, []);
    });

    it('holds a failing sweep whole in its offline report: findings, every level\'s summary, the failures table', async () => {
      const run = await runViaApi(server.base, {target: {url: 'http://127.0.0.1:9/'}, requests: 4, concurrency: [1, 2], modes: ['threads', 'async']});
      const dl = await openPage(browser, {acceptDownloads: true});
      try {
        await dl.page.goto(`${server.base}/runs/${run.id}`);
        await waitRunEnded(dl.page);
        const table = p => p.$$eval('#sweep-failures .failures-table tbody tr', trs => trs.map(tr => [...tr.children].map(c => c.textContent)));
        const online = await table(dl.page);
        const failures = (await api(server.base, `/api/runs/${run.id}/failures`)).data.failures;
        assert.equal(online.reduce((a, r) => a + Number(r[2]), 0), failures.reduce((a, f) => a + f.count, 0), JSON.stringify(online));
        assert.equal(new Set(online.map(r => r[0])).size, online.length, 'each message once');
        const [download] = await Promise.all([dl.page.waitForEvent('download', {timeout: 15000}), dl.page.click('#download-report')]);
        const file = path.join(os.tmpdir(), `conlab-scale-${process.pid}-${download.suggestedFilename()}`);
        await download.saveAs(file);
        const report = await dl.context.newPage();
        await report.goto(pathToFileURL(file).href);
        await report.waitForSelector('main#app[data-ready="true"]', {timeout: 15000});
        fs.rmSync(file);
        assert.deepEqual(await table(report), online);
        assert.deepEqual(await report.$$eval('#levels .level-summary', els => els.map(e => Number(e.dataset.concurrency))), [1, 2]);
        const kinds = await report.$$eval('#findings .finding', els => els.flatMap(e => e.dataset.mode.split(' ').map(m => e.dataset.kind + ':' + m)));
        assert.deepEqual(kinds.sort(), run.findings.map(f => f.kind + ':' + (f.mode || '')).sort());
        assert.ok(kinds.length > 0);
        assert.deepEqual(dl.problems, []);
      } finally {
        await dl.context.close();
      }
    });

    it('lists each workload in the history\'s picker, and its table fits 1280 px and a phone', async () => {
      const {page, problems} = tab;
      await page.goto(`${server.base}/history`);
      await waitView(page, 'history');
      const options = await page.$$eval('#trend-workload option', os => os.map(o => o.value));
      const runs = (await api(server.base, '/api/runs')).data.runs.filter(r => !Array.isArray(r.spec.concurrency) && r.results.length);
      const keys = new Set(runs.map(r => `${r.spec.target.url} ${r.spec.requests} ${r.spec.concurrency} ${r.spec.modes}`));
      assert.equal(options.length, keys.size, JSON.stringify(options));
      // At least two to pick between: the cancelled run's and the command line's above (the
      // failing sweep is not offered).
      assert.ok(options.length >= 2, JSON.stringify(options));
      for (const value of options) {
        await page.selectOption('#trend-workload', value);
        const ids = await page.evaluate(() => window.__conlab.history.trendIds);
        const specs = new Set(ids.map(id => JSON.stringify(runs.find(r => r.id === id).spec, ['target', 'url', 'requests', 'concurrency', 'modes'])));
        assert.equal(specs.size, 1, JSON.stringify(ids));
        assert.equal(await page.inputValue('#trend-workload'), value);
      }
      for (const viewport of [{width: 1280, height: 800}, {width: 390, height: 844}]) {
        await page.setViewportSize(viewport);
        await page.waitForTimeout(200);
        const fit = await page.$eval('#runs .table-wrap', w => [w.scrollWidth, w.clientWidth]);
        assert.ok(fit[0] <= fit[1] + 1, `${viewport.width} px: the table is ${fit[0]} px in ${fit[1]} px`);
        const wrapped = await page.$$eval('.runs-table .badge', bs => bs.filter(b => b.getClientRects().length !== 1 || b.getBoundingClientRect().height > 30).map(b => b.textContent));
        assert.deepEqual(wrapped, [], 'badges on one line');
      }
      await page.setViewportSize({width: 1280, height: 900});
      assert.deepEqual(problems, []);
    });

    it('puts Run on the first screen at 1280 × 800', async () => {
      const {page, problems, context} = await openPage(browser, {viewport: {width: 1280, height: 800}});
      try {
        await page.goto(server.base + '/');
        await waitView(page, 'form');
        const box = await (await page.$('#run-button')).boundingBox();
        assert.ok(box.y >= 0 && box.y + box.height <= 800, JSON.stringify(box));
        assert.equal(await page.evaluate(b => document.elementFromPoint(b.x + b.width / 2, b.y + b.height / 2).closest('#run-button') !== null, box), true, 'nothing covers it');
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  });
});
