/**
 * The reference interpreter: float64, one op at a time, plain and obviously correct. It is the oracle
 * every compiled kernel is tested against.
 */
import { checkFeed, checkFeedNames, type Feeds } from "./feeds";
import { getOp } from "./ops/registry";
import { formatShape } from "./shape";
import { Tensor } from "./tensor";
import { dependencies } from "./walk";

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Write the values of requested assign nodes into their targets' storage (after all are computed). */
  applyUpdates?: boolean;
}

/**
 * Computes tensors with the float64 reference interpreter, one op at a time (clear, slow: the oracle the
 * compiled kernels are tested against). Inputs come from `feeds` by name, params and buffers from their
 * storage.
 * @example
 * ```ts
 * const g = new Graph();
 * const x = g.input("x", [2]);
 * evaluate(x.exp().sum(), { x: [0, 1] });              // Float64Array [3.718281828459045]
 * evaluate({ s: x.sum(), m: x.max() }, { x: [0, 1] }); // { s: Float64Array [1], m: Float64Array [1] }
 * ```
 */
export function evaluate(outputs: Tensor, feeds?: Feeds, options?: EvaluateOptions): Float64Array;
/** The values of several tensors, in order (see the first form). */
export function evaluate(
  outputs: readonly Tensor[],
  feeds?: Feeds,
  options?: EvaluateOptions,
): Float64Array[];
/** The values of named tensors, by the same names (see the first form). */
export function evaluate<T extends Record<string, Tensor>>(
  outputs: T,
  feeds?: Feeds,
  options?: EvaluateOptions,
): { [K in keyof T]: Float64Array };
export function evaluate(
  outputs: Tensor | readonly Tensor[] | Record<string, Tensor>,
  feeds: Feeds = {},
  options: EvaluateOptions = {},
): unknown {
  const list: Tensor[] =
    outputs instanceof Tensor ? [outputs] : Array.isArray(outputs) ? [...outputs] : Object.values(outputs);
  if (list.length === 0) throw new Error("evaluate: no outputs given");
  for (const t of list) {
    if (!(t instanceof Tensor)) throw new TypeError(`evaluate: output ${String(t)} is not a Tensor`);
    if (t.graph !== list[0].graph) throw new Error("evaluate: the outputs belong to different graphs");
  }
  const graph = list[0].graph;
  checkFeedNames("evaluate", graph, feeds);
  const values = run(list, feeds);
  if (options.applyUpdates) {
    for (const t of list) {
      if (t.op === "assign") t.inputs[0].value.set(values.get(t.id)!);
    }
  }
  const pick = (t: Tensor) => values.get(t.id)!;
  if (outputs instanceof Tensor) return pick(outputs);
  if (Array.isArray(outputs)) return outputs.map(pick);
  return Object.fromEntries(Object.entries(outputs).map(([k, t]) => [k, pick(t)]));
}

function run(outputs: readonly Tensor[], feeds: Feeds): Map<number, Float64Array> {
  const graph = outputs[0].graph;
  const needed = dependencies(outputs);
  const last = outputs.reduce((m, t) => Math.max(m, t.id), 0);
  const values = new Map<number, Float64Array>();
  for (let id = 0; id <= last; id++) {
    if (!needed.has(id)) continue;
    const node = graph.nodes[id];
    values.set(id, computeNode(node, feeds, values));
  }
  return values;
}

function computeNode(node: Tensor, feeds: Feeds, values: Map<number, Float64Array>): Float64Array {
  const name = node.name ?? "";
  switch (node.role) {
    case "input": {
      if (!(name in feeds)) {
        throw new Error(`evaluate: missing feed for input "${name}" ${formatShape(node.shape)}`);
      }
      return Float64Array.from(checkFeed("evaluate", node, feeds[name]));
    }
    case "param":
    case "state":
      return Float64Array.from(name in feeds ? checkFeed("evaluate", node, feeds[name]) : node.value);
    default:
      return getOp(node.op).evaluate(
        node.inputs.map((t) => values.get(t.id)!),
        node,
      );
  }
}
