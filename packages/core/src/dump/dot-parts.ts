/** What the node-level and module-level DOT dumps share: node colors, node statements, quoting. */
import { formatShape } from "../shape";
import type { Tensor } from "../tensor";
import { formatAttr } from "./select";

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
