/** The program after the passes, one line per node, each marked with its fused group: what codegen renders. */
import { formatShape } from "@adjoint/core";
import type { Schedule } from "./schedule/fuse";

/**
 * The scheduled program as text: one line per node, its fused group and its stored outputs (the post-pass
 * dump).
 */
export function programText(s: Schedule): string {
  const p = s.program;
  const lines = p.nodes.map((n) => {
    const g = s.groupOf.get(n.id);
    const where = g
      ? `group ${s.groups.indexOf(g)} ${g.kind}${g.outputs.includes(n.id) ? " stored" : ""}`
      : s.views.isView(n.id)
        ? "view"
        : "leaf";
    const attrs = Object.entries(n.attrs)
      .filter(([k]) => k !== "data")
      .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(",")}]` : String(v)}`)
      .join(" ");
    const left = `%${n.id} = ${n.leaf ? `${n.op} "${n.leaf.name}"` : `${n.op}${attrs ? `[${attrs}]` : ""} ${n.inputs.map((i) => `%${i}`).join(", ")}`} : f32${formatShape(n.shape)}`;
    return `${left.padEnd(60)}  # ${where}`;
  });
  for (const [k, id] of p.outputs) lines.push(`output ${k} = %${id}`);
  for (const u of p.updates) lines.push(`update %${u.target} <- %${u.value}`);
  return `${lines.join("\n")}\n`;
}

/** Node id -> fused group label, for toDot's clusters. */
export function fusedGroups(s: Schedule): Map<number, string> {
  const m = new Map<number, string>();
  for (const [id, g] of s.groupOf)
    if (g.nodes.length > 1) m.set(s.program.nodes[id].origin, `${s.groups.indexOf(g)} (${g.kind})`);
  return m;
}
