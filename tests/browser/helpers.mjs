// Shared set-up for the browser tests: start the real `conlab serve` on free ports with a temp
// database and its own demo target, drive Debian's Chromium through playwright-core, collect
// console errors, page errors and dialogs, and save screenshots.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

// ES module resolution ignores NODE_PATH, so playwright-core is loaded with require(), which
// honours it, falling back on web/node_modules next to this file.
const HERE = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch {
    return require(path.join(HERE, '..', '..', 'web', 'node_modules', 'playwright-core'));
  }
}
export const {chromium} = loadPlaywright();

export const BIN = process.env.CONLAB_BIN || path.resolve('build/conlab');
export const BUILD_DIR = process.env.CONLAB_BUILD_DIR || path.dirname(BIN);
export const SHOTS = path.join(BUILD_DIR, 'screenshots');

const sleep = ms => new Promise(r => setTimeout(r, ms));

// Polls fn until it returns a truthy value or timeoutMs passes (then throws what).
export async function until(fn, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

// Starts `conlab serve` with a temp DB and a demo target, both on ports the kernel picks (port 0):
// the addresses come from serve's start-up line, so no port can be taken between picking it and
// binding it. Returns {base, demo, db (its database file), stop()}; stop() ends the server (SIGTERM, then SIGKILL
// after 8 s).
export async function startServer(extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conlab-browser-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'conlab.db'), '--demo-target', '127.0.0.1:0', ...extraArgs];
  const proc = spawn(BIN, args, {stdio: ['ignore', 'pipe', 'pipe']});
  let log = '';
  proc.stdout.on('data', d => (log += d));
  proc.stderr.on('data', d => (log += d));
  let exited = null;
  proc.on('exit', code => (exited = code));
  let base, demo;
  try {
    await until(async () => {
      if (exited !== null) return true; // reported below, with the log
      // "conlab serve: dashboard on URL (db FILE, demo target URL)"
      const m = /dashboard on (http:\/\/\S+?)\/? \(.*demo target (http:\/\/\S+?)\)/.exec(log);
      if (!m) return false;
      [base, demo] = [m[1], m[2]];
      const res = await fetch(base + '/api/health');
      return res.ok && (await res.json()).status === 'ok';
    }, 15000, 'conlab serve to answer /api/health');
    if (exited !== null) throw new Error(`conlab serve exited with ${exited}`);
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`${e.message}\n${log}`);
  }
  return {
    base,
    demo,
    db: path.join(dir, 'conlab.db'),
    log: () => log,
    async stop() {
      if (exited === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 8000);
        await new Promise(r => (exited !== null ? r() : proc.once('exit', r)));
        clearTimeout(t);
      }
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}

// How Debian's Chromium is started, headless, here and by browser-server.mjs.
export function launchOptions(extraArgs = []) {
  return {
    executablePath: process.env.CONLAB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...extraArgs],
  };
}

// The endpoint of a shared browser (browser-server.mjs): CONLAB_BROWSER_WS, or the file named by
// CONLAB_BROWSER_SERVER (ctest's browser_server fixture writes it; with CONLAB_TEST_RUN set, the
// file is CONLAB_BROWSER_SERVER.RUN); null when neither is set.
function sharedEndpoint() {
  if (process.env.CONLAB_BROWSER_WS) return process.env.CONLAB_BROWSER_WS;
  const base = process.env.CONLAB_BROWSER_SERVER, run = process.env.CONLAB_TEST_RUN;
  if (!base) return null;
  const file = run ? `${base}.${run}` : base;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).ws;
  } catch (e) {
    throw new Error(`no shared browser: ${file} unreadable (${e.message}); is the browser_server fixture running?`);
  }
}

// A browser for one test file: the shared one when there is one (its close() then only
// disconnects, closing the contexts this file opened), else its own. A file that needs browser
// flags of its own (extraArgs) always launches its own.
export function launchBrowser(extraArgs = []) {
  const ws = extraArgs.length ? null : sharedEndpoint();
  if (ws) return chromium.connect(ws, {timeout: 30000});
  return chromium.launch(launchOptions(extraArgs));
}

// A fresh context and page. The returned `problems` collects console errors, uncaught page
// errors and dialogs (an alert would mean injected script ran); `allow` lists console error
// texts (regexps) that a test expects, such as the browser's log of a 400 answer.
export async function openPage(browser, {viewport = {width: 1280, height: 900}, allow = [], acceptDownloads = false, offline = false, isMobile = false, hasTouch = false} = {}) {
  const context = await browser.newContext({viewport, acceptDownloads, offline, isMobile, hasTouch});
  context.setDefaultTimeout(20000);
  const page = await context.newPage();
  const problems = [];
  page.on('console', msg => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (allow.some(re => re.test(text))) return;
    problems.push(`console error: ${text}`);
  });
  page.on('pageerror', err => problems.push(`page error: ${err.message}`));
  page.on('dialog', async d => {
    problems.push(`dialog: ${d.type()} ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  return {context, page, problems};
}

// Waits until the view `name` has finished drawing (its container carries data-ready).
export async function waitView(page, name, timeout = 20000) {
  await page.waitForSelector(`#app > .view[data-view="${name}"][data-ready="true"]`, {timeout});
}

// Waits until the run view shows a run that has ended (data-state is no longer live).
export async function waitRunEnded(page, timeout = 90000) {
  await page.waitForFunction(() => {
    const v = document.querySelector('#app > .view[data-view="run"]');
    return v && v.dataset.ready === 'true' && ['done', 'cancelled', 'failed', 'interrupted', 'error'].includes(v.dataset.state);
  }, null, {timeout, polling: 100});
}

export async function api(base, p, opts = {}) {
  const res = await fetch(base + p, {
    method: opts.method || 'GET',
    headers: opts.body ? {'Content-Type': 'application/json'} : {},
    body: opts.body ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return {status: res.status, data};
}

// Starts a run through the API and waits (bounded) until it has ended; returns the RUN.
export async function runViaApi(base, spec, timeoutMs = 90000) {
  const {status, data} = await api(base, '/api/runs', {method: 'POST', body: spec});
  if (status !== 202) throw new Error(`POST /api/runs answered ${status}: ${JSON.stringify(data)}`);
  return until(async () => {
    const r = await api(base, '/api/runs/' + data.id);
    return r.status === 200 && !['queued', 'running'].includes(r.data.status) ? r.data : null;
  }, timeoutMs, `run ${data.id} to end`);
}

// Saves build/screenshots/NAME.png: the whole page, or only the element `selector`.
export async function screenshot(page, name, selector) {
  fs.mkdirSync(SHOTS, {recursive: true});
  const file = path.join(SHOTS, name + '.png');
  if (selector) await (await page.$(selector)).screenshot({path: file, timeout: 20000});
  else await page.screenshot({path: file, fullPage: true, timeout: 20000});
  return file;
}

// What a timeline canvas publishes about its drawing (data-*): plot box in CSS pixels of the
// canvas, time range (ms), rows, bands.
export async function timelineGeometry(page, selector) {
  return page.$eval(selector, c => {
    const d = c.dataset;
    const num = k => Number(d[k]);
    const band = k => d[k].split(',').map(Number);
    return {plotLeft: num('plotLeft'), plotRight: num('plotRight'), plotTop: num('plotTop'), plotBottom: num('plotBottom'),
      xMin: num('xMin'), xMax: num('xMax'), rows: num('rows'), bands: num('bands'), main: band('bandMain'), wait: band('bandWait'),
      width: c.clientWidth, height: c.clientHeight};
  });
}

// The CSS-pixel x of time t (ms) and the y of the middle of a row's band on a timeline: band 1
// is the waiting strip of a lane, band 0 the requests' own phases (rows split the plot evenly).
export function timelineXY(g, t, row, band) {
  const x = g.plotLeft + ((t - g.xMin) / (g.xMax - g.xMin)) * (g.plotRight - g.plotLeft);
  const rowH = (g.plotBottom - g.plotTop) / g.rows;
  const [top, h] = band === 1 ? g.wait : g.main;
  return {x, y: g.plotTop + row * rowH + top + h / 2};
}

// The colours (r, g, b, a) of the canvas at CSS-pixel points [{x, y}] (device pixels read back;
// a = 0 where nothing was drawn).
export async function canvasPixels(page, selector, points) {
  return page.$eval(selector, (c, pts) => {
    const ctx = c.getContext('2d');
    const sx = c.width / c.clientWidth, sy = c.height / c.clientHeight;
    return pts.map(p => [...ctx.getImageData(Math.round(p.x * sx), Math.round(p.y * sy), 1, 1).data]);
  }, points);
}

// Colour tests for the timeline's phases (fills over white; the wait band is translucent amber).
export const isAmber = ([r, g, b, a]) => a > 100 && r > 220 && g > 140 && g < 225 && b < 170 && r - b > 90;
export const isRed = ([r, g, b, a]) => a > 200 && r > 180 && g < 90 && b < 90;
export const isServerBlue = ([r, g, b, a]) => a > 200 && b > 220 && r > 150 && r < 215 && g > 200 && g < 235;
// Nothing drawn there: transparent, or the light grid line.
export const isBlank = ([r, g, b, a]) => a < 40 || (r === 226 && g === 232 && b === 240);

// Every request row of a mode from the API (pages of 10,000).
export async function apiRows(base, id, mode) {
  const rows = [];
  for (let offset = 0; ; offset += 10000) {
    const {data} = await api(base, `/api/runs/${id}/requests?mode=${mode}&limit=10000&offset=${offset}`);
    rows.push(...data.requests);
    if (rows.length >= data.total || !data.requests.length) return rows;
  }
}

// The rows that queued for a lane: due while their lane was still busy with its previous request.
export function queuedRows(rows) {
  const byLane = new Map();
  for (const r of rows) {
    if (r.start_us === null) continue;
    if (!byLane.has(r.lane)) byLane.set(r.lane, []);
    byLane.get(r.lane).push(r);
  }
  const out = [];
  for (const list of byLane.values()) {
    list.sort((a, b) => a.start_us - b.start_us);
    for (let k = 1; k < list.length; k++) if ((list[k].sched_us || 0) < (list[k - 1].end_us ?? list[k - 1].start_us)) out.push(list[k]);
  }
  return out;
}

// The mean of a stepped throughput series over its span, each value weighted by its interval.
export function steppedMean(points) {
  let area = 0;
  for (let i = 0; i + 1 < points.length; i++) area += points[i].y * (points[i + 1].x - points[i].x);
  return area / (points[points.length - 1].x - points[0].x);
}

// What the throughput chart of `root` draws per mode: its points, and whether the line shows at
// the middle of each interval at that interval's value (a pixel of the line within 2 px).
export async function drawnThroughput(page, root) {
  return page.$eval(`${root} #throughput-chart`, c => {
    const chart = Chart.getChart(c);
    const ctx = c.getContext('2d');
    const sx = c.width / c.clientWidth, sy = c.height / c.clientHeight;
    return chart.data.datasets.map(d => {
      const misses = [];
      for (let i = 0; i + 1 < d.data.length; i++) {
        const x = chart.scales.x.getPixelForValue((d.data[i].x + d.data[i + 1].x) / 2);
        const y = chart.scales.y.getPixelForValue(d.data[i].y);
        const col = ctx.getImageData(Math.round(x * sx), Math.round((y - 2) * sy), 1, Math.round(5 * sy)).data;
        let seen = false;
        for (let k = 0; k < col.length; k += 4) if (col[k + 3] > 150 && !(col[k] > 200 && col[k + 1] > 200 && col[k + 2] > 200)) seen = true;
        if (!seen) misses.push(i);
      }
      return {mode: d.mode, points: d.data.map(p => ({x: p.x, y: p.y})), misses};
    });
  });
}
