/**
 * Σ_b A[b]·B[b] as one product. The VJP of a matmul whose weight is broadcast over a batch (a convolution's
 * weight against its batch of im2col columns) is a batched product [N, m, n] that sumTo then sums over N.
 * This pass rewrites sum over axis 0 of a batched matmul (read by nothing else) into a single matmul node
 * with `sumBatch` set: shape [m, n], contracting over the batch too (over N·Ho·Wo for a conv's weight
 * gradient). The wasm kernel accumulates the batch into one C (cStride 0); the [N, m, n] intermediate and
 * the reduction loop vanish.
 */
import { consumers, keep, liveOut, type Program, rewrite } from "../program";

export function batchSum(p: Program): Program {
  const users = consumers(p);
  const out = liveOut(p);
  return rewrite(p, (n, inputs, emit, nodes) => {
    if (n.op !== "sum" || !sameAxes(n.attrs.axes, [0])) return keep(n, inputs, emit);
    const mm = p.nodes[n.inputs[0]];
    const product = nodes[inputs[0]];
    if (
      mm.op !== "matmul" ||
      mm.shape.length !== 3 ||
      mm.attrs.sumBatch ||
      users[mm.id].length !== 1 ||
      out.has(mm.id)
    )
      return keep(n, inputs, emit);
    const [, m, cols] = mm.shape;
    const summed = emit({
      op: "matmul",
      inputs: [...product.inputs],
      attrs: { sumBatch: true },
      shape: [m, cols],
      origin: n.origin,
    });
    if (!n.attrs.keepdims) return summed;
    return emit({
      op: "reshape",
      inputs: [summed],
      attrs: { shape: [1, m, cols] },
      shape: [1, m, cols],
      origin: n.origin,
    });
  });
}

function sameAxes(axes: unknown, want: readonly number[]): boolean {
  return Array.isArray(axes) && axes.length === want.length && axes.every((a, i) => a === want[i]);
}
