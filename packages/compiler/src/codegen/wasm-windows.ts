/**
 * The wasm renderers of copy and reduce groups: a 2×2 stride-2 max pool (the max over its windows, a
 * reduce group) and its gradient (foldAtFirstMax, a copy group) over planes with contiguous rows run in
 * the generated SIMD kernels of wasm/pool2x2.ts (branch-free, bit for bit the JS loops), and foldWindows
 * with column stride 1 over contiguous windows in wasm/col2im.ts, and the im2col copies (a materialized
 * slidingWindows, paddedWindows) with column stride 1 in wasm/im2col.ts; every other group, and these
 * when their operands are laid out otherwise, renders as JS; sums over contiguous runs in wasm/sum-runs.ts
 * (wasm-sum.ts). Over threads, each kernel is built once per share of its planes (wasm-planes.ts).
 */
import { windowGeometry } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import { buildCol2imModule, type Col2imSpec } from "../wasm/col2im";
import { buildIm2colModule, type Im2colSpec } from "../wasm/im2col";
import { buildPool2x2Module, type Pool2x2Spec } from "../wasm/pool2x2";
import { baseIndex, type RenderContext, type Renderer } from "./context";
import { collapse, contiguous, stridesIn } from "./loops";
import { type KernelFor, planeKernel, wasmRenderer } from "./wasm-planes";
import { sumRuns } from "./wasm-sum";

const PLANES = [
  ["xOffset", "xPlaneStride"],
  ["outOffset", "outPlaneStride"],
] as const;
const pool = (specOf: (g: Group, ctx: RenderContext) => Pool2x2Spec | null): KernelFor =>
  planeKernel(specOf, buildPool2x2Module, [...PLANES, ["gOffset", "gPlaneStride"]]);
const im2col = planeKernel(im2colSpec, buildIm2colModule, PLANES);
const col2im = planeKernel(col2imSpec, buildCol2imModule, [
  ["srcOffset", "srcPlaneStride"],
  ["outOffset", "outPlaneStride"],
]);

export const wasmCopyRenderer = (fallback: Renderer): Renderer =>
  wasmRenderer(fallback, pool(poolGradSpec), col2im, im2col);
export const wasmReduceRenderer = (fallback: Renderer): Renderer =>
  wasmRenderer(fallback, pool(poolMaxSpec), sumRuns);
/**
 * The im2col kernel's spec: a materialized slidingWindows (a view copy) or paddedWindows with column
 * stride 1, x's rows contiguous, planes collapsing to one loop; else null.
 */
function im2colSpec(g: Group, ctx: RenderContext): Im2colSpec | null {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  if (node.op !== "slidingWindows" && node.op !== "paddedWindows") return null;
  const { kernel, stride, dilation } = windowGeometry(node.op, node.attrs);
  const x = ctx.schedule.views.access(node.inputs[0])!;
  if (x.kind !== "buffer" || stride[1] !== 1) return null;
  const r = x.shape.length;
  const [H, W] = x.shape.slice(r - 2);
  const [xh, xw] = x.strides.slice(r - 2);
  if (xw !== 1 || xh < W) return null;
  const [Ho, Wo] = node.shape.slice(node.shape.length - 2);
  const lists = [contiguous(node.shape).slice(0, r - 2), x.strides.slice(0, r - 2)];
  const { dims, map } = collapse(x.shape.slice(0, r - 2), lists);
  if (dims.length > 1) return null;
  const [outStride, xStride] = lists.map((l) => (dims.length === 0 ? 0 : map(l)[0]));
  const [top, , left] = node.op === "paddedWindows" ? (node.attrs.padding as number[]) : [0, 0, 0];
  return {
    planes: dims[0] ?? 1,
    kernel,
    strideRows: stride[0],
    dilation,
    top,
    left,
    fill: node.op === "paddedWindows" ? (node.attrs.fill as number) : 0,
    size: [H, W],
    xRowStride: xh,
    windows: [Ho, Wo],
    xOffset: baseIndex(x, ctx) * 4,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    xPlaneStride: xStride * 4,
    outPlaneStride: outStride * 4,
  };
}

/** The col2im kernel's spec: foldWindows with column stride 1 over contiguous windows and planes; else null. */
function col2imSpec(g: Group, ctx: RenderContext): Col2imSpec | null {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  if (node.op !== "foldWindows") return null;
  const { stride, dilation } = windowGeometry("foldWindows", node.attrs);
  const src = ctx.schedule.views.access(node.inputs[0])!;
  if (src.kind !== "buffer" || stride[1] !== 1) return null;
  const r = node.shape.length;
  const [H, W] = node.shape.slice(r - 2);
  const q = src.shape.length;
  const [kh, kw, Ho, Wo] = src.shape.slice(q - 4);
  const windowStrides = src.strides.slice(q - 4);
  const expected = [kw * Ho * Wo, Ho * Wo, Wo, 1];
  if (windowStrides.some((s, i) => s !== expected[i] && src.shape[q - 4 + i] !== 1)) return null;
  const lists = [contiguous(node.shape).slice(0, r - 2), src.strides.slice(0, q - 4)];
  const { dims, map } = collapse(node.shape.slice(0, r - 2), lists);
  if (dims.length > 1) return null;
  const [outStride, srcStride] = lists.map((l) => (dims.length === 0 ? 0 : map(l)[0]));
  if (dims.length === 1 && (outStride !== H * W || srcStride !== kh * kw * Ho * Wo)) return null;
  return {
    planes: dims[0] ?? 1,
    kernel: [kh, kw],
    strideRows: stride[0],
    dilation,
    size: [H, W],
    windows: [Ho, Wo],
    srcOffset: baseIndex(src, ctx) * 4,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    srcPlaneStride: srcStride * 4,
    outPlaneStride: outStride * 4,
  };
}

/**
 * The kernel's spec for max over the (2, 2) window axes of x's 2×2 stride-2 windows (a max pool's
 * forward, alone in its group: no prologue), rows of x contiguous, the output contiguous; else null.
 */
function poolMaxSpec(g: Group, ctx: RenderContext): Pool2x2Spec | null {
  const node = ctx.schedule.program.nodes[g.root!];
  if (node.op !== "max" || g.nodes.length !== 1 || node.attrs.keepdims) return null;
  const w = ctx.schedule.views.access(node.inputs[0])!;
  if (w.kind !== "buffer") return null;
  const q = w.shape.length;
  const axes = node.attrs.axes as number[];
  if (q < 4 || axes.length !== 2 || axes[0] !== q - 4 || axes[1] !== q - 3) return null;
  const [kh, kw, Ho, Wo] = w.shape.slice(q - 4);
  const [si, sj, sp, sq] = w.strides.slice(q - 4);
  // Windows 2×2 at stride 2 over rows of si floats: elements (i, j) at i·si + j, window (p, q) at 2p·si + 2q.
  if (kh !== 2 || kw !== 2 || sj !== 1 || sp !== 2 * si || sq !== 2 || si < 2 * Wo) return null;
  const lead = w.shape.slice(0, q - 4);
  const lists = [contiguous(node.shape).slice(0, q - 4), w.strides.slice(0, q - 4)];
  const { dims, map } = collapse(lead, lists);
  if (dims.length > 1) return null;
  const [outStride, xStride] = lists.map((l) => (dims.length === 0 ? 0 : map(l)[0]));
  if (dims.length === 1 && outStride !== Ho * Wo) return null;
  return {
    mode: "max",
    planes: dims[0] ?? 1,
    Ho,
    Wo,
    xOffset: baseIndex(w, ctx) * 4,
    gOffset: 0,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    xPlaneStride: xStride * 4,
    gPlaneStride: 0,
    outPlaneStride: outStride * 4,
    xRowStride: si,
    positiveOnly: false,
  };
}

/** The kernel's spec for a tiled 2×2 foldAtFirstMax whose x, g and output planes are contiguous; else null. */
function poolGradSpec(g: Group, ctx: RenderContext): Pool2x2Spec | null {
  const node = ctx.schedule.program.nodes[g.root ?? g.nodes[0]];
  if (node.op !== "foldAtFirstMax") return null;
  const { kernel, stride, dilation } = windowGeometry("foldAtFirstMax", node.attrs);
  if ([...kernel, ...stride].some((k) => k !== 2) || dilation[0] !== 1 || dilation[1] !== 1) return null;
  const x = ctx.schedule.views.access(node.inputs[0])!;
  const gAccess = ctx.schedule.views.access(node.inputs[1])!;
  if (x.kind !== "buffer" || gAccess.kind !== "buffer") return null;
  const r = node.shape.length;
  const [H, W] = node.shape.slice(r - 2);
  const windows = node.attrs.windows as number[];
  const [Ho, Wo] = windows.slice(windows.length - 2);
  if (H !== 2 * Ho || W !== 2 * Wo) return null;
  const gs = stridesIn(gAccess, windows);
  const w = gs.length;
  // x and out rows contiguous; g the same for every window element (i, j), its rows contiguous.
  const [xh, xw] = x.strides.slice(r - 2);
  const [gi, gj, gp, gq] = gs.slice(w - 4);
  if (xh !== W || xw !== 1 || gi !== 0 || gj !== 0 || gp !== Wo || gq !== 1) return null;
  const lead = node.shape.slice(0, r - 2);
  const lists = [contiguous(node.shape).slice(0, r - 2), x.strides.slice(0, r - 2), gs.slice(0, w - 4)];
  const { dims, map } = collapse(lead, lists);
  if (dims.length > 1) return null;
  const [outStride, xStride, gStride] = lists.map((l) => (dims.length === 0 ? 0 : map(l)[0]));
  if (dims.length === 1 && (xStride !== H * W || gStride !== Ho * Wo || outStride !== H * W)) return null;
  return {
    mode: "gradient",
    planes: dims[0] ?? 1,
    Ho,
    Wo,
    xRowStride: W,
    xOffset: baseIndex(x, ctx) * 4,
    gOffset: baseIndex(gAccess, ctx) * 4,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    xPlaneStride: xStride * 4,
    gPlaneStride: gStride * 4,
    outPlaneStride: outStride * 4,
    positiveOnly: node.attrs.positiveOnly === true,
  };
}
