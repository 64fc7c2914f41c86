/**
 * The wasm renderers of copy and reduce groups: a 2×2 stride-2 max pool (the max over its windows, a
 * reduce group) and its gradient (foldAtFirstMax, a copy group) over planes with contiguous rows run in
 * the generated SIMD kernels of wasm/pool2x2.ts (branch-free, bit for bit the JS loops), and foldWindows
 * with column stride 1 over contiguous windows in wasm/col2im.ts, and the im2col copies (a materialized
 * slidingWindows, paddedWindows) with column stride 1 in wasm/im2col.ts; every other group, and these
 * when their operands are laid out otherwise, renders as JS. Over threads, each kernel is built once per
 * share of its planes.
 */
import { id, member, sizeOf, windowGeometry } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import { simdAvailable } from "../wasm/features";
import { wasmApi } from "../wasm/js-api";
import { buildCol2imModule, type Col2imSpec } from "../wasm/col2im";
import type { ModuleBuilder } from "../wasm/encoder";
import { buildIm2colModule, type Im2colSpec } from "../wasm/im2col";
import { buildPool2x2Module, type Pool2x2Spec } from "../wasm/pool2x2";
import { buildSumRunsModule, type SumRunsSpec } from "../wasm/sum-runs";
import { call, exprStmt } from "./ast";
import { baseIndex, type RenderContext, type Renderer } from "./context";
import { loopParts, memoryReads, slicesMayRace } from "./loop-split";
import { collapse, contiguous, stridesIn } from "./loops";
import { forkJoin, share } from "./parallel";

/**
 * A generated kernel for the group over its `planes` (batch × channel), built for any range [p0, p1) of
 * them; null: the fallback renders the group.
 */
type KernelFor = (
  g: Group,
  ctx: RenderContext,
) => { planes: number; build: (p0: number, p1: number) => ModuleBuilder; prefix?: string } | null;

/**
 * The kernel over all planes, or, when the group is large enough to pay (loopParts) and no output lies over
 * what it reads, one kernel per share of the planes, run by the threads as one job: each plane is computed
 * by the same code whichever thread runs it, so the result is the one of a single thread, bit for bit.
 */
function wasmRenderer(fallback: Renderer, ...kernels: KernelFor[]): Renderer {
  return (g: Group, ctx: RenderContext) => {
    const built = simdAvailable()
      ? kernels.reduce<ReturnType<KernelFor>>((found, f) => found ?? f(g, ctx), null)
      : null;
    if (!built) return fallback(g, ctx);
    const name = `${built.prefix ?? "win"}${ctx.externals.size}`;
    const p = ctx.schedule.program;
    const node = p.nodes[g.root ?? g.nodes[0]];
    const elements = Math.max(sizeOf(node.shape), ...node.inputs.map((i) => sizeOf(p.nodes[i].shape)));
    let parts = loopParts(ctx, elements, built.planes);
    if (parts > 1 && slicesMayRace(ctx, node.shape, memoryReads(ctx, g.nodes), g.outputs, false)) parts = 1;
    const memory = p.graph.memory.memory;
    const instantiate = (kernel: string, module: object) => {
      const instance = new wasmApi.Instance(module, { env: { memory } });
      ctx.externals.set(kernel, instance.exports[Object.keys(instance.exports)[0]!] as () => void);
    };
    if (parts < 2 || !ctx.parallel) {
      instantiate(name, new wasmApi.Module(built.build(0, built.planes).encode()));
      return [exprStmt(call(member(id("wasm"), name)))];
    }
    const slices = Array.from({ length: parts }, (_, s) => {
      const [p0, p1] = share(built.planes, parts, s);
      const sliceName = `${name}_${s}`;
      const module = new wasmApi.Module(built.build(p0, p1).encode());
      instantiate(sliceName, module);
      for (const modules of ctx.parallel!.modules) modules.push([sliceName, module]);
      return [exprStmt(call(member(id("wasm"), sliceName)))];
    });
    return forkJoin(ctx.parallel, slices);
  };
}

/** The spec restricted to planes [p0, p1): each (offset, plane stride) pair moves to plane p0. */
function planeRange<S extends { planes: number }>(
  spec: S,
  p0: number,
  p1: number,
  pairs: ReadonlyArray<readonly [keyof S & string, keyof S & string]>,
): S {
  const part: S = { ...spec, planes: p1 - p0 };
  for (const [offset, stride] of pairs) {
    (part as Record<string, unknown>)[offset] = (spec[offset] as number) + p0 * (spec[stride] as number);
  }
  return part;
}

const pool =
  (specOf: (g: Group, ctx: RenderContext) => Pool2x2Spec | null): KernelFor =>
  (g, ctx) => {
    const spec = specOf(g, ctx);
    const pairs = [
      ["xOffset", "xPlaneStride"],
      ["gOffset", "gPlaneStride"],
      ["outOffset", "outPlaneStride"],
    ] as const;
    return (
      spec && { planes: spec.planes, build: (p0, p1) => buildPool2x2Module(planeRange(spec, p0, p1, pairs)) }
    );
  };
const im2col: KernelFor = (g, ctx) => {
  const spec = im2colSpec(g, ctx);
  const pairs = [
    ["xOffset", "xPlaneStride"],
    ["outOffset", "outPlaneStride"],
  ] as const;
  return (
    spec && { planes: spec.planes, build: (p0, p1) => buildIm2colModule(planeRange(spec, p0, p1, pairs)) }
  );
};
const col2im: KernelFor = (g, ctx) => {
  const spec = col2imSpec(g, ctx);
  const pairs = [
    ["srcOffset", "srcPlaneStride"],
    ["outOffset", "outPlaneStride"],
  ] as const;
  return (
    spec && { planes: spec.planes, build: (p0, p1) => buildCol2imModule(planeRange(spec, p0, p1, pairs)) }
  );
};

export const wasmCopyRenderer = (fallback: Renderer): Renderer =>
  wasmRenderer(fallback, pool(poolGradSpec), col2im, im2col);
export const wasmReduceRenderer = (fallback: Renderer): Renderer =>
  wasmRenderer(fallback, pool(poolMaxSpec), sumRuns);

const sumRuns: KernelFor = (g, ctx) => {
  const spec = sumRunsSpec(g, ctx);
  const pairs = [
    ["xOffset", "xPlaneStride"],
    ["outOffset", "outStride"],
  ] as const;
  const build = (p0: number, p1: number) => buildSumRunsModule(planeRange(spec!, p0, p1, pairs));
  return spec && { planes: spec.planes, build, prefix: "sum" };
};

/** Runs shorter than this are summed by the JS loop (the SIMD set-up per run would not pay). */
const SUM_RUNS_MIN_RUN = 16;

/**
 * The sum kernel's spec: a sum alone in its group (no prologue) keeping at most one dim of its input, the
 * dims it reduces collapsing to runs of contiguous floats (and runs at a fixed stride); else null.
 */
function sumRunsSpec(g: Group, ctx: RenderContext): SumRunsSpec | null {
  const node = ctx.schedule.program.nodes[g.root!];
  if (node.op !== "sum" || g.nodes.length !== 1) return null;
  const x = ctx.schedule.views.access(node.inputs[0])!;
  if (x.kind !== "buffer") return null;
  const axes = node.attrs.axes as number[];
  const strides = stridesIn(x, x.shape);
  const kept = x.shape.map((_, d) => d).filter((d) => !axes.includes(d) && x.shape[d] !== 1);
  if (kept.length > 1) return null;
  const reducedDims = x.shape.map((_, d) => d).filter((d) => axes.includes(d));
  const { dims, map } = collapse(
    reducedDims.map((d) => x.shape[d]),
    [reducedDims.map((d) => strides[d])],
  );
  const [runStrides] = [map(reducedDims.map((d) => strides[d]))];
  if (dims.length === 0 || dims.length > 2 || runStrides[runStrides.length - 1] !== 1) return null;
  const run = dims[dims.length - 1];
  if (run < SUM_RUNS_MIN_RUN || runStrides.some((s) => s < 0)) return null;
  const planeStride = kept.length === 1 ? strides[kept[0]] : 0;
  if (planeStride < 0) return null;
  return {
    planes: kept.length === 1 ? x.shape[kept[0]] : 1,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    outStride: 4,
    xOffset: baseIndex(x, ctx) * 4,
    xPlaneStride: planeStride * 4,
    runs: dims.length === 2 ? dims[0] : 1,
    xRunStride: dims.length === 2 ? runStrides[0] * 4 : 0,
    run,
  };
}

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
