/**
 * Assembles the step: ONE flat function that runs every group in schedule order, then the updates that
 * were not written in place, over the heap F. Comments name the graph nodes of each group, numbered as
 * in graph.toText(), so the source maps back to the graph.
 */
import { generate } from "astring";
import { describeOp, formatShape, id, nodesToShow, num, type Tensor } from "@adjoint/core";
import type { MemoryPlan } from "../memory/plan";
import type { Schedule } from "../schedule/fuse";
import { affine, assign, block, load, loopNest, note, ret, type Stmt } from "./ast";
import { collapse, contiguous, stridesIn } from "./loops";
import { finiteChecks, RENDERERS, type RenderContext, type Renderer } from "./render";

export interface GeneratedStep {
  /** The body of the kernel factory: `return function step() {...}` (parameters: F and wasm, the kernels). */
  source: string;
  externals: Map<string, () => void>;
  /** The toText() number of every graph node, for messages and comments. */
  textNumber: Map<number, number>;
}

export interface StepOptions {
  checkFinite?: boolean;
  wasm?: boolean;
  /** Per group kind, a renderer to use instead of the JS loops (the wasm matmul). */
  renderers?: Partial<Record<string, Renderer>>;
}

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
    options: { wasm: options.wasm ?? false },
  };
  const body: Stmt[] = [];
  s.groups.forEach((g, gi) => {
    const render = options.renderers?.[g.kind] ?? RENDERERS[g.kind];
    const scope = p.graph.nodes[p.nodes[g.nodes[0]].origin]?.scope;
    const stmts = render(g, ctx);
    if (options.checkFinite) stmts.push(...finiteChecks(g, ctx));
    const header = `group ${gi}: ${g.kind}${scope ? ` in ${scope}` : ""}, ${g.nodes.length} op${g.nodes.length > 1 ? "s" : ""} -> stores ${g.outputs.map((o) => `%${textNumber.get(p.nodes[o].origin) ?? "?"}`).join(", ")}`;
    body.push(commented(stmts, header, ...g.nodes.map((n) => `  ${describe(n)}`)));
  });

  // Updates not written in place: copied at the end, so every update reads the values from before the step.
  for (const u of p.updates) {
    if (plan.inPlaceUpdates.has(u.value)) continue;
    const target = p.nodes[u.target];
    const src = s.views.access(u.value)!;
    const out = contiguous(target.shape);
    const lists = [out, stridesIn(src, target.shape)];
    const { dims, map } = collapse(target.shape, lists);
    const stmts = loopNest("i", dims, (vars) => [
      assign(
        load(affine(plan.location.get(u.target)!, vars, map(out))),
        src.kind === "scalar"
          ? num(src.value)
          : load(affine(plan.location.get(src.base)! + src.offset, vars, map(lists[1]))),
      ),
    ]);
    body.push(commented(stmts, `update ${target.leaf?.name ?? ""} <- ${describe(u.value)}`));
  }
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
  return { source: generate(program as never, { comments: true }), externals: ctx.externals, textNumber };
}

/** A block (so each group's locals are its own) whose first statement carries the comments. */
function commented(stmts: Stmt[], ...lines: string[]): Stmt {
  if (stmts.length > 0) note(stmts[0], ...lines);
  return block(stmts);
}
