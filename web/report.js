// The self-contained HTML report of a whole run: the chart library, the page's stylesheet, the
// run drawing modules (import/export lines dropped, concatenated into one classic script), the
// run data (its findings, every level's charts and the failures) and a call to renderRun, or for
// a sweep renderSweep with every level's summary, all in one file that opens offline. Downloaded
// as a Blob. Its times are the viewer's local time with the zone written out, like the page's.
import { fmtDate } from './format.js';

// Modules needed by runrender.js, dependencies first. Their imports are single-line and their
// top-level names are unique across them, so plain concatenation is a correct bundle.
const MODULES = ['/dom.js', '/format.js', '/model.js', '/series.js', '/health.js', '/timeline.js', '/charts.js', '/timelines.js', '/transport.js',
  '/findings.js', '/runrender.js', '/sweep.js', '/sweepcharts.js', '/sweepview.js'];

async function text(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.text();
}

function stripModule(src) {
  return src
    .replace(/^import\s[^;]*;\s*$/gm, '')
    .replace(/^export\s+(?=(async\s+)?(function|const|let|class)\b)/gm, '');
}

// Script text safe inside <script>…</script>.
const inlineScript = s => s.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
// JSON safe inside <script type="application/json">.
const inlineJson = v => JSON.stringify(v).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
const escapeHtml = s => String(s).replace(/[&<>"']/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));

// The report's HTML text. charts: the run's /charts (every level of a sweep).
async function buildReport(run, charts, config, failures) {
  const [chartLib, css, ...mods] = await Promise.all(['/vendor/chart.umd.js', '/style.css', ...MODULES].map(text));
  const bundle = mods.map((src, i) => `// ${MODULES[i]}\n${stripModule(src)}`).join('\n');
  const made = new Date();
  const data = {run, charts, failures, config: config ? {demo_target: config.demo_target, demo: config.demo, version: config.version} : null, generated_at: made.toISOString()};
  const title = `conlab run ${run.id}` + (run.label ? ` — ${run.label}` : '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>
${css.replace(/<\/(style)/gi, '<\\/$1')}
</style>
</head>
<body class="report" data-view="report">
<header class="topbar"><span class="brand">conlab</span><span class="muted">offline report of run ${escapeHtml(run.id)}, made ${escapeHtml(fmtDate(data.generated_at))}</span></header>
<main id="app"><p>This report needs JavaScript to draw its charts.</p></main>
<script type="application/json" id="conlab-data">${inlineJson(data)}</script>
<script>${inlineScript(chartLib)}</script>
<script>
(function () {
${inlineScript(bundle)}
var data = JSON.parse(document.getElementById('conlab-data').textContent);
var main = document.getElementById('app');
if (isSweep(data.run)) {
  var atLevel = function (c) { return Promise.resolve({modes: (data.charts.modes || []).filter(function (m) { return m.concurrency === c; })}); };
  renderSweep(main, data.run, {failures: data.failures, chartsAt: atLevel, allLevels: true}).ready
    .then(function () { main.dataset.ready = 'true'; });
} else {
  renderRun(main, data.run, data.charts, {failures: data.failures});
  main.dataset.ready = 'true';
}
})();
</script>
</body>
</html>
`;
}

// Builds the report and hands it to the browser as a download.
export async function downloadReport(run, charts, config, failures) {
  const html = await buildReport(run, charts, config, failures);
  const url = URL.createObjectURL(new Blob([html], {type: 'text/html;charset=utf-8'}));
  const a = document.createElement('a');
  a.href = url;
  a.download = `conlab-run-${run.id}.html`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
