/**
 * Splitting loops over the threads: standalone elementwise groups, reductions and the window copies
 * (pads, im2col, col2im, a pool's gradient). The outermost loop of the nest (after collapse()) is cut
 * into ranges, one per slice of a shared job (forkJoinShared), each run by whichever thread claims it. A slice computes whole output elements with the same instructions in the
 * same order as one thread does (a reduction is cut over its kept dims only, never through a sum), so the
 * results are bit-identical whatever the thread count.
 */
import { type Expr, type Shape, sameShape, sizeOf } from "@adjoint/core";
import type { Access } from "../schedule/views";
import { loopNest, rangeNest, type Stmt } from "./ast";
import { baseIndex, type RenderContext } from "./context";
import { contiguous, stridesIn } from "./loops";
import { forkJoinShared } from "./parallel";

/**
 * How many slices a loop nest doing `elements` element steps, whose outermost loop has `outerUnits`
 * iterations, is cut into; below 2, it stays on one thread (one thread only, too few elements to pay
 * for a fork/join, or too few outer iterations).
 */
export function loopParts(ctx: RenderContext, elements: number, outerUnits: number | undefined): number {
  const par = ctx.parallel;
  if (!par || outerUnits === undefined || elements < par.minElements) return 1;
  return Math.min(par.slices, outerUnits);
}

/** The operands that `members` read from memory (those not computed in the group). */
export function memoryReads(
  ctx: RenderContext,
  members: readonly number[],
): Array<Access & { kind: "buffer" }> {
  const p = ctx.schedule.program;
  const inside = new Set(members);
  const reads: Array<Access & { kind: "buffer" }> = [];
  for (const i of members.flatMap((m) => p.nodes[m].inputs)) {
    if (inside.has(i)) continue;
    const a = ctx.schedule.views.access(i)!;
    if (a.kind === "buffer") reads.push(a);
  }
  return reads;
}

/** The [lo, hi) float range an access touches. */
function span(ctx: RenderContext, a: Access & { kind: "buffer" }): [number, number] {
  const base = baseIndex(a, ctx);
  let lo = base;
  let hi = base + 1;
  a.shape.forEach((d, i) => {
    lo += Math.min(0, (d - 1) * a.strides[i]);
    hi += Math.max(0, (d - 1) * a.strides[i]);
  });
  return [lo, hi];
}

/** Whether a stored output's memory overlaps the memory an access reads. */
function overlaps(ctx: RenderContext, output: number, a: Access & { kind: "buffer" }): boolean {
  const at = ctx.plan.location.get(output)!;
  const end = at + sizeOf(ctx.schedule.program.nodes[output].shape);
  const [lo, hi] = span(ctx, a);
  return lo < end && at < hi;
}

/**
 * Whether one slice could read memory that another slice writes, when a loop over `loop` reads `reads`
 * and stores `outputs` (contiguous over the loop) concurrently. The memory plan lets an elementwise group
 * overwrite an operand it reads for the last time, element by element; that is safe in slices only when
 * the read of every element is at the very index it is written at (then both fall in the same slice):
 * `sameIndexReads` allows exactly that case, any other overlap is a hazard.
 */
export function slicesMayRace(
  ctx: RenderContext,
  loop: Shape,
  reads: ReadonlyArray<Access & { kind: "buffer" }>,
  outputs: readonly number[],
  sameIndexReads: boolean,
): boolean {
  const p = ctx.schedule.program;
  const dense = contiguous(loop);
  return outputs.some((o) =>
    reads.some((a) => {
      if (!overlaps(ctx, o, a)) return false;
      const strides = stridesIn(a, loop);
      const sameIndex =
        baseIndex(a, ctx) === ctx.plan.location.get(o) &&
        sameShape(p.nodes[o].shape, loop) &&
        loop.every((d, i) => d === 1 || strides[i] === dense[i]);
      return !(sameIndexReads && sameIndex);
    }),
  );
}

/**
 * `loopNest(prefix, dims, body)`, split over the threads by its outermost loop when the nest does
 * `elements` element steps, enough to pay, and no output overlaps what it reads (`reads`). For nests in which each outermost iteration writes outputs of its own (a reduction's kept
 * index, a window copy's plane or row).
 */
export function splitNest(
  ctx: RenderContext,
  prefix: string,
  dims: readonly number[],
  elements: number,
  reads: readonly Access[],
  outputs: readonly number[],
  body: (vars: Expr[]) => Stmt[],
): Stmt[] {
  let parts = loopParts(ctx, elements, dims[0]);
  // The plan gives such groups memory of their own; checked all the same, as slices would race.
  if (parts > 1 && reads.some((a) => a.kind === "buffer" && outputs.some((o) => overlaps(ctx, o, a))))
    parts = 1;
  return splitOuterLoop(ctx, parts, dims[0], (outer) =>
    outer
      ? rangeNest(
          prefix,
          dims.map((d, i) => (i === 0 ? outer : [0, d])),
          body,
        )
      : loopNest(prefix, dims, body),
  );
}

/**
 * The nest split over the threads when `parts` ≥ 2 (its outermost loop of `outerUnits` iterations shared
 * out by forkJoinShared), else whole: `render` gets the outermost loop's [lo, hi), or nothing for all of it.
 */
export function splitOuterLoop(
  ctx: RenderContext,
  parts: number,
  outerUnits: number,
  render: (outer?: readonly [Expr, Expr]) => Stmt[],
): Stmt[] {
  if (parts < 2 || !ctx.parallel) return render();
  return forkJoinShared(ctx.parallel, outerUnits, parts, (lo, hi) => render([lo, hi]));
}
