/**
 * Algebraic simplification on the way down the program: constant folding of scalar arithmetic, x·1,
 * x+0, x−0, x/1, −(−x), pow(x,1), transpose(transpose x), reshape chains, no-op reshapes and broadcasts,
 * sums over size-1 axes, and stopGradient (an identity once the gradient graph exists).
 */
import { getOp, isElementwise, sameShape, sizeOf } from "@adjoint/core";
import { consumers, keep, type PNode, type Program, rewrite } from "../program";

/** Algebraic simplification and constant folding (x·1, x+0, double negation, ...), node by node. */
export function simplify(p: Program): Program {
  const users = consumers(p);
  return rewrite(p, (n, inputs, emit, nodes) => {
    const arg = (i: number) => nodes[inputs[i]];
    // A scalar constant, possibly reshaped or broadcast (the seed of a gradient is a broadcast 1).
    const scalarValue = (i: number): number | undefined => {
      let a = arg(i);
      while (a.op === "reshape" || a.op === "broadcastTo") a = nodes[a.inputs[0]];
      return a.op === "const" && a.attrs.data === undefined ? (a.attrs.value as number) : undefined;
    };
    const sameAsOut = (i: number) => sameShape(arg(i).shape, n.shape);
    const constant = (value: number) =>
      emit({ op: "const", inputs: [], attrs: { value }, shape: [], origin: n.origin });

    const def = getOp(n.op);
    // Fold scalar arithmetic on constants.
    if (
      isElementwise(def) &&
      def.arity === inputs.length &&
      n.shape.length === 0 &&
      inputs.length > 0 &&
      inputs.every((_, i) => scalarValue(i) !== undefined)
    ) {
      const v = def.scalar(scalarValue(0)!, inputs.length > 1 ? scalarValue(1)! : 0, n.attrs);
      if (Number.isFinite(v)) return constant(v);
    }
    switch (n.op) {
      case "add":
        if (scalarValue(1) === 0 && sameAsOut(0)) return inputs[0];
        if (scalarValue(0) === 0 && sameAsOut(1)) return inputs[1];
        break;
      case "sub":
        if (scalarValue(1) === 0 && sameAsOut(0)) return inputs[0];
        break;
      case "mul":
        if (scalarValue(1) === 1 && sameAsOut(0)) return inputs[0];
        if (scalarValue(0) === 1 && sameAsOut(1)) return inputs[1];
        break;
      case "div": {
        if (scalarValue(1) === 1 && sameAsOut(0)) return inputs[0];
        // x / s for a computed scalar s (Adam's bias corrections): one reciprocal, then a multiply per
        // element instead of a division per element.
        const d = arg(1);
        if (sizeOf(d.shape) === 1 && sizeOf(n.shape) > 1 && scalarValue(1) === undefined) {
          const r = emit({
            op: "reciprocal",
            inputs: [inputs[1]],
            attrs: {},
            shape: d.shape,
            origin: n.origin,
          });
          return emit({ op: "mul", inputs: [inputs[0], r], attrs: {}, shape: n.shape, origin: n.origin });
        }
        break;
      }
      case "neg":
        if (arg(0).op === "neg") return arg(0).inputs[0];
        break;
      case "pow":
        if (n.attrs.p === 1) return inputs[0];
        if (n.attrs.p === 2)
          return emit({ op: "square", inputs, attrs: {}, shape: n.shape, origin: n.origin });
        break;
      case "stopGradient":
        return inputs[0];
      case "permute": {
        const perm = n.attrs.perm as number[];
        const inner = arg(0);
        if (inner.op === "permute") {
          const innerPerm = inner.attrs.perm as number[];
          const composed = perm.map((q) => innerPerm[q]);
          if (composed.every((q, i) => q === i)) return inner.inputs[0];
          return emit({
            op: "permute",
            inputs: [inner.inputs[0]],
            attrs: { perm: composed },
            shape: n.shape,
            origin: n.origin,
          });
        }
        if (perm.every((q, i) => q === i)) return inputs[0];
        // (A·B)ᵀ = Bᵀ·Aᵀ: the matmul then writes the layout its reader wants (a weight gradient comes out
        // as [out,in], ready for a fused update), and the transposes are free strided reads.
        if (
          inner.op === "matmul" &&
          inner.shape.length === 2 &&
          !inner.attrs.sumBatch &&
          users[n.inputs[0]].length === 1
        ) {
          const [a, b] = inner.inputs;
          const t = (x: number) =>
            emit({
              op: "permute",
              inputs: [x],
              attrs: { perm: [1, 0] },
              shape: [nodes[x].shape[1], nodes[x].shape[0]],
              origin: n.origin,
            });
          return emit({
            op: "matmul",
            inputs: [t(b), t(a)],
            attrs: {},
            shape: n.shape,
            origin: inner.origin,
          });
        }
        break;
      }
      case "reshape":
      case "broadcastTo":
        if (sameAsOut(0)) return inputs[0];
        if (n.op === "reshape" && arg(0).op === "reshape") {
          return emit({ ...withoutId(n), inputs: [arg(0).inputs[0]] });
        }
        break;
      case "sum": {
        const x = arg(0);
        const axes = n.attrs.axes as number[];
        if (axes.every((a) => x.shape[a] === 1)) {
          if (sameAsOut(0)) return inputs[0];
          return emit({
            op: "reshape",
            inputs,
            attrs: { shape: [...n.shape] },
            shape: n.shape,
            origin: n.origin,
          });
        }
        break;
      }
    }
    return keep(n, inputs, emit);
  });
}

function withoutId(n: PNode): Omit<PNode, "id"> {
  const { id: _id, ...rest } = n;
  return rest;
}
