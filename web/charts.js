// Chart.js configurations for every chart of the page (and of the offline report). Chart.js
// is the classic script /vendor/chart.umd.js (global `Chart`); nothing here touches the DOM
// beyond the canvas it is given.
import { MODE_ORDER, modeColor, fmtMs, fmtAxisMs, fmtNum, fmtRatio, isNum } from './format.js';
import { PHASES, requestDetails } from './model.js';

let defaultsSet = false;
function setDefaults() {
  if (defaultsSet) return;
  defaultsSet = true;
  Chart.defaults.animation = false;
  Chart.defaults.responsive = true;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.color = '#334155';
}

function make(canvas, config) {
  setDefaults();
  const old = Chart.getChart(canvas);
  if (old) old.destroy();
  return new Chart(canvas, config);
}

const msTick = (v, _i, ticks) => fmtAxisMs(v, ticks);

// Writes a text above each bar of dataset 0 (the speed-ups of the summary chart).
const barTexts = {
  id: 'conlabBarTexts',
  afterDatasetsDraw(chart, _args, opts) {
    const texts = (opts && opts.texts) || [];
    const meta = chart.getDatasetMeta(0);
    const ctx = chart.ctx;
    ctx.save();
    ctx.font = '600 12px ' + Chart.defaults.font.family;
    ctx.fillStyle = '#0f172a';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    meta.data.forEach((bar, i) => {
      if (!texts[i]) return;
      // On narrow bars only the number fits: "3.00×" instead of "3.00× vs sync".
      const text = ctx.measureText(texts[i]).width > bar.width + 8 ? texts[i].split(' ')[0] : texts[i];
      ctx.fillText(text, bar.x, bar.y - 6);
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
// sync written above. rows: [{mode, wall_ms, ideal_ms|null, speedup|null}].
export function summaryChart(canvas, rows) {
  const hasIdeal = rows.some(r => isNum(r.ideal_ms));
  const datasets = [{
    label: 'wall time',
    data: rows.map(r => r.wall_ms),
    backgroundColor: rows.map(r => modeColor(r.mode, 0.85)),
    borderColor: rows.map(r => modeColor(r.mode)),
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
      borderColor: '#0f172a',
      backgroundColor: '#0f172a',
      order: 0,
    });
  }
  return make(canvas, {
    type: 'bar',
    data: {labels: rows.map(r => r.mode), datasets},
    plugins: [barTexts],
    options: {
      plugins: {
        conlabBarTexts: {texts: rows.map(r => (r.mode === 'sync' || !isNum(r.speedup) ? '' : fmtRatio(r.speedup) + ' vs sync'))},
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

// One mode's timeline: one row per lane, one floating bar per request phase. bars comes from
// model.timelineBars; rows are the timeline's request rows (for the tooltip); the x axis runs
// from xMin to xMax (ms) so that every mode shares it.
export function timelineChart(canvas, mode, bars, rows, xMin, xMax) {
  const datasets = PHASES.map(p => ({
    label: p.label,
    phase: p.key,
    data: bars.phases[p.key],
    backgroundColor: p.color,
    borderColor: p.border || (p.key === 'wait' ? p.color : 'rgba(15,23,42,0.55)'),
    borderWidth: p.key === 'wait' ? 0 : 1,
    borderSkipped: false,
    grouped: false,
    categoryPercentage: 1,
    barPercentage: p.key === 'wait' ? 0.22 : 0.72,
    order: p.key === 'wait' ? 1 : 0,
  }));
  return make(canvas, {
    type: 'bar',
    data: {labels: bars.labels, datasets},
    options: {
      indexAxis: 'y',
      interaction: {mode: 'nearest', intersect: true},
      plugins: {
        legend: {display: false},
        tooltip: {
          callbacks: {
            title: items => (items.length ? `${mode} · request #${rows[items[0].raw.i].seq}` : ''),
            label: item => `${item.dataset.label}: ${fmtMs(item.raw.x[1] - item.raw.x[0])}`,
            afterBody: items => (items.length ? requestDetails(rows[items[0].raw.i]).map(([k, v]) => `${k}: ${v}`) : []),
          },
        },
      },
      scales: {
        x: {type: 'linear', min: xMin, max: xMax, ticks: {callback: msTick, maxRotation: 0, autoSkipPadding: 10}, title: {display: true, text: 'time since the mode started'}},
        y: {type: 'category', labels: bars.labels, grid: {display: false}, ticks: {autoSkip: true}},
      },
    },
  });
}

// Latency of the ok requests, every mode overlaid: kind 'cdf' (percent of requests at or
// under a latency) or 'histogram' (counts per log-spaced bin); log: logarithmic time axis.
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
    return {
      label: m.mode,
      data: data.filter(p => isNum(p.x) && positive(p)),
      borderColor: modeColor(m.mode),
      backgroundColor: modeColor(m.mode, 0.15),
      stepped: 'after',
      pointRadius: kind === 'histogram' ? 0 : 2,
      borderWidth: 2,
      fill: false,
    };
  });
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
        x: {type: log ? 'logarithmic' : 'linear', ticks: {callback: log ? (v => fmtMs(Number(v))) : msTick, maxRotation: 0, autoSkipPadding: 12}, title: {display: true, text: 'latency'}},
        y: kind === 'histogram'
          ? {beginAtZero: true, title: {display: true, text: 'requests'}}
          : {min: 0, max: 100, title: {display: true, text: '% of ok requests ≤ latency'}},
      },
    },
  });
}

// Completed requests per second over time, one line per mode.
export function throughputChart(canvas, modes) {
  const datasets = modes.map(m => ({
    label: m.mode,
    data: ((m.throughput && m.throughput.points) || []).map(p => ({x: p.t_ms / 1000, y: p.rps, errors: p.errors})),
    borderColor: modeColor(m.mode),
    backgroundColor: modeColor(m.mode, 0.15),
    pointRadius: 0,
    borderWidth: 2,
    stepped: 'after',
  }));
  return make(canvas, {
    type: 'line',
    data: {datasets},
    options: {
      interaction: {mode: 'nearest', intersect: false},
      plugins: {tooltip: {callbacks: {label: item => `${item.dataset.label}: ${fmtNum(item.parsed.y)} req/s at ${fmtNum(item.parsed.x, 2)} s` + (item.raw.errors ? ` (${item.raw.errors} errors)` : '')}}},
      scales: {
        x: {type: 'linear', min: 0, title: {display: true, text: 'seconds since the mode started'}},
        y: {beginAtZero: true, title: {display: true, text: 'requests / s'}},
      },
    },
  });
}

export const TREND_METRICS = {
  wall: {label: 'wall time', get: r => r.wall_ms, tick: msTick},
  rps: {label: 'req/s', get: r => r.rps, tick: v => fmtNum(Number(v))},
  p99: {label: 'p99 latency', get: r => (r.latency_ms ? r.latency_ms.p99 : null), tick: msTick},
};

// A metric of each mode across runs (oldest first). onPick(run) is called with the run whose
// point was clicked.
export function trendChart(canvas, runs, metric, onPick) {
  const m = TREND_METRICS[metric] || TREND_METRICS.wall;
  const modes = MODE_ORDER.filter(mode => runs.some(r => (r.results || []).some(x => x.mode === mode)));
  const datasets = modes.map(mode => ({
    label: mode,
    data: runs.map(r => {
      const res = (r.results || []).find(x => x.mode === mode);
      const v = res ? m.get(res) : null;
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

// Wall time per mode of two runs side by side.
export function compareChart(canvas, modes, runA, runB) {
  const wall = (run, mode) => {
    const r = (run.results || []).find(x => x.mode === mode);
    return r ? r.wall_ms : null;
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
