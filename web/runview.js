// A run's view (`/runs/ID`, the URL people share): live progress while it runs, then the
// summary, timelines and charts, with copy-link, exports and the offline report.
import { el, clear } from './dom.js';
import { getRun, getCharts, getFailures, requestsPage, cancelRun, watchRun, exportUrl, downloadExport, getToken, ApiError } from './client.js';
import { renderRun, renderRunHeader, renderSummary, renderAlerts, statusBadge } from './runrender.js';
import { livePanel } from './liveview.js';
import { downloadReport } from './report.js';
import { isSweep } from './sweep.js';
import { renderSweep } from './sweepview.js';

// The states of a run still going (`waiting`: a sharded run waits for its shards to join).
const LIVE = new Set(['queued', 'waiting', 'running', 'cancelling']);

function actions(run, content, config, root) {
  const link = location.origin + '/runs/' + encodeURIComponent(run.id);
  const linkInput = el('input', {type: 'text', readonly: true, value: link, id: 'share-link', 'aria-label': 'Link to this run', onfocus: e => e.target.select()});
  const note = el('span', {class: 'muted action-note', 'aria-live': 'polite'});
  const copy = el('button', {type: 'button', id: 'copy-link', text: 'Copy link', onclick: async () => {
    try {
      await navigator.clipboard.writeText(link);
      note.textContent = 'Link copied.';
    } catch {
      linkInput.focus();
      linkInput.select();
      note.textContent = 'Press Ctrl+C to copy the selected link.';
    }
  }});
  const report = el('button', {type: 'button', id: 'download-report', text: 'Download HTML report', onclick: async () => {
    report.disabled = true;
    note.textContent = 'Building the report…';
    try {
      // The whole run: a sweep's report holds every level's charts.
      const charts = isSweep(run) ? await getCharts(run.id) : content.charts;
      await downloadReport(run, charts, config, content.failures);
      note.textContent = 'Report downloaded: it opens offline.';
    } catch (err) {
      note.textContent = 'Could not build the report: ' + err.message;
    } finally {
      report.disabled = false;
    }
  }});
  return el('nav', {class: 'run-actions card', 'aria-label': 'Share and export'},
    el('div', {class: 'share'}, linkInput, copy),
    el('div', {class: 'exports'},
      exportLink(run.id, 'json', note),
      exportLink(run.id, 'csv', note),
      report,
      el('a', {class: 'button', href: '/?from=' + encodeURIComponent(run.id), 'data-link': '', text: 'Run again'}),
      el('a', {class: 'button', href: '/history?pick=' + encodeURIComponent(run.id), 'data-link': '', text: 'Compare…'})),
    note);
}

// A download link; with a token it fetches the file itself (a link cannot send the header).
function exportLink(id, format, note) {
  return el('a', {class: 'button', href: exportUrl(id, format), download: `conlab-${id}.${format}`, id: 'export-' + format, text: 'Export ' + format.toUpperCase(),
    onclick: e => {
      if (!getToken()) return;
      e.preventDefault();
      downloadExport(id, format).catch(err => { note.textContent = 'Could not export: ' + err.message; });
    }});
}

export async function mountRun(root, ctx) {
  const {id, config} = ctx;
  let stopWatch = null;
  let drawn = null;
  let summaryChart = null;
  let live = null;
  let gone = false;
  const content = {charts: null, failures: []};

  // Every request of a mode that overlaps [fromMs, toMs], up to `max` (pages of 10,000).
  async function fetchWindow(m, fromMs, toMs, max) {
    const out = [];
    let total = 0;
    for (let offset = 0; offset < max; offset += 10000) {
      const page = await requestsPage(id, m.mode, {limit: Math.min(10000, max - offset), offset, concurrency: m.concurrency, fromUs: fromMs * 1000, toUs: toMs * 1000});
      total = page.total;
      out.push(...page.requests);
      if (out.length >= total || !page.requests.length) break;
    }
    return {total, requests: out};
  }

  const finish = () => {
    root.dataset.ready = 'true';
  };

  async function showFinal(run) {
    if (gone) return;
    const sweep = isSweep(run);
    const [charts, failures] = await Promise.all([
      // A sweep loads the charts of one level at a time (renderSweep).
      sweep ? {modes: []} : getCharts(run.id).catch(err => {
        if (err instanceof ApiError && err.status === 404) return {modes: []};
        throw err;
      }),
      getFailures(run.id).then(f => f.failures || [], () => undefined),
    ]);
    if (gone) return;
    content.charts = charts;
    content.failures = failures;
    if (summaryChart) summaryChart.destroy();
    summaryChart = null;
    if (live) live.destroy();
    live = null;
    const body = el('div', {class: 'run-body'});
    clear(root).append(body);
    drawn = sweep
      ? renderSweep(body, run, {failures, fetchWindow, chartsAt: c => getCharts(run.id, c)})
      : renderRun(body, run, charts, {failures, fetchWindow});
    // What went wrong (in words) right under the run's title, then share and export, then what
    // the numbers say.
    const bar = actions(run, content, config, root);
    const top = body.querySelector('.run-header + #alerts') || body.querySelector('.run-header');
    body.insertBefore(bar, top.nextSibling);
    if (sweep) await drawn.ready;
    root.dataset.state = run.status;
    finish();
  }

  function showLive(run) {
    live = livePanel(run);
    const {current} = live;
    const cancel = el('button', {type: 'button', id: 'cancel-run', class: 'danger', text: 'Cancel', onclick: async () => {
      cancel.disabled = true;
      try {
        await cancelRun(run.id);
        current.textContent = 'Cancelling…';
      } catch (err) {
        current.textContent = err.message;
        cancel.disabled = false;
      }
    }});
    const alerts = el('section', {id: 'alerts', class: 'card alerts', role: 'alert'});
    const summary = el('section', {id: 'summary', class: 'card'});
    const progress = el('section', {class: 'card live', id: 'progress', 'aria-labelledby': 'progress-title'},
      el('div', {class: 'live-head'}, el('h2', {id: 'progress-title', text: 'Running'}), cancel), live.node);
    clear(root).append(renderRunHeader(run), progress, alerts, summary);
    root.dataset.state = run.status;

    const update = (status, p) => {
      const badge = root.querySelector('#run-status');
      if (badge && badge.textContent !== status) badge.replaceWith(Object.assign(statusBadge(status, run), {id: 'run-status'}));
      live.update(status, p);
    };
    const redraw = () => {
      if (summaryChart) summaryChart.destroy();
      summaryChart = renderSummary(summary, run);
      renderAlerts(alerts, run, []);
    };
    update(run.status, run.progress);
    redraw();
    finish();

    stopWatch = watchRun(run.id, {
      progress: d => {
        run.status = d.status || run.status;
        root.dataset.state = run.status;
        update(run.status, d.progress);
      },
      mode: d => {
        if (!d || !d.result) return;
        const same = r => r.mode === d.mode && r.concurrency === d.result.concurrency;
        run.results = (run.results || []).filter(r => !same(r)).concat([d.result]);
        redraw();
      },
      end: async d => {
        stopWatch = null;
        try {
          await showFinal(d && d.id ? d : await getRun(run.id));
        } catch (err) {
          showError(err);
        }
      },
      // The stream was refused or lost for good (e.g. the server's cap on open streams):
      // follow the run by polling it instead.
      error: () => {
        stopWatch = poll(run, fresh => {
          run.status = fresh.status;
          root.dataset.state = run.status;
          if (JSON.stringify(fresh.results) !== JSON.stringify(run.results)) {
            run.results = fresh.results;
            redraw();
          }
          update(run.status, fresh.progress);
        });
      },
    });
  }

  // Polls the run every second until it ends; returns a function that stops polling.
  function poll(run, onProgress) {
    let timer = null;
    let stopped = false;
    const tick = async () => {
      if (stopped || gone) return;
      try {
        const fresh = await getRun(run.id);
        if (stopped || gone) return;
        if (LIVE.has(fresh.status)) {
          onProgress(fresh);
          timer = setTimeout(tick, 1000);
        } else {
          stopWatch = null;
          await showFinal(fresh);
        }
      } catch (err) {
        showError(err);
      }
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  function showError(err) {
    if (gone) return;
    const msg = err instanceof ApiError && err.status === 404 ? `There is no run ${id} (it may have been deleted).` : `Could not load run ${id}: ${err.message}`;
    clear(root).append(el('section', {class: 'card'}, el('h1', {text: 'Run not found'}), el('p', {class: 'form-error', text: msg}),
      el('p', {}, el('a', {href: '/history', 'data-link': '', text: 'See the history'}), ' or ', el('a', {href: '/', 'data-link': '', text: 'start a run'}), '.')));
    root.dataset.state = 'error';
    finish();
  }

  clear(root).append(el('p', {class: 'muted loading', text: 'Loading run…'}));
  try {
    const run = await getRun(id);
    if (!gone) document.title = `${run.label ? run.label + ' · ' : ''}run ${run.id} · conlab`;
    if (LIVE.has(run.status)) showLive(run);
    else await showFinal(run);
  } catch (err) {
    showError(err);
  }

  return () => {
    gone = true;
    if (stopWatch) stopWatch();
    if (summaryChart) summaryChart.destroy();
    if (live) live.destroy();
    if (drawn) drawn.destroy();
  };
}
