/**
 * The wasm renderer's kernel for sums over contiguous runs (wasm/sum-runs.ts): a sum alone in its group
 * that keeps at most one dim of its input and reduces runs of contiguous floats (a batch norm's statistics
 * and their gradients, a conv bias gradient: per channel over batch and pixels).
 */
import type { Group } from "../schedule/fuse";
import { buildSumRunsModule, type SumRunsSpec } from "../wasm/sum-runs";
import { baseIndex, type RenderContext } from "./context";
import { collapse, stridesIn } from "./loops";
import { type KernelFor, planeKernel } from "./wasm-planes";

export const sumRuns: KernelFor = planeKernel(
  sumRunsSpec,
  buildSumRunsModule,
  [
    ["xOffset", "xPlaneStride"],
    ["outOffset", "outStride"],
  ],
  "sum",
);

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
