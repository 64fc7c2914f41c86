/** Reductions over a set of axes (all axes when none is given), with or without keeping them as size 1. */
import type { Tensor } from "../tensor";
import { equal, reshape, sumAxes } from "./api";
import { defineOp, type OpDef } from "./registry";
import { reducedShape, reductionMap } from "./reduction-map";
import { firstMaxMask } from "./window";

export { reducedShape, reductionMap } from "./reduction-map";

function reduce(x: Float64Array, node: Tensor, init: number, combine: (acc: number, v: number) => number) {
  const input = node.inputs[0];
  const out = new Float64Array(node.size).fill(init);
  const map = reductionMap(input.shape, node.attrs.axes as number[]);
  for (let i = 0; i < x.length; i++) out[map[i]] = combine(out[map[i]], x[i]);
  return out;
}

/** The output's cotangent (or value) reshaped to keepdims form, so it broadcasts against the input. */
export function keptDims(t: Tensor, node: Tensor): Tensor {
  if (node.attrs.keepdims) return t;
  return reshape(t, reducedShape(node.inputs[0].shape, node.attrs.axes as number[], true));
}

function defineReduce(name: string, spec: Pick<OpDef, "evaluate" | "vjp">): OpDef {
  return defineOp({
    name,
    kind: "reduce",
    shape: ([x], attrs) => reducedShape(x, attrs.axes as number[], Boolean(attrs.keepdims)),
    ...spec,
  });
}

defineReduce("sum", {
  evaluate: ([x], node) => reduce(x, node, 0, (a, v) => a + v),
  vjp: (g, node) => [keptDims(g, node).broadcastTo(node.inputs[0].shape)],
});

// Ties share the gradient evenly, as torch.amax does; with the attribute ties: "first" (max pooling) the
// first maximum in row-major order over the reduced axes gets all of it, as torch.max_pool2d.
defineReduce("max", {
  evaluate: ([x], node) => reduce(x, node, Number.NEGATIVE_INFINITY, (a, v) => (v > a ? v : a)),
  vjp: (g, node) => {
    const x = node.inputs[0];
    if (node.attrs.ties === "first")
      return [keptDims(g, node).mul(firstMaxMask(x, node.attrs.axes as number[]))];
    const mask = equal(x, keptDims(node, node));
    const count = sumAxes(mask, node.attrs.axes as number[], true);
    return [keptDims(g, node).mul(mask).div(count)];
  },
});

// Stable: m + log Σ exp(x − m), m the max over the axes.
defineReduce("logsumexp", {
  evaluate: ([x], node) => {
    const map = reductionMap(node.inputs[0].shape, node.attrs.axes as number[]);
    const m = new Float64Array(node.size).fill(Number.NEGATIVE_INFINITY);
    for (let i = 0; i < x.length; i++) if (x[i] > m[map[i]]) m[map[i]] = x[i];
    const s = new Float64Array(node.size);
    for (let i = 0; i < x.length; i++)
      s[map[i]] += m[map[i]] === Number.NEGATIVE_INFINITY ? 0 : Math.exp(x[i] - m[map[i]]);
    return s.map((v, o) => (m[o] === Number.NEGATIVE_INFINITY ? m[o] : m[o] + Math.log(v)));
  },
  // d/dx = softmax(x) = exp(x − y).
  vjp: (g, node) => [keptDims(g, node).mul(node.inputs[0].sub(keptDims(node, node)).exp())],
});
