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
const {chromium} = loadPlaywright();

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
// binding it. Returns {base, demo, stop()}; stop() ends the server (SIGTERM, then SIGKILL
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

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CONLAB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// A fresh context and page. The returned `problems` collects console errors, uncaught page
// errors and dialogs (an alert would mean injected script ran); `allow` lists console error
// texts (regexps) that a test expects, such as the browser's log of a 400 answer.
export async function openPage(browser, {viewport = {width: 1280, height: 900}, allow = [], acceptDownloads = false, offline = false} = {}) {
  const context = await browser.newContext({viewport, acceptDownloads, offline});
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

export async function screenshot(page, name) {
  fs.mkdirSync(SHOTS, {recursive: true});
  const file = path.join(SHOTS, name + '.png');
  await page.screenshot({path: file, fullPage: true, timeout: 20000});
  return file;
}
