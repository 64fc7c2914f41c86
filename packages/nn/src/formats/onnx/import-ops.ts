/**
 * One builder per ONNX op: the ops torch.onnx.export writes for MLPs (and what exportOnnx writes), built
 * from Adjoint ops so that the imported graph evaluates, compiles and differentiates like any other.
 * Each builder names the attributes it understands (NodeContext.allow): any other one is an error.
 */
import {
  broadcastShapes,
  concat,
  erf,
  logSoftmax,
  pad,
  pad2d,
  reshape,
  slice,
  softmax,
  sumAxes,
  type Tensor,
} from "@adjoint/core";
import type { Builder, NodeContext, Value } from "./import-context";
import type { ConstTensor } from "./import-model";
import { gatherConst, ints } from "./import-shape";


const T = (t: Tensor): Value => ({ kind: "tensor", t });
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);

function unary(f: (x: Tensor) => Tensor): Builder {
  return (ctx) => {
    ctx.allow();
    return [T(f(ctx.tensor(0)))];
  };
}

function binary(f: (a: Tensor, b: Tensor) => Tensor): Builder {
  return (ctx) => {
    ctx.allow();
    return [T(f(ctx.tensor(0), ctx.tensor(1)))];
  };
}

/** Max, Min: variadic, folded pairwise. */
function variadic(f: (a: Tensor, b: Tensor) => Tensor): Builder {
  return (ctx) => {
    ctx.allow();
    let y = ctx.tensor(0);
    for (let i = 1; i < ctx.inputCount; i++) if (ctx.has(i)) y = f(y, ctx.tensor(i));
    return [T(y)];
  };
}

/** Reductions: axes an attribute (before opset 18; ReduceSum before 13) or an input, keepdims default 1. */
function reduce(since: number, f: (x: Tensor, axes: number[], keep: boolean) => Tensor): Builder {
  return (ctx) => {
    const asInput = ctx.opset >= since;
    ctx.allow("keepdims", ...(asInput ? ["noop_with_empty_axes"] : ["axes"]));
    const x = ctx.tensor(0);
    const keep = ctx.int("keepdims", 1, [0, 1]) === 1;
    let axes = asInput ? (ctx.has(1) ? ctx.ints(1) : []) : (ctx.intList("axes") ?? []);
    if (axes.length === 0) {
      if (asInput && ctx.int("noop_with_empty_axes", 0, [0, 1]) === 1) return [T(x)];
      axes = x.shape.map((_, i) => i);
    }
    const norm = [...new Set(axes.map((a) => ctx.axis(a, x.rank)))].sort((a, b) => a - b);
    return [T(f(x, norm, keep))];
  };
}

const reduceMax = (x: Tensor, axes: number[], keep: boolean) =>
  x.graph.addNode("max", [x], { axes, keepdims: keep });
const reduceLse = (x: Tensor, axes: number[], keep: boolean) =>
  x.graph.addNode("logsumexp", [x], { axes, keepdims: keep });
const reduceMean = (x: Tensor, axes: number[], keep: boolean) =>
  sumAxes(x, axes, keep).mul(1 / prod(axes.map((a) => x.shape[a])));

/** The target of a Reshape: 0 copies the input's dimension (unless allowzero), one −1 is inferred. */
function reshapeTarget(
  ctx: NodeContext,
  from: readonly number[],
  to: readonly number[],
  allowZero: boolean,
): number[] {
  if (to.filter((d) => d === -1).length > 1) throw ctx.fail(`shape [${to.join(",")}] has more than one -1`);
  return to.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= from.length)
        throw ctx.fail(`shape [${to.join(",")}] copies dimension ${i} of a rank-${from.length} input`);
      return from[i];
    }
    if (d < -1) throw ctx.fail(`shape [${to.join(",")}] has a negative dimension`);
    return d;
  });
}

export const BUILDERS: Record<string, Builder> = {
  Identity: unary((x) => x),
  Relu: unary((x) => x.relu()),
  Tanh: unary((x) => x.tanh()),
  Sigmoid: unary((x) => x.sigmoid()),
  Exp: unary((x) => x.exp()),
  Log: unary((x) => x.log()),
  Sqrt: unary((x) => x.sqrt()),
  Neg: unary((x) => x.neg()),
  Abs: unary((x) => x.abs()),
  Reciprocal: unary((x) => x.reciprocal()),
  Softplus: unary((x) => x.softplus()),
  Sin: unary((x) => x.sin()),
  Cos: unary((x) => x.cos()),
  Sign: unary((x) => x.sign()),
  Erf: unary((x) => erf(x)),
  Add: binary((a, b) => a.add(b)),
  Sub: binary((a, b) => a.sub(b)),
  Mul: binary((a, b) => a.mul(b)),
  Div: binary((a, b) => a.div(b)),
  Max: variadic((a, b) => a.maximum(b)),
  Min: variadic((a, b) => a.minimum(b)),
  ReduceSum: reduce(13, (x, axes, keep) => sumAxes(x, axes, keep)),
  ReduceMean: reduce(18, reduceMean),
  ReduceMax: reduce(18, reduceMax),
  ReduceLogSumExp: reduce(18, reduceLse),

  LeakyRelu(ctx) {
    ctx.allow("alpha");
    return [T(ctx.tensor(0).leakyRelu(ctx.float("alpha", 0.01)))];
  },
  Pow(ctx) {
    ctx.allow();
    const p = ctx.scalar(1);
    if (!Number.isFinite(p)) throw ctx.fail(`exponent ${p} is not finite`);
    const x = ctx.tensor(0);
    return [T(p === 2 ? x.square() : x.pow(p))];
  },
  Softmax(ctx) {
    ctx.allow("axis");
    const x = ctx.tensor(0);
    return [T(softmax(x, ctx.axis(ctx.int("axis", -1), x.rank)))];
  },
  LogSoftmax(ctx) {
    ctx.allow("axis");
    const x = ctx.tensor(0);
    return [T(logSoftmax(x, ctx.axis(ctx.int("axis", -1), x.rank)))];
  },
  Gemm(ctx) {
    ctx.allow("alpha", "beta", "transA", "transB");
    const [a0, b0] = [ctx.tensor(0), ctx.tensor(1)];
    if (a0.rank !== 2 || b0.rank !== 2) {
      throw ctx.fail(`A and B must be 2-D, got [${a0.shape.join(",")}] and [${b0.shape.join(",")}]`);
    }
    const a = ctx.int("transA", 0, [0, 1]) ? a0.transpose() : a0;
    const b = ctx.int("transB", 0, [0, 1]) ? b0.transpose() : b0;
    const alpha = ctx.float("alpha", 1);
    const beta = ctx.float("beta", 1);
    let y = a.matmul(b);
    if (alpha !== 1) y = y.mul(alpha);
    if (ctx.has(2) && beta !== 0) {
      const c = ctx.tensor(2);
      y = y.add(beta === 1 ? c : c.mul(beta));
    }
    return [T(y)];
  },
  MatMul(ctx) {
    ctx.allow();
    let [a, b] = [ctx.tensor(0), ctx.tensor(1)];
    if (a.rank > 3 || b.rank > 3 || a.rank === 0 || b.rank === 0) {
      throw ctx.fail(`operands [${a.shape.join(",")}] x [${b.shape.join(",")}]: ranks 1 to 3 are supported`);
    }
    const vecA = a.rank === 1;
    const vecB = b.rank === 1;
    if (vecA) a = a.reshape([1, a.shape[0]]);
    if (vecB) b = b.reshape([b.shape[0], 1]);
    let y = a.matmul(b);
    if (vecA || vecB) {
      const s = [...y.shape];
      if (vecB) s.splice(s.length - 1, 1);
      if (vecA) s.splice(s.length - (vecB ? 1 : 2), 1);
      y = y.reshape(s);
    }
    return [T(y)];
  },
  Flatten(ctx) {
    ctx.allow("axis");
    const x = ctx.tensor(0);
    const axis = ctx.int("axis", 1);
    const at = axis < 0 ? axis + x.rank : axis;
    if (at < 0 || at > x.rank) throw ctx.fail(`axis ${axis} is out of range for rank ${x.rank}`);
    return [T(x.reshape([prod(x.shape.slice(0, at)), prod(x.shape.slice(at))]))];
  },
  Reshape(ctx) {
    ctx.allow("allowzero");
    const v = ctx.value(0);
    const allowZero = ctx.int("allowzero", 0, [0, 1]) === 1;
    const to = ctx.ints(1);
    if (v.kind === "const") {
      const target = reshapeTarget(ctx, v.c.dims, to, allowZero);
      const known = prod(target.filter((d) => d !== -1));
      const dims = target.map((d) => (d === -1 ? (known === 0 ? 0 : v.c.data.length / known) : d));
      if (!dims.every(Number.isInteger) || prod(dims) !== v.c.data.length) {
        throw ctx.fail(`cannot reshape a constant [${v.c.dims.join(",")}] to [${to.join(",")}]`);
      }
      return [{ kind: "const", c: { ...v.c, dims } }];
    }
    return [T(reshape(v.t, reshapeTarget(ctx, v.t.shape, to, allowZero)))];
  },
  Transpose(ctx) {
    ctx.allow("perm");
    const v = ctx.value(0);
    const dims = v.kind === "tensor" ? v.t.shape : v.c.dims;
    const perm = (ctx.intList("perm") ?? dims.map((_, i) => dims.length - 1 - i)).map((p) =>
      ctx.axis(p, dims.length, "perm entry"),
    );
    if (new Set(perm).size !== dims.length || perm.length !== dims.length) {
      throw ctx.fail(`perm [${perm.join(",")}] is not a permutation of ${dims.length} axes`);
    }
    if (v.kind === "tensor") return [T(v.t.permute(perm))];
    // A constant (a shape computation): out[i...] = in[i permuted back].
    const strides = v.c.dims.map((_, i) => prod(v.c.dims.slice(i + 1)));
    const outDims = perm.map((p) => dims[p]);
    const out: number[] = [];
    const walk = (axis: number, offset: number) => {
      if (axis === outDims.length) return void out.push(Number(v.c.data[offset]));
      for (let k = 0; k < outDims[axis]; k++) walk(axis + 1, offset + k * strides[perm[axis]]);
    };
    if (prod(outDims) > 0) walk(0, 0);
    const data = v.c.dtype === "float" ? Float32Array.from(out) : out;
    return [{ kind: "const", c: { dtype: v.c.dtype, dims: outDims, data } }];
  },
  Concat(ctx) {
    ctx.allow("axis");
    const vals = Array.from({ length: ctx.inputCount }, (_, i) => ctx.value(i));
    if (vals.every((v) => v.kind === "const" && v.c.dtype === "int" && v.c.dims.length === 1)) {
      return [ints(vals.flatMap((v) => [...((v as { c: ConstTensor }).c.data as number[])]))];
    }
    const xs = vals.map((_, i) => ctx.tensor(i));
    return [T(concat(xs, ctx.axis(ctx.int("axis", Number.NaN), xs[0].rank)))];
  },
  Dropout(ctx) {
    ctx.allow("seed");
    if (ctx.has(2)) {
      const training = ctx.value(2);
      if (training.kind !== "const" || Number(training.c.data[0]) !== 0) {
        throw ctx.fail("training_mode must be a constant false (the model is imported for inference)");
      }
    }
    return [T(ctx.tensor(0))];
  },
  Expand(ctx) {
    ctx.allow();
    const x = ctx.tensor(0);
    const shape = ctx.ints(1);
    return [T(x.broadcastTo(broadcastShapes("Expand", x.shape, shape)))];
  },
  Slice(ctx) {
    ctx.allow();
    const v = ctx.value(0);
    const rank = v.kind === "tensor" ? v.t.rank : v.c.dims.length;
    const dims = v.kind === "tensor" ? v.t.shape : v.c.dims;
    const starts = ctx.ints(1);
    const ends = ctx.ints(2);
    const axes = (ctx.has(3) ? ctx.ints(3) : starts.map((_, i) => i)).map((a) => ctx.axis(a, rank));
    const steps = ctx.has(4) ? ctx.ints(4) : starts.map(() => 1);
    if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
      throw ctx.fail("starts, ends, axes and steps must have the same length");
    }
    if (new Set(axes).size !== axes.length) throw ctx.fail(`axes [${axes.join(",")}] repeat an axis`);
    // Per axis, the indices taken (ONNX's clamping rules).
    const picks = dims.map((d) => Array.from({ length: d }, (_, i) => i));
    axes.forEach((axis, i) => {
      const d = dims[axis];
      const step = steps[i];
      if (step === 0) throw ctx.fail("a step of 0");
      const wrap = (x: number) => (x < 0 ? x + d : x);
      const s =
        step > 0 ? Math.min(Math.max(wrap(starts[i]), 0), d) : Math.min(Math.max(wrap(starts[i]), 0), d - 1);
      const e =
        step > 0 ? Math.min(Math.max(wrap(ends[i]), 0), d) : Math.min(Math.max(wrap(ends[i]), -1), d - 1);
      const idx: number[] = [];
      for (let k = s; step > 0 ? k < e : k > e; k += step) idx.push(k);
      picks[axis] = idx;
    });
    if (v.kind === "const") return [{ kind: "const", c: gatherConst(v.c, picks) }];
    let x = v.t;
    picks.forEach((idx, axis) => {
      if (idx.length === dims[axis]) return;
      const contiguous = idx.every((k, j) => k === idx[0] + j);
      if (!contiguous)
        throw ctx.fail(`a step other than 1 on a computed tensor (axis ${axis}) is not supported`);
      const a = idx.length ? idx[0] : 0;
      x = slice(x, a, a + idx.length, axis);
    });
    return [T(x)];
  },
  Pad(ctx) {
    ctx.allow("mode");
    if (ctx.string("mode", "constant") !== "constant") {
      throw ctx.fail(`mode "${ctx.string("mode", "constant")}" is not supported (only "constant")`);
    }
    let x = ctx.tensor(0);
    const pads = ctx.ints(1);
    const value = ctx.has(2) ? ctx.scalar(2) : 0;
    const axes = ctx.has(3) ? ctx.ints(3).map((a) => ctx.axis(a, x.rank)) : x.shape.map((_, i) => i);
    if (pads.length !== 2 * axes.length) throw ctx.fail(`${pads.length} pads for ${axes.length} axes`);
    if (pads.some((p) => p < 0)) throw ctx.fail(`negative pads [${pads.join(",")}] are not supported`);
    const before = new Array<number>(x.rank).fill(0);
    const after = new Array<number>(x.rank).fill(0);
    axes.forEach((axis, i) => {
      before[axis] += pads[i];
      after[axis] += pads[i + axes.length];
    });
    const r = x.rank;
    const onlyLastTwo = r >= 2 && before.every((p, i) => i >= r - 2 || (p === 0 && after[i] === 0));
    if (onlyLastTwo) {
      // core's pad2d: one composite, exported back as one Pad.
      return [T(pad2d(x, [before[r - 2], after[r - 2], before[r - 1], after[r - 1]], value))];
    }
    before.forEach((b, axis) => {
      if (b > 0 || after[axis] > 0) x = pad(x, b, after[axis], axis, value);
    });
    return [T(x)];
  },
};
