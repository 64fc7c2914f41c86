/**
 * Elementwise ops after a matmul move in front of the reshape that follows it, so that fusion can make
 * them the product's epilogue. conv2d computes [N, O, Ho·Wo] and reshapes it to [N, O, Ho, Wo] before the
 * bias add and the activation; a reshape is a view, and a matmul only absorbs the elementwise loop that
 * reads its product directly, so conv's bias + ReLU ran as a loop of its own over the whole output (10% of
 * W5's step, measured). This pass rewrites
 *
 *   relu(add(reshape(mm, [N, O, Ho, Wo]), b[O, 1, 1]))  →  reshape(relu(add(mm, b[O, 1])), [N, O, Ho, Wo])
 *
 * for a reshape that splits one axis of its source (Ho·Wo → Ho, Wo) and operands that are constant along
 * the split axes (a per-channel bias, a scalar). Only a chain that starts at a matmul moves, and only
 * through nodes with a single user: anything else would store a second copy of the same values.
 */
import { getOp, isElementwise, type Shape, sizeOf } from "@adjoint/core";
import { consumers, keep, type PNode, type Program, rewrite } from "../program";

/** The axis of `from` that `to` splits into several, with where those axes are in `to`; else null. */
export function splitAxis(from: Shape, to: Shape): { axis: number; parts: number } | null {
  if (to.length <= from.length || sizeOf(from) !== sizeOf(to)) return null;
  let prefix = 0;
  while (prefix < from.length && from[prefix] === to[prefix]) prefix++;
  if (prefix === from.length) return null;
  const parts = to.length - from.length + 1;
  for (let s = 1; prefix + s < from.length; s++) {
    if (from[from.length - s] !== to[to.length - s]) return null;
  }
  const merged = to.slice(prefix, prefix + parts).reduce((a, d) => a * d, 1);
  return merged === from[prefix] ? { axis: prefix, parts } : null;
}

/**
 * An operand's shape in the source's layout: right-aligned against the output (rank `rank`), size 1 on
 * every split axis, which then merge into one size-1 axis; null if it varies along a split axis.
 */
function mergedOperandShape(shape: Shape, rank: number, axis: number, parts: number): number[] | null {
  const padded = [...Array<number>(rank - shape.length).fill(1), ...shape];
  if (padded.slice(axis, axis + parts).some((d) => d !== 1)) return null;
  return [...padded.slice(0, axis), 1, ...padded.slice(axis + parts)];
}

export function sinkReshape(p: Program): Program {
  const users = consumers(p);
  // New ids of the elementwise nodes this pass moved before a reshape (the chain may continue from them).
  const moved = new Set<number>();
  return rewrite(p, (n, inputs, emit, nodes) => {
    const def = getOp(n.op);
    if (!isElementwise(def) || def.arity !== inputs.length) return keep(n, inputs, emit);
    const k = inputs.findIndex((id, i) => {
      const r = nodes[id];
      if (r.op !== "reshape" || users[n.inputs[i]].length !== 1) return false;
      const source = nodes[r.inputs[0]];
      return (source.op === "matmul" || moved.has(source.id)) && r.shape.length === n.shape.length;
    });
    if (k < 0) return keep(n, inputs, emit);
    const reshaped = nodes[inputs[k]];
    const source = nodes[reshaped.inputs[0]];
    const split = splitAxis(source.shape, n.shape);
    if (!split || reshaped.shape.some((d, i) => d !== n.shape[i])) return keep(n, inputs, emit);
    const others: (number[] | null)[] = inputs.map((id, i) =>
      i === k ? [] : mergedOperandShape(nodes[id].shape, n.shape.length, split.axis, split.parts),
    );
    if (others.some((s) => s === null)) return keep(n, inputs, emit);
    const newInputs = inputs.map((id, i) => {
      if (i === k) return source.id;
      const shape = others[i]!;
      if (sizeOf(shape) === 1 && nodes[id].shape.length === 0) return id;
      return emit({ op: "reshape", inputs: [id], attrs: { shape }, shape, origin: n.origin });
    });
    const inner = emit({
      op: n.op,
      inputs: newInputs,
      attrs: n.attrs,
      shape: source.shape,
      origin: n.origin,
    } satisfies Omit<PNode, "id">);
    moved.add(inner);
    return emit({
      op: "reshape",
      inputs: [inner],
      attrs: { shape: [...n.shape] },
      shape: n.shape,
      origin: n.origin,
    });
  });
}
