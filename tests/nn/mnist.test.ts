// The nn issue's end-to-end check: the 784→128→10 MLP on the `mnist` package's real digits (8,000 for
// training, the rest for testing, seeded) reaches at least 92% test accuracy within 10 epochs.
import { describe, expect, it } from "vitest";
import { fit as fitModel, Linear, optim, ReLU, Sequential } from "adjoint";
import { loadMnist } from "adjoint/node";

describe("MNIST", () => {
  it("784→128→10 with Adam (lr 1e-3, batch 64) reaches ≥ 92% test accuracy within 10 epochs", () => {
    const { train, test } = loadMnist({ train: 8000, seed: 0 });
    expect(train.n).toBe(8000);
    expect(test.n).toBeGreaterThan(1500);
    const model = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
    const result = fitModel(model, train, {
      optimizer: optim.adam({ lr: 1e-3 }),
      loss: "crossEntropy",
      epochs: 10,
      batchSize: 64,
      seed: 0,
      graphSeed: 0,
      validation: test,
    });
    const accs = result.history.map((h) => h.valAcc ?? 0);
    console.log(`MNIST test accuracy per epoch: ${accs.map((a) => a.toFixed(4)).join(" ")}`);
    expect(result.history.length).toBeLessThanOrEqual(10);
    expect(Math.max(...accs)).toBeGreaterThanOrEqual(0.92);
    expect(accs[accs.length - 1]).toBeGreaterThanOrEqual(0.92);
  });
});
