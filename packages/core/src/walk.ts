import type { Tensor } from "./tensor";

/**
 * The ids of every node the roots depend on, themselves included: an iterative walk (no recursion limit
 * on deep graphs). The interpreter, grad, the dumps and the compiler all cut graphs with it.
 */
export function dependencies(roots: readonly Tensor[]): Set<number> {
  const seen = new Set<number>();
  if (roots.length === 0) return seen;
  const nodes = roots[0].graph.nodes;
  const stack = roots.map((t) => t.id);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const t of nodes[id].inputs) stack.push(t.id);
  }
  return seen;
}
