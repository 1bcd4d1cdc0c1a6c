// A run coordinated by the dashboard in the real page: while it waits for its shards the run
// view lists them (waiting, none joined), follows the run as `conlab run --join` processes join
// and run it, and shows the merged run like any other with its shards' table (done, joined,
// skew, req/s, errors, CPU).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, startServer, launchBrowser, openPage, waitView, waitRunEnded, screenshot, api, until } from './helpers.mjs';

function join(base, id, i, n) {
  const proc = spawn(BIN, ['run', '--join', base, '--run', id, '--shard', `${i}/${n}`], {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  proc.stdout.on('data', d => (log += d));
  proc.stderr.on('data', d => (log += d));
  return new Promise(resolve => proc.on('exit', code => resolve({code, log})));
}

const tableRows = page => page.$$eval('#shards tbody tr', trs => trs.map(tr => [...tr.children].map(td => td.textContent)));

describe('a sharded run in the page', {timeout: 120000}, () => {
  let server, browser, first;

  before(async () => {
    server = await startServer(['--demo-workers', '16', '--demo-delay-ms', '100']);
    browser = await launchBrowser();
    first = await openPage(browser);
  });

  after(async () => {
    if (browser) await browser.close().catch(() => {});
    if (server) await server.stop();
  });

  it('lists its shards while it waits, then shows the merged run with them', async () => {
    const {page, problems} = first;
    const {status, data} = await api(server.base, '/api/runs', {method: 'POST', body: {
      target: {url: server.demo}, requests: 16, concurrency: 4, modes: ['threads', 'async'], shards: 2}});
    assert.equal(status, 202, JSON.stringify(data));
    assert.equal(data.status, 'waiting');
    await page.goto(server.base + '/runs/' + data.id);
    await waitView(page, 'run');
    assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'waiting');
    assert.match(await page.textContent('#shards h2'), /0 of 2 joined/);
    assert.deepEqual((await tableRows(page)).map(r => r[1]), ['waiting', 'waiting']);
    await screenshot(page, 'shards-waiting');
    const ends = [join(server.base, data.id, 0, 2), join(server.base, data.id, 1, 2)];
    for (const e of await Promise.all(ends)) assert.equal(e.code, 0, e.log);
    await waitRunEnded(page, 30000);
    assert.equal(await page.getAttribute('#app > .view', 'data-state'), 'done');
    await until(async () => (await tableRows(page)).length === 2, 5000, 'the shards table');
    const rows = await tableRows(page);
    assert.match(await page.textContent('#shards h2'), /2 of 2 joined/);
    for (const [i, r] of rows.entries()) {
      assert.equal(r[0], String(i));
      assert.equal(r[1], 'done');
      assert.notEqual(r[2], '—');
      assert.ok(Number.isFinite(parseFloat(r[3])), r.join('|'));
      assert.ok(parseFloat(r[4]) > 0, r.join('|'));
      assert.equal(r[5], '0');
      assert.ok(parseFloat(r[6]) > 0, r.join('|'));
    }
    // the merged run is drawn like any other: one summary row per mode
    const modes = await page.evaluate(() => window.__conlab.summary.rows.map(r => r.mode));
    assert.deepEqual(modes, ['threads', 'async']);
    await screenshot(page, 'shards-done');
    assert.deepEqual(problems, []);
  });
});
