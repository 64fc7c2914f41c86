/**
 * Fusion, an IR-level decision that codegen only renders. Compute nodes are put into groups, each one
 * loop nest:
 *  - elementwise: a maximal set of same-shape elementwise ops (operands may broadcast) in one loop;
 *  - reduce: a reduction, absorbing the elementwise group that only feeds it (sum(x·y): no temporary);
 *  - matmul: a matmul, absorbing the elementwise group that only consumes it as an epilogue (bias-add,
 *    activation);
 *  - copy: pad, concat, or a view that must own its memory.
 * Groups run in creation order; a node joins a group only if everything it reads from outside the group
 * is computed before that group runs, so the order stays valid.
 */
import { getOp, type Shape, sameShape } from "@adjoint/core";
import { consumers, liveOut, type Program } from "../program";
import { isContiguous, isScalarConst, Views } from "./views";

export type GroupKind = "elementwise" | "reduce" | "matmul" | "copy";

/** One fused loop nest: elementwise nodes, a reduction with its prologue, or a matmul with its epilogue. */
export interface Group {
  id: number;
  kind: GroupKind;
  /** Members in evaluation order (reduce: prologue, then the reduction; matmul: the matmul, then the epilogue). */
  nodes: number[];
  /** The reduction or matmul a group is built around. */
  root?: number;
  /** Members whose values are stored (read outside the group, or leaving the program). */
  outputs: number[];
}

/** A program partitioned into fused groups, with the views (reshapes, broadcasts) resolved. */
export interface Schedule {
  program: Program;
  views: Views;
  groups: Group[];
  /** Group of each compute node. */
  groupOf: Map<number, Group>;
}

/**
 * Groups the program into loop nests: elementwise chains fused, reductions with prologues, matmuls with
 * epilogues (each node alone when fusion is false).
 */
export function fuse(p: Program, options: { fusion?: boolean } = {}): Schedule {
  const enabled = options.fusion !== false;
  const views = materializeViews(p);
  const out = liveOut(p);
  const users = consumers(p);
  const groups: Group[] = [];
  const groupOf = new Map<number, Group>();
  const isCompute = (id: number) => {
    const n = p.nodes[id];
    return !n.leaf && (n.op !== "const" || views.materialized.has(id)) && !views.isView(id);
  };
  let early = 0;
  /** `atStart`: the group reads only leaves, so it may run before everything else (ids below 0). */
  const newGroup = (kind: GroupKind, id: number, atStart = false): Group => {
    const g: Group = {
      id: atStart ? -1e9 + early++ : groups.length,
      kind,
      nodes: [id],
      outputs: [],
      root: kind === "reduce" || kind === "matmul" ? id : undefined,
    };
    groups.push(g);
    groupOf.set(id, g);
    return g;
  };
  /** Whether group g may read node `input` when it runs (it is a leaf, a constant or computed before). */
  const readable = (input: number, g: Group, loopShape: Shape): boolean => {
    const a = views.access(input)!;
    if (a.kind === "scalar") return true;
    const base = a.base;
    const bg = groupOf.get(base);
    if (!bg) return true; // leaf or constant data
    if (bg === g) return input === base && sameShape(p.nodes[base].shape, loopShape);
    return bg.id < g.id;
  };

  /**
   * Elementwise nodes that read only leaves and constants (an optimizer's m·β1, bias corrections) have no
   * place of their own in the order: they wait here and are pulled into the group of their first consumer,
   * or get a group when something else needs them stored.
   */
  const pending = new Set<number>();
  const baseOf = (i: number) => {
    const a = views.access(i)!;
    return a.kind === "scalar" ? null : a.base;
  };
  /** Gives a waiting node a group of its own now, with the waiting nodes it reads pulled in before it. */
  const flush = (id: number) => {
    if (!pending.has(id)) return;
    pending.delete(id);
    // It reads only leaves (pre-step values): it runs at the start of the step, so that the loops that
    // read it can still fuse with what comes before them (Adam's bias corrections, scalars from the lr).
    // (Unless something it read while waiting has since been given a group: then it runs here, after it.)
    // A node of a group that itself runs at the start (the step count t + 1 that both bias corrections
    // read) counts as such a pre-step value: Adam's lr / (1 − β1^t) joins the start too, and the update
    // that scales by it fuses with the loop computing m / (√v̂ + ε) instead of getting a pass of its own.
    const leavesOnly = (n: number): boolean =>
      p.nodes[n].inputs.every((i) => {
        const b = baseOf(i);
        if (b === null) return true;
        if (pending.has(b)) return leavesOnly(b);
        const bg = groupOf.get(b);
        return bg === undefined || bg.id < 0;
      });
    const g = newGroup("elementwise", id, leavesOnly(id));
    for (const i of p.nodes[id].inputs) pull(i, g);
    g.nodes.push(g.nodes.shift()!);
  };
  /** Moves a waiting node (and the waiting nodes it reads) into group g, before its consumer. */
  const pull = (id: number, g: Group) => {
    if (!pending.has(id)) return;
    pending.delete(id);
    for (const i of p.nodes[id].inputs) if (pending.has(i)) pull(i, g);
    g.nodes.push(id);
    groupOf.set(id, g);
  };
  const pullable = (i: number, shape: Shape) => pending.has(i) && sameShape(p.nodes[i].shape, shape);
  /**
   * Whether a waiting node can run inside group g: what it reads must be ready by then (a node it read
   * while waiting may have been given a later group since).
   */
  const canPull = (id: number, g: Group): boolean =>
    p.nodes[id].inputs.every((i) => (pending.has(i) ? canPull(i, g) : readable(i, g, p.nodes[id].shape)));

  /**
   * A 0/1 mask of a value that is stored anyway (relu's derivative step(y), read only by the backward)
   * waits like a leaf-only node and is pulled into its consumer's loop: recomputing one comparison there
   * is cheaper than storing the mask in the forward loop and loading it back.
   */
  const isDeferredMask = (id: number): boolean => {
    const n = p.nodes[id];
    if (n.op !== "step" || out.has(id)) return false;
    const b = baseOf(n.inputs[0]);
    return b !== null && groupOf.has(b) && !pending.has(b);
  };

  for (const n of p.nodes) {
    if (!isCompute(n.id)) continue;
    const kind = getOp(n.op).kind;
    if (kind === "elementwise" && enabled) {
      // Waiting inputs that cannot be pulled in (read through a view, another shape) are placed now.
      for (const i of n.inputs) {
        const b = baseOf(i);
        if (b !== null && pending.has(b) && !pullable(i, n.shape)) flush(b);
      }
      const sourceOnly = n.inputs.every((i) => {
        const b = baseOf(i);
        return b === null || (!groupOf.has(b) && !isCompute(b)) || pullable(i, n.shape);
      });
      if (sourceOnly || isDeferredMask(n.id)) {
        pending.add(n.id);
        continue;
      }
      const candidates = [...new Set(n.inputs.map((i) => groupOf.get(i)))]
        .filter(
          (g): g is Group =>
            g !== undefined && g.kind === "elementwise" && sameShape(p.nodes[g.nodes[0]].shape, n.shape),
        )
        .sort((a, b) => b.id - a.id);
      const fits = (g: Group) =>
        n.inputs.every((i) => (pending.has(i) ? canPull(i, g) : readable(i, g, n.shape)));
      // Else a sibling: the latest loop of this shape that runs after everything n reads (two consumers
      // of one gradient, m and v in Adam, then share one loop, and can become the matmul's epilogue).
      const after = Math.max(-1, ...n.inputs.map((i) => groupOf.get(baseOf(i) ?? -1)?.id ?? -1));
      const sibling = () => {
        for (let k = groups.length - 1; k >= 0 && groups[k].id > after; k--) {
          const g = groups[k];
          if (g.kind === "elementwise" && sameShape(p.nodes[g.nodes[0]].shape, n.shape) && fits(g)) return g;
        }
        return undefined;
      };
      const joined = candidates.find(fits) ?? sibling();
      const g = joined ?? newGroup("elementwise", n.id);
      for (const i of n.inputs) pull(i, g);
      if (joined) {
        joined.nodes.push(n.id);
        groupOf.set(n.id, joined);
      } else {
        // newGroup put n first: the pulled inputs must come before it.
        g.nodes.push(g.nodes.shift()!);
      }
      continue;
    }
    for (const i of n.inputs) {
      const b = baseOf(i);
      if (b !== null) flush(b);
    }
    const groupKind =
      n.op === "const"
        ? "copy"
        : kind === "elementwise" || kind === "reduce" || kind === "matmul"
          ? kind
          : "copy";
    newGroup(groupKind, n.id);
  }

  // Latest first, so that each pulls in the waiting nodes it reads.
  for (const id of [...pending].reverse()) flush(id);

  // Which members are stored: read from another group, read through a view, or leaving the program.
  const readers = (id: number): number[] =>
    users[id].flatMap((u) => (views.isView(u) ? [u, ...readers(u)] : [u]));
  const computeOutputs = () => {
    for (const g of groups) {
      g.outputs = g.nodes.filter(
        (id) =>
          out.has(id) ||
          readers(id).some((u) => views.isView(u) || groupOf.get(u) !== g) ||
          g.kind === "copy",
      );
    }
  };
  computeOutputs();

  if (enabled) {
    const removed = new Set<Group>();
    for (const g of groups) {
      if (g.kind === "reduce") absorbPrologue(g);
      if (g.kind === "matmul") absorbEpilogue(g);
    }
    function absorbPrologue(r: Group) {
      const x = p.nodes[r.root!].inputs[0];
      const pg = groupOf.get(x);
      if (!pg || pg.kind !== "elementwise" || removed.has(pg) || views.isView(x)) return;
      if (pg.outputs.length !== 1 || pg.outputs[0] !== x || out.has(x) || readers(x).length !== 1) return;
      r.nodes = [...pg.nodes, r.root!];
      for (const id of pg.nodes) groupOf.set(id, r);
      removed.add(pg);
    }
    function absorbEpilogue(m: Group) {
      const mm = m.root!;
      const rs = readers(mm);
      if (out.has(mm) || rs.length === 0 || rs.some((u) => views.isView(u))) return;
      const eg = groupOf.get(rs[0]);
      if (!eg || eg.kind !== "elementwise" || removed.has(eg) || rs.some((u) => groupOf.get(u) !== eg))
        return;
      if (!sameShape(p.nodes[eg.nodes[0]].shape, p.nodes[mm].shape)) return;
      // Everything else the epilogue reads must be ready when the matmul runs.
      for (const id of eg.nodes) {
        for (const i of p.nodes[id].inputs) {
          if (i === mm) continue;
          const a = views.access(i)!;
          if (a.kind === "scalar") continue;
          const bg = groupOf.get(a.base);
          if (bg && bg !== eg && bg.id >= m.id) return;
          if (bg === eg && a.base !== i) return;
        }
      }
      m.nodes = [mm, ...eg.nodes];
      for (const id of eg.nodes) groupOf.set(id, m);
      removed.add(eg);
    }
    const kept = groups.filter((g) => !removed.has(g));
    groups.length = 0;
    groups.push(...kept);
    computeOutputs();
  }
  // Run order: groups placed at the start first, then by creation; ids become positions.
  groups.sort((a, b) => a.id - b.id);
  groups.forEach((g, i) => {
    g.id = i;
  });
  return { program: p, views, groups, groupOf };
}

/**
 * Decides which view nodes must own their memory: the source of a reshape that cannot be a view, and
 * a non-contiguous view leaving the program (outputs are plain Float32Array views).
 */
function materializeViews(p: Program): Views {
  const materialized = new Set<number>();
  const out = liveOut(p);
  for (;;) {
    const views = new Views(p, materialized);
    let changed = false;
    for (const n of p.nodes) {
      if (out.has(n.id) && isScalarConst(n) && !materialized.has(n.id)) {
        materialized.add(n.id);
        changed = true;
        break;
      }
      // A matmul reads its operands from memory: a broadcast constant (the cotangent 1) gets a copy.
      if (n.op === "matmul") {
        const constant = n.inputs.find((i) => views.access(i)?.kind === "scalar" && !materialized.has(i));
        if (constant !== undefined) {
          materialized.add(constant);
          changed = true;
          break;
        }
      }
      if (!views.isView(n.id)) continue;
      const a = views.access(n.id);
      if (a === null) {
        materialized.add(n.inputs[0]);
        changed = true;
        break;
      }
      if (out.has(n.id) && (a.kind === "scalar" || !isContiguous(a))) {
        materialized.add(n.id);
        changed = true;
        break;
      }
    }
    if (!changed) return views;
  }
}
