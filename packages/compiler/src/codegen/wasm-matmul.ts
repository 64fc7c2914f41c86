/**
 * The wasm renderer of a matmul group: the product runs in a WebAssembly SIMD kernel generated for this
 * exact shape and orientation, on the graph's own memory (no copies); the step calls it like Math.exp.
 * A bias add and a relu run inside the kernel (kernel-epilogue.ts); any other epilogue the fusion pass
 * chose (a relu's mask, an optimizer update...) runs in wasm SIMD where wasm-elementwise.ts can, inside
 * the kernel on each tile (wasm/fused-epilogue.ts) or as one loop over the product, else in JS. Falls back
 * to the JS renderers where the operands' layout is not one the kernel reads (row-major or transposed).
 */
import { id, member, num, sizeOf } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import { relaxedSimdAvailable, simdAvailable } from "../wasm/features";
import { listMatmul } from "../wasm/listing";
import {
  compileMatmul,
  dotKernelFits,
  instantiateCompiled,
  type MatmulSpec,
  packBytes,
} from "../wasm/matmul";
import { operandSpans, planMatmul } from "../wasm/matmul-plan";
import { affine, call, constDecl, exprStmt, load, type Stmt } from "./ast";
import type { RenderContext, Renderer } from "./context";
import { renderElementwiseOver } from "./elementwise";
import { kernelEpilogue } from "./kernel-epilogue";
import type { ElementwiseSpec } from "../wasm/elementwise";
import type { FusedEpilogue } from "../wasm/fused-epilogue";
import {
  buildElementwiseKernel,
  callKernel,
  elementwiseSpec,
  shareWithWorkers,
  sliceCalls,
} from "./wasm-elementwise";
import { contiguous, type DimSlice } from "./loops";
import { matmulGeometry } from "./matmul-js";
import { forkJoin, splitMatmul } from "./parallel";

/**
 * Products below this many multiply-adds stay in JS: a call into wasm costs little (~15 ns), but the
 * epilogue pass over the product and the per-kernel compile do not pay off on the tiny 8→16→1 net
 * (measured: its step is faster all-JS).
 */
export const WASM_MIN_MACS = 4096;

export interface WasmKernelInfo {
  name: string;
  spec: MatmulSpec;
  /** The readable listing, made on demand (it re-encodes the module with text). */
  listing: () => string;
}

export function wasmMatmulRenderer(
  fallback: Renderer,
  kernels: WasmKernelInfo[],
  options: { tileEpilogues: boolean } = { tileEpilogues: true },
): Renderer {
  return (g: Group, ctx: RenderContext) => {
    const spec = specFor(g, ctx);
    if (!spec) return fallback(g, ctx);
    const p = ctx.schedule.program;
    const mm = p.nodes[g.root!];
    const name = `mm${kernels.length}`;
    const memory = p.graph.memory;
    const macs = spec.m * spec.n * spec.k * (spec.batch?.count ?? 1);
    const parallel = ctx.parallel !== undefined && macs >= ctx.parallel.minMacs;
    const inKernel = inKernelEpilogue(g, ctx, spec);
    // Decided for the whole product, before any split: its slices run the same kernel, so the same sums.
    spec.dot = dotKernelFits(spec);
    const direct = (g.nodes.length === 1 && g.outputs.length === 1) || inKernel;
    if (!parallel) spec.packOffset = memory.allocate(Math.ceil(packBytes(spec) / 4));
    // Without a JS epilogue, the kernel writes the stored output itself; otherwise into a region of its own.
    if (!direct) spec.cOffset = memory.allocate(sizeOf(mm.shape));
    else if (!inKernel) spec.cOffset = ctx.plan.location.get(g.root!)! * 4;
    // The epilogue over the product in wasm SIMD where it can be (wasm-elementwise.ts): on each register
    // tile inside the kernel (fused-epilogue.ts) or as a loop over the stored product; else a JS loop.
    const members = g.nodes.filter((x) => x !== g.root);
    const product = new Map([[g.root!, spec.cOffset / 4]]);
    const lanes = direct ? null : elementwiseSpec(ctx, mm.shape, members, g.outputs, product);
    spec.fused = lanes && options.tileEpilogues ? tileEpilogue(g, ctx, spec, lanes) : undefined;
    const fused = spec.fused !== undefined;
    const simd = lanes && !fused ? buildElementwiseKernel(ctx, lanes) : null;
    const parts = parallel ? splitMatmul(spec, ctx.parallel!.slices, mm.shape.length) : null;
    if (simd && parts) shareWithWorkers(ctx, simd);
    if (parallel && !parts) spec.packOffset = memory.allocate(Math.ceil(packBytes(spec) / 4));
    // One kernel per slice, each with a pack scratch of its own (two threads may run two slices at once);
    // every thread holds them all, since any thread may claim any slice.
    const slices = (parts ?? [{ spec, slice: undefined }]).map((part, s) => {
      const sliceName = parts ? `${name}_${s}` : name;
      if (parts) part.spec.packOffset = memory.allocate(Math.ceil(packBytes(part.spec) / 4));
      const module = compileMatmul(part.spec);
      ctx.externals.set(sliceName, instantiateCompiled(module, memory.memory));
      if (parts) for (const modules of ctx.parallel!.modules) modules.push([sliceName, module]);
      const sliceSpec = part.spec;
      kernels.push({ name: sliceName, spec: sliceSpec, listing: () => listMatmul(sliceSpec) });
      const stmts: Stmt[] = [exprStmt(call(member(id("wasm"), sliceName)))];
      if (simd)
        stmts.push(
          ...(part.slice
            ? sliceCalls(simd, mm.shape, part.slice)
            : [callKernel(simd, num(0), num(simd.count))]),
        );
      else if (!direct && !fused) stmts.push(...epilogue(g, ctx, spec.cOffset / 4, part.slice));
      return stmts;
    });
    if (!parts) return slices[0];
    if (direct || !epilogueWritesOperand(g, ctx, spec)) return forkJoin(ctx.parallel!, slices);
    // An epilogue that overwrites an operand (an in-place update of a weight the product reads) may start
    // only when every slice of the product is done: two jobs, the products, then the epilogues.
    const products = slices.map((s) => s.slice(0, 1));
    const epilogues = slices.map((s) => s.slice(1));
    return [...forkJoin(ctx.parallel!, products), ...forkJoin(ctx.parallel!, epilogues)];
  };
}

/**
 * Sets up the kernel's own epilogue (bias, relu) in `spec`, C being the group's stored output, when the
 * group's epilogue is one it can run and that output shares no bytes with the operands.
 */
function inKernelEpilogue(g: Group, ctx: RenderContext, spec: MatmulSpec): boolean {
  const fused = kernelEpilogue(g, ctx);
  if (!fused) return false;
  const candidate: MatmulSpec = {
    ...spec,
    biasOffset: fused.biasOffset,
    biasPerRow: fused.biasPerRow,
    activation: fused.relu ? "relu" : "none",
    cOffset: ctx.plan.location.get(fused.output)! * 4,
  };
  if (cOverlapsOperand(candidate)) return false;
  Object.assign(spec, candidate);
  return true;
}

/**
 * Fuse an epilogue into the tiles only while the arrays it reads and writes (the product aside) total at
 * most this many bytes. The tiles visit them in column strips 12 floats wide, a row apart (ldc), which the
 * hardware prefetchers do not follow; the loop over the stored product streams them. Measured on the
 * Intel Xeon of 2026-12-06 (2 MB of L2 per core; benchmarks/src/tile-epilogues.ts): W3's Adam on its
 * first layer (m, v and W, 1.2 MB) ran 1.00× on one thread and 1.16× on two (one pass less, one slice
 * hand-over less), W4's momentum updates (v and W, 6.4 and 8 MB) 0.92× on one and two.
 */
export const TILE_EPILOGUE_MAX_BYTES = 2 * 1024 * 1024;

/**
 * The epilogue loop as the kernel runs it on its tiles, when it can: a flat loop that reads the product
 * (its operand at C's offset), a tile kernel (not the dot kernel), the product itself not stored, no output
 * in the bytes of A or B (other tiles, and other threads' slices, read those after this tile's outputs are
 * stored), and arrays small enough to stay in cache between the tiles that touch them.
 */
function tileEpilogue(
  g: Group,
  ctx: RenderContext,
  spec: MatmulSpec,
  lanes: ElementwiseSpec,
): FusedEpilogue | undefined {
  const product = lanes.operands.findIndex((o) => !o.broadcast && o.offset === spec.cOffset);
  const arrays = new Set([
    ...lanes.operands.filter((o, i) => !o.broadcast && i !== product).map((o) => o.offset),
    ...lanes.stores.map((s) => s.offset),
  ]);
  const fits =
    product >= 0 &&
    arrays.size * lanes.count * 4 <= TILE_EPILOGUE_MAX_BYTES &&
    !spec.dot &&
    !spec.accumulate &&
    lanes.rows === undefined &&
    !g.outputs.includes(g.root!) &&
    !epilogueWritesOperand(g, ctx, spec);
  return fits ? { elementwise: lanes, product, productOffset: spec.cOffset } : undefined;
}

/** Whether C shares bytes with A, B or the bias (the kernel reads those after storing parts of C). */
function cOverlapsOperand(spec: MatmulSpec): boolean {
  const spans = operandSpans(planMatmul(spec));
  const [, cStart, cEnd] = spans.find(([name]) => name === "C")!;
  return spans.some(([name, a, b]) => name !== "C" && cStart < b && a < cEnd);
}

/** Whether a stored output of the group's epilogue overlaps the bytes of the product's A or B. */
function epilogueWritesOperand(g: Group, ctx: RenderContext, spec: MatmulSpec): boolean {
  const p = ctx.schedule.program;
  const operands = operandSpans(planMatmul(spec)).filter(([name]) => name === "A" || name === "B");
  return g.outputs.some((o) => {
    const start = ctx.plan.location.get(o)! * 4;
    const end = start + sizeOf(p.nodes[o].shape) * 4;
    return operands.some(([, a, b]) => start < b && a < end);
  });
}

/** The fused elementwise ops after a product stored at float `product`, over all of it or a slice. */
function epilogue(g: Group, ctx: RenderContext, product: number, slice?: DimSlice): Stmt[] {
  const mm = ctx.schedule.program.nodes[g.root!];
  const out = contiguous(mm.shape);
  return renderElementwiseOver(
    ctx,
    mm.shape,
    g.nodes.filter((x) => x !== g.root),
    g.outputs,
    (vars, map) => [constDecl(`t${g.root}`, load(affine(product, vars, map(out))))],
    new Set([g.root!]),
    slice,
  );
}

/** The kernel spec for a group, or null when its operands are not plain row-major or transposed. */
function specFor(g: Group, ctx: RenderContext): MatmulSpec | null {
  if (!simdAvailable()) return null;
  const { batch, m, n, k, aBase, bBase, sA, sB } = matmulGeometry(ctx, g);
  if (m * n * k * batch < WASM_MIN_MACS) return null;
  const transA = sA[1] === 1 && sA[2] === m && m !== 1 ? true : sA[1] === k && sA[2] === 1 ? false : null;
  const transB = sB[1] === 1 && sB[2] === k && k !== 1 ? true : sB[1] === n && sB[2] === 1 ? false : null;
  if (transA === null || transB === null) return null;
  const mm = ctx.schedule.program.nodes[g.root!];
  return {
    m,
    n,
    k,
    transA,
    transB,
    aOffset: aBase * 4,
    bOffset: bBase * 4,
    cOffset: 0,
    packOffset: 0,
    accumulate: false,
    batch:
      mm.shape.length === 3
        ? { count: batch, aStride: sA[0] * 4, bStride: sB[0] * 4, cStride: m * n * 4 }
        : mm.attrs.sumBatch
          ? // Σ over the batch into one C (passes/batch-sum.ts).
            { count: batch, aStride: sA[0] * 4, bStride: sB[0] * 4, cStride: 0 }
          : undefined,
    fma: relaxedSimdAvailable(),
  };
}

/**
 * What this engine gives the matmul kernels, in words: "wasm SIMD with relaxed FMA", "wasm SIMD" or the JS
 * loops.
 */
export function wasmStatus(): string {
  return simdAvailable()
    ? relaxedSimdAvailable()
      ? "wasm SIMD with relaxed FMA"
      : "wasm SIMD (mul+add)"
    : "no wasm SIMD";
}
