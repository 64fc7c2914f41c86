/**
 * Kernels over planes (batch × channel, or a reduction's kept index): the group's generated kernel over all
 * of them or, when the group is large enough to pay and no output lies over what it reads, one kernel per
 * share of the planes, run by the threads as one job. Each plane is computed by the same code whichever
 * thread runs it, so the result is the one of a single thread, bit for bit.
 */
import { id, member, sizeOf } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import type { ModuleBuilder } from "../wasm/encoder";
import { simdAvailable } from "../wasm/features";
import { wasmApi } from "../wasm/js-api";
import { call, exprStmt } from "./ast";
import type { RenderContext, Renderer } from "./context";
import { loopParts, memoryReads, slicesMayRace } from "./loop-split";
import { forkJoin, share } from "./parallel";

/**
 * A generated kernel for the group over its `planes` (batch × channel), built for any range [p0, p1) of
 * them; null: the fallback renders the group.
 */
export type KernelFor = (
  g: Group,
  ctx: RenderContext,
) => { planes: number; build: (p0: number, p1: number) => ModuleBuilder; prefix?: string } | null;

/**
 * The kernel over all planes, or, when the group is large enough to pay (loopParts) and no output lies over
 * what it reads, one kernel per share of the planes, run by the threads as one job: each plane is computed
 * by the same code whichever thread runs it, so the result is the one of a single thread, bit for bit.
 */
export function wasmRenderer(fallback: Renderer, ...kernels: KernelFor[]): Renderer {
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
export function planeRange<S extends { planes: number }>(
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

/**
 * The KernelFor of a kernel over planes: `specOf` finds the group's spec (or null), `buildModule` builds
 * the module for a spec, and `pairs` name the (offset, plane stride) fields that planeRange moves.
 */
export function planeKernel<S extends { planes: number }>(
  specOf: (g: Group, ctx: RenderContext) => S | null,
  buildModule: (spec: S) => ModuleBuilder,
  pairs: ReadonlyArray<readonly [keyof S & string, keyof S & string]>,
  prefix?: string,
): KernelFor {
  return (g, ctx) => {
    const spec = specOf(g, ctx);
    if (!spec) return null;
    return { planes: spec.planes, build: (p0, p1) => buildModule(planeRange(spec, p0, p1, pairs)), prefix };
  };
}
