/**
 * The gradient of a max pool in one loop. Max pooling's VJP is foldWindows(g · firstMaxMask(windows)):
 * a mask as large as the windows, a product and a col2im, three passes over [N, C, kh, kw, Ho, Wo]. This
 * pass rewrites that pattern into `foldAtFirstMax(x, g)`: per window, find the first maximum of x and add
 * g there (what torch's max_pool2d backward does with its saved indices, without saving them). Each
 * leading index (a plane [H, W]) is written by one iteration only.
 *
 * A pool after a ReLU (conv → ReLU → max pool) multiplies that gradient by the ReLU's mask step(x) of the
 * same x next: mul(foldAtFirstMax(x, g), step(x)) becomes foldAtFirstMax(x, g) with `positiveOnly`, which
 * adds g·step(max) at each window's maximum (the mask there is step of the maximum itself). In W5 that
 * mask loop over [64, 6, 28, 28] was 7.7% of the step (instrumented).
 */
import { defineOp, type Shape, sizeOf, windowGeometry } from "@adjoint/core";
import { consumers, keep, type PNode, type Program, rewrite } from "../program";

/** foldWindows(g · firstMaxMask(slidingWindows(x), kernel axes)), g broadcast to the windows' shape. */
export const foldAtFirstMax = defineOp({
  name: "foldAtFirstMax",
  kind: "layout",
  shape: ([x]) => x,
  evaluate([x, g], node) {
    const xs = node.inputs[0].shape;
    const gs = node.inputs[1].shape;
    const { kernel, stride, dilation } = windowGeometry("foldAtFirstMax", node.attrs);
    const r = xs.length;
    const [H, W] = xs.slice(r - 2);
    const windows = node.attrs.windows as number[];
    const [, , Ho, Wo] = windows.slice(windows.length - 4);
    const lead = sizeOf(xs.slice(0, r - 2));
    const gIndex = broadcastIndex(gs, windows);
    const positiveOnly = node.attrs.positiveOnly === true;
    const out = new Float64Array(node.size);
    for (let b = 0; b < lead; b++)
      for (let p = 0; p < Ho; p++)
        for (let q = 0; q < Wo; q++) {
          let best = -1;
          let bi = 0;
          let bj = 0;
          for (let i = 0; i < kernel[0]; i++)
            for (let j = 0; j < kernel[1]; j++) {
              const at = b * H * W + (p * stride[0] + i * dilation[0]) * W + q * stride[1] + j * dilation[1];
              if (best < 0 || (!Number.isNaN(x[best]) && (x[at] > x[best] || Number.isNaN(x[at])))) {
                best = at;
                bi = i;
                bj = j;
              }
            }
          const mask = positiveOnly ? (x[best] > 0 ? 1 : 0) : 1;
          out[best] += g[gIndex(b, [bi, bj, p, q])] * mask;
        }
    return out;
  },
});

/** Flat index into a tensor of shape `from` broadcast to `to`, at leading index b and window coordinates. */
function broadcastIndex(from: Shape, to: readonly number[]) {
  const leadShape = to.slice(0, to.length - 4);
  const strides = from.map((_, i) => from.slice(i + 1).reduce((a, d) => a * d, 1));
  const off = to.length - from.length;
  return (b: number, window: number[]) => {
    const coords = [...unflatten(b, leadShape), ...window];
    let flat = 0;
    for (let d = 0; d < from.length; d++) if (from[d] !== 1) flat += coords[d + off] * strides[d];
    return flat;
  };
}

function unflatten(i: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    out[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return out;
}

export function poolGrad(p: Program): Program {
  const users = consumers(p);
  return rewrite(p, (n, inputs, emit, nodes) => {
    if (n.op === "mul") {
      const masked = maskedFold(n, inputs, nodes, (i) => users[n.inputs[i]].length === 1);
      if (masked)
        return emit({ ...masked, attrs: { ...masked.attrs, positiveOnly: true }, origin: n.origin });
    }
    if (n.op !== "foldWindows") return keep(n, inputs, emit);
    const product = nodes[inputs[0]];
    if (product.op !== "mul") return keep(n, inputs, emit);
    const maskAt = product.inputs.findIndex((i) => isMatchingMask(nodes[i], n, nodes));
    if (maskAt < 0) return keep(n, inputs, emit);
    const mask = nodes[product.inputs[maskAt]];
    const windows = nodes[mask.inputs[0]];
    const x = windows.inputs[0];
    const g = product.inputs[1 - maskAt];
    return emit({
      op: "foldAtFirstMax",
      inputs: [x, g],
      attrs: { ...windowGeometry("foldWindows", n.attrs), windows: [...windows.shape] },
      shape: n.shape,
      origin: n.origin,
    });
  });
}

/**
 * For n = mul(foldAtFirstMax(x, g), step(x)) (either order; step with step(0) = 0), the fold to redo
 * with the mask; null otherwise, or when the fold has other readers (`onlyUser(i)`: n is input i's only
 * reader in the program before this pass).
 */
function maskedFold(
  n: PNode,
  inputs: readonly number[],
  nodes: readonly PNode[],
  onlyUser: (i: number) => boolean,
): PNode | null {
  for (const f of [0, 1]) {
    const fold = nodes[inputs[f]];
    const mask = nodes[inputs[1 - f]];
    if (fold.op !== "foldAtFirstMax" || fold.attrs.positiveOnly || !onlyUser(f)) continue;
    if (mask.op !== "step" || mask.attrs.at0 !== 0 || mask.inputs[0] !== fold.inputs[0]) continue;
    if (fold.shape.length !== n.shape.length || fold.shape.some((d, i) => d !== n.shape[i])) continue;
    return fold;
  }
  return null;
}

/** A firstMaxMask over the kernel axes of the same windows the fold puts back. */
function isMatchingMask(mask: PNode, fold: PNode, nodes: readonly PNode[]): boolean {
  if (mask.op !== "firstMaxMask") return false;
  const windows = nodes[mask.inputs[0]];
  if (windows.op !== "slidingWindows") return false;
  const r = windows.shape.length;
  const axes = mask.attrs.axes as number[];
  if (axes.length !== 2 || axes[0] !== r - 4 || axes[1] !== r - 3) return false;
  const a = windowGeometry("slidingWindows", windows.attrs);
  const b = windowGeometry("foldWindows", fold.attrs);
  const same = (u: readonly number[], v: readonly number[]) => u[0] === v[0] && u[1] === v[1];
  const xs = nodes[windows.inputs[0]].shape;
  return (
    same(a.kernel, b.kernel) &&
    same(a.stride, b.stride) &&
    same(a.dilation, b.dilation) &&
    xs.length === fold.shape.length &&
    xs.every((d, i) => d === fold.shape[i])
  );
}
