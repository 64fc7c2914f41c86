/**
 * Losses and penalties, as graph builders. mseLoss and crossEntropy are core's (ops/neural.ts):
 *  - mseLoss(pred, target, "mean" | "sum")
 *  - crossEntropy(logits [N,C], labels): labels are class indices [N] (whole numbers fed as floats,
 *    checked when fed) or probabilities [N,C]; the mean over the N rows; stable (log-sum-exp).
 */
import {
  crossEntropy,
  formatShape,
  mseLoss,
  norm,
  sameShape,
  ShapeError,
  square,
  sum,
  type Tensor,
} from "@adjoint/core";

export { crossEntropy, mseLoss };

/**
 * Binary cross-entropy on logits x against targets t in [0,1] (same shape): mean (or sum) of
 *   max(x,0) − x·t + log(1 + e^−|x|)
 * computed as softplus(x) − x·t, the same value (max(x,0) + log(1 + e^−|x|) = softplus(x), which core
 * evaluates stably), whose gradient σ(x) − t is right at x = 0 too (the max/abs form has kinks there).
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor,
  targets: Tensor,
  reduction: "mean" | "sum" = "mean",
): Tensor {
  if (!sameShape(logits.shape, targets.shape)) {
    throw new ShapeError(
      `binaryCrossEntropyWithLogits: logits ${formatShape(logits.shape)} and targets ${formatShape(targets.shape)} must have the same shape`,
    );
  }
  if (reduction !== "mean" && reduction !== "sum") {
    throw new Error(
      `binaryCrossEntropyWithLogits: reduction must be "mean" or "sum", got ${JSON.stringify(reduction)}`,
    );
  }
  const elementwise = logits.softplus().sub(logits.mul(targets));
  return reduction === "sum" ? sum(elementwise) : elementwise.mean();
}

function checkPenalty(where: string, params: readonly Tensor[], lambda: number): void {
  if (typeof lambda !== "number" || !Number.isFinite(lambda) || lambda < 0) {
    throw new Error(`${where}: lambda must be a finite number >= 0, got ${lambda}`);
  }
  if (!Array.isArray(params) || params.length === 0) {
    throw new Error(`${where}: needs a non-empty array of params (e.g. the weights: model.parameters())`);
  }
  for (const p of params) {
    if (p.graph !== params[0].graph) throw new Error(`${where}: the params belong to different graphs`);
  }
}

/**
 * λ·Σ‖W‖ over the given tensors, ‖·‖ the L2 (Frobenius) norm, not squared: the course's L2 penalty.
 * Its gradient λ·W/‖W‖ is undefined at W = 0 (NaN there). Pass only the tensors to penalize (usually the
 * weights, not the biases).
 */
export function l2Penalty(params: readonly Tensor[], lambda: number): Tensor {
  checkPenalty("l2Penalty", params, lambda);
  let total = norm(params[0]);
  for (const p of params.slice(1)) total = total.add(norm(p));
  return total.mul(lambda);
}

/** λ/2·Σ‖W‖²: classic weight decay as a penalty (its gradient is λ·W). */
export function weightDecayPenalty(params: readonly Tensor[], lambda: number): Tensor {
  checkPenalty("weightDecayPenalty", params, lambda);
  let total = sum(square(params[0]));
  for (const p of params.slice(1)) total = total.add(sum(square(p)));
  return total.mul(lambda / 2);
}
