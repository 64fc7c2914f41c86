/**
 * Assembles the step: ONE flat function that runs every group in schedule order, then the updates that
 * were not written in place, over the heap F. Comments name the graph nodes of each group, numbered as
 * in graph.toText(), so the source maps back to the graph.
 */

import { describeOp, formatShape, id, member, nodesToShow, num, type Tensor } from "@adjoint/core";
import { generate } from "astring";
import type { MemoryPlan } from "../memory/plan";
import type { Schedule } from "../schedule/fuse";
import type { Access } from "../schedule/views";
import { affine, assign, block, call, exprStmt, load, loopNest, note, ret, type Stmt } from "./ast";
import { collapse, contiguous, stridesIn } from "./loops";
import { jobsProgram, type ParallelBuild, parallelBuild } from "./parallel";
import { type GroupTimer, groupTimer } from "./profile";
import { finiteChecks, RENDERERS, type RenderContext, type Renderer } from "./render";

export interface GeneratedStep {
  /** The body of the kernel factory: `return function step() {...}` (parameters: F, wasm (the kernels), par (the thread pool)). */
  source: string;
  externals: Map<string, (...args: number[]) => void>;
  listings: Map<string, () => string>;
  /** The toText() number of every graph node, for messages and comments. */
  textNumber: Map<number, number>;
  /** With threads > 1 and at least one parallel job: the workers' program and modules (see parallel.ts). */
  parallel?: { jobsSource: string; build: ParallelBuild };
  /** With `profile`: the step's timer (wasm.tick) and each group's comment line (then the updates'). */
  profile?: { timer: GroupTimer; headers: string[] };
}

export interface StepOptions {
  checkFinite?: boolean;
  /** Per group kind, a renderer to use instead of the JS loops (the wasm matmul). */
  renderers?: Partial<Record<string, Renderer>>;
  /** Split the large products and loops over this many threads (default 1: no parallel jobs). */
  threads?: number;
  /** Products below this many multiply-adds stay on one thread (default THREAD_MIN_MACS). */
  threadMinMacs?: number;
  /** Elementwise loops and reductions over fewer elements stay on one thread (default THREAD_MIN_ELEMENTS). */
  threadMinElements?: number;
  /** Slices per thread of each parallel job (default SLICES_PER_THREAD). */
  slicesPerThread?: number;
  /** Time every group (profile.ts): a call to wasm.tick where each starts, and at the end. */
  profile?: boolean;
}

/**
 * Generates the source of the one step function for a fused schedule and its memory plan (ESTree, printed by
 * astring).
 */
export function generateStep(s: Schedule, plan: MemoryPlan, options: StepOptions = {}): GeneratedStep {
  const p = s.program;
  const textNumber = new Map<number, number>();
  for (const [i, t] of nodesToShow(p.graph).entries()) textNumber.set(t.id, i);
  const describe = (nodeId: number) => {
    const t: Tensor = p.graph.nodes[p.nodes[nodeId].origin];
    if (!t) return `(made by the compiler) ${p.nodes[nodeId].op} : f32${formatShape(p.nodes[nodeId].shape)}`;
    return `%${textNumber.get(t.id)} = ${describeOp(t, (x) => `%${textNumber.get(x.id)}`)} : f32${formatShape(t.shape)}`;
  };

  const ctx: RenderContext = {
    schedule: s,
    plan,
    externals: new Map(),
    listings: new Map(),
    parallel:
      (options.threads ?? 1) > 1
        ? parallelBuild(
            options.threads!,
            options.threadMinMacs,
            options.slicesPerThread,
            options.threadMinElements,
          )
        : undefined,
  };
  const body: Stmt[] = [];
  const timer = options.profile ? groupTimer(s.groups.length) : undefined;
  const headers: string[] = [];
  if (timer) ctx.externals.set("tick", timer.tick);
  const tick = (group: number) => exprStmt(call(member(id("wasm"), "tick"), [num(group)]));
  s.groups.forEach((g, gi) => {
    const render = options.renderers?.[g.kind] ?? RENDERERS[g.kind];
    const scope = p.graph.nodes[p.nodes[g.nodes[0]].origin]?.scope;
    const stmts = render(g, ctx);
    if (options.checkFinite) stmts.push(...finiteChecks(g, ctx));
    const header = `group ${gi}: ${g.kind}${scope ? ` in ${scope}` : ""}, ${g.nodes.length} op${g.nodes.length > 1 ? "s" : ""} -> stores ${g.outputs.map((o) => `%${textNumber.get(p.nodes[o].origin) ?? "?"}`).join(", ")}`;
    if (timer) {
      headers.push(header);
      body.push(tick(gi));
    }
    body.push(commented(stmts, header, ...g.nodes.map((n) => `  ${describe(n)}`)));
  });
  if (timer) {
    headers.push("updates not written in place, copied at the end");
    body.push(tick(s.groups.length));
  }

  // Updates not written in place: copied at the end. All of a step's updates read the values from before
  // the step, so a copy whose source is itself an update's target (a swap, prev <- W) reads a snapshot.
  const targets = new Set(p.updates.map((u) => u.target));
  const copies = p.updates.filter((u) => !plan.inPlaceUpdates.has(u.value));
  const snapshots: Stmt[] = [];
  const writes: Stmt[] = [];
  for (const u of copies) {
    const target = p.nodes[u.target];
    let src = s.views.access(u.value)!;
    if (src.kind === "buffer" && targets.has(src.base)) {
      const floats = target.shape.reduce((n, d) => n * d, 1);
      const staging = p.graph.memory.allocate(floats) / 4;
      snapshots.push(...copyLoop(target.shape, staging, src, plan));
      src = {
        kind: "buffer",
        base: -1,
        offset: staging,
        shape: target.shape,
        strides: contiguous(target.shape),
      };
    }
    const stmts = copyLoop(target.shape, plan.location.get(u.target)!, src, plan);
    writes.push(commented(stmts, `update ${target.leaf?.name ?? ""} <- ${describe(u.value)}`));
  }
  if (snapshots.length > 0)
    body.push(commented(snapshots, "snapshot update sources that are themselves updated"));
  body.push(...writes);
  if (timer) body.push(tick(-1));
  body.push(ret(num(-1)));

  const stepFn = {
    type: "FunctionExpression",
    id: id("step"),
    params: [],
    body: { type: "BlockStatement", body },
    generator: false,
    async: false,
  };
  const program = note(
    { type: "Program", sourceType: "script", body: [{ type: "ReturnStatement", argument: stepFn }] } as Stmt,
    `adjoint kernel: ${s.groups.length} loop nests over ${p.nodes.length} nodes; F is the graph's memory as float32`,
    `outputs: ${p.outputs.map(([k, o]) => `${k} ${formatShape(p.nodes[o].shape)}`).join(", ") || "none"}; updates: ${p.updates.length}; scratch at F[${plan.scratch}]`,
  );
  const jobs = ctx.parallel;
  return {
    source: generate(program as never, { comments: true }),
    externals: ctx.externals,
    listings: ctx.listings,
    textNumber,
    profile: timer && { timer, headers },
    parallel:
      jobs && jobs.jobs.length > 0
        ? { jobsSource: generate(jobsProgram(jobs) as never, { comments: true }), build: jobs }
        : undefined,
  };
}

/** A block (so each group's locals are its own) whose first statement carries the comments. */
function commented(stmts: Stmt[], ...lines: string[]): Stmt {
  if (stmts.length > 0) note(stmts[0], ...lines);
  return block(stmts);
}

/** dst[i] = src at i, over a shape (src may be strided, broadcast or a constant; base -1: offset is absolute). */
function copyLoop(shape: readonly number[], dst: number, src: Access, plan: MemoryPlan): Stmt[] {
  const out = contiguous(shape);
  const lists = [out, stridesIn(src, shape)];
  const { dims, map } = collapse(shape, lists);
  const srcBase =
    src.kind === "buffer" ? (src.base === -1 ? src.offset : plan.location.get(src.base)! + src.offset) : 0;
  return loopNest("i", dims, (vars) => [
    assign(
      load(affine(dst, vars, map(out))),
      src.kind === "scalar" ? num(src.value) : load(affine(srcBase, vars, map(lists[1]))),
    ),
  ]);
}
