/**
 * What the spatial composites (conv2d, the pools, pad2d) share: reading `number | [h, w]` options, the
 * output-size rule with its errors, padding the last two axes, and the composite mark on their result.
 */
import { formatShape, ShapeError } from "../shape";
import { type Attrs, type CompositeMark, Tensor } from "../tensor";
import { pad } from "./api";
import type { Pair } from "./window";

export type { Pair };

/** Records the composite on its result (see CompositeMark in tensor.ts) and returns the result. */
export function markComposite(result: Tensor, op: string, inputs: readonly Tensor[], attrs: Attrs): Tensor {
  const mark: CompositeMark = { op, inputs: [...inputs], attrs };
  result.composite = mark;
  return result;
}

export function checkTensor(op: string, what: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw new TypeError(`${op}: ${what} must be a Tensor, got ${String(t)}`);
  return t;
}

/** A `number | [h, w]` option as [h, w] of whole numbers >= min. */
export function pair(
  op: string,
  name: string,
  v: Pair | undefined,
  fallback: Pair,
  min: number,
): [number, number] {
  const given = v ?? fallback;
  const hw: readonly number[] = typeof given === "number" ? [given, given] : given;
  const ok =
    Array.isArray(hw) &&
    hw.length === 2 &&
    hw.every((d) => typeof d === "number" && Number.isInteger(d) && d >= min);
  if (!ok) {
    const shown = Array.isArray(given) ? `[${given.join(", ")}]` : String(given);
    throw new Error(`${op}: ${name} must be a whole number >= ${min} or a pair [h, w] of them, got ${shown}`);
  }
  return [hw[0], hw[1]];
}

export interface WindowGeometry {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/**
 * The output size of a sliding window over [H, W] padded by `padding` on both sides, as torch:
 * floor((H + 2p − d·(k − 1) − 1)/s) + 1. A window that does not fit the padded input is an error.
 */
export function outputSize(op: string, x: Tensor, geo: WindowGeometry): [number, number] {
  const [H, W] = x.shape.slice(-2);
  const out: number[] = [];
  for (let a = 0; a < 2; a++) {
    const size = [H, W][a] + 2 * geo.padding[a];
    const extent = geo.dilation[a] * (geo.kernel[a] - 1) + 1;
    if (extent > size) {
      const k = `${geo.kernel[0]}x${geo.kernel[1]}`;
      const dil = geo.dilation[a] > 1 ? ` (dilated by ${geo.dilation[a]}: extent ${extent})` : "";
      throw new ShapeError(
        `${op}: kernel ${k}${dil} is larger than the padded input: ${a === 0 ? "height" : "width"} ` +
          `${[H, W][a]} + 2·${geo.padding[a]} padding = ${size} < ${extent} (input ${formatShape(x.shape)})`,
      );
    }
    out.push(Math.floor((size - extent) / geo.stride[a]) + 1);
  }
  return [out[0], out[1]];
}

/** Pads the last two axes (no node when a side is 0). */
export function padLastTwo(
  x: Tensor,
  pads: readonly [number, number, number, number],
  value: number,
): Tensor {
  const [top, bottom, left, right] = pads;
  let y = x;
  if (top > 0 || bottom > 0) y = pad(y, top, bottom, x.rank - 2, value);
  if (left > 0 || right > 0) y = pad(y, left, right, x.rank - 1, value);
  return y;
}

/** x.pad([top, bottom, left, right], value): constant padding of the last two axes (torch's F.pad order). */
export function pad2d(x: Tensor, pads: readonly [number, number, number, number], value = 0): Tensor {
  const op = "pad";
  checkTensor(op, "the input", x);
  if (x.rank < 2)
    throw new ShapeError(`pad: needs at least 2 axes to pad the last two, got ${formatShape(x.shape)}`);
  if (!Array.isArray(pads) || pads.length !== 4 || !pads.every((p) => Number.isInteger(p) && p >= 0)) {
    throw new Error(
      `pad: pads must be [top, bottom, left, right], four whole numbers >= 0, got ${Array.isArray(pads) ? `[${pads.join(", ")}]` : String(pads)}`,
    );
  }
  if (typeof value !== "number" || Number.isNaN(value))
    throw new Error(`pad: value must be a number, got ${value}`);
  const y = padLastTwo(x, pads, value);
  if (y === x) return x;
  return markComposite(y, "pad2d", [x], { pads: [...pads], value });
}
