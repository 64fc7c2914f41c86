/**
 * The correctness stream: the batches a system trains on between its first step and the step whose loss is
 * compared across systems (correctness.ts). They are MNIST digits (the `mnist` package, 10,000 of them) in a
 * shuffled order fixed by the workload's seed, so every system (PyTorch too, through workloads.bin) sees the
 * same numbers in the same order.
 *
 * Why not the workload's fixed batch: 200 steps on one batch of 64 memorize it, the loss falls toward zero,
 * and there the rounding differences of the systems (summation orders, fused multiply-adds) grow into
 * relative differences of several percent (measured: −2.7%…+3.9% on W5), which a 3-digit check flags
 * although every system is right. On a stream of distinct digits the loss measures what a step learned from
 * data it had not seen, and stays well away from zero; a system whose update were broken would stay at the
 * first loss and be flagged.
 *
 * This file is what the runners need (also in the browser pages); building the stream reads the digit
 * files, in Node: mnist-stream.ts.
 */
import { inputShape, type Stream, type WorkloadSpec } from "./workloads";

export type { Stream };

/** Only the 784-input classification workloads can train on digits. */
export function canStream(w: WorkloadSpec): boolean {
  const features = inputShape(w)
    .slice(1)
    .reduce((a, b) => a * b, 1);
  return w.loss === "softmax-ce" && features === 784 && w.sizes[w.sizes.length - 1] === 10;
}

/** Batch i of the stream: views of its images and labels (no copy). */
export function streamBatch(s: Stream, batch: number, i: number): { x: Float32Array; labels: Int32Array } {
  if (!Number.isInteger(i) || i < 0 || i >= s.batches)
    throw new Error(`streamBatch: batch ${i} is outside the stream's ${s.batches} batches`);
  return {
    x: s.x.subarray(i * batch * 784, (i + 1) * batch * 784),
    labels: s.labels.subarray(i * batch, (i + 1) * batch),
  };
}
