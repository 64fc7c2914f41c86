/**
 * A padded convolution's im2col without the padded copy. conv2d pads its input (a pad node per spatial
 * axis, each a copy group of its own) and then copies the windows of the padded tensor into the im2col
 * buffer the matmul reads. This pass rewrites slidingWindows(pad(pad(x))), when its windows are copied
 * anyway (every reader is a reshape: the matmul's operand), into `paddedWindows(x)`: one loop that writes
 * each window row from x where it lies inside and the fill where it lies in the padding
 * (codegen/padded-windows.ts). In W5 the two pads were 1.6% of the step (instrumented).
 */
import { defineOp, padValue, sizeOf, windowGeometry } from "@adjoint/core";
import { consumers, keep, type PNode, type Program, rewrite } from "../program";

/** slidingWindows over x padded by `padding` = [top, bottom, left, right] with `fill`. */
export const paddedWindows = defineOp({
  name: "paddedWindows",
  kind: "layout",
  infiniteAttrs: ["fill"],
  shape: (_, attrs) => attrs.windowsShape as number[],
  evaluate([x], node) {
    const xs = node.inputs[0].shape;
    const r = xs.length;
    const [H, W] = xs.slice(r - 2);
    const { kernel, stride, dilation } = windowGeometry("paddedWindows", node.attrs);
    const [top, , left] = node.attrs.padding as number[];
    const fill = node.attrs.fill as number;
    const [Ho, Wo] = node.shape.slice(node.shape.length - 2);
    const out = new Float64Array(node.size);
    let o = 0;
    for (let b = 0; b < sizeOf(xs.slice(0, r - 2)); b++)
      for (let i = 0; i < kernel[0]; i++)
        for (let j = 0; j < kernel[1]; j++)
          for (let p = 0; p < Ho; p++)
            for (let q = 0; q < Wo; q++) {
              const y = p * stride[0] + i * dilation[0] - top;
              const xx = q * stride[1] + j * dilation[1] - left;
              out[o++] = y >= 0 && y < H && xx >= 0 && xx < W ? x[b * H * W + y * W + xx] : fill;
            }
    return out;
  },
});

/** The unpadded source and [top, bottom, left, right] of a chain of pads over the last two axes. */
function padChain(
  id: number,
  nodes: readonly PNode[],
  onlyUser: (id: number) => boolean,
): { source: number; padding: number[]; fill: number } | null {
  const padding = [0, 0, 0, 0];
  let fill: number | undefined;
  let at = nodes[id];
  while (at.op === "pad" && onlyUser(at.id)) {
    const { before, after, axis } = at.attrs as { before: number; after: number; axis: number };
    const side = axis - (at.shape.length - 2);
    const value = padValue(at.attrs);
    if (side < 0 || (fill !== undefined && !Object.is(fill, value))) return null;
    fill = value;
    padding[2 * side] += before;
    padding[2 * side + 1] += after;
    at = nodes[at.inputs[0]];
  }
  return fill === undefined ? null : { source: at.id, padding, fill };
}

export function padWindows(p: Program): Program {
  const users = consumers(p);
  // New id -> old id, to ask the old program how many readers a node has.
  const oldOf = new Map<number, number>();
  return rewrite(p, (n, inputs, emit, nodes) => {
    const mine = (id: number) => {
      oldOf.set(id, n.id);
      return id;
    };
    if (n.op !== "slidingWindows" || users[n.id].length === 0) return mine(keep(n, inputs, emit));
    if (!users[n.id].every((u) => p.nodes[u].op === "reshape")) return mine(keep(n, inputs, emit));
    const chain = padChain(inputs[0], nodes, (id) => users[oldOf.get(id)!]?.length === 1);
    if (!chain) return mine(keep(n, inputs, emit));
    return mine(
      emit({
        op: "paddedWindows",
        inputs: [chain.source],
        attrs: {
          ...windowGeometry("slidingWindows", n.attrs),
          padding: chain.padding,
          fill: chain.fill,
          windowsShape: [...n.shape],
        },
        shape: n.shape,
        origin: n.origin,
      }),
    );
  });
}
