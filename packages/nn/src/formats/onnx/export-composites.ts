/**
 * The composites of core (conv2d, the pools, pad2d, batch and layer norm) as their ONNX ops. Core builds
 * them from primitives and marks the result (tensor.composite = { op, inputs, attrs }); the export reads
 * the mark and writes one ONNX node from the composite's inputs, so the primitives in between (windows,
 * reshapes, matmuls) are not written at all.
 */
import type { Tensor } from "@adjoint/core";
import { fail } from "./batch-axis";
import { attrFloat, attrInt, attrInts, keepsBatch, type Lowering } from "./lowering";

type Pair = readonly [number, number];

/** ONNX pads of the last two axes: [h_begin, w_begin, h_end, w_end]. */
const symmetricPads = ([ph, pw]: Pair) => [ph, pw, ph, pw];

/** The batch rule of an NCHW composite: the batch stays on axis 0; in a weight it would mix rows. */
function nchw(t: Tensor) {
  return ([x, ...rest]: readonly (number | null)[]) => {
    if (rest.some((a) => a !== null)) fail(t, `has the batch in a parameter of ${t.composite!.op}`);
    if (x !== null && x !== 0) fail(t, `${t.composite!.op} needs the batch on axis 0`);
    return x;
  };
}

export function lowerComposite(t: Tensor, opset: number): Lowering | null {
  const mark = t.composite;
  if (!mark) return null;
  const a = mark.attrs;
  const reads = mark.inputs;
  switch (mark.op) {
    case "conv2d":
      return {
        reads,
        batchAxis: nchw(t),
        emit(ctx, ins, out) {
          ctx.node(
            "Conv",
            ins,
            [
              attrInts("kernel_shape", a.kernel as Pair),
              attrInts("strides", a.stride as Pair),
              attrInts("pads", symmetricPads(a.padding as Pair)),
              attrInts("dilations", a.dilation as Pair),
              attrInt("group", a.groups as number),
            ],
            out,
          );
        },
      };
    case "maxPool2d":
    case "avgPool2d":
      return {
        reads,
        batchAxis: nchw(t),
        emit(ctx, ins, out) {
          const attrs = [
            attrInts("kernel_shape", a.kernel as Pair),
            attrInts("strides", a.stride as Pair),
            attrInts("pads", symmetricPads(a.padding as Pair)),
          ];
          if (mark.op === "maxPool2d") ctx.node("MaxPool", ins, attrs, out);
          else
            ctx.node(
              "AveragePool",
              ins,
              [...attrs, attrInt("count_include_pad", a.countIncludePad ? 1 : 0)],
              out,
            );
        },
      };
    case "pad2d":
      return {
        reads,
        batchAxis: ([x]) => keepsBatch(t, x, [t.rank - 2, t.rank - 1]),
        emit(ctx, [x], out) {
          const [top, bottom, left, right] = a.pads as readonly number[];
          const r = t.rank;
          const pads = new Array<number>(2 * r).fill(0);
          [pads[r - 2], pads[r - 1], pads[2 * r - 2], pads[2 * r - 1]] = [top, left, bottom, right];
          ctx.node("Pad", [x, ctx.ints(pads), ctx.float(a.value as number)], [], out);
        },
      };
    case "batchNorm":
      // Training mode normalizes with the batch's statistics: written op by op instead.
      if (a.training) return null;
      return {
        reads,
        batchAxis: nchw(t),
        emit(ctx, ins, out) {
          const [x, mean, variance, ...affine] = ins;
          const C = reads[0].shape[1];
          const scale = a.weight ? affine.shift()! : ctx.floats(new Float32Array(C).fill(1), [C]);
          const bias = a.bias ? affine.shift()! : ctx.floats(new Float32Array(C), [C]);
          ctx.node(
            "BatchNormalization",
            [x, scale, bias, mean, variance],
            [attrFloat("epsilon", a.eps as number)],
            out,
          );
        },
      };
    case "layerNorm": {
      // LayerNormalization is opset 17: below it, written op by op.
      if (opset < 17) return null;
      const shape = a.normalizedShape as readonly number[];
      return {
        reads,
        batchAxis: ([x]) =>
          keepsBatch(
            t,
            x,
            shape.map((_, i) => t.rank - shape.length + i),
          ),
        emit(ctx, ins, out) {
          const [x, ...affine] = ins;
          const scale = a.weight
            ? affine.shift()!
            : ctx.floats(new Float32Array(shape.reduce((p, d) => p * d, 1)).fill(1), shape);
          const inputs = a.bias ? [x, scale, affine.shift()!] : [x, scale];
          const attrs = [attrInt("axis", t.rank - shape.length), attrFloat("epsilon", a.eps as number)];
          ctx.node("LayerNormalization", inputs, attrs, out);
        },
      };
    }
    default:
      return null;
  }
}
