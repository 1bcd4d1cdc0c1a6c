// Retakes the README's screenshots (docs/screenshot-*.png) from a fresh `conlab serve` of this
// build: the same scenes as the browser tests' screenshots, cut to the README's sizes. From the
// project root: NODE_PATH=web/node_modules node tests/browser/readme-shots.mjs
import path from 'node:path';

const helpers = await import('./helpers.mjs');
const OUT = path.resolve('docs');
const server = await helpers.startServer();
const browser = await helpers.launchBrowser();
try {
  const base = server.base, demo = server.demo;
  const run = spec => helpers.runViaApi(base, spec, 180000);
  const talk = await run({target: {url: demo}, requests: 3, concurrency: 3, label: 'the talk'});
  const sweep = await run({target: {url: demo + '?delay_ms=200'}, requests: 12, concurrency: [1, 2, 3, 4, 5, 6, 7, 8], modes: ['threads', 'async', 'processes'], label: "Sweep: find the server's capacity"});
  const cpu = await run({target: {url: demo + '?delay_ms=0'}, requests: 500, concurrency: 8, modes: ['sync', 'threads', 'async', 'processes'], work_us: 2000, label: 'CPU-bound client'});
  const nine = await run({target: {url: demo + '?delay_ms=300'}, requests: 9, concurrency: 3, label: 'nine through three'});
  const failed = await run({target: {url: 'http://127.0.0.1:9/'}, requests: 12, concurrency: 3, label: 'closed port'});
  const ctx = await browser.newContext({viewport: {width: 1280, height: 900}});
  const page = await ctx.newPage();
  const shot = async (id, name, height, selector) => {
    await page.goto(`${base}/runs/${id}`);
    await helpers.waitRunEnded(page);
    await page.waitForTimeout(500);
    if (selector) await (await page.$(selector)).screenshot({path: `${OUT}/screenshot-${name}.png`});
    else await page.screenshot({path: `${OUT}/screenshot-${name}.png`, fullPage: true, clip: {x: 0, y: 0, width: 1280, height}});
  };
  await shot(talk.id, 'run', 1500);
  await shot(sweep.id, 'sweep', 2036);
  await shot(cpu.id, 'cpu-bound', 1423);
  await shot(nine.id, 'waits', 0, '#timelines');
  await shot(failed.id, 'failed', 760);
  // Live: a mode running, its throughput and latency drawn as its requests end.
  const {data} = await helpers.api(base, '/api/runs', {method: 'POST', body: {target: {url: demo + '?delay_ms=150'}, requests: 60, concurrency: 2, modes: ['threads'], label: 'live'}});
  await page.goto(`${base}/runs/${data.id}`);
  await page.waitForFunction(() => { const c = window.Chart && Chart.getChart(document.querySelector('#live-chart')); return c && c.data.datasets[0].data.length >= 10; }, null, {timeout: 30000});
  await page.screenshot({path: `${OUT}/screenshot-live.png`, fullPage: true, clip: {x: 0, y: 0, width: 1280, height: 665}});
  await helpers.waitRunEnded(page);
  const phone = await browser.newContext({viewport: {width: 390, height: 844}, isMobile: true, hasTouch: true});
  const p2 = await phone.newPage();
  await p2.goto(`${base}/runs/${talk.id}`);
  await helpers.waitRunEnded(p2);
  await p2.waitForTimeout(500);
  await p2.screenshot({path: `${OUT}/screenshot-phone.png`, fullPage: true, clip: {x: 0, y: 0, width: 390, height: 1000}});
  console.log('done');
} finally {
  await browser.close();
  await server.stop();
}
