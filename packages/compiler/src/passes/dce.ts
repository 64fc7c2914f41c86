/** Dead-code elimination: keeps what the outputs and updates depend on. */
import { keep, type Program, rewrite } from "../program";

/** Dead-code elimination: keeps only the nodes the outputs and updates depend on. */
export function dce(p: Program): Program {
  const live = new Array<boolean>(p.nodes.length).fill(false);
  for (const [, id] of p.outputs) live[id] = true;
  for (const u of p.updates) live[u.target] = live[u.value] = true;
  for (let id = p.nodes.length - 1; id >= 0; id--)
    if (live[id]) for (const i of p.nodes[id].inputs) live[i] = true;
  return rewrite(p, (n, inputs, emit) => (live[n.id] ? keep(n, inputs, emit) : -1));
}
