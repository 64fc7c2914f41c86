/**
 * Graphviz DOT in the manner of pytorchviz's make_dot, but readable on real models: nodes grouped into
 * clusters by module path (and, from the compiler, by fused group), gradient nodes in another color.
 * Built by iterating the node list: no recursion limit on deep graphs.
 */
import type { Graph } from "../graph";
import { formatShape } from "../shape";
import type { Tensor } from "../tensor";
import { formatAttr, nodesToShow, outputList } from "./select";

export interface DotOptions {
  outputs?: readonly Tensor[] | Record<string, Tensor>;
  /** Groups drawn as clusters inside their module's cluster: node id -> group label (fused groups). */
  groups?: ReadonlyMap<number, string>;
  title?: string;
}

const COLORS = {
  input: "lightgray",
  param: "lightblue",
  state: "lavender",
  const: "white",
  op: "white",
  grad: "orange",
  output: "darkolivegreen1",
} as const;

export function toDot(graph: Graph, options: DotOptions = {}): string {
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

function nodeLine(n: Tensor, outputName: string | undefined): string {
  const shape = formatShape(n.shape);
  let label: string;
  if (n.role === "op") {
    const attrs = Object.entries(n.attrs)
      .map(([k, v]) => `${k}=${formatAttr(v)}`)
      .join(" ");
    label = `${n.op}${attrs ? `\n${attrs}` : ""}\n${shape}`;
  } else if (n.op === "const") {
    label = `${formatAttr(n.attrs.data ?? n.attrs.value)}`;
  } else {
    label = `${n.name}\n${shape}`;
  }
  if (outputName !== undefined) label = `${outputName}\n${label}`;
  const color =
    outputName !== undefined
      ? COLORS.output
      : n.isGradient
        ? COLORS.grad
        : COLORS[n.role === "state" ? "state" : n.role];
  const shapeAttr = n.op === "const" ? ", shape=plaintext" : n.role === "op" ? "" : ", shape=box";
  return `n${n.id} [label=${quote(label)}, fillcolor=${color}${shapeAttr}];`;
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
