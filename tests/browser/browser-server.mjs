// One Chromium for every browser test file: ctest's fixture `browser_server` starts it before the
// first browser file and stops it after the last (tests/tests.cmake). Each file connects to it
// (helpers.mjs' launchBrowser) and opens its own contexts, which close when the file disconnects:
// nothing is shared between files but the browser process.
//
//   node tests/browser/browser-server.mjs start FILE   launch it in the background; FILE gets
//                                                      {"pid": ..., "ws": "ws://..."}
//   node tests/browser/browser-server.mjs stop FILE    close it and remove FILE
//
// By hand: start, then `CONLAB_BROWSER_SERVER=FILE node --test tests/browser/X.test.mjs` (or
// CONLAB_BROWSER_WS=ws://...), then stop. Without either variable a file launches its own browser.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);
// A background browser that nobody stopped (ctest interrupted) ends by itself when the process
// that started it (ctest, or the shell) is gone, and after an hour at most.
const LIFETIME_MS = 60 * 60 * 1000;
const sleep = ms => new Promise(r => setTimeout(r, ms));

const [cmd, given, owner] = process.argv.slice(2);
// Two ctest runs of one build at once (scripts/test.sh) have a browser each: CONLAB_TEST_RUN names
// the run, and its file is FILE.RUN (helpers.mjs reads the same).
const run = process.env.CONLAB_TEST_RUN;
const file = cmd === 'serve' || !run || !given ? given : `${given}.${run}`;
if (!['start', 'stop', 'serve'].includes(cmd) || !file) {
  console.error('usage: browser-server.mjs start|stop FILE');
  process.exit(2);
}

// The pid in FILE when it is a browser server of this script still running, else null (a pid
// reused by another process is never signalled).
function runningPid() {
  let pid;
  try {
    pid = JSON.parse(fs.readFileSync(file, 'utf8')).pid;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(SELF) ? pid : null;
  } catch {
    return null;
  }
}

const alive = pid => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Ends the server of FILE (SIGTERM, SIGKILL after 10 s) and removes FILE.
async function stop() {
  const pid = runningPid();
  if (pid) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
  fs.rmSync(file, {force: true});
}

// Sets the nice of the autogroup (Linux's per-session scheduling group) of pid and of each of its
// descendants; the processes forked later into those sessions join the same groups.
function niceTree(pid, nice) {
  const children = new Map();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  for (const todo = [pid]; todo.length; ) {
    const p = todo.pop();
    try {
      fs.writeFileSync(`/proc/${p}/autogroup`, String(nice));
    } catch {
      // gone, or no autogroup here
    }
    todo.push(...(children.get(p) || []));
  }
}

if (cmd === 'serve') {
  // Detached, this process leads a session of its own, so Linux's autogroup scheduling gives it
  // (and the browser) a group of their own at nice 0, whatever the nice of whoever started it:
  // scripts/test.sh runs the untimed tests at nice 19 beside the timed ones, and an unniced
  // browser took a core from them. The group takes the nice this process was started with.
  try {
    fs.writeFileSync('/proc/self/autogroup', String(os.getPriority()));
  } catch {
    // no autogroup here (the kernel was built without it): nice alone applies
  }
  // Loaded here only: start and stop do without playwright-core (a second of start-up).
  const {chromium, launchOptions} = await import('./helpers.mjs');
  const server = await chromium.launchServer(launchOptions());
  // playwright starts the browser detached too, and Chromium's zygotes start sessions of their
  // own (the renderers are forked from them): every group of the browser's tree gets our nice.
  niceTree(server.process().pid, os.getPriority());
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await server.kill().catch(() => {}); // nothing of a test browser is worth a graceful close
    fs.rmSync(file, {force: true});
    process.exit(0);
  };
  process.on('SIGTERM', close);
  process.on('SIGINT', close);
  setTimeout(close, LIFETIME_MS);
  setInterval(() => {
    if (!alive(Number(owner))) close();
  }, 5000);
  const tmp = `${file}.${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify({pid: process.pid, ws: server.wsEndpoint()}));
  fs.renameSync(tmp, file);
} else if (cmd === 'stop') {
  await stop();
} else {
  // start: a server left by an interrupted run goes first.
  await stop();
  fs.mkdirSync(path.dirname(path.resolve(file)), {recursive: true});
  const log = `${file}.log`;
  const out = fs.openSync(log, 'w');
  const child = spawn(process.execPath, [SELF, 'serve', file, String(process.ppid)], {detached: true, stdio: ['ignore', out, out]});
  let exited = null;
  child.on('exit', code => (exited = code));
  child.unref();
  const end = Date.now() + 60000;
  while (!runningPid()) {
    if (exited !== null || Date.now() > end) {
      if (exited === null) child.kill('SIGKILL');
      console.error(`the browser server did not start (${exited !== null ? `exit ${exited}` : 'timed out after 60 s'}):\n${fs.readFileSync(log, 'utf8')}`);
      process.exit(1);
    }
    await sleep(100);
  }
  console.log(`browser server ${JSON.parse(fs.readFileSync(file, 'utf8')).ws} (pid ${child.pid})`);
  process.exit(0);
}
