/**
 * The shape arithmetic exporters write around reshapes and pads (Shape, Gather, Unsqueeze, Squeeze, Cast,
 * Concat of shapes, ConstantOfShape) and Constant nodes: evaluated at import on constants, since every
 * shape is known then. A computed tensor reaching them is reshaped where that is what the op means.
 */
import type { Tensor } from "@adjoint/core";
import type { Builder, NodeContext, Value } from "./import-context";
import type { ConstTensor } from "./import-model";

const T = (t: Tensor): Value => ({ kind: "tensor", t });
const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
export const ints = (values: readonly number[], dims: readonly number[] = [values.length]): Value => ({
  kind: "const",
  c: { dtype: "int", dims, data: values },
});

/** Squeeze/Unsqueeze: axes an attribute before opset 13, an input from 13 on. */
function axesInput(ctx: NodeContext, index: number): number[] | undefined {
  return ctx.has(index) ? ctx.ints(index) : undefined;
}

function constValue(ctx: NodeContext): ConstTensor {
  const a = ctx.node.attrs;
  if (a.size !== 1) throw ctx.fail("needs exactly one of the attributes value, value_float(s), value_int(s)");
  const [name, attr] = [...a.entries()][0];
  switch (name) {
    case "value":
      if (attr.kind === "tensor") return attr.value;
      break;
    case "value_float":
      if (attr.kind === "float") return { dtype: "float", dims: [], data: Float32Array.of(attr.value) };
      break;
    case "value_floats":
      if (attr.kind === "floats")
        return { dtype: "float", dims: [attr.value.length], data: Float32Array.from(attr.value) };
      break;
    case "value_int":
      if (attr.kind === "int") return { dtype: "int", dims: [], data: [attr.value] };
      break;
    case "value_ints":
      if (attr.kind === "ints") return { dtype: "int", dims: [attr.value.length], data: attr.value };
      break;
  }
  throw ctx.fail(`attribute "${name}" (${attr.kind}) is not supported for a Constant`);
}

/** Elements of a constant at the given indices per axis (row-major). */
export function gatherConst(c: ConstTensor, picks: readonly (readonly number[])[]): ConstTensor {
  const dims = picks.map((p) => p.length);
  const strides = c.dims.map((_, i) => prod(c.dims.slice(i + 1)));
  const out: number[] = [];
  const walk = (axis: number, offset: number) => {
    if (axis === dims.length) {
      out.push(Number(c.data[offset]));
      return;
    }
    for (const k of picks[axis]) walk(axis + 1, offset + k * strides[axis]);
  };
  if (prod(dims) > 0) walk(0, 0);
  return { dtype: c.dtype, dims, data: c.dtype === "float" ? Float32Array.from(out) : out };
}

export const SHAPE_BUILDERS: Record<string, Builder> = {
  Constant(ctx) {
    ctx.allow("value", "value_float", "value_floats", "value_int", "value_ints");
    return [{ kind: "const", c: constValue(ctx) }];
  },
  Shape(ctx) {
    ctx.allow("start", "end");
    const v = ctx.value(0);
    const dims = v.kind === "tensor" ? v.t.shape : v.c.dims;
    const clamp = (d: number) => Math.min(Math.max(d < 0 ? d + dims.length : d, 0), dims.length);
    return [ints(dims.slice(clamp(ctx.int("start", 0)), clamp(ctx.int("end", dims.length))))];
  },
  Gather(ctx) {
    ctx.allow("axis");
    const data = ctx.ints(0);
    const dv = ctx.value(0);
    if (dv.kind !== "const" || dv.c.dims.length !== 1 || ctx.int("axis", 0) !== 0) {
      throw ctx.fail("only gathering from a constant 1-D int64 tensor (a shape) is supported");
    }
    const idx = ctx.ints(1);
    const iv = ctx.value(1) as { c: ConstTensor };
    const picked = idx.map((i) => {
      const j = i < 0 ? i + data.length : i;
      if (j < 0 || j >= data.length) throw ctx.fail(`index ${i} is out of range for ${data.length} values`);
      return data[j];
    });
    return [ints(picked, iv.c.dims)];
  },
  Unsqueeze(ctx) {
    ctx.allow();
    const v = ctx.value(0);
    const axes = axesInput(ctx, 1);
    if (!axes) throw ctx.fail("axes are required");
    const dims = v.kind === "tensor" ? [...v.t.shape] : [...v.c.dims];
    const rank = dims.length + axes.length;
    for (const a of [...axes.map((a) => ctx.axis(a, rank))].sort((p, q) => p - q)) dims.splice(a, 0, 1);
    return [v.kind === "tensor" ? T(v.t.reshape(dims)) : { kind: "const", c: { ...v.c, dims } }];
  },
  Squeeze(ctx) {
    ctx.allow();
    const v = ctx.value(0);
    const dims = v.kind === "tensor" ? [...v.t.shape] : [...v.c.dims];
    const axes = (axesInput(ctx, 1) ?? dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) =>
      ctx.axis(a, dims.length),
    );
    for (const a of axes) if (dims[a] !== 1) throw ctx.fail(`axis ${a} has size ${dims[a]}, not 1`);
    const kept = dims.filter((_, i) => !axes.includes(i));
    return [v.kind === "tensor" ? T(v.t.reshape(kept)) : { kind: "const", c: { ...v.c, dims: kept } }];
  },
  Cast(ctx) {
    ctx.allow("to", "saturate");
    const to = ctx.int("to", 1, [1, 7, 11]);
    const v = ctx.value(0);
    if (v.kind === "tensor") {
      if (to === 7) throw ctx.fail("casting a computed tensor to int64 is not supported");
      return [v];
    }
    const data = Array.from(v.c.data as ArrayLike<number>);
    if (to === 7) return [{ kind: "const", c: { dtype: "int", dims: v.c.dims, data: data.map(Math.trunc) } }];
    return [{ kind: "const", c: { dtype: "float", dims: v.c.dims, data: Float32Array.from(data) } }];
  },
  ConstantOfShape(ctx) {
    ctx.allow("value");
    const shape = ctx.ints(0);
    const attr = ctx.node.attrs.get("value");
    const fill: ConstTensor =
      attr?.kind === "tensor" ? attr.value : { dtype: "float", dims: [1], data: Float32Array.of(0) };
    if (fill.data.length !== 1) throw ctx.fail("value must hold one element");
    if (shape.some((d) => d < 0) || prod(shape) > 1 << 24)
      throw ctx.fail(`shape [${shape.join(",")}] is out of range`);
    const n = prod(shape);
    const data =
      fill.dtype === "int"
        ? new Array<number>(n).fill(Number(fill.data[0]))
        : new Float32Array(n).fill(Number(fill.data[0]));
    return [{ kind: "const", c: { dtype: fill.dtype, dims: shape, data } }];
  },
};
