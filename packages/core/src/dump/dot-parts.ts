/** What the node-level and module-level DOT dumps share: their options, node colors, node statements, quoting. */
import { formatShape } from "../shape";
import type { Tensor } from "../tensor";
import { formatAttr } from "./select";

/** Options of {@link toDot}. */
export interface DotOptions {
  outputs?: readonly Tensor[] | Record<string, Tensor>;
  /** Groups drawn as clusters inside their module's cluster: node id -> group label (fused groups). */
  groups?: ReadonlyMap<number, string>;
  title?: string;
  /**
   * "nodes" (default): every node. "modules": each module's forward ops, its gradient ops and each
   * parameter's optimizer update drawn as one box (an SVG element with id "box:<key>"), except the
   * boxes listed in `expanded`, which open as clusters (see boxes.ts for the keys).
   */
  view?: "nodes" | "modules";
  /** Box keys drawn open in the "modules" view, e.g. ["m:0", "u:0.weight"]. */
  expanded?: readonly string[];
  /** Module path -> type name ("0" -> "Linear"), for the titles of the "modules" view's boxes. */
  moduleTypes?: Readonly<Record<string, string>>;
}

export const COLORS = {
  input: "lightgray",
  param: "lightblue",
  state: "lavender",
  const: "white",
  op: "white",
  grad: "orange",
  output: "darkolivegreen1",
} as const;

export function nodeLine(n: Tensor, outputName: string | undefined): string {
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

export function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}
