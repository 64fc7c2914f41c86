/**
 * The compiler's graph: an immutable list of nodes in topological order, cut out of a user's Graph for
 * a given set of outputs and updates. Passes map a Program to a new Program; every node remembers the
 * graph node it came from (`origin`), so generated code and errors can name it.
 */
import { type Attrs, dependencies, type Graph, type Shape, Tensor } from "@adjoint/core";

/** One node of a compiler Program: op, input ids, attributes, shape, and the graph node it stands for. */
export interface PNode {
  readonly id: number;
  readonly op: string;
  readonly inputs: readonly number[];
  readonly attrs: Attrs;
  readonly shape: Shape;
  /** For input, param and buffer leaves: the graph's tensor (name, storage). */
  readonly leaf?: Tensor;
  /** The id of the graph node this one stands for (-1 when a pass made it up). */
  readonly origin: number;
}

export interface Update {
  /** The param or buffer leaf written. */
  readonly target: number;
  /** The node whose value it takes, at the end of the step. */
  readonly value: number;
}

/** The compiler's graph: nodes in topological order cut out of a Graph for given outputs and updates. */
export interface Program {
  readonly graph: Graph;
  readonly nodes: readonly PNode[];
  readonly outputs: readonly (readonly [string, number])[];
  readonly updates: readonly Update[];
}

/** Cuts the program computing `outputs` and the assign nodes `updates` out of their graph. */
export function extract(outputs: Record<string, Tensor>, updates: readonly Tensor[] = []): Program {
  const all = [...Object.values(outputs), ...updates];
  if (all.length === 0) throw new Error("compile: nothing to compile (no outputs and no updates)");
  for (const [name, t] of Object.entries(outputs)) {
    if (!(t instanceof Tensor))
      throw new TypeError(`compile: output "${name}" is not a Tensor (got ${String(t)})`);
  }
  const graph = all[0].graph;
  for (const t of all) {
    if (!(t instanceof Tensor)) throw new TypeError(`compile: ${String(t)} is not a Tensor`);
    if (t.graph !== graph) {
      throw new Error(
        `compile: outputs from two different graphs (${all[0].describe()} and ${t.describe()})`,
      );
    }
  }
  for (const u of updates) {
    if (u.op !== "assign") throw new Error(`compile: updates must be assign nodes, got ${u.describe()}`);
  }
  const needed = dependencies(all);
  const nodes: PNode[] = [];
  const map = new Map<number, number>();
  for (const t of graph.nodes) {
    if (!needed.has(t.id) || t.op === "assign") continue;
    map.set(t.id, nodes.length);
    nodes.push({
      id: nodes.length,
      op: t.op,
      inputs: t.inputs.map((i) => map.get(i.id)!),
      attrs: t.attrs,
      shape: t.shape,
      leaf: t.role === "input" || t.role === "param" || t.role === "state" ? t : undefined,
      origin: t.id,
    });
  }
  return {
    graph,
    nodes,
    outputs: Object.entries(outputs).map(([k, t]) => [k, map.get(t.id)!] as const),
    updates: updates.map((u) => ({ target: map.get(u.inputs[0].id)!, value: map.get(u.inputs[1].id)! })),
  };
}

/** Users of each node (the ids of the nodes that read it). */
export function consumers(p: Program): number[][] {
  const users: number[][] = p.nodes.map(() => []);
  for (const n of p.nodes) for (const i of n.inputs) users[i].push(n.id);
  return users;
}

/** Nodes whose value leaves the program: outputs and update values. */
export function liveOut(p: Program): Set<number> {
  return new Set([...p.outputs.map(([, id]) => id), ...p.updates.map((u) => u.value)]);
}

/**
 * Rebuilds a program through `replace`: visiting nodes in order, `replace(node, remapped inputs, emit)`
 * returns the id (in the new program) that stands for the node; `emit` appends a new node.
 */
export function rewrite(
  p: Program,
  replace: (
    node: PNode,
    inputs: number[],
    emit: (n: Omit<PNode, "id">) => number,
    nodes: readonly PNode[],
  ) => number,
): Program {
  const nodes: PNode[] = [];
  const emit = (n: Omit<PNode, "id">) => {
    nodes.push({ ...n, id: nodes.length });
    return nodes.length - 1;
  };
  const map: number[] = [];
  for (const n of p.nodes)
    map[n.id] = replace(
      n,
      n.inputs.map((i) => map[i]),
      emit,
      nodes,
    );
  return {
    graph: p.graph,
    nodes,
    outputs: p.outputs.map(([k, id]) => [k, map[id]] as const),
    updates: p.updates.map((u) => ({ target: map[u.target], value: map[u.value] })),
  };
}

/** Emits a copy of a node with new inputs. */
export function keep(n: PNode, inputs: number[], emit: (n: Omit<PNode, "id">) => number): number {
  return emit({ op: n.op, inputs, attrs: n.attrs, shape: n.shape, leaf: n.leaf, origin: n.origin });
}
