/**
 * Graphviz DOT in the manner of pytorchviz's make_dot, but readable on real models: nodes grouped into
 * clusters by module path (and, from the compiler, by fused group), gradient nodes in another color.
 * Built by iterating the node list: no recursion limit on deep graphs.
 */
import type { Tensor } from "../tensor";
import { type DotOptions, nodeLine, quote } from "./dot-parts";
import { toModuleDot } from "./module-dot";
import { type DumpedGraph, nodesToShow, outputList } from "./select";

export type { DotOptions } from "./dot-parts";

/**
 * The graph (or what `outputs` depend on) as Graphviz DOT: ops, leaves and shapes; fused groups and modules
 * as clusters; gradient nodes in orange.
 * @example
 * ```ts
 * const svg = await renderSvg(toDot(g, { outputs: { loss } }));
 * ```
 */
export function toDot(graph: DumpedGraph, options: DotOptions = {}): string {
  if (options.view === "modules") return toModuleDot(graph, options);
  const outs = outputList(options.outputs);
  const outputIds = new Map(outs.map(([k, t]) => [t.id, k]));
  const nodes = nodesToShow(
    graph,
    outs.map(([, t]) => t),
  );
  const shown = new Set(nodes.map((n) => n.id));

  // Nest nodes: module path segments, then a fused group, as a tree of clusters.
  type Cluster = { label: string; children: Map<string, Cluster>; nodes: Tensor[] };
  const root: Cluster = { label: "", children: new Map(), nodes: [] };
  // A fused group may span modules (an epilogue's activation, the next layer's gradient): it is drawn
  // once, inside the deepest module that holds all of its nodes.
  const groupScope = new Map<string, string[]>();
  for (const n of nodes) {
    const group = options.groups?.get(n.id);
    if (group === undefined) continue;
    const path = n.scope ? n.scope.split(".") : [];
    const prev = groupScope.get(group);
    if (!prev) groupScope.set(group, path);
    else {
      let i = 0;
      while (i < prev.length && i < path.length && prev[i] === path[i]) i++;
      groupScope.set(group, prev.slice(0, i));
    }
  }
  for (const n of nodes) {
    let c = root;
    const group = options.groups?.get(n.id);
    const path = group !== undefined ? groupScope.get(group)! : n.scope ? n.scope.split(".") : [];
    const keys = [
      ...path.map((_, i) => `m:${path.slice(0, i + 1).join(".")}`),
      ...(group ? [`g:${group}`] : []),
    ];
    for (const key of keys) {
      let child = c.children.get(key);
      if (!child) {
        child = { label: key, children: new Map(), nodes: [] };
        c.children.set(key, child);
      }
      c = child;
    }
    c.nodes.push(n);
  }

  const lines = [
    "digraph adjoint {",
    `  graph [rankdir=TB, fontname="Helvetica", fontsize=10${options.title ? `, label=${quote(options.title)}` : ""}];`,
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=8];',
  ];
  let clusterCount = 0;
  const stack: { cluster: Cluster; depth: number; close: boolean }[] = [
    { cluster: root, depth: 1, close: false },
  ];
  while (stack.length > 0) {
    const { cluster, depth, close } = stack.pop()!;
    const pad = "  ".repeat(depth);
    if (close) {
      lines.push(`${"  ".repeat(depth - 1)}}`);
      continue;
    }
    if (cluster !== root) {
      const isGroup = cluster.label.startsWith("g:");
      const label = cluster.label.slice(2);
      lines.push(`${"  ".repeat(depth - 1)}subgraph cluster_${clusterCount++} {`);
      lines.push(
        `${pad}label=${quote(isGroup ? `fused ${label}` : label)}; style=${isGroup ? '"dashed,rounded"; color=firebrick' : '"rounded"; color=gray50'};`,
      );
      stack.push({ cluster, depth, close: true });
    }
    for (const n of cluster.nodes) lines.push(`${pad}${nodeLine(n, outputIds.get(n.id))}`);
    const children = [...cluster.children.values()].reverse();
    for (const child of children) stack.push({ cluster: child, depth: depth + 1, close: false });
  }
  for (const n of nodes) {
    for (const t of n.inputs) if (shown.has(t.id)) lines.push(`  n${t.id} -> n${n.id};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}
