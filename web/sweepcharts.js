// Chart.js configurations of a sweep: throughput and latency against concurrency, one line per
// mode, the levels on a log₂ axis, the knee the server found marked by a dashed line.
import { modeColor, fmtMs, fmtNum, fmtAxisMs, fmtAxisNum, isNum } from './format.js';
import { makeChart } from './charts.js';

const log2 = c => Math.log2(c);

// The x axis: log₂ of the level on a linear scale, one tick per level, labelled with the level.
function levelAxis(levels) {
  const xs = levels.map(log2);
  const pad = xs.length > 1 ? 0.25 : 0.5;
  return {
    type: 'linear',
    min: Math.min(...xs) - pad,
    max: Math.max(...xs) + pad,
    afterBuildTicks: axis => { axis.ticks = xs.map(value => ({value})); },
    ticks: {callback: v => String(Math.round(2 ** v)), autoSkip: false, maxRotation: 0},
    title: {display: true, text: 'concurrency (log₂ scale)'},
  };
}

// Draws a dashed vertical line at each level where a mode's knee is, in the colour of its
// first mode, labelled "knee C=3 (threads, async)".
const kneeLines = {
  id: 'conlabKnees',
  afterDatasetsDraw(chart, _args, opts) {
    const knees = (opts && opts.knees) || [];
    const {ctx, chartArea: area, scales} = chart;
    if (!area || !scales.x) return;
    const byLevel = new Map();
    for (const k of knees) byLevel.set(k.concurrency, (byLevel.get(k.concurrency) || []).concat([k.mode]));
    ctx.save();
    ctx.font = '600 11px ' + Chart.defaults.font.family;
    ctx.textBaseline = 'top';
    [...byLevel].forEach(([level, modes], i) => {
      // On a pixel's middle, so that the dashed line is crisp, not smeared over two columns.
      const x = Math.round(scales.x.getPixelForValue(log2(level))) + 0.5;
      ctx.strokeStyle = modeColor(modes[0]);
      ctx.fillStyle = modeColor(modes[0]);
      ctx.setLineDash([6, 4]);
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.moveTo(x, area.top);
      ctx.lineTo(x, area.bottom);
      ctx.stroke();
      const label = `knee C=${level} (${modes.join(', ')})`;
      const w = ctx.measureText(label).width;
      const tx = x + 4 + w > area.right ? x - 4 - w : x + 4;
      ctx.fillText(label, tx, area.top + 2 + i * 14);
    });
    ctx.restore();
  },
};

function pointStyleAt(series, knees) {
  const knee = knees.find(k => k.mode === series.mode);
  return {
    pointRadius: series.points.map(p => (knee && p.concurrency === knee.concurrency ? 8 : 5)),
    pointStyle: series.points.map(p => (knee && p.concurrency === knee.concurrency ? 'rectRot' : 'circle')),
  };
}

function options(levels, knees, yAxis, label, onPick) {
  return {
    parsing: false,
    interaction: {mode: 'nearest', intersect: true},
    onClick: (evt, elements, chart) => {
      if (!elements.length || !onPick) return;
      const ds = chart.data.datasets[elements[0].datasetIndex];
      onPick(ds.mode, ds.data[elements[0].index].c);
    },
    onHover: (evt, elements) => {
      if (evt.native && evt.native.target) evt.native.target.style.cursor = elements.length ? 'pointer' : 'default';
    },
    plugins: {
      conlabKnees: {knees},
      legend: {labels: {usePointStyle: true}},
      tooltip: {callbacks: {title: items => (items.length ? `C = ${items[0].raw.c}` : ''), label, afterLabel: () => (onPick ? 'click to open this level' : '')}},
    },
    scales: {x: levelAxis(levels), y: yAxis},
  };
}

// Completed requests per second at each level, one line per mode. series: sweep.js's
// sweepSeries; knees: kneesOf; onPick(mode, level) when a point is clicked.
export function sweepRpsChart(canvas, series, levels, knees, onPick) {
  const datasets = series.map(s => Object.assign({
    label: s.mode,
    mode: s.mode,
    metric: 'rps',
    data: s.points.filter(p => isNum(p.rps)).map(p => ({x: log2(p.concurrency), y: p.rps, c: p.concurrency})),
    borderColor: modeColor(s.mode),
    backgroundColor: modeColor(s.mode),
    borderWidth: 2,
    pointHoverRadius: 9,
  }, pointStyleAt({mode: s.mode, points: s.points.filter(p => isNum(p.rps))}, knees)));
  return makeChart(canvas, {
    type: 'line',
    data: {datasets},
    plugins: [kneeLines],
    options: options(levels, knees, {beginAtZero: true, title: {display: true, text: 'requests / s'}, ticks: {callback: (v, _i, ticks) => fmtAxisNum(v, ticks)}},
      item => `${item.dataset.label}: ${fmtNum(item.raw.y)} req/s`, onPick),
  });
}

// p50 (solid) and p99 (dashed) latency of the ok requests at each level, per mode.
export function sweepLatencyChart(canvas, series, levels, knees, onPick) {
  const datasets = [];
  for (const s of series) {
    for (const q of ['p50', 'p99']) {
      const pts = s.points.filter(p => isNum(p[q]));
      datasets.push(Object.assign({
        label: `${s.mode} ${q}`,
        mode: s.mode,
        metric: q,
        data: pts.map(p => ({x: log2(p.concurrency), y: p[q], c: p.concurrency})),
        borderColor: modeColor(s.mode),
        backgroundColor: modeColor(s.mode, q === 'p50' ? 1 : 0.35),
        borderDash: q === 'p99' ? [6, 4] : [],
        borderWidth: 2,
        pointHoverRadius: 9,
      }, pointStyleAt({mode: s.mode, points: pts}, knees)));
    }
  }
  return makeChart(canvas, {
    type: 'line',
    data: {datasets},
    plugins: [kneeLines],
    options: options(levels, knees, {beginAtZero: true, title: {display: true, text: 'latency'}, ticks: {callback: (v, _i, ticks) => fmtAxisMs(v, ticks)}},
      item => `${item.dataset.label}: ${fmtMs(item.raw.y)}`, onPick),
  });
}

// Requests per second of two sweeps at each level: A dashed, B solid, one colour per mode.
export function sweepCompareChart(canvas, seriesA, seriesB, levels) {
  const datasets = [];
  for (const [tag, series, dash] of [['A', seriesA, [6, 4]], ['B', seriesB, []]]) {
    for (const s of series) {
      datasets.push({
        label: `${tag} · ${s.mode}`,
        mode: s.mode,
        data: s.points.filter(p => isNum(p.rps)).map(p => ({x: log2(p.concurrency), y: p.rps, c: p.concurrency})),
        borderColor: modeColor(s.mode),
        backgroundColor: modeColor(s.mode, tag === 'A' ? 0.35 : 1),
        borderDash: dash,
        borderWidth: 2,
        pointRadius: 4,
      });
    }
  }
  return makeChart(canvas, {
    type: 'line',
    data: {datasets},
    options: options(levels, [], {beginAtZero: true, title: {display: true, text: 'requests / s'}}, item => `${item.dataset.label}: ${fmtNum(item.raw.y)} req/s`, null),
  });
}
