/**
 * The drawing pad, with the preprocessing MNIST's own digits went through (LeCun et al.): the ink's
 * bounding box scaled, keeping its aspect ratio, to fit a 20×20 box (anti-aliased: each small pixel is the
 * mean of the big pixels it covers), then placed in the 28×28 image so that its centre of mass is at the
 * centre. Grey levels in [0, 1], white ink on black, like the training data.
 */
export const SIDE = 28;
const BOX = 20;

export class DrawingPad {
  private readonly ctx: CanvasRenderingContext2D;
  private drawing = false;
  private last: [number, number] | null = null;
  private inked = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly onStroke: (final: boolean) => void,
  ) {
    this.ctx = canvas.getContext("2d", { willReadFrequently: true })!;
    this.clear();
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.drawing = true;
      this.last = this.point(e);
      this.dot(this.last);
      e.preventDefault();
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!this.drawing) return;
      for (const ev of e.getCoalescedEvents?.() ?? [e]) {
        const p = this.point(ev);
        this.line(this.last!, p);
        this.last = p;
      }
      this.onStroke(false);
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      this.last = null;
      this.onStroke(true);
    };
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }

  get empty(): boolean {
    return !this.inked;
  }

  clear(): void {
    this.ctx.fillStyle = "#000";
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
  }

  /** Pointer position in canvas pixels (the canvas is drawn smaller than its 280×280 pixels). */
  private point(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [
      ((e.clientX - r.left) / r.width) * this.canvas.width,
      ((e.clientY - r.top) / r.height) * this.canvas.height,
    ];
  }

  private get width(): number {
    return this.canvas.width * 0.075;
  }

  private dot([x, y]: [number, number]): void {
    this.ctx.fillStyle = "#fff";
    this.ctx.beginPath();
    this.ctx.arc(x, y, this.width / 2, 0, Math.PI * 2);
    this.ctx.fill();
    this.inked = true;
  }

  private line(a: [number, number], b: [number, number]): void {
    const c = this.ctx;
    c.strokeStyle = "#fff";
    c.lineWidth = this.width;
    c.lineCap = "round";
    c.lineJoin = "round";
    c.beginPath();
    c.moveTo(a[0], a[1]);
    c.lineTo(b[0], b[1]);
    c.stroke();
    this.inked = true;
  }

  /** The drawing as MNIST would have it: 784 grey levels, row by row (all zero when nothing is drawn). */
  toMnist(): Float32Array {
    const { width: W, height: H } = this.canvas;
    const rgba = this.ctx.getImageData(0, 0, W, H).data;
    const ink = new Float32Array(W * H);
    let x0 = W;
    let y0 = H;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = rgba[(y * W + x) * 4] / 255;
        ink[y * W + x] = v;
        if (v > 0.05) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
      }
    }
    const out = new Float32Array(SIDE * SIDE);
    if (x1 < 0) return out;
    // Scale the bounding box to fit BOX×BOX, area-averaging (a box filter over the covered pixels).
    const bw = x1 - x0 + 1;
    const bh = y1 - y0 + 1;
    const scale = BOX / Math.max(bw, bh);
    const sw = Math.max(1, Math.round(bw * scale));
    const sh = Math.max(1, Math.round(bh * scale));
    const small = new Float32Array(sw * sh);
    const count = new Float32Array(sw * sh);
    for (let y = y0; y <= y1; y++) {
      const sy = Math.min(sh - 1, Math.floor((y - y0) * scale));
      for (let x = x0; x <= x1; x++) {
        const sx = Math.min(sw - 1, Math.floor((x - x0) * scale));
        small[sy * sw + sx] += ink[y * W + x];
        count[sy * sw + sx] += 1;
      }
    }
    let mass = 0;
    let mx = 0;
    let my = 0;
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        const v = count[y * sw + x] > 0 ? small[y * sw + x] / count[y * sw + x] : 0;
        small[y * sw + x] = v;
        mass += v;
        mx += v * (x + 0.5);
        my += v * (y + 0.5);
      }
    }
    // Place it so that the centre of mass lands on the image centre (whole-pixel shift, clipped).
    const ox = Math.round(SIDE / 2 - mx / mass);
    const oy = Math.round(SIDE / 2 - my / mass);
    for (let y = 0; y < sh; y++) {
      for (let x = 0; x < sw; x++) {
        const tx = x + ox;
        const ty = y + oy;
        if (tx >= 0 && tx < SIDE && ty >= 0 && ty < SIDE)
          out[ty * SIDE + tx] = Math.min(1, small[y * sw + x]);
      }
    }
    return out;
  }
}

/** Paints 28×28 grey levels into a small canvas (the "what the model sees" preview). */
export function paintPreview(canvas: HTMLCanvasElement, pixels: Float32Array): void {
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(SIDE, SIDE);
  for (let i = 0; i < SIDE * SIDE; i++) {
    const v = Math.round(pixels[i] * 255);
    img.data.set([v, v, v, 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
}
