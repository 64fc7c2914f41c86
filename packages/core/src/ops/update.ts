/**
 * assign(target, value): after the step, a param's or buffer's stored values become `value`. Optimizers
 * are built from these, so one compiled function runs forward, backward and the update, in place. All
 * assigns of a step read the values from before the step (they take effect together, at its end).
 */
import { formatShape, ShapeError, sameShape } from "../shape";
import { defineOp } from "./registry";

defineOp({
  name: "assign",
  kind: "update",
  shape([target, value]) {
    if (!sameShape(target, value)) {
      throw new ShapeError(
        `assign: value of shape ${formatShape(value)} does not match its target's shape ${formatShape(target)}`,
      );
    }
    return target;
  },
  evaluate: ([, value]) => Float64Array.from(value),
});
