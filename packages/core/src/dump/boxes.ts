/**
 * The module-level view of a training graph: which box each node belongs to. A training step of even a
 * small MLP has hundreds of nodes (forward, the adjoint graph, one optimizer update per parameter), which
 * is what makes node-level drawings of real models unreadable; here each module's forward ops form one
 * box, its gradient ops another, and the optimizer's update of each parameter (its ops and its state
 * buffers) a third kind, so a 784→128→10 MLP trained with Adam opens as about a dozen boxes.
 *
 * A node's chain is the list of boxes it sits in, outermost first:
 *   forward op in scope "enc.fc1"      m:enc, m:enc.fc1
 *   gradient op in scope "enc.fc1"     g:enc, g:enc.fc1
 *   update op / state of param "0.weight"   u:0.weight
 *   inputs, params, other buffers      (none: drawn as nodes, the graph's sources)
 * Forward ops outside any module (a loss) are in "m:" and gradient ops outside any module in "g:".
 * Which update an op belongs to is found from the assign nodes: the ops only an update depends on (neither
 * the outputs nor the gradients need them) belong to the first param's assign that reaches them; a state
 * buffer's assign joins the update its value comes from (Adam's exp_avg feeds the weight's update).
 */
import type { Tensor } from "../tensor";
import { dependencies } from "../walk";

export interface Box {
  key: string;
  kind: "module" | "grad" | "update";
  /** The module path or the parameter name ("" for the top level). */
  path: string;
  parent: string | null;
  /** Nodes directly in this box (not in a nested box). */
  nodes: Tensor[];
  /** Every node in the box and its nested boxes. */
  all: Tensor[];
}

export interface BoxLayout {
  /** Node id -> its chain of box keys, outermost first (absent for nodes drawn on their own). */
  chains: Map<number, string[]>;
  boxes: Map<string, Box>;
}

export function boxLayout(nodes: readonly Tensor[], outputs: readonly Tensor[]): BoxLayout {
  const shown = new Set(nodes.map((n) => n.id));
  const assigns = nodes.filter((n) => n.op === "assign");
  const forward = dependencies(outputs.filter((t) => t.op !== "assign"));
  const isUpdateOp = (n: Tensor) =>
    shown.has(n.id) && n.role === "op" && n.op !== "const" && !n.isGradient && !forward.has(n.id);

  // Update ownership: param assigns first, then state assigns (which join the update they read from).
  const owner = new Map<number, string>();
  const cone = (a: Tensor): Tensor[] => {
    const out: Tensor[] = [];
    const seen = new Set<number>();
    const stack = [a];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n.id) || !isUpdateOp(n)) continue;
      seen.add(n.id);
      out.push(n);
      for (const i of n.inputs) stack.push(i);
    }
    return out;
  };
  for (const a of assigns) {
    const target = a.inputs[0];
    if (target.role !== "param") continue;
    for (const n of cone(a)) if (!owner.has(n.id)) owner.set(n.id, target.name!);
  }
  for (const a of assigns) {
    const target = a.inputs[0];
    if (target.role === "param") continue;
    const ops = cone(a);
    const joined = ops.map((n) => owner.get(n.id)).find((o) => o !== undefined) ?? target.name!;
    for (const n of ops) if (!owner.has(n.id)) owner.set(n.id, joined);
    if (!owner.has(target.id)) owner.set(target.id, joined);
  }

  const chains = new Map<number, string[]>();
  const scoped = (prefix: "m" | "g", scope: string) => {
    if (scope === "") return [`${prefix}:`];
    const parts = scope.split(".");
    return parts.map((_, i) => `${prefix}:${parts.slice(0, i + 1).join(".")}`);
  };
  for (const n of nodes) {
    if (n.op === "const") continue;
    const o = owner.get(n.id);
    if (o !== undefined) chains.set(n.id, [`u:${o}`]);
    else if (n.role !== "op") continue;
    else if (n.isGradient) chains.set(n.id, scoped("g", n.scope));
    else if (forward.has(n.id)) chains.set(n.id, scoped("m", n.scope));
    else chains.set(n.id, [`u:${n.scope}`]);
  }
  // A constant goes where its first consumer is (it only matters when that box is open).
  for (const n of nodes) {
    for (const i of n.inputs) {
      if (i.op === "const" && !chains.has(i.id) && chains.has(n.id)) chains.set(i.id, chains.get(n.id)!);
    }
  }

  const boxes = new Map<string, Box>();
  for (const n of nodes) {
    const chain = chains.get(n.id);
    if (!chain) continue;
    chain.forEach((key, i) => {
      let box = boxes.get(key);
      if (!box) {
        const kind = key[0] === "m" ? "module" : key[0] === "g" ? "grad" : "update";
        box = { key, kind, path: key.slice(2), parent: i > 0 ? chain[i - 1] : null, nodes: [], all: [] };
        boxes.set(key, box);
      }
      box.all.push(n);
      if (i === chain.length - 1) box.nodes.push(n);
    });
  }
  return { chains, boxes };
}
