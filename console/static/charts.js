// Line charts drawn on a <canvas>: up to the last three minutes of one
// sample a second, each series a line, the y axis scaled to the largest
// value shown.

const AXIS = "#8a94a3";
const GRID = "#e8ebf0";

export class Chart {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{color: string, width?: number}[]} series one entry per line, drawn in order
   * @param {number} points how many samples the chart keeps
   */
  constructor(canvas, series, points = 180) {
    this.canvas = canvas;
    this.series = series;
    this.points = points;
    this.data = series.map(() => []);
    this.pending = false;
    new ResizeObserver(() => this.schedule()).observe(canvas);
  }

  /** push adds one sample: a value per series. */
  push(values) {
    values.forEach((v, i) => {
      const d = this.data[i];
      d.push(v);
      if (d.length > this.points) d.shift();
    });
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const hgt = c.clientHeight;
    if (!w || !hgt) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    const g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);

    const left = 44;
    const top = 6;
    const bottom = hgt - 18;
    const right = w - 6;
    const { max, ticks } = niceMax(Math.max(0, ...this.data.flat()));
    // The first minute fills the width; after it the chart widens to points.
    const span = Math.min(this.points, Math.max(60, ...this.data.map((d) => d.length)));
    const step = (right - left) / (span - 1);
    const every = span <= 90 ? 15 : 60;

    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    g.lineWidth = 1;
    for (let i = 0; i <= ticks; i++) {
      const y = Math.round(bottom - ((bottom - top) * i) / ticks) + 0.5;
      g.strokeStyle = GRID;
      g.beginPath();
      g.moveTo(left, y);
      g.lineTo(right, y);
      g.stroke();
      g.fillStyle = AXIS;
      g.textAlign = "right";
      g.fillText(format((max * i) / ticks), left - 6, y);
    }
    g.textAlign = "center";
    g.textBaseline = "alphabetic";
    for (let s = 0; s < span; s += every) {
      const x = right - s * step;
      g.fillText(s === 0 ? "now" : every < 60 ? `-${s}s` : `-${s / 60}m`, Math.min(x, right - 12), hgt - 4);
    }

    g.lineJoin = "round";
    this.data.forEach((d, i) => {
      if (d.length === 0) return;
      g.strokeStyle = this.series[i].color;
      g.lineWidth = this.series[i].width || 1.6;
      g.beginPath();
      d.forEach((v, k) => {
        const x = right - (d.length - 1 - k) * step;
        const y = bottom - ((bottom - top) * v) / max;
        if (k === 0) g.moveTo(x, y);
        else g.lineTo(x, y);
      });
      g.stroke();
    });
  }
}

/**
 * niceMax rounds a maximum up to 1, 2, 2.5 or 5 times a power of ten (at
 * least 1), with a number of grid steps that keeps the labels round.
 */
function niceMax(v) {
  if (v <= 1) return { max: 1, ticks: 2 };
  const p = 10 ** Math.floor(Math.log10(v));
  for (const [m, ticks] of [[1, 5], [2, 4], [2.5, 5], [5, 5]]) if (v <= m * p) return { max: m * p, ticks };
  return { max: 10 * p, ticks: 5 };
}

function format(v) {
  if (v >= 1e6) return +(v / 1e6).toFixed(1) + "M";
  if (v >= 1e3) return +(v / 1e3).toFixed(1) + "k";
  return String(+v.toFixed(2));
}
