/**
 * A small SVG line plot: a few series over a shared x axis, with "nice" ticks, grid lines and a legend.
 * Self-contained SVG 1.1 (no scripts, no external fonts), readable in a browser or an editor preview.
 */

export interface Series {
  name: string;
  /** [x, y] points; non-finite y values are skipped (a gap in the line). */
  points: readonly (readonly [number, number])[];
  color?: string;
  dashed?: boolean;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  width?: number;
  height?: number;
  /** Force the y range to include these bounds (e.g. [0, 1] for accuracies). */
  yMin?: number;
  yMax?: number;
  /** Where the legend goes (default top-right; bottom-right suits rising curves such as accuracies). */
  legend?: "top-right" | "bottom-right";
  /** A logarithmic y axis (for losses spanning decades); needs positive values. */
  logY?: boolean;
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];

export function linePlot(options: PlotOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const margin = { left: 64, right: 20, top: 40, bottom: 52 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;

  const logY = options.logY === true;
  const finite = (y: number) => Number.isFinite(y) && (!logY || y > 0);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of options.series) {
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !finite(y)) continue;
      xs.push(x);
      ys.push(logY ? Math.log10(y) : y);
    }
  }
  let [x0, x1] = extent(xs, 0, 1);
  let [y0, y1] = extent(ys, 0, 1);
  if (options.yMin !== undefined) y0 = Math.min(y0, logY ? Math.log10(options.yMin) : options.yMin);
  if (options.yMax !== undefined) y1 = Math.max(y1, logY ? Math.log10(options.yMax) : options.yMax);
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (y0 === y1) [y0, y1] = [y0 - (Math.abs(y0) || 1) * 0.1, y1 + (Math.abs(y1) || 1) * 0.1];
  const xTicks = niceTicks(x0, x1, 8, true);
  const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 6, false);
  x0 = Math.min(x0, xTicks[0]);
  x1 = Math.max(x1, xTicks[xTicks.length - 1]);
  y0 = Math.min(y0, yTicks[0]);
  y1 = Math.max(y1, yTicks[yTicks.length - 1]);

  const sx = (x: number) => margin.left + ((x - x0) / (x1 - x0)) * plotW;
  const sy = (y: number) => margin.top + plotH - ((y - y0) / (y1 - y0)) * plotH;
  const f = (v: number) => (Math.round(v * 100) / 100).toString();

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
  );
  out.push(`<title>${esc(options.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${f(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
  );
  // Grid and ticks.
  for (const t of yTicks) {
    const y = f(sy(t));
    out.push(
      `<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotW}" y2="${y}" stroke="#e5e5e5" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${margin.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${esc(logY ? formatTick(10 ** t) : formatTick(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = f(sx(t));
    out.push(
      `<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotH}" stroke="#f0f0f0" stroke-width="1"/>`,
    );
    out.push(
      `<text x="${x}" y="${margin.top + plotH + 16}" text-anchor="middle">${esc(formatTick(t))}</text>`,
    );
  }
  out.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333" stroke-width="1"/>`,
  );
  out.push(
    `<text x="${f(margin.left + plotW / 2)}" y="${height - 12}" text-anchor="middle">${esc(options.xLabel)}</text>`,
  );
  out.push(
    `<text x="16" y="${f(margin.top + plotH / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f(margin.top + plotH / 2)})">${esc(options.yLabel + (logY ? " (log scale)" : ""))}</text>`,
  );

  // Lines: one path per run of finite points; a marker per point when there are few.
  options.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : "";
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !finite(y)) {
        if (runs[runs.length - 1].length > 0) runs.push([]);
        continue;
      }
      runs[runs.length - 1].push(`${f(sx(x))},${f(sy(logY ? Math.log10(y) : y))}`);
    }
    for (const run of runs) {
      if (run.length === 0) continue;
      if (run.length > 1) {
        out.push(
          `<polyline fill="none" stroke="${color}" stroke-width="2"${dash} stroke-linejoin="round" points="${run.join(" ")}"/>`,
        );
      }
      if (s.points.length <= 40 || run.length === 1) {
        for (const p of run) {
          const [cx, cy] = p.split(",");
          out.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${color}"/>`);
        }
      }
    }
  });

  // Legend, top right inside the plot.
  const named = options.series.filter((s) => s.name);
  if (named.length > 0) {
    const lw = 14 + Math.max(...named.map((s) => s.name.length)) * 7 + 28;
    const lx = margin.left + plotW - lw - 8;
    const lh = named.length * 18 + 8;
    const ly = options.legend === "bottom-right" ? margin.top + plotH - lh - 8 : margin.top + 8;
    out.push(
      `<rect x="${lx}" y="${ly}" width="${lw}" height="${lh}" fill="white" fill-opacity="0.85" stroke="#ccc"/>`,
    );
    options.series.forEach((s, i) => {
      if (!s.name) return;
      const k = named.indexOf(s);
      const color = s.color ?? PALETTE[i % PALETTE.length];
      const y = ly + 14 + k * 18;
      const dash = s.dashed ? ' stroke-dasharray="6 4"' : "";
      out.push(
        `<line x1="${lx + 8}" y1="${y}" x2="${lx + 30}" y2="${y}" stroke="${color}" stroke-width="2"${dash}/>`,
      );
      out.push(`<text x="${lx + 36}" y="${y}" dominant-baseline="middle">${esc(s.name)}</text>`);
    });
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function extent(values: readonly number[], lo: number, hi: number): [number, number] {
  if (values.length === 0) return [lo, hi];
  let a = Number.POSITIVE_INFINITY;
  let b = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < a) a = v;
    if (v > b) b = v;
  }
  return [a, b];
}

/** Round tick values (1, 2, 5 × 10^k steps) covering [lo, hi] with about `count` ticks. */
export function niceTicks(lo: number, hi: number, count: number, integer: boolean): number[] {
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  const start = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let t = start; t <= hi + step * 1e-9 || ticks.length < 2; t += step) {
    ticks.push(Number(t.toPrecision(12)));
    if (ticks.length > 50) break;
  }
  return ticks;
}

function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(lo);
  const b = Math.ceil(hi);
  const ticks: number[] = [];
  for (let e = a; e <= b; e++) ticks.push(e);
  if (ticks.length < 2) ticks.push(a + 1);
  return ticks;
}

function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(6)));
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
