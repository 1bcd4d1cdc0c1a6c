// How fast the run view of a stored run is ready, and what its data weighs: the API calls the
// page makes (bytes with and without gzip, time) and the page itself in headless Chromium, from
// navigation to the view's data-ready mark (its charts and timelines drawn). Medians of --rounds.
//
//   node bench/runview.mjs --base http://127.0.0.1:8080 --run ID [--rounds 7]
//
// (NODE_PATH=web/node_modules, as for the browser tests.) Start `conlab serve --db FILE` on a
// database that holds the run first, e.g. one made with `conlab run --requests 1000000 --db FILE`.
import { launchBrowser, openPage, waitRunEnded } from '../tests/browser/helpers.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, all) => (v.startsWith('--') ? a.concat([[v.slice(2), all[i + 1]]]) : a), []));
const base = args.base, id = args.run, rounds = Number(args.rounds || 7);
if (!base || !id) {
  console.error('usage: node bench/runview.mjs --base URL --run ID [--rounds N]');
  process.exit(2);
}
const median = xs => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = ms => ms.toFixed(1).padStart(8) + ' ms';

// One GET with or without gzip: [ms until the whole body is read, bytes on the wire].
async function get(path, gzip) {
  const http = await import('node:http');
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get(base + path, {headers: gzip ? {'Accept-Encoding': 'gzip'} : {}}, res => {
      let bytes = 0;
      res.on('data', d => (bytes += d.length));
      res.on('end', () => resolve([performance.now() - t0, bytes, res.headers['content-encoding'] || 'identity']));
    });
    req.on('error', reject);
  });
}

console.log(`run ${id} at ${base}, medians of ${rounds}`);
for (const path of [`/api/runs/${id}`, `/api/runs/${id}/charts`, `/api/runs/${id}/failures`]) {
  for (const gzip of [false, true]) {
    const times = [];
    let bytes = 0, enc = '';
    for (let i = 0; i < rounds; i++) [times[i], bytes, enc] = await get(path, gzip);
    console.log(`${path.padEnd(40)} ${enc.padEnd(8)} ${String(bytes).padStart(9)} bytes ${fmt(median(times))}`);
  }
}

const browser = await launchBrowser();
try {
  const ready = [];
  for (let i = 0; i < rounds; i++) {
    const {page, context, problems} = await openPage(browser);
    const t0 = Date.now();
    await page.goto(`${base}/runs/${id}`);
    await waitRunEnded(page, 60000);
    ready.push(Date.now() - t0);
    if (problems.length) console.log('problems:', problems);
    await context.close();
  }
  console.log(`page /runs/${id}: ready in ${fmt(median(ready))} (all: ${ready.join(', ')} ms)`);
} finally {
  await browser.close();
}
