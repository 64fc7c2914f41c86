/**
 * One ONNX lowering per Adjoint op (the primitives: any graph of them exports), and patterns that write the
 * nicer ONNX op for a composite: Gemm for linear (x·Wᵀ + b), Softmax / LogSoftmax for the logsumexp form
 * of core's softmax and logSoftmax. A lowering names the IR tensors it reads and emits ONNX nodes from
 * their value names, the last of them writing `out`.
 */
import type { Tensor } from "@adjoint/core";
import { fail } from "./batch-axis";
import { lowerComposite } from "./export-composites";
import { attrFloat, attrInt, attrInts, type EmitContext, keepsBatch, type Lowering } from "./lowering";
import type { AttributeProto } from "./schema";

export type { EmitContext, Lowering } from "./lowering";

const UNARY: Record<string, string> = {
  neg: "Neg",
  exp: "Exp",
  log: "Log",
  sqrt: "Sqrt",
  tanh: "Tanh",
  sigmoid: "Sigmoid",
  relu: "Relu",
  abs: "Abs",
  sin: "Sin",
  cos: "Cos",
  reciprocal: "Reciprocal",
  sign: "Sign",
  softplus: "Softplus",
  erf: "Erf",
  stopGradient: "Identity",
};

const BINARY: Record<string, string> = {
  add: "Add",
  sub: "Sub",
  mul: "Mul",
  div: "Div",
  maximum: "Max",
  minimum: "Min",
};

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

const one =
  (op: string, attrs: (t: Tensor) => AttributeProto[] = () => []) =>
  (t: Tensor): Lowering => ({
    reads: t.inputs,
    emit: (ctx, ins, out) => void ctx.node(op, ins, attrs(t), out),
  });

/** A reduction; its axes are an attribute before opset 18 (13 for ReduceSum) and an input after. */
function reduce(op: string, axesAsInputSince: number) {
  return (t: Tensor): Lowering => ({
    reads: t.inputs,
    emit(ctx, [x], out) {
      const axes = t.attrs.axes as number[];
      if (axes.length === 0) {
        ctx.node("Identity", [x], [], out);
        return;
      }
      const keep = attrInt("keepdims", t.attrs.keepdims ? 1 : 0);
      if (ctx.opset >= axesAsInputSince) ctx.node(op, [x, ctx.ints(axes)], [keep], out);
      else ctx.node(op, [x], [attrInts("axes", axes), keep], out);
    },
  });
}

/** A shape constant; under dynamicBatch the batch entry says "copy the input's" (0) or "broadcast" (1). */
function shapeConst(ctx: EmitContext, t: Tensor, shape: readonly number[], batchValue: number): string {
  const axis = ctx.batchAxis(t);
  return ctx.ints(shape.map((d, i) => (i === axis ? batchValue : d)));
}

const PRIMITIVES: Record<string, (t: Tensor) => Lowering> = {
  matmul: one("MatMul"),
  leakyRelu: one("LeakyRelu", (t) => [attrFloat("alpha", t.attrs.alpha as number)]),
  permute: one("Transpose", (t) => [attrInts("perm", t.attrs.perm as number[])]),
  concat: one("Concat", (t) => [attrInt("axis", t.attrs.axis as number)]),
  sum: reduce("ReduceSum", 13),
  max: reduce("ReduceMax", 18),
  logsumexp: reduce("ReduceLogSumExp", 18),
  square: (t) => ({ reads: t.inputs, emit: (ctx, [x], out) => void ctx.node("Mul", [x, x], [], out) }),
  pow: (t) => ({
    reads: t.inputs,
    emit: (ctx, [x], out) => void ctx.node("Pow", [x, ctx.float(t.attrs.p as number)], [], out),
  }),
  equal: (t) => ({
    reads: t.inputs,
    emit(ctx, [a, b], out) {
      ctx.node("Cast", [ctx.node("Equal", [a, b])], [attrInt("to", 1)], out);
    },
  }),
  step: (t) => ({
    reads: t.inputs,
    emit(ctx, [x], out) {
      const zero = ctx.float(0);
      const below = ctx.node("Where", [ctx.node("Less", [x, zero]), zero, ctx.float(t.attrs.at0 as number)]);
      ctx.node("Where", [ctx.node("Greater", [x, zero]), ctx.float(1), below], [], out);
    },
  }),
  flushSubnormal: (t) => ({
    // x, or 0 where |x| < 2⁻¹²⁶ (ONNX has no flush-to-zero op).
    reads: t.inputs,
    emit(ctx, [x], out) {
      const below = ctx.node("Less", [ctx.node("Abs", [x]), ctx.float(2 ** -126)]);
      ctx.node("Where", [below, ctx.float(0), x], [], out);
    },
  }),
  gelu: (t) => ({
    // 0.5·x·(1 + tanh(c·(x + k·x³))): the tanh form Adjoint computes (ONNX's Gelu op is opset 20).
    reads: t.inputs,
    emit(ctx, [x], out) {
      const x3 = ctx.node("Mul", [ctx.node("Mul", [x, x]), x]);
      const inner = ctx.node("Mul", [
        ctx.node("Add", [x, ctx.node("Mul", [x3, ctx.float(GELU_K)])]),
        ctx.float(GELU_C),
      ]);
      const t1 = ctx.node("Add", [ctx.node("Tanh", [inner]), ctx.float(1)]);
      ctx.node("Mul", [ctx.node("Mul", [x, ctx.float(0.5)]), t1], [], out);
    },
  }),
  reshape: (t) => ({
    reads: t.inputs,
    emit: (ctx, [x], out) => void ctx.node("Reshape", [x, shapeConst(ctx, t, t.shape, 0)], [], out),
  }),
  broadcastTo: (t) => ({
    reads: t.inputs,
    emit: (ctx, [x], out) => void ctx.node("Expand", [x, shapeConst(ctx, t, t.shape, 1)], [], out),
  }),
  slice: (t) => ({
    reads: t.inputs,
    emit(ctx, [x], out) {
      const { start, end, axis } = t.attrs as { start: number; end: number; axis: number };
      ctx.node("Slice", [x, ctx.ints([start]), ctx.ints([end]), ctx.ints([axis])], [], out);
    },
  }),
  pad: (t) => ({
    reads: t.inputs,
    emit(ctx, [x], out) {
      const { before, after, axis } = t.attrs as { before: number; after: number; axis: number };
      const pads = new Array<number>(2 * t.rank).fill(0);
      pads[axis] = before;
      pads[t.rank + axis] = after;
      const value = typeof t.attrs.value === "number" ? t.attrs.value : 0;
      ctx.node("Pad", [x, ctx.ints(pads), ctx.float(value)], [], out);
    },
  }),
};

for (const [op, onnx] of Object.entries(UNARY)) PRIMITIVES[op] = one(onnx);
for (const [op, onnx] of Object.entries(BINARY)) PRIMITIVES[op] = one(onnx);

/** x − logsumexp(x, [a], keepdims): core's logSoftmax; returns x and the axis. */
function logSoftmaxOf(t: Tensor): { x: Tensor; axis: number } | null {
  if (t.op !== "sub") return null;
  const [x, lse] = t.inputs;
  if (lse.op !== "logsumexp" || lse.inputs[0] !== x || !lse.attrs.keepdims) return null;
  const axes = lse.attrs.axes as number[];
  return axes.length === 1 ? { x, axis: axes[0] } : null;
}

/** add(matmul(x, permute(W, [1,0])), b), x 2-D and b 1-D: core's linear, as Gemm(transB = 1). */
function linearOf(t: Tensor): { x: Tensor; W: Tensor; b: Tensor } | null {
  if (t.op !== "add") return null;
  const [mm, b] = t.inputs;
  if (mm.op !== "matmul" || b.rank !== 1 || mm.rank !== 2) return null;
  const [x, wt] = mm.inputs;
  if (x.rank !== 2 || wt.op !== "permute" || wt.inputs[0].rank !== 2) return null;
  return { x, W: wt.inputs[0], b };
}

const PATTERNS: ((t: Tensor, opset: number) => Lowering | null)[] = [
  lowerComposite,
  (t) => {
    const m = linearOf(t);
    if (!m) return null;
    return {
      reads: [m.x, m.W, m.b],
      emit: (ctx, ins, out) => void ctx.node("Gemm", ins, [attrInt("transB", 1)], out),
      batchAxis: ([x, w, b]) => {
        if (w !== null || b !== null || (x !== null && x !== 0))
          fail(t, "has the batch in the weight of a Gemm");
        return x;
      },
    };
  },
  (t) => {
    const m = t.op === "exp" ? logSoftmaxOf(t.inputs[0]) : null;
    if (!m) return null;
    return {
      reads: [m.x],
      emit: (ctx, ins, out) => void ctx.node("Softmax", ins, [attrInt("axis", m.axis)], out),
      batchAxis: ([x]) => keepsBatch(t, x, [m.axis]),
    };
  },
  (t) => {
    const m = logSoftmaxOf(t);
    if (!m) return null;
    return {
      reads: [m.x],
      emit: (ctx, ins, out) => void ctx.node("LogSoftmax", ins, [attrInt("axis", m.axis)], out),
      batchAxis: ([x]) => keepsBatch(t, x, [m.axis]),
    };
  },
];

/** The lowering of an op node: a recognized composite first, else its primitive; null if none. */
export function lower(t: Tensor, opset: number): Lowering | null {
  for (const p of PATTERNS) {
    const l = p(t, opset);
    if (l) return l;
  }
  const prim = PRIMITIVES[t.op];
  return prim ? prim(t) : null;
}

export function exportableOps(): string[] {
  return Object.keys(PRIMITIVES).sort();
}
