/**
 * The wasm renderer of copy groups: a 2×2 stride-2 max pool's gradient over contiguous planes runs in the
 * generated SIMD kernel of wasm/pool-grad.ts (branch-free, bit for bit the JS loop); every other copy
 * group, and this one when its operands are laid out otherwise, renders as JS.
 */
import { id, member, windowGeometry } from "@adjoint/core";
import type { Group } from "../schedule/fuse";
import { simdAvailable } from "../wasm/features";
import { wasmApi } from "../wasm/js-api";
import { buildPoolGradModule, POOL_GRAD_EXPORT, type PoolGradSpec } from "../wasm/pool-grad";
import { call, exprStmt } from "./ast";
import { baseIndex, type RenderContext, type Renderer } from "./context";
import { collapse, contiguous, stridesIn } from "./loops";

export function wasmCopyRenderer(fallback: Renderer): Renderer {
  return (g: Group, ctx: RenderContext) => {
    const spec = poolGradSpec(g, ctx);
    if (!spec) return fallback(g, ctx);
    const name = `pool${ctx.externals.size}`;
    const memory = ctx.schedule.program.graph.memory.memory;
    const module = new wasmApi.Module(buildPoolGradModule(spec).encode());
    const instance = new wasmApi.Instance(module, { env: { memory } });
    ctx.externals.set(name, instance.exports[POOL_GRAD_EXPORT] as () => void);
    return [exprStmt(call(member(id("wasm"), name)))];
  };
}

/** The kernel's spec for a tiled 2×2 foldAtFirstMax whose x, g and output planes are contiguous; else null. */
function poolGradSpec(g: Group, ctx: RenderContext): PoolGradSpec | null {
  if (!simdAvailable()) return null;
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
    planes: dims[0] ?? 1,
    Ho,
    Wo,
    xOffset: baseIndex(x, ctx) * 4,
    gOffset: baseIndex(gAccess, ctx) * 4,
    outOffset: ctx.plan.location.get(node.id)! * 4,
    xPlaneStride: xStride * 4,
    gPlaneStride: gStride * 4,
    outPlaneStride: outStride * 4,
    positiveOnly: node.attrs.positiveOnly === true,
  };
}
