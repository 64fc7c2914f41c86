/**
 * Builders for the convolutional ONNX ops (NCHW, 2-D): Conv, MaxPool, AveragePool, GlobalAveragePool,
 * BatchNormalization (inference) and LayerNormalization, onto core's composites, so that a model imported
 * from PyTorch exports back to the same ONNX ops. Asymmetric pads become a pad2d in front of the op.
 */
import {
  avgPool2d,
  batchNormInference,
  conv2d,
  layerNorm,
  maxPool2d,
  pad2d,
  type Tensor,
} from "@adjoint/core";
import type { Builder, NodeContext, Value } from "./import-context";

const T = (t: Tensor): Value => ({ kind: "tensor", t });

function spatialInput(ctx: NodeContext): Tensor {
  const x = ctx.tensor(0);
  if (x.rank !== 4) throw ctx.fail(`input [${x.shape.join(",")}]: only 2-D (NCHW, rank 4) is supported`);
  return x;
}

function pairAttr(ctx: NodeContext, name: string, fallback: [number, number]): [number, number] {
  const v = ctx.intList(name);
  if (v === undefined) return fallback;
  if (v.length !== 2 || !v.every((d) => Number.isInteger(d) && d >= 1)) {
    throw ctx.fail(`${name} [${v.join(",")}] must be two whole numbers >= 1`);
  }
  return [v[0], v[1]];
}

/** pads [h_begin, w_begin, h_end, w_end]: symmetric ones for the op, any asymmetry padded before it. */
function padsOf(ctx: NodeContext, x: Tensor, fill: number): { x: Tensor; padding: [number, number] } {
  const autoPad = ctx.string("auto_pad", "NOTSET");
  if (autoPad !== "NOTSET" && autoPad !== "VALID") throw ctx.fail(`auto_pad "${autoPad}" is not supported`);
  const p = ctx.intList("pads") ?? [0, 0, 0, 0];
  if (p.length !== 4 || !p.every((d) => Number.isInteger(d) && d >= 0)) {
    throw ctx.fail(`pads [${p.join(",")}] must be four whole numbers >= 0`);
  }
  if (autoPad === "VALID" && p.some((d) => d !== 0)) throw ctx.fail("auto_pad VALID with non-zero pads");
  const [hb, wb, he, we] = p;
  const padding: [number, number] = [Math.min(hb, he), Math.min(wb, we)];
  const extra: [number, number, number, number] = [
    hb - padding[0],
    he - padding[0],
    wb - padding[1],
    we - padding[1],
  ];
  return { x: extra.some((d) => d > 0) ? pad2d(x, extra, fill) : x, padding };
}

function kernelOf(ctx: NodeContext): [number, number] {
  const k = ctx.intList("kernel_shape");
  if (!k) throw ctx.fail("kernel_shape is required");
  return pairAttr(ctx, "kernel_shape", [1, 1]);
}

export const CONV_BUILDERS: Record<string, Builder> = {
  Conv(ctx) {
    ctx.allow("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides");
    const w = ctx.tensor(1);
    if (w.rank !== 4) throw ctx.fail(`weight [${w.shape.join(",")}] must be 4-D`);
    const k = ctx.intList("kernel_shape");
    if (k && (k.length !== 2 || k[0] !== w.shape[2] || k[1] !== w.shape[3])) {
      throw ctx.fail(`kernel_shape [${k.join(",")}] disagrees with the weight [${w.shape.join(",")}]`);
    }
    const { x, padding } = padsOf(ctx, spatialInput(ctx), 0);
    const b = ctx.has(2) ? ctx.tensor(2) : null;
    const y = conv2d(x, w, b, {
      stride: pairAttr(ctx, "strides", [1, 1]),
      dilation: pairAttr(ctx, "dilations", [1, 1]),
      groups: ctx.int("group", 1),
      padding,
    });
    return [T(y)];
  },
  MaxPool(ctx) {
    ctx.allow("auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides");
    ctx.int("ceil_mode", 0, [0]);
    ctx.int("storage_order", 0, [0]);
    const d = pairAttr(ctx, "dilations", [1, 1]);
    if (d[0] !== 1 || d[1] !== 1) throw ctx.fail(`dilations [${d.join(",")}] are not supported (only 1)`);
    if (ctx.node.outputs.length > 1 && ctx.node.outputs[1] !== "")
      throw ctx.fail("the Indices output is not supported");
    const kernel = kernelOf(ctx);
    const { x, padding } = padsOf(ctx, spatialInput(ctx), Number.NEGATIVE_INFINITY);
    return [T(maxPool2d(x, kernel, { stride: pairAttr(ctx, "strides", [1, 1]), padding }))];
  },
  AveragePool(ctx) {
    ctx.allow("auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides");
    ctx.int("ceil_mode", 0, [0]);
    const include = ctx.int("count_include_pad", 0, [0, 1]) === 1;
    const kernel = kernelOf(ctx);
    const x0 = spatialInput(ctx);
    const { x, padding } = padsOf(ctx, x0, 0);
    if (!include && (x !== x0 || padding[0] > 0 || padding[1] > 0)) {
      throw ctx.fail(
        "count_include_pad = 0 with padding is not supported (Adjoint's average counts the padding)",
      );
    }
    return [T(avgPool2d(x, kernel, { stride: pairAttr(ctx, "strides", [1, 1]), padding }))];
  },
  GlobalAveragePool(ctx) {
    ctx.allow();
    const x = spatialInput(ctx);
    return [T(x.mean(3, true).mean(2, true))];
  },
  BatchNormalization(ctx) {
    ctx.allow("epsilon", "momentum", "training_mode", "spatial");
    ctx.int("training_mode", 0, [0]);
    const x = ctx.tensor(0);
    if (ctx.node.outputs.filter((o) => o !== "").length > 1) {
      throw ctx.fail("the running-statistics outputs (training mode) are not supported");
    }
    const y = batchNormInference(
      x,
      ctx.tensor(3, { frozen: true }),
      ctx.tensor(4, { frozen: true }),
      ctx.tensor(1),
      ctx.tensor(2),
      { eps: ctx.float("epsilon", 1e-5) },
    );
    return [T(y)];
  },
  LayerNormalization(ctx) {
    ctx.allow("axis", "epsilon", "stash_type");
    ctx.int("stash_type", 1, [1]);
    if (ctx.node.outputs.filter((o) => o !== "").length > 1)
      throw ctx.fail("the Mean and InvStdDev outputs are not supported");
    const x = ctx.tensor(0);
    const axis = ctx.axis(ctx.int("axis", -1), x.rank);
    const y = layerNorm(x, x.shape.slice(axis), ctx.tensor(1), ctx.has(2) ? ctx.tensor(2) : null, {
      eps: ctx.float("epsilon", 1e-5),
    });
    return [T(y)];
  },
};
