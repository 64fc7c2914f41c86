/**
 * The part of a matmul group's epilogue the wasm kernel runs itself, on each register tile before it is
 * stored: a bias add (one bias per column, as a dense layer's, or per row, as a convolution's output
 * channels) and a relu after it. Then the kernel writes the group's output directly: no product region and
 * no JS loop over it. In W5 the conv bias + ReLU loops were 12% of the step (1.5 + 0.26 ms of 14.7,
 * instrumented); the kernel adds them to values already in registers.
 */
import type { Group } from "../schedule/fuse";
import { baseIndex, type RenderContext } from "./context";
import { stridesIn } from "./loops";

export interface KernelEpilogue {
  /** The group's one stored node, which the kernel writes as its C. */
  output: number;
  /** Byte offset of the bias, when there is one. */
  biasOffset?: number;
  biasPerRow: boolean;
  relu: boolean;
}

/**
 * Whether a bias read with `strides` over the product's loop `shape` varies only along `axis` with
 * stride 1 (size-1 axes read nothing, whatever their stride).
 */
function alongOnly(shape: readonly number[], strides: readonly number[], axis: number): boolean {
  return strides.every((s, d) => shape[d] === 1 || (d === axis ? s === 1 : s === 0));
}

/**
 * The kernel's epilogue for g = [matmul, add(product, bias)?, relu?] storing only its last member, or null
 * (another epilogue, or the product is read too): then the JS epilogue loop runs as before.
 */
export function kernelEpilogue(g: Group, ctx: RenderContext): KernelEpilogue | null {
  const p = ctx.schedule.program;
  const mm = p.nodes[g.root!];
  const rest = g.nodes.filter((x) => x !== g.root);
  if (rest.length === 0 || rest.length > 2 || g.outputs.length !== 1) return null;
  const r = mm.shape.length;
  let current = mm.id;
  let next = 0;
  let biasOffset: number | undefined;
  let biasPerRow = false;
  const add = p.nodes[rest[next]];
  if (add.op === "add" && add.inputs.includes(current) && add.inputs[0] !== add.inputs[1]) {
    const a = ctx.schedule.views.access(add.inputs[0] === current ? add.inputs[1] : add.inputs[0])!;
    if (a.kind !== "buffer") return null;
    const strides = stridesIn(a, mm.shape);
    if (alongOnly(mm.shape, strides, r - 1)) biasPerRow = false;
    else if (r >= 2 && alongOnly(mm.shape, strides, r - 2)) biasPerRow = true;
    else return null;
    biasOffset = baseIndex(a, ctx) * 4;
    current = add.id;
    next++;
  }
  const relu = next < rest.length && p.nodes[rest[next]].op === "relu";
  if (relu) {
    if (p.nodes[rest[next]].inputs[0] !== current) return null;
    current = rest[next];
    next++;
  }
  if (next !== rest.length || g.outputs[0] !== current) return null;
  return { output: current, biasOffset, biasPerRow, relu };
}
