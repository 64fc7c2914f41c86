/** Common-subexpression elimination: one node per (op, inputs, attributes); leaves are kept apart. */
import { keep, type Program, rewrite } from "../program";

/** Common-subexpression elimination: one node per (op, inputs, attributes); leaves are kept apart. */
export function cse(p: Program): Program {
  const seen = new Map<string, number>();
  return rewrite(p, (n, inputs, emit) => {
    if (n.leaf) return keep(n, inputs, emit);
    const key = `${n.op}(${inputs.join(",")})${attrKey(n.attrs)}`;
    const hit = seen.get(key);
    if (hit !== undefined) return hit;
    const id = keep(n, inputs, emit);
    seen.set(key, id);
    return id;
  });
}

export function attrKey(attrs: object): string {
  // ±Infinity (a pad's fill) would print as null in JSON: kept apart as strings.
  return JSON.stringify(attrs, (_k, v) =>
    v instanceof Float32Array ? Array.from(v) : typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  );
}
