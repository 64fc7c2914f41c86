/** A small line chart on a canvas: train as a line drawn as it comes, validation as points joined per epoch. */
export interface Series {
  points: [number, number][];
  color: string;
  dots?: boolean;
}

export interface ChartOptions {
  xMax: number;
  yMin?: number;
  yMax?: number;
  yLabel: (v: number) => string;
}

export function drawChart(canvas: HTMLCanvasElement, series: Series[], o: ChartOptions): void {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const left = 44;
  const right = 10;
  const top = 8;
  const bottom = 22;
  const all = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  let yMin = o.yMin ?? (all.length ? Math.min(...all) : 0);
  let yMax = o.yMax ?? (all.length ? Math.max(...all) : 1);
  if (o.yMin === undefined && all.length) yMin = Math.min(...all);
  if (o.yMax === undefined && all.length) yMax = Math.max(...all) * 1.05;
  if (!(yMax > yMin)) yMax = yMin + 1;
  const ticks = niceTicks(yMin, yMax, 4);
  yMin = Math.min(yMin, ticks[0]);
  yMax = Math.max(yMax, ticks[ticks.length - 1]);
  const X = (x: number) => left + (x / o.xMax) * (w - left - right);
  const Y = (y: number) => top + (1 - (y - yMin) / (yMax - yMin)) * (h - top - bottom);

  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = "#667085";
  ctx.strokeStyle = "#eceef2";
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const t of ticks) {
    const y = Math.round(Y(t)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(w - right, y);
    ctx.stroke();
    ctx.fillText(o.yLabel(t), left - 6, y);
  }
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const step = Math.max(1, Math.ceil(o.xMax / 10));
  for (let e = 0; e <= o.xMax; e += step) ctx.fillText(String(e), X(e), h - bottom + 6);

  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length === 0) continue;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.dots ? 2 : 1.6;
    ctx.beginPath();
    for (const [i, [x, y]] of pts.entries()) {
      if (i === 0) ctx.moveTo(X(x), Y(y));
      else ctx.lineTo(X(x), Y(y));
    }
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of pts) {
        ctx.beginPath();
        ctx.arc(X(x), Y(y), 3, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
}

function niceTicks(lo: number, hi: number, count: number): number[] {
  const span = hi - lo;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 0.5; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
