/**
 * toDot's "modules" view: the boxes of boxes.ts, each drawn as one node unless opened (then a cluster of
 * its nested boxes and nodes, fused groups dashed inside it). Edges join what is visible: an edge into a
 * closed box is drawn once to the box, however many of its nodes it reaches.
 */
import { formatShape } from "../shape";
import type { Tensor } from "../tensor";
import { type Box, boxLayout } from "./boxes";
import { type DotOptions, nodeLine, quote } from "./dot-parts";
import { type DumpedGraph, nodesToShow, outputList } from "./select";

const BOX_STYLE: Record<Box["kind"], string> = {
  module: 'style="rounded,filled,bold", fillcolor=white, color=gray30',
  grad: 'style="rounded,filled", fillcolor="#ffe2bf", color=darkorange3',
  update: 'style="rounded,filled", fillcolor=lavender, color=slateblue4',
};
const CLUSTER_STYLE: Record<Box["kind"], string> = {
  module: 'style="rounded"; color=gray30',
  grad: 'style="rounded,filled"; fillcolor="#fff6eb"; color=darkorange3',
  update: 'style="rounded,filled"; fillcolor="#f6f5fc"; color=slateblue4',
};

export function toModuleDot(graph: DumpedGraph, options: DotOptions): string {
  const outs = outputList(options.outputs);
  const outputIds = new Map(outs.map(([k, t]) => [t.id, k]));
  const nodes = nodesToShow(
    graph,
    outs.map(([, t]) => t),
  );
  const shown = new Set(nodes.map((n) => n.id));
  const { chains, boxes } = boxLayout(
    nodes,
    outs.map(([, t]) => t),
  );
  const open = new Set(options.expanded ?? []);
  const boxIds = new Map([...boxes.keys()].map((k, i) => [k, `b${i}`]));

  /** What a node is drawn as: the outermost closed box around it, or itself. */
  const visible = (n: Tensor): string => {
    for (const key of chains.get(n.id) ?? []) if (!open.has(key)) return boxIds.get(key)!;
    return `n${n.id}`;
  };

  const lines = [
    "digraph adjoint {",
    `  graph [rankdir=TB, fontname="Helvetica", fontsize=10${options.title ? `, label=${quote(options.title)}` : ""}];`,
    '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
    '  edge [fontname="Helvetica", fontsize=8];',
  ];
  let clusters = 0;
  const children = (parent: string | null) => [...boxes.values()].filter((b) => b.parent === parent);

  const emitBox = (box: Box, depth: number): void => {
    const pad = "  ".repeat(depth);
    const id = `id=${quote(`box:${box.key}`)}`;
    if (!open.has(box.key)) {
      lines.push(
        `${pad}${boxIds.get(box.key)} [${id}, label=${quote(boxLabel(box, outputIds, options))}, ${BOX_STYLE[box.kind]}, tooltip="click to open"];`,
      );
      return;
    }
    lines.push(`${pad}subgraph cluster_${clusters++} {`);
    lines.push(
      `${pad}  ${id}; label=${quote(`${title(box, options.moduleTypes)} (click to close)`)}; ${CLUSTER_STYLE[box.kind]};`,
    );
    for (const child of children(box.key)) emitBox(child, depth + 1);
    // The box's own nodes, the members of each fused group framed together.
    const byGroup = new Map<string, Tensor[]>();
    for (const n of box.nodes) {
      const g = options.groups?.get(n.id);
      if (g === undefined) lines.push(`${pad}  ${nodeLine(n, outputIds.get(n.id))}`);
      else byGroup.set(g, [...(byGroup.get(g) ?? []), n]);
    }
    for (const [g, members] of byGroup) {
      lines.push(`${pad}  subgraph cluster_${clusters++} {`);
      // Its own id: subgraphs inherit graph attributes, and the box's id must stay on the box alone.
      lines.push(
        `${pad}    id=${quote(`fused:${box.key}:${g}`)}; label=${quote(`fused ${g}`)}; style="dashed,rounded"; color=firebrick;`,
      );
      for (const n of members) lines.push(`${pad}    ${nodeLine(n, outputIds.get(n.id))}`);
      lines.push(`${pad}  }`);
    }
    lines.push(`${pad}}`);
  };

  for (const n of nodes) if (!chains.has(n.id)) lines.push(`  ${nodeLine(n, outputIds.get(n.id))}`);
  for (const box of children(null)) emitBox(box, 1);

  const edges = new Set<string>();
  for (const n of nodes) {
    const to = visible(n);
    for (const t of n.inputs) {
      if (!shown.has(t.id)) continue;
      const from = visible(t);
      if (from !== to) edges.add(`  ${from} -> ${to};`);
    }
  }
  lines.push(...edges, "}");
  return `${lines.join("\n")}\n`;
}

function title(box: Box, types?: Readonly<Record<string, string>>): string {
  if (box.kind === "update") return `update ${box.path}`;
  const type = types?.[box.path];
  const name = box.path === "" ? "top level" : type ? `${box.path}: ${type}` : box.path;
  return box.kind === "grad" ? `∇ ${name}` : name;
}

function boxLabel(box: Box, outputIds: Map<number, string>, options: DotOptions): string {
  const ops = box.all.filter((n) => n.role === "op" && n.op !== "const");
  const lines = [title(box, options.moduleTypes)];
  if (box.kind === "update") {
    const state = box.all.filter((n) => n.role === "state").length;
    lines.push(
      `${plural(ops.length, "op")}${state > 0 ? `, ${state} state buffer${state > 1 ? "s" : ""}` : ""}`,
    );
  } else {
    const kinds = [...new Set(ops.map((n) => n.op))];
    lines.push(`${plural(ops.length, "op")}: ${kinds.slice(0, 4).join(" ")}${kinds.length > 4 ? " …" : ""}`);
    const last = ops[ops.length - 1];
    if (box.kind === "module" && last) lines.push(`→ ${formatShape(last.shape)}`);
  }
  const named = box.all
    .map((n) => outputIds.get(n.id))
    .filter((k) => k !== undefined && !k.startsWith("update("));
  if (named.length > 0) lines.push(`outputs: ${named.join(", ")}`);
  const fused = new Set<string>();
  for (const n of box.all) {
    const g = options.groups?.get(n.id);
    if (g !== undefined) fused.add(g.split(" ")[0]);
  }
  if (fused.size > 0) lines.push(`fused loop nest${fused.size > 1 ? "s" : ""} ${[...fused].join(", ")}`);
  return lines.join("\n");
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
