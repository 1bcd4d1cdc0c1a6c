// The page's numbers are the API's: the summary chart is read from what Chart.js drew (each
// bar's label, value and pixel height) and the summary table from its cells, and both are
// compared with GET /api/runs/ID, mode by mode. No test hook is consulted.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fmtMs } from '../../web/format.js';
import { startServer, launchBrowser, openPage, waitRunEnded, runViaApi } from './helpers.mjs';

describe('the run view shows the API\'s numbers', {timeout: 180000}, () => {
  let server, browser, run;

  before(async () => {
    server = await startServer(['--demo-workers', '2']);
    browser = await launchBrowser();
    // 2 workers of 60 ms, 6 requests: sync ~360 ms, threads at 3 ~180 ms, async at 3 ~180 ms:
    // distinct walls, and latencies spread by the queue (p50, p90, p99 differ).
    run = await runViaApi(server.base, {target: {url: server.demo + '?delay_ms=60'}, requests: 6, concurrency: 3, modes: ['sync', 'threads', 'async']});
    assert.equal(run.status, 'done');
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('draws each mode\'s bar at its own wall time and lists its own percentiles', async () => {
    const {page, problems, context} = await openPage(browser);
    try {
      await page.goto(`${server.base}/runs/${run.id}`);
      await waitRunEnded(page, 30000);
      const byMode = Object.fromEntries(run.results.map(r => [r.mode, r]));
      const drawn = await page.evaluate(() => {
        const c = Chart.getChart(document.querySelector('#summary-chart'));
        const meta = c.getDatasetMeta(0);
        return c.data.labels.map((label, i) => ({label, value: c.data.datasets[0].data[i],
          height: meta.data[i].base - meta.data[i].y, pixelFor: c.scales.y.getPixelForValue(c.data.datasets[0].data[i]), y: meta.data[i].y}));
      });
      assert.deepEqual(drawn.map(d => d.label), run.results.map(r => r.mode));
      for (const d of drawn) {
        assert.equal(d.value, byMode[d.label].wall_ms, d.label);
        assert.ok(Math.abs(d.pixelFor - d.y) < 0.5, `${d.label}: the bar is drawn where its value is`);
      }
      // Heights in the ratio of the API's wall times (sync's bar about twice the others').
      const sync = drawn.find(d => d.label === 'sync');
      for (const d of drawn) {
        const want = byMode[d.label].wall_ms / byMode.sync.wall_ms;
        assert.ok(Math.abs(d.height / sync.height - want) < 0.02, `${d.label}: height ratio ${d.height / sync.height}, API ${want}`);
      }
      const cells = await page.$$eval('.summary-table tbody tr', trs => trs.map(tr => ({
        mode: tr.dataset.mode,
        ...Object.fromEntries([...tr.querySelectorAll('td')].map(td => [td.dataset.label, td.textContent])),
      })));
      assert.deepEqual(cells.map(c => c.mode), run.results.map(r => r.mode));
      for (const c of cells) {
        const r = byMode[c.mode];
        assert.equal(c['wall time'], fmtMs(r.wall_ms), c.mode);
        for (const p of ['p50', 'p90', 'p99', 'max']) assert.equal(c[p], fmtMs(r.latency_ms[p]), `${c.mode} ${p}`);
        assert.equal(c.ok, String(r.ok), c.mode);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
