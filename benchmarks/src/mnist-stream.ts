/** Builds the correctness stream (stream.ts) from the `mnist` package's digit files: Node only. */
import { shuffledIndices } from "adjoint";
import { loadAllMnist } from "adjoint/node";
import { canStream, type Stream } from "./stream";
import type { Workload } from "./workloads";

/**
 * `batches` batches of `w.batch` digits. With more rows than digits the shuffled order repeats (199 batches
 * of 64 are 12,736 rows: the last 2,736 are digits seen once before, as in a second epoch).
 */
export function buildStream(w: Workload, batches: number): Stream {
  if (!canStream(w))
    throw new Error(`buildStream: ${w.id} is not a 784-input, 10-class classification workload`);
  const all = loadAllMnist();
  const order = shuffledIndices(all.n, w.seed);
  const rows = batches * w.batch;
  const x = new Float32Array(rows * 784);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const src = order[r % all.n];
    x.set(all.x.subarray(src * 784, (src + 1) * 784), r * 784);
    labels[r] = all.y[src];
  }
  return { batches, x, labels };
}
