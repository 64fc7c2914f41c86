/**
 * Leaves. Inputs, params and buffers are read by the interpreter from feeds and storage; a constant holds
 * its value in its attributes (a scalar `value`, or `data` with a `shape`).
 */
import { defineOp } from "./registry";

for (const name of ["input", "param", "buffer"]) {
  defineOp({
    name,
    kind: "leaf",
    shape: () => {
      throw new Error(`${name}: leaves are created with graph.${name === "buffer" ? "buffer" : name}()`);
    },
    evaluate: () => {
      throw new Error(`${name}: leaves are read by the interpreter, not evaluated`);
    },
  });
}

defineOp({
  name: "const",
  kind: "leaf",
  shape: (_inputs, attrs) => (attrs.shape as number[] | undefined) ?? [],
  evaluate: (_inputs, node) =>
    node.attrs.data
      ? Float64Array.from(node.attrs.data as Float32Array)
      : Float64Array.of(node.attrs.value as number),
});
