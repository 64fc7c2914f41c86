/** Small graph helpers shared by modules, optimizers and steps. */
import type { Graph, Tensor } from "@adjoint/core";

/** Every node some output depends on (outputs included), as a boolean per node id. */
export function ancestors(outputs: readonly Tensor[]): boolean[] {
  if (outputs.length === 0) return [];
  const nodes = outputs[0].graph.nodes;
  const last = Math.max(...outputs.map((t) => t.id));
  const seen = new Array<boolean>(last + 1).fill(false);
  for (const t of outputs) seen[t.id] = true;
  for (let id = last; id >= 0; id--) {
    if (!seen[id]) continue;
    for (const t of nodes[id].inputs) seen[t.id] = true;
  }
  return seen;
}

/** The trainable params (requiresGrad) that `loss` depends on, in creation order. */
export function trainableParamsOf(loss: Tensor): Tensor[] {
  const seen = ancestors([loss]);
  return loss.graph.params.filter((p) => p.requiresGrad && seen[p.id]);
}

/** `base` if the graph has no leaf of that name, else base_1, base_2, ... */
export function uniqueName(g: Graph, base: string): string {
  if (!g.has(base)) return base;
  for (let i = 1; ; i++) {
    const name = `${base}_${i}`;
    if (!g.has(name)) return name;
  }
}

/**
 * Updates that must run with every step whose outputs depend on a given buffer, such as the dropout step
 * counter's increment. Registered by whoever creates such a buffer; collected by trainStep (and by
 * `stateUpdates` for users who compile by hand).
 */
const auxiliaryUpdates = new WeakMap<Graph, { update: Tensor; trigger: Tensor }[]>();

/**
 * `trigger` (default: the update's target) says when the update runs: with every step whose outputs depend
 * on it. The dropout counter's increment is triggered by the counter; BatchNorm's running statistics by the
 * output of the train-mode build that computed the batch statistics.
 */
export function registerStateUpdate(update: Tensor, trigger: Tensor = update.inputs[0]): void {
  if (update.op !== "assign") throw new Error(`registerStateUpdate: ${update.describe()} is not an assign`);
  if (trigger.graph !== update.graph)
    throw new Error("registerStateUpdate: the trigger belongs to another graph");
  const list = auxiliaryUpdates.get(update.graph) ?? [];
  if (!list.some((u) => u.update === update)) list.push({ update, trigger });
  auxiliaryUpdates.set(update.graph, list);
}

/**
 * The registered state updates (e.g. the dropout counter's increment, BatchNorm's running statistics) that
 * these outputs need: those whose trigger some output depends on. Pass them with the optimizer's updates
 * when compiling by hand.
 */
export function stateUpdates(outputs: readonly Tensor[]): Tensor[] {
  if (outputs.length === 0) return [];
  const list = auxiliaryUpdates.get(outputs[0].graph) ?? [];
  const seen = ancestors(outputs);
  return list.filter((u) => seen[u.trigger.id] === true).map((u) => u.update);
}

/** The exact (float64) fill value a buffer was created with, for the float64 reference engine. */
const exactFills = new WeakMap<Tensor, number>();

/** g.buffer, remembering the exact fill value (float32 storage rounds e.g. 0.1). */
export function exactBuffer(g: Graph, name: string, shape: readonly number[], fill = 0): Tensor {
  const t = g.buffer(name, shape, fill);
  exactFills.set(t, fill);
  return t;
}

export function exactFillOf(t: Tensor): number | undefined {
  return exactFills.get(t);
}
