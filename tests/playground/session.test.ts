/**
 * The playground's training run (packages/playground/src/session.ts, sliced so that a worker stays
 * responsive) is fit() cut into pieces: the same split as the CLI, the same initial weights, the same
 * shuffles, hence the same epoch metrics, whatever the slices. And its prediction kernel reads the weights
 * being trained.
 */
import { crossEntropy, fit as fitModel, trainValSplit } from "adjoint";
import { loadAllMnist, loadMnist } from "adjoint/node";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type TrainConfig } from "../../packages/playground/src/config";
import { decodeDigits, splitLikeCli } from "../../packages/playground/src/data";
import { makeModel, makeOptimizer } from "../../packages/playground/src/model";
import { Session } from "../../packages/playground/src/session";

/** The first index where two arrays differ (or their lengths do), -1 when they are equal. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe("playground session", () => {
  const splits = splitLikeCli(loadAllMnist(), 0);

  it("splits the digits as the CLI does (8000 train of which 800 validation, 2000 test)", () => {
    const { train: trainAll, test } = loadMnist({ train: 8000, seed: 0 });
    const { train, val } = trainValSplit(trainAll, { valFraction: 0.1, seed: 1 });
    expect([splits.train.n, splits.val.n, splits.test.n]).toEqual([7200, 800, 2000]);
    // Element by element: toEqual on arrays of millions of floats takes minutes.
    expect(firstDifference(splits.train.x, train.x)).toBe(-1);
    expect(firstDifference(splits.val.y, val.y)).toBe(-1);
    expect(firstDifference(splits.test.x, test.x)).toBe(-1);
  });

  it("one epoch in uneven slices gives fit()'s epoch exactly (batch 100: a remainder batch of 72 rows)", () => {
    const config: TrainConfig = {
      ...DEFAULT_CONFIG,
      layers: [32],
      batch: 100,
      epochs: 2,
      optimizer: "momentum",
      lr: 0.05,
      schedule: "exp",
      tau: 0.5,
    };
    const session = new Session(splits, config);
    const slices: number[] = [];
    for (let epoch = 0; epoch < 2; epoch++) {
      for (;;) {
        const r = session.runFor(slices.length % 3 === 0 ? 0 : 5);
        slices.push(r.steps);
        if (r.epochDone) break;
      }
      session.endEpoch();
    }
    expect(slices.length).toBeGreaterThan(2);
    const model = makeModel(config, 784, 10);
    const result = fitModel(model, splits.train, {
      optimizer: makeOptimizer(config),
      loss: (y, t) => crossEntropy(y, t),
      epochs: 2,
      batchSize: 100,
      seed: 0,
      graphSeed: 0,
      validation: splits.val,
    });
    for (let e = 0; e < 2; e++) {
      const a = session.history[e];
      const b = result.history[e];
      expect([a.loss, a.acc, a.valLoss, a.valAcc, a.lr]).toEqual([b.loss, b.acc, b.valLoss, b.valAcc, b.lr]);
    }
    const weights = session.model.parameters().map((p) => Array.from(p.value));
    expect(weights).toEqual(model.parameters().map((p) => Array.from(p.value)));
  });

  it("predicts with the current weights: probabilities summing to 1, the argmax of the eval logits", () => {
    const session = new Session(splits, { ...DEFAULT_CONFIG, layers: [16] });
    while (!session.runFor(1000).epochDone);
    const { valAcc } = session.endEpoch();
    expect(valAcc).toBeGreaterThan(0.7);
    let right = 0;
    for (let i = 0; i < 50; i++) {
      const p = session.predict(splits.test.x.subarray(i * 784, (i + 1) * 784));
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
      if (p.indexOf(Math.max(...p)) === splits.test.y[i]) right++;
    }
    expect(right).toBeGreaterThan(30);
  });

  it("trains LeNet-5 with batch norm on the same rows seen as [1, 28, 28] images", () => {
    const session = new Session(splits, { ...DEFAULT_CONFIG, model: "cnn-bn", layers: [120, 84] });
    const first = session.runFor(0);
    for (let i = 0; i < 4; i++) session.runFor(0);
    const later = session.runFor(0);
    expect(first.steps).toBe(1);
    expect(later.loss).toBeLessThan(first.loss);
    expect(session.moduleTypes).toMatchObject({
      "0": "Conv2d",
      "1": "BatchNorm2d",
      "3": "MaxPool2d",
      "8": "Flatten",
    });
    const p = session.predict(splits.test.x.subarray(0, 784));
    expect(p.length).toBe(10);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
  });

  it("reports a diverging loss in one sentence", () => {
    const session = new Session(splits, { ...DEFAULT_CONFIG, layers: [16], optimizer: "adam", lr: 10 });
    expect(() => {
      for (let i = 0; i < 200; i++) if (session.runFor(1000).epochDone) session.endEpoch();
    }).toThrow(
      /^Training diverged: the (validation )?loss (reached|is) \S+ (at|after) epoch \d.*smaller than 10\.$/,
    );
  });

  it("decodes the asset format and refuses a truncated one", () => {
    const n = 2;
    const bytes = new Uint8Array(16 + n * 785);
    bytes.set(new TextEncoder().encode("ADJMNIST"));
    new DataView(bytes.buffer).setUint32(8, n, true);
    new DataView(bytes.buffer).setUint32(12, 784, true);
    bytes[16] = 255;
    bytes[17] = 159;
    bytes[16 + n * 784 + 1] = 7;
    const ds = decodeDigits(bytes);
    expect([ds.n, ds.x[0], ds.x[1], ds.y[1]]).toEqual([2, 1, Math.fround(0.624), 7]);
    expect(() => decodeDigits(bytes.subarray(0, 100))).toThrow(/truncated or malformed/);
  });
});
