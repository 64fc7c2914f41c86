/**
 * Loss and accuracy of a classifier on a dataset: eval-mode builds of the model in its graph (so they read
 * the trained weights in place), compiled for a batch of rows and, when the count does not divide, for the
 * remaining rows too: every sample is counted once, with no padding.
 */
import { compile, crossEntropy, type Dataset, type Graph, type Kernel, type Module } from "adjoint";

export interface Evaluation {
  loss: number;
  accuracy: number;
  n: number;
}

interface Part {
  rows: number;
  kernel: Kernel;
  x: string;
  t: string;
}

function freshName(g: Graph, base: string): string {
  if (!g.has(base)) return base;
  for (let i = 1; ; i++) if (!g.has(`${base}_${i}`)) return `${base}_${i}`;
}

/**
 * Builds the evaluation kernels for `n` rows of samples of shape `inputs` (a number: [inputs]) into graph `g` (creating the model's
 * params there if it was never built) and returns a function that evaluates a dataset of that size.
 */
export function makeEvaluator(
  model: Module,
  g: Graph,
  inputs: number | readonly number[],
  n: number,
  batch = 1000,
): (ds: Dataset) => Evaluation {
  const rows = Math.max(1, Math.min(batch, n));
  const sizes = n % rows === 0 ? [rows] : [rows, n % rows];
  const wasTraining = model.training;
  model.eval();
  let parts: Part[];
  try {
    parts = sizes.map((r) => {
      const x = g.input(freshName(g, "x_eval"), [r, ...(typeof inputs === "number" ? [inputs] : inputs)]);
      const t = g.input(freshName(g, "t_eval"), [r]);
      const y = model.build(x);
      const loss = crossEntropy(y, t);
      return { rows: r, kernel: compile({ loss, y }), x: x.name!, t: t.name! };
    });
  } finally {
    model.train(wasTraining);
  }
  return (ds: Dataset) => {
    if (ds.n !== n) throw new Error(`evaluate: built for ${n} rows, got a dataset of ${ds.n}`);
    const features = ds.x.length / Math.max(1, ds.n);
    let total = 0;
    let correct = 0;
    for (let start = 0; start < ds.n; ) {
      const count = Math.min(rows, ds.n - start);
      const part = parts.find((p) => p.rows === count)!;
      const xv = part.kernel.inputs[part.x];
      const tv = part.kernel.inputs[part.t];
      xv.set(ds.x.subarray(start * features, (start + count) * features));
      tv.set(ds.y.subarray(start, start + count));
      part.kernel.run();
      total += part.kernel.outputs.loss[0] * count;
      const logits = part.kernel.outputs.y;
      const classes = logits.length / count;
      for (let r = 0; r < count; r++) {
        let best = 0;
        for (let c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
        if (best === tv[r]) correct++;
      }
      start += count;
    }
    return { loss: total / ds.n, accuracy: correct / ds.n, n: ds.n };
  };
}
