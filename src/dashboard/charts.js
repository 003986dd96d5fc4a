// Thin wrappers over uPlot (loaded as the global `uPlot` from /dashboard/vendor/): a line chart
// of metrics against steps, a bar chart, and a stacked bar chart. Each sets `data-points` on
// its element (points drawn), which the page's tests read.

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

function widthOf(el) {
  return Math.max(240, el.clientWidth || 480);
}

/** Redraws at the element's width when the layout changes. */
function fitWidth(el, plot) {
  new ResizeObserver(() => plot.setSize({ width: widthOf(el), height: plot.height })).observe(el);
}

/** Counts start at zero; a little headroom above the tallest bar. */
const fromZero = (u, min, max) => [0, max > 0 ? max * 1.1 : 1];

function countPoints(data) {
  let n = 0;
  for (const ys of data.slice(1)) for (const y of ys) if (y != null) n += 1;
  return n;
}

/**
 * Metrics against the step: one series per metric name. set(points) takes a Map from metric
 * name to [step, value] pairs (ascending steps) and redraws.
 */
export function metricChart(el, { title, metrics, yLabel }) {
  const opts = {
    title,
    width: widthOf(el),
    height: 220,
    scales: { x: { time: false } },
    axes: [{ label: 'step' }, { label: yLabel, size: 60 }],
    series: [
      { label: 'step' },
      ...metrics.map((name, i) => ({
        label: name,
        stroke: COLORS[i % COLORS.length],
        width: 2,
        spanGaps: true,
        points: { show: false },
      })),
    ],
  };
  const plot = new uPlot(opts, [[], ...metrics.map(() => [])], el);
  fitWidth(el, plot);
  el.dataset.points = '0';
  el.hidden = true;
  return {
    /** Returns the number of points drawn; the chart is hidden while it has none. */
    set(points) {
      const steps = new Set();
      for (const name of metrics) for (const [x] of points.get(name) ?? []) steps.add(x);
      const xs = [...steps].sort((a, b) => a - b);
      const at = new Map(xs.map((x, i) => [x, i]));
      const data = [xs];
      for (const name of metrics) {
        const ys = new Array(xs.length).fill(null);
        for (const [x, y] of points.get(name) ?? []) ys[at.get(x)] = y;
        data.push(ys);
      }
      plot.setData(data);
      const n = countPoints(data);
      el.dataset.points = String(n);
      el.hidden = n === 0;
      return n;
    },
  };
}

/**
 * Bars at x positions (one series) over a fixed x range; `xLabel` names a bar's x in the legend.
 */
export function barChart(el, { title, label, xRange, xAxis, xLabel, yLabel }) {
  const plot = new uPlot(
    {
      title,
      width: widthOf(el),
      height: 220,
      scales: { x: { time: false, range: xRange }, y: { range: fromZero } },
      axes: [{ label: xAxis }, { label: yLabel, size: 60 }],
      series: [
        { label: 'bin', value: (u, x) => (x == null ? '-' : xLabel(x)) },
        {
          label,
          fill: 'rgba(37, 99, 235, 0.55)',
          stroke: COLORS[0],
          paths: uPlot.paths.bars({ size: [0.9, 80] }),
          points: { show: false },
        },
      ],
    },
    [[], []],
    el,
  );
  fitWidth(el, plot);
  el.dataset.points = '0';
  el.hidden = true;
  return {
    set(xs, ys) {
      plot.setData([xs, ys]);
      el.dataset.points = String(countPoints([xs, ys]));
      el.hidden = xs.length === 0;
    },
  };
}

/**
 * Stacked bars: one bar per x, one layer per series. uPlot draws each series from zero, so the
 * layers are cumulative sums drawn from the tallest down; the legend shows the layer's own value.
 */
export function stackedBarChart(el, { title, layers, xLabel, yLabel }) {
  let raw = layers.map(() => []);
  const order = layers.map((_, i) => layers.length - 1 - i); // tallest (the full sum) first
  const plot = new uPlot(
    {
      title,
      width: widthOf(el),
      height: 240,
      scales: {
        x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: fromZero },
      },
      axes: [
        {
          incrs: [1, 2, 5, 10],
          values: (u, xs) => xs.map((x) => (Number.isInteger(x) ? xLabel(x) : '')),
        },
        { label: yLabel, size: 60 },
      ],
      series: [
        { label: 'round', value: (u, x) => (x == null ? '-' : xLabel(x)) },
        ...order.map((layer) => ({
          label: layers[layer],
          fill: COLORS[layer % COLORS.length],
          stroke: COLORS[layer % COLORS.length],
          paths: uPlot.paths.bars({ size: [0.6, 120] }),
          points: { show: false },
          value: (u, v, si, idx) => (idx == null ? '-' : String(raw[layer][idx] ?? '-')),
        })),
      ],
    },
    [[], ...layers.map(() => [])],
    el,
  );
  fitWidth(el, plot);
  el.dataset.points = '0';
  el.hidden = true;
  return {
    /** xs: the bars' x values; values[layer][i]: that layer's count at xs[i]. */
    set(xs, values) {
      raw = values;
      const sums = layers.map((_, layer) =>
        xs.map((_, i) => values.slice(0, layer + 1).reduce((s, v) => s + (v[i] ?? 0), 0)),
      );
      const data = [xs, ...order.map((layer) => sums[layer])];
      plot.setData(data);
      el.dataset.points = String(xs.length);
      el.hidden = xs.length === 0;
    },
  };
}

/**
 * A point per category (an experiment's arms) with its interval as a whisker: the mean as a dot,
 * lo–hi as a vertical line with caps, drawn in uPlot's draw hook. set(names, means, los, his);
 * a category without a mean has no dot, one without an interval no whisker. Sets `data-points`
 * (dots), `data-whiskers` (whiskers drawn at the last redraw) and `data-values` (JSON
 * [name, mean, lo, hi] per category, as set).
 */
export function intervalChart(el, { title, label, yLabel, format }) {
  let names = [];
  let bounds = [];
  let yMax = 1;
  let yMin = 0;
  const whiskers = (u) => {
    const { ctx } = u;
    const cap = 6 * uPlot.pxRatio;
    let drawn = 0;
    ctx.save();
    ctx.strokeStyle = COLORS[0];
    ctx.lineWidth = 2 * uPlot.pxRatio;
    for (const [i, [lo, hi]] of bounds.entries()) {
      if (lo == null || hi == null) continue;
      const x = u.valToPos(i, 'x', true);
      const [top, bottom] = [u.valToPos(hi, 'y', true), u.valToPos(lo, 'y', true)];
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, bottom);
      ctx.moveTo(x - cap, top);
      ctx.lineTo(x + cap, top);
      ctx.moveTo(x - cap, bottom);
      ctx.lineTo(x + cap, bottom);
      ctx.stroke();
      drawn += 1;
    }
    ctx.restore();
    el.dataset.whiskers = String(drawn);
  };
  const plot = new uPlot(
    {
      title,
      width: widthOf(el),
      height: 260,
      scales: {
        x: { time: false, range: () => [-0.5, Math.max(names.length, 1) - 0.5] },
        y: { range: () => [yMin, yMax] },
      },
      axes: [
        {
          incrs: [1],
          values: (u, xs) => xs.map((x) => (Number.isInteger(x) ? (names[x] ?? '') : '')),
        },
        { label: yLabel, size: 60, values: (u, ys) => ys.map(format) },
      ],
      series: [
        { label: 'arm', value: (u, x) => (x == null ? '-' : (names[x] ?? '-')) },
        {
          label,
          stroke: COLORS[0],
          fill: COLORS[0],
          paths: () => null,
          points: { show: true, size: 12, fill: COLORS[0] },
          value: (u, v, si, idx) => {
            if (idx == null || v == null) return '-';
            const [lo, hi] = bounds[idx] ?? [];
            return lo == null || hi == null
              ? format(v)
              : `${format(v)} (${format(lo)}–${format(hi)})`;
          },
        },
      ],
      hooks: { draw: [whiskers] },
    },
    [[], []],
    el,
  );
  fitWidth(el, plot);
  el.dataset.points = '0';
  el.dataset.whiskers = '0';
  el.hidden = true;
  return {
    set(categories, means, los, his) {
      names = categories;
      bounds = categories.map((_, i) => [los[i], his[i]]);
      const values = [...means, ...los, ...his].filter((v) => v != null);
      yMin = Math.min(0, ...values);
      yMax = Math.max(1, ...values);
      plot.setData([categories.map((_, i) => i), means]);
      el.dataset.points = String(countPoints([[], means]));
      el.dataset.values = JSON.stringify(categories.map((c, i) => [c, means[i], los[i], his[i]]));
      el.hidden = categories.length === 0;
    },
  };
}
