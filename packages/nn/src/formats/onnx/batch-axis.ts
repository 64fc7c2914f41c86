/**
 * dynamicBatch: which axis of each tensor is the batch axis (or none), so that the exported model takes
 * any batch size. Inputs carry it on axis 0; ops move it; an op that mixes rows (a reduction over the
 * batch, a matmul contracting it, a reshape or slice across it, a constant as long as the batch) cannot
 * be written for a symbolic batch, and fails here with the node and its shapes named.
 */
import { formatShape, getOp, type Tensor } from "@adjoint/core";
import { OnnxExportError } from "./errors";

export type BatchAxes = Map<number, number | null>;

/**
 * Batch axes of the nodes in `order` (ascending ids: the nodes the export writes). A node written by a
 * pattern (Gemm, Softmax, Conv, ...) gets its axis from `fromReads` (its lowering's rule, given the axes
 * of what it reads), others from their op's rule.
 */
export function batchAxes(
  order: readonly Tensor[],
  fromReads: (t: Tensor, axes: BatchAxes) => number | null | undefined,
): BatchAxes {
  const axes: BatchAxes = new Map();
  for (const t of order) {
    const a = fromReads(t, axes);
    axes.set(t.id, a === undefined ? axisOf(t, axes) : a);
  }
  return axes;
}

export function fail(t: Tensor, why: string): never {
  const ins = t.inputs.map((x) => formatShape(x.shape)).join(", ");
  throw new OnnxExportError(
    `dynamicBatch: ${t.describe()} (inputs ${ins}) ${why}; export with dynamicBatch: false for this graph`,
  );
}

function axisOf(t: Tensor, axes: BatchAxes): number | null {
  if (t.role === "input") return t.rank >= 1 ? 0 : null;
  if (t.role !== "op") return null;
  const inAxes = t.inputs.map((x) => axes.get(x.id) ?? null);
  if (inAxes.every((a) => a === null)) return null;
  const a0 = inAxes.find((a) => a !== null) as number;
  const x0 = t.inputs[inAxes.indexOf(a0)];
  const attrs = t.attrs;
  switch (getOp(t.op).kind) {
    case "elementwise":
      return elementwiseAxis(t, inAxes);
    case "reduce": {
      const red = attrs.axes as number[];
      if (red.includes(a0)) fail(t, "reduces over the batch axis");
      return attrs.keepdims ? a0 : a0 - red.filter((r) => r < a0).length;
    }
    case "matmul": {
      const [a, b] = t.inputs;
      const [aa, ab] = inAxes;
      if (aa !== null && ab !== null) fail(t, "has the batch in both operands");
      if (aa !== null) {
        if (a.rank === 3 && aa === 0) return 0;
        if (aa === a.rank - 2) return t.rank - 2;
      } else if (ab !== null) {
        if (b.rank === 3 && ab === 0) return 0;
        if (ab === b.rank - 1) return t.rank - 1;
      }
      return fail(t, "contracts the batch axis");
    }
    default:
      break;
  }
  switch (t.op) {
    case "permute":
      return (attrs.perm as number[]).indexOf(a0);
    case "reshape": {
      const to = attrs.shape as number[];
      if (a0 === 0 && to.length >= 1 && to[0] === x0.shape[0]) return 0;
      return fail(t, "reshapes across the batch axis (only reshapes that keep axis 0 are exported)");
    }
    case "broadcastTo":
      return a0 + (t.rank - x0.rank);
    case "slice":
    case "pad":
      if (attrs.axis === a0) fail(t, `${t.op}s the batch axis`);
      return a0;
    case "concat":
      if (inAxes.some((a) => a !== a0)) fail(t, "concatenates tensors with and without the batch axis");
      if (attrs.axis === a0) fail(t, "concatenates along the batch axis");
      return a0;
    default:
      return fail(t, "is not known to keep the batch axis");
  }
}

/** Broadcasting: every operand with the batch puts it on the same output axis; others are 1 there. */
function elementwiseAxis(t: Tensor, inAxes: readonly (number | null)[]): number {
  let axis: number | null = null;
  t.inputs.forEach((x, i) => {
    const a = inAxes[i];
    if (a === null) return;
    const pos = a + (t.rank - x.rank);
    if (axis !== null && axis !== pos) fail(t, "aligns the batch axes of its operands differently");
    axis = pos;
  });
  const at = axis as unknown as number;
  t.inputs.forEach((x, i) => {
    if (inAxes[i] !== null) return;
    const pos = at - (t.rank - x.rank);
    if (pos >= 0 && x.shape[pos] !== 1 && t.shape[at] !== 1) {
      fail(t, `broadcasts ${x.describe()}, as long as the batch on axis ${pos}, against the batch`);
    }
  });
  return at;
}
