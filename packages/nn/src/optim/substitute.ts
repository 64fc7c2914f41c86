import type { Tensor } from "@adjoint/core";
import { ancestors } from "../graph-utils";

/**
 * `output` rebuilt with some tensors replaced: every node between the replaced tensors and `output` is
 * created again (same op, same attributes, same module scope) with the replacements as inputs. The
 * original nodes stay in the graph (unused unless something else asks for them). Used for gradients at a
 * look-ahead point (Nesterov): loss(θ̃) from loss(θ).
 */
export function substitute(output: Tensor, replacements: ReadonlyMap<Tensor, Tensor>): Tensor {
  const g = output.graph;
  for (const [from, to] of replacements) {
    if (from.graph !== g || to.graph !== g) throw new Error("substitute: tensors belong to different graphs");
    if (from.shape.join() !== to.shape.join()) {
      throw new Error(
        `substitute: ${from.describe()} cannot be replaced by ${to.describe()} (shapes differ)`,
      );
    }
  }
  const map = new Map<number, Tensor>();
  for (const [from, to] of replacements) map.set(from.id, to);
  if (map.has(output.id)) return map.get(output.id)!;
  const needed = ancestors([output]);
  const first = Math.min(...[...replacements.keys()].map((t) => t.id));
  for (let id = first; id <= output.id; id++) {
    if (!needed[id] || map.has(id)) continue;
    const node = g.nodes[id];
    if (node.role !== "op" || !node.inputs.some((t) => map.has(t.id))) continue;
    if (node.op === "assign") throw new Error(`substitute: cannot rebuild through ${node.describe()}`);
    const inputs = node.inputs.map((t) => map.get(t.id) ?? t);
    map.set(
      id,
      g.inScope(node.scope, () => g.addNode(node.op, inputs, node.attrs)),
    );
  }
  return map.get(output.id) ?? output;
}
