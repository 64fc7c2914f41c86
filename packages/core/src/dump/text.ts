/**
 * A typed text IR, one line per node, in the spirit of a jaxpr:
 *   %5 = matmul %1, %4 : f32[64,128]   # 0
 * Leaves come first; numbering is by position in the dump, so the text is stable and snapshot-testable.
 */
import { formatShape } from "../shape";
import type { Tensor } from "../tensor";
import { type DumpedGraph, formatAttr, nodesToShow, outputList } from "./select";

/** Options of {@link toText}. */
export interface TextOptions {
  /** Only what these outputs depend on, and a closing `return` line naming them. */
  outputs?: readonly Tensor[] | Record<string, Tensor>;
  /** An extra note per node (the compiler adds its fused group). */
  annotate?: (node: Tensor) => string | undefined;
}

/** The graph as readable text IR, one node a line in creation order (`%2 = matmul %0, %1 : f32[2,4]`). */
export function toText(graph: DumpedGraph, options: TextOptions = {}): string {
  const outs = outputList(options.outputs);
  const nodes = nodesToShow(
    graph,
    outs.map(([, t]) => t),
  );
  const number = new Map<number, number>();
  for (const [i, n] of nodes.entries()) number.set(n.id, i);
  const ref = (t: Tensor) => `%${number.get(t.id)}`;

  const rows = nodes.map((n) => {
    const left = `${ref(n)} = ${describeOp(n, ref)} : f32${formatShape(n.shape)}`;
    const composite = n.composite ? `(${n.composite.op})` : "";
    const notes = [n.scope, composite, n.isGradient ? "grad" : "", options.annotate?.(n) ?? ""].filter(
      Boolean,
    );
    return [left, notes.join(" ")] as const;
  });
  const width = Math.min(
    72,
    rows.reduce((w, [l]) => Math.max(w, l.length), 0),
  );
  const lines = rows.map(([left, note]) => (note ? `${left.padEnd(width)}  # ${note}` : left));
  if (outs.length > 0) lines.push(`return ${outs.map(([k, t]) => `${k}=${ref(t)}`).join(", ")}`);
  return `${lines.join("\n")}\n`;
}

/** One node's right-hand side in the text IR (op, operands through `ref`, attributes). */
export function describeOp(n: Tensor, ref: (t: Tensor) => string): string {
  if (n.role === "input" || n.role === "param" || n.role === "state") {
    const flags = n.role === "input" && n.requiresGrad ? " requiresGrad" : "";
    return `${n.op} "${n.name}"${flags}`;
  }
  if (n.op === "const") return `const ${formatAttr(n.attrs.data ?? n.attrs.value)}`;
  const attrs = Object.entries(n.attrs)
    .map(([k, v]) => `${k}=${formatAttr(v)}`)
    .join(" ");
  const args = n.inputs.map(ref).join(", ");
  return `${n.op}${attrs ? `[${attrs}]` : ""} ${args}`;
}
