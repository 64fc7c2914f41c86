import type { Tensor } from "../tensor";
import { dependencies } from "../walk";

/**
 * What a dump reads of a graph: its nodes in creation order. A Graph is one; the dumps need nothing else of
 * it, so they come after graph.ts in reading order without importing it.
 */
export interface DumpedGraph {
  readonly nodes: readonly Tensor[];
}

/** The nodes a dump shows: all of the graph's, or those the outputs depend on; leaves first, then ops. */
export function nodesToShow(graph: DumpedGraph, outputs?: readonly Tensor[]): Tensor[] {
  let nodes = graph.nodes;
  if (outputs && outputs.length > 0) {
    const needed = dependencies(outputs);
    nodes = nodes.filter((n) => needed.has(n.id));
  }
  const rank = (n: Tensor) => (n.role === "input" ? 0 : n.role === "param" ? 1 : n.role === "state" ? 2 : 3);
  return [...nodes].sort((a, b) => rank(a) - rank(b) || a.id - b.id);
}

export function outputList(outputs?: readonly Tensor[] | Record<string, Tensor>): [string, Tensor][] {
  if (!outputs) return [];
  if (Array.isArray(outputs)) return outputs.map((t, i) => [String(i), t]);
  return Object.entries(outputs);
}

export function formatAttr(v: unknown): string {
  if (v instanceof Float32Array) {
    const shown = Array.from(v.slice(0, 6), (x) => String(x));
    return `[${shown.join(",")}${v.length > 6 ? `,…(${v.length})` : ""}]`;
  }
  if (Array.isArray(v)) return `[${v.join(",")}]`;
  return String(v);
}
