// Chart.js configurations for every chart of the page (and of the offline report). Chart.js
// is the classic script /vendor/chart.umd.js (global `Chart`); nothing here touches the DOM
// beyond the canvas it is given.
import { modesOf, modeColor, fmtMs, fmtAxisMs, fmtAxisNum, fmtNum, fmtInt, fmtRatio, isNum } from './format.js';
import { throughputSeries } from './series.js';
import { themeColors } from './dom.js';
import { comparable } from './model.js';

function setDefaults() {
  const t = themeColors();
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = t.ink;
  Chart.defaults.borderColor = t.grid;
  Chart.defaults.scale.grid.color = t.grid;
}

function make(canvas, config) {
  setDefaults();
  const old = Chart.getChart(canvas);
  if (old) old.destroy();
  return new Chart(canvas, config);
}

// A chart with the page's defaults, for the charts of other modules (sweepcharts.js).
export function makeChart(canvas, config) {
  return make(canvas, config);
}

const msTick = (v, _i, ticks) => fmtAxisMs(v, ticks);

// Writes a text above each bar of dataset 0 (the speed-ups of the summary chart).
const barTexts = {
  id: 'conlabBarTexts',
  afterDatasetsDraw(chart, _args, opts) {
    const texts = (opts && opts.texts) || [];
    const colors = (opts && opts.colors) || [];
    const meta = chart.getDatasetMeta(0);
    const ctx = chart.ctx;
    ctx.save();
    ctx.font = '600 12px ' + Chart.defaults.font.family;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    meta.data.forEach((bar, i) => {
      if (!texts[i]) return;
      // On narrow bars only the short form fits: "3.00×" instead of "3.00× vs sync".
      const [long, short] = Array.isArray(texts[i]) ? texts[i] : [texts[i], texts[i].split(' ')[0]];
      const text = ctx.measureText(long).width > bar.width + 8 ? short : long;
      const half = ctx.measureText(text).width / 2;
      ctx.fillStyle = colors[i] || themeColors().strong;
      ctx.fillText(text, Math.min(Math.max(bar.x, half + 2), chart.width - half - 2), bar.y - 6);
    });
    ctx.restore();
  },
};

function tickRadius(chart, n) {
  const area = chart.chartArea;
  const width = area ? (area.right - area.left) / Math.max(1, n) : 100;
  return Math.max(6, Math.min(60, width * 0.36));
}

// Wall time per mode as bars, the ideal time as a black tick on each bar, the speed-up against
// sync written above; a mode whose requests all failed is a pale red bar marked "all failed"
// (its wall time says nothing about speed). rows: [{mode, wall_ms, ideal_ms|null,
// speedup|null, failed: bool}].
export function summaryChart(canvas, rows) {
  const hasIdeal = rows.some(r => isNum(r.ideal_ms));
  const datasets = [{
    label: 'wall time',
    data: rows.map(r => r.wall_ms),
    backgroundColor: rows.map(r => (r.failed ? 'rgba(220,38,38,0.18)' : modeColor(r.mode, 0.85))),
    borderColor: rows.map(r => (r.failed ? '#dc2626' : modeColor(r.mode))),
    borderWidth: 1,
    order: 1,
  }];
  if (hasIdeal) {
    datasets.push({
      type: 'line',
      label: 'ideal',
      data: rows.map(r => (isNum(r.ideal_ms) ? r.ideal_ms : null)),
      showLine: false,
      pointStyle: 'line',
      // Half the bar's width, so the tick spans the bar at any chart width.
      pointRadius: c => tickRadius(c.chart, rows.length),
      pointHoverRadius: c => tickRadius(c.chart, rows.length),
      pointBorderWidth: 3,
      borderColor: themeColors().strong,
      backgroundColor: themeColors().strong,
      order: 0,
    });
  }
  return make(canvas, {
    type: 'bar',
    data: {labels: rows.map(r => r.mode), datasets},
    plugins: [barTexts],
    options: {
      plugins: {
        conlabBarTexts: {
          texts: rows.map(r => (r.failed ? ['all failed', 'failed'] : r.mode === 'sync' || !isNum(r.speedup) ? '' : fmtRatio(r.speedup) + ' vs sync')),
          colors: rows.map(r => (r.failed ? '#b91c1c' : null)),
        },
        legend: {display: hasIdeal, labels: {usePointStyle: true}},
        tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtMs(item.parsed.y)}`}},
      },
      scales: {
        y: {beginAtZero: true, grace: '12%', ticks: {callback: msTick}, title: {display: true, text: 'wall time'}},
        x: {grid: {display: false}},
      },
    },
  });
}

// Ticks of a logarithmic axis from min to max: 1, 2 and 5 per decade while they fit, else 1 and
// 3, else the powers of ten (every k-th), so that labels never crowd each other; a range too
// narrow to hold two of those gets evenly spaced 1-2-5 steps instead.
function logTicks(min, max, maxTicks) {
  if (!(min > 0) || !(max > min)) return [];
  const lo = Math.floor(Math.log10(min)), hi = Math.ceil(Math.log10(max));
  const inRange = v => v >= min * (1 - 1e-9) && v <= max * (1 + 1e-9);
  let best = [];
  for (const mults of [[1, 2, 5], [1, 3], [1]]) {
    const ticks = [];
    for (let e = lo; e <= hi; e++) for (const m of mults) if (inRange(m * Math.pow(10, e))) ticks.push(+(m * Math.pow(10, e)).toPrecision(6));
    if (ticks.length <= maxTicks) {
      best = ticks;
      break;
    }
  }
  if (!best.length) {
    const every = Math.ceil((hi - lo + 1) / Math.max(1, maxTicks));
    for (let e = lo; e <= hi; e += every) if (inRange(Math.pow(10, e))) best.push(+Math.pow(10, e).toPrecision(6));
  }
  if (best.length >= 2) return best;
  const raw = (max - min) / Math.max(1, maxTicks - 1);
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * p).find(v => v >= raw);
  const ticks = [];
  for (let v = Math.ceil(min / step) * step; v <= max * (1 + 1e-9); v += step) ticks.push(+v.toPrecision(6));
  return ticks;
}

// Latency of the ok requests, every mode overlaid: kind 'cdf' (percent of requests at or
// under a latency) or 'histogram' (counts per log-spaced bin). The linear time axis starts at
// zero, so that equal latencies look equal; the logarithmic one (log: true) shows the spread,
// its ticks thinned so that their labels never overlap. A mode without an ok request has no
// latency to draw (its legend entry says so).
export function latencyChart(canvas, modes, kind, log) {
  const positive = p => !log || p.x > 0;
  const datasets = modes.map(m => {
    let data = [];
    if (kind === 'histogram') {
      const h = m.histogram || {edges_ms: [], counts: []};
      data = h.counts.map((c, i) => ({x: h.edges_ms[i], y: c}));
      if (h.counts.length) data.push({x: h.edges_ms[h.counts.length], y: h.counts[h.counts.length - 1]});
    } else {
      data = (m.cdf || []).map(([ms, f]) => ({x: ms, y: f * 100}));
    }
    data = data.filter(p => isNum(p.x) && positive(p));
    return {
      label: data.length ? m.mode : `${m.mode} (no ok request)`,
      data,
      borderColor: modeColor(m.mode),
      backgroundColor: modeColor(m.mode, 0.15),
      // Chart.js's 'before' holds a point's value until the next point: a bin's count over its bin,
      // the CDF's fraction until the next latency.
      stepped: 'before',
      pointRadius: kind === 'histogram' ? 0 : 2,
      borderWidth: 2,
      fill: false,
    };
  });
  const x = log
    ? {type: 'logarithmic', ticks: {callback: v => fmtMs(Number(v)), maxRotation: 0, autoSkip: true, autoSkipPadding: 16},
      afterBuildTicks: scale => {
        const width = Math.max(1, scale.width || canvas.clientWidth || 300);
        scale.ticks = logTicks(scale.min, scale.max, Math.max(2, Math.floor(width / 70))).map(value => ({value}));
      }}
    : {type: 'linear', min: 0, ticks: {callback: msTick, maxRotation: 0, autoSkipPadding: 12}};
  x.title = {display: true, text: 'latency'};
  return make(canvas, {
    type: 'line',
    data: {datasets},
    options: {
      parsing: true,
      interaction: {mode: 'nearest', intersect: false},
      plugins: {
        tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtMs(item.parsed.x)} — ${kind === 'histogram' ? fmtNum(item.parsed.y, 0) + ' requests' : fmtNum(item.parsed.y, 1) + '%'}`}},
      },
      scales: {
        x,
        y: kind === 'histogram'
          ? {beginAtZero: true, title: {display: true, text: 'requests'}}
          : {min: 0, max: 100, title: {display: true, text: '% of ok requests ≤ latency'}},
      },
    },
  });
}

const secondsAxis = text => ({type: 'linear', min: 0, ticks: {maxRotation: 0, autoSkipPadding: 12}, title: {display: true, text}});

// Completed requests per second over time, one stepped line per mode, each over intervals
// chosen from the mode's length and rate (series.throughputSeries). spec gives the rate.
export function throughputChart(canvas, modes, spec) {
  const datasets = modes.map(m => {
    const s = throughputSeries(m, spec && spec.rate);
    return {
      label: s.points.length ? m.mode : `${m.mode} (no ok request)`,
      mode: m.mode,
      data: s.points,
      intervalMs: s.intervalMs,
      borderColor: modeColor(m.mode),
      backgroundColor: modeColor(m.mode, 0.15),
      pointRadius: 0,
      borderWidth: 2,
      // Each interval's rate over that interval: Chart.js's 'before' holds a point's value until
      // the next point ('after' would draw it over the interval before).
      stepped: 'before',
    };
  });
  return make(canvas, {
    type: 'line',
    data: {datasets},
    options: {
      interaction: {mode: 'nearest', intersect: false},
      plugins: {tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtNum(item.parsed.y)} req/s from ${fmtNum(item.parsed.x, 2)} s` + (isNum(item.raw.n) && !item.raw.end ? ` (${fmtInt(item.raw.n)} ok requests in ${fmtMs(item.dataset.intervalMs)}${item.raw.errors ? `, ${fmtInt(item.raw.errors)} failed` : ''})` : '')}}},
      scales: {
        x: secondsAxis('seconds since the mode started'),
        y: {beginAtZero: true, title: {display: true, text: 'requests / s'}},
      },
    },
  });
}

// The running mode, live: throughput (left axis) and the p50/p99 latency of each tick's sample
// (right axis) over seconds since the mode started. series comes from series.liveSeries.
export function liveChart(canvas, mode, series) {
  const color = modeColor(mode);
  return make(canvas, {
    type: 'line',
    data: {datasets: [
      {label: 'req/s', data: series.rps, yAxisID: 'y', borderColor: color, backgroundColor: modeColor(mode, 0.15), pointRadius: 0, borderWidth: 2},
      {label: 'p50 latency', data: series.p50, yAxisID: 'lat', borderColor: themeColors().strong, pointRadius: 0, borderWidth: 1.5, borderDash: [6, 3]},
      {label: 'p99 latency', data: series.p99, yAxisID: 'lat', borderColor: '#dc2626', pointRadius: 0, borderWidth: 1.5, borderDash: [2, 2]},
    ]},
    options: {
      interaction: {mode: 'nearest', intersect: false},
      plugins: {tooltip: {callbacks: {label: item => (item.dataset.yAxisID === 'lat' ? `${item.dataset.label}: ${fmtMs(item.parsed.y)}` : `${fmtNum(item.parsed.y)} req/s`)}}},
      scales: {
        x: secondsAxis(`seconds since ${mode} started`),
        y: {beginAtZero: true, position: 'left', title: {display: true, text: 'requests / s'}},
        lat: {beginAtZero: true, position: 'right', grid: {drawOnChartArea: false}, ticks: {callback: msTick}, title: {display: true, text: 'latency'}},
      },
    },
  });
}

export const TREND_METRICS = {
  wall: {label: 'wall time', get: r => r.wall_ms, tick: msTick},
  rps: {label: 'req/s', get: r => r.rps, tick: (v, _i, ticks) => (ticks ? fmtAxisNum(v, ticks) : fmtNum(Number(v)))},
  p99: {label: 'p99 latency', get: r => (r.latency_ms ? r.latency_ms.p99 : null), tick: msTick},
};

// A metric of each mode across runs (oldest first). onPick(run) is called with the run whose
// point was clicked.
export function trendChart(canvas, runs, metric, onPick) {
  const m = TREND_METRICS[metric] || TREND_METRICS.wall;
  const modes = modesOf(runs).filter(mode => runs.some(r => (r.results || []).some(x => x.mode === mode)));
  const datasets = modes.map(mode => ({
    label: mode,
    data: runs.map(r => {
      const res = (r.results || []).find(x => x.mode === mode);
      // A mode whose requests all failed (or that was cancelled) has no speed to chart.
      const v = comparable(res) ? m.get(res) : null;
      return isNum(v) ? v : null;
    }),
    borderColor: modeColor(mode),
    backgroundColor: modeColor(mode),
    pointRadius: 5,
    pointHoverRadius: 7,
    spanGaps: true,
  }));
  const labels = runs.map(r => {
    const d = new Date(r.created_at);
    const p = n => String(n).padStart(2, '0');
    return Number.isNaN(d.getTime()) ? r.id : `${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  });
  return make(canvas, {
    type: 'line',
    data: {labels, datasets},
    options: {
      onClick: (evt, elements) => {
        if (elements.length && onPick) onPick(runs[elements[0].index]);
      },
      onHover: (evt, elements) => {
        evt.native.target.style.cursor = elements.length ? 'pointer' : 'default';
      },
      interaction: {mode: 'nearest', intersect: true},
      plugins: {
        tooltip: {callbacks: {
          title: items => {
            if (!items.length) return '';
            const r = runs[items[0].dataIndex];
            return `run ${r.id}` + (r.label ? ` · ${r.label}` : '');
          },
          label: item => `${item.dataset.label}: ${m.tick(item.parsed.y)} — click to open`,
        }},
      },
      scales: {
        y: {beginAtZero: true, ticks: {callback: m.tick}, title: {display: true, text: m.label}},
        x: {offset: true, ticks: {maxRotation: 0, autoSkip: true}},
      },
    },
  });
}

// Wall time per mode of two runs side by side (none for a mode whose requests all failed or
// that was cancelled).
export function compareChart(canvas, modes, runA, runB) {
  const wall = (run, mode) => {
    const r = (run.results || []).find(x => x.mode === mode);
    return comparable(r) ? r.wall_ms : null;
  };
  return make(canvas, {
    type: 'bar',
    data: {
      labels: modes,
      datasets: [
        {label: 'A · ' + runA.id, data: modes.map(m => wall(runA, m)), backgroundColor: '#94a3b8', borderColor: '#475569', borderWidth: 1},
        {label: 'B · ' + runB.id, data: modes.map(m => wall(runB, m)), backgroundColor: '#2563eb', borderColor: '#1e3a8a', borderWidth: 1},
      ],
    },
    options: {
      plugins: {tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtMs(item.parsed.y)}`}}},
      scales: {y: {beginAtZero: true, ticks: {callback: msTick}, title: {display: true, text: 'wall time'}}},
    },
  });
}

// Where a request's own time goes, per mode: one stacked horizontal bar of the mean time per ok
// request in each phase (connecting, TLS handshake, waiting for the server, receiving), in the
// timelines' colours. rows: [{mode, connect, tls, server, receive}] (ms); phases: [{key, label,
// color, border}].
export function phaseChart(canvas, rows, phases) {
  const datasets = phases.map(p => ({
    label: p.label,
    key: p.key,
    data: rows.map(r => r[p.key]),
    backgroundColor: p.color,
    borderColor: p.border || 'rgba(15,23,42,0.45)',
    borderWidth: 1,
  }));
  return make(canvas, {
    type: 'bar',
    data: {labels: rows.map(r => r.mode), datasets},
    options: {
      indexAxis: 'y',
      plugins: {tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtMs(item.parsed.x)} per request`}}},
      scales: {
        x: {stacked: true, beginAtZero: true, ticks: {callback: msTick}, title: {display: true, text: 'mean time per ok request'}},
        y: {stacked: true, grid: {display: false}},
      },
    },
  });
}
