import { describe, expect, it } from "vitest";
import { evaluate, Rng } from "../../packages/core/src";
import type { Dataset } from "../../packages/nn/src/data/dataset";
import {
  type BatchEvent,
  buildModel,
  Dropout,
  type EpochLog,
  fit as fitModel,
  Linear,
  mseLoss,
  optim,
  ReLU,
  Sequential,
  Tanh,
} from "../../packages/nn/src";

/** Few noisy samples of sin(3x) to train on, clean ones to validate: a wide net overfits the noise. */
function overfitData(): { train: Dataset; val: Dataset } {
  const rng = new Rng(5);
  const n = 16;
  const x = Float32Array.from({ length: n }, (_, i) => -1 + (2 * i) / (n - 1));
  const y = x.map((v) => Math.sin(3 * v) + 0.6 * rng.normal());
  const vx = Float32Array.from({ length: 64 }, (_, i) => -1 + (2 * i + 0.5) / 64);
  const vy = vx.map((v) => Math.sin(3 * v));
  return {
    train: { x, y, n, xShape: [1], yShape: [1] },
    val: { x: vx, y: vy, n: 64, xShape: [1], yShape: [1] },
  };
}

const wideNet = () =>
  new Sequential(new Linear(1, 64), new Tanh(), new Linear(64, 64), new Tanh(), new Linear(64, 1));

/** Two Gaussian blobs per class around the corners of a square, 3 classes, as class indices. */
function blobs(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const centers = [
    [1, 1],
    [-1, 1],
    [0, -1],
  ];
  const x = new Float32Array(2 * n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    x[2 * i] = centers[c][0] + 0.3 * rng.normal();
    x[2 * i + 1] = centers[c][1] + 0.3 * rng.normal();
    y[i] = c;
  }
  return { x, y, n, xShape: [2], yShape: [], classes: 3 };
}

describe("fit: early stopping", () => {
  it("stops once the validation loss stops improving and restores the best weights", () => {
    const { train, val } = overfitData();
    const model = wideNet();
    const snapshots: number[][][] = [];
    const result = fitModel(model, train, {
      optimizer: optim.adam({ lr: 0.01 }),
      loss: "mse",
      epochs: 2000,
      validation: val,
      earlyStopping: { patience: 40 },
      onEpochEnd: () => {
        snapshots.push(model.parameters().map((p) => Array.from(p.value)));
      },
    });
    const { history, bestEpoch } = result;
    expect(result.stopReason).toBe("earlyStopping");
    expect(history.length).toBeLessThan(2000);
    // The best epoch is the minimum of the validation loss, and training ran `patience` epochs past it.
    const valLosses = history.map((h) => h.valLoss!);
    expect(bestEpoch).toBe(valLosses.indexOf(Math.min(...valLosses)));
    expect(history.length).toBe(bestEpoch! + 1 + 40);
    // It overfits: the training loss kept falling while the validation loss rose.
    expect(history.at(-1)!.loss).toBeLessThan(history[bestEpoch!].loss);
    expect(history.at(-1)!.valLoss!).toBeGreaterThan(1.2 * history[bestEpoch!].valLoss!);
    // The weights are those after the best epoch, not the last.
    const now = model.parameters().map((p) => Array.from(p.value));
    expect(now).toEqual(snapshots[bestEpoch!]);
    expect(now).not.toEqual(snapshots.at(-1));
    // And they give the best validation loss again.
    const { y } = buildModel(model.eval(), { inputShape: [1], batch: 64 });
    const vl = evaluate(mseLoss(y, y.graph.constant(val.y, [64, 1])), {
      [y.graph.inputs.at(-1)!.name!]: val.x,
    })[0];
    expect(vl).toBeCloseTo(history[bestEpoch!].valLoss!, 5);
  });

  it("minDelta: smaller improvements do not count", () => {
    const { train, val } = overfitData();
    const run = (minDelta: number) =>
      fitModel(wideNet(), train, {
        optimizer: optim.adam({ lr: 0.01 }),
        loss: "mse",
        epochs: 2000,
        validation: val,
        earlyStopping: { patience: 20, minDelta },
      });
    for (const minDelta of [0, 0.03]) {
      const r = run(minDelta);
      // Replay the rule on the recorded validation losses.
      let best = Number.POSITIVE_INFINITY;
      let bestEpoch = -1;
      let stop = -1;
      for (const [e, h] of r.history.entries()) {
        if (h.valLoss! < best - minDelta) {
          best = h.valLoss!;
          bestEpoch = e;
        } else if (e - bestEpoch >= 20) {
          stop = e;
          break;
        }
      }
      expect(r.bestEpoch).toBe(bestEpoch);
      expect(r.history.length - 1).toBe(stop);
    }
    expect(run(0.03).bestEpoch).not.toBe(run(0).bestEpoch);
  });

  it("can watch an accuracy (maximized) and keep the last weights with restoreBest false", () => {
    const data = blobs(90, 1);
    const model = new Sequential(new Linear(2, 8), new ReLU(), new Linear(8, 3));
    let last: number[][] = [];
    const r = fitModel(model, data, {
      optimizer: optim.sgd({ lr: 0.5 }),
      loss: "crossEntropy",
      epochs: 300,
      earlyStopping: { monitor: "acc", patience: 5, restoreBest: false },
      onEpochEnd: () => {
        last = model.parameters().map((p) => Array.from(p.value));
      },
    });
    expect(r.stopReason).toBe("earlyStopping");
    const accs = r.history.map((h) => h.acc!);
    expect(r.bestEpoch).toBe(accs.indexOf(Math.max(...accs)));
    expect(model.parameters().map((p) => Array.from(p.value))).toEqual(last);
  });
});

describe("fit: the plateau rule (loss drops less than p% over a window of epochs)", () => {
  it("stops at the first epoch whose loss is less than p% below the loss `window` epochs earlier", () => {
    const data = blobs(60, 2);
    const p = 1;
    const r = fitModel(new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 3)), data, {
      optimizer: optim.sgd({ lr: 0.2 }),
      loss: "crossEntropy",
      epochs: 5000,
      plateau: { percent: p },
    });
    expect(r.stopReason).toBe("plateau");
    const L = r.history.map((h) => h.loss);
    const stop = L.length - 1;
    const drop = (e: number) => ((L[e - 10] - L[e]) / L[e - 10]) * 100;
    expect(stop).toBeGreaterThanOrEqual(10);
    expect(drop(stop)).toBeLessThan(p);
    for (let e = 10; e < stop; e++) expect(drop(e)).toBeGreaterThanOrEqual(p);
  });

  it("a custom window, and no stop while the loss falls fast enough", () => {
    const data = blobs(60, 2);
    const make = () => new Sequential(new Linear(2, 8), new Tanh(), new Linear(8, 3));
    const fast = fitModel(make(), data, {
      optimizer: optim.sgd({ lr: 0.2 }),
      loss: "crossEntropy",
      epochs: 30,
      plateau: { percent: 0.01, window: 5 },
    });
    expect(fast.stopReason).toBe("completed");
    expect(fast.history.length).toBe(30);
    const slow = fitModel(make(), data, {
      optimizer: optim.sgd({ lr: 1e-5 }),
      loss: "crossEntropy",
      epochs: 30,
      plateau: { percent: 1, window: 5 },
    });
    expect(slow.stopReason).toBe("plateau");
    expect(slow.history.length).toBe(6);
  });
});

describe("fit: batches", () => {
  it("trains the last partial batch (at its own size) unless dropLast", () => {
    const data = blobs(10, 3);
    const sizes: number[][] = [];
    const events: BatchEvent[] = [];
    const model = new Sequential(new Linear(2, 3));
    const r = fitModel(model, data, {
      optimizer: optim.sgd({ lr: 0.1 }),
      loss: "crossEntropy",
      epochs: 2,
      batchSize: 4,
      onBatchEnd: (e) => {
        (sizes[e.epoch] ??= []).push(e.size);
        events.push(e);
      },
    });
    expect(sizes).toEqual([
      [4, 4, 2],
      [4, 4, 2],
    ]);
    expect(r.trainSteps.length).toBe(2);
    expect(r.steps).toBe(6);
    expect(events.map((e) => [e.batch, e.batches, e.step])).toEqual([
      [0, 3, 1],
      [1, 3, 2],
      [2, 3, 3],
      [0, 3, 4],
      [1, 3, 5],
      [2, 3, 6],
    ]);
    for (const e of events) {
      expect(e.stepsPerSec).toBeGreaterThan(0);
      expect(e.acc! * e.size).toBe(Math.round(e.acc! * e.size));
    }
    // The epoch's accuracy is the batches' correct predictions over all rows.
    const correct0 = events.slice(0, 3).reduce((n, e) => n + e.acc! * e.size, 0);
    expect(r.history[0].acc).toBeCloseTo(correct0 / 10, 12);
    // Both kernels read and write the same weights.
    expect(r.trainSteps[1].update.params).toEqual(r.trainSteps[0].update.params);
    const dropped: number[] = [];
    fitModel(new Sequential(new Linear(2, 3)), data, {
      optimizer: optim.sgd({ lr: 0.1 }),
      loss: "crossEntropy",
      epochs: 1,
      batchSize: 4,
      dropLast: true,
      onBatchEnd: (e) => dropped.push(e.size),
    });
    expect(dropped).toEqual([4, 4]);
  });

  it("the partial batch is a true step: the same as training on those rows alone", () => {
    // One epoch, no shuffle, batches [0..4), [4..8), [8..10): equals three single-batch fits in a row.
    const data = blobs(10, 4);
    const a = new Sequential(new Linear(2, 3));
    fitModel(a, data, {
      optimizer: optim.sgd({ lr: 0.3 }),
      loss: "crossEntropy",
      epochs: 1,
      batchSize: 4,
      shuffle: false,
    });
    const b = new Sequential(new Linear(2, 3));
    const opt = optim.sgd({ lr: 0.3 });
    for (const [s, e] of [
      [0, 4],
      [4, 8],
      [8, 10],
    ]) {
      const part: Dataset = { ...data, x: data.x.slice(2 * s, 2 * e), y: data.y.slice(s, e), n: e - s };
      fitModel(b, part, { optimizer: opt, loss: "crossEntropy", epochs: 1 });
    }
    const pa = a.parameters().map((p) => Array.from(p.value));
    const pb = b.parameters().map((p) => Array.from(p.value));
    expect(pb).toEqual(pa);
  });

  it("shuffling is seeded: same seed, same run; another seed, another", () => {
    const data = blobs(30, 5);
    const run = (seed: number) =>
      fitModel(new Sequential(new Linear(2, 3)), data, {
        optimizer: optim.sgd({ lr: 0.1 }),
        loss: "crossEntropy",
        epochs: 3,
        batchSize: 7,
        seed,
        graphSeed: 1,
      }).history.map((h) => h.loss);
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it("full batch (no batchSize) is plain gradient descent: one step per epoch", () => {
    const data = blobs(30, 6);
    const r = fitModel(new Sequential(new Linear(2, 3)), data, {
      optimizer: optim.sgd({ lr: 0.1 }),
      loss: "crossEntropy",
      epochs: 5,
    });
    expect(r.steps).toBe(5);
    expect(r.trainSteps.length).toBe(1);
    for (let e = 1; e < 5; e++) expect(r.history[e].loss).toBeLessThan(r.history[e - 1].loss);
  });
});

describe("fit: metrics, schedules, events", () => {
  it("learns separable blobs: accuracy on train and validation, eval without dropout", () => {
    const model = new Sequential(new Linear(2, 16), new ReLU(), new Dropout(0.2), new Linear(16, 3));
    const logs: EpochLog[] = [];
    const r = fitModel(model, blobs(150, 7), {
      optimizer: optim.adam({ lr: 0.02 }),
      loss: "crossEntropy",
      epochs: 40,
      batchSize: 32,
      validation: blobs(60, 8),
      evalBatchSize: 25,
      onEpochEnd: (log) => {
        logs.push(log);
      },
    });
    expect(logs).toEqual(r.history);
    const last = r.history.at(-1)!;
    expect(last.acc!).toBeGreaterThan(0.9);
    expect(last.valAcc!).toBeGreaterThan(0.9);
    expect(last.valLoss!).toBeLessThan(r.history[0].valLoss!);
    expect(last.stepsPerSec).toBeGreaterThan(0);
    expect(model.training).toBe(true);
  });

  it("validation accuracy is counted exactly (predictions from the eval build)", () => {
    const val = blobs(12, 9);
    const model = new Sequential(new Linear(2, 3));
    const r = fitModel(model, blobs(30, 10), {
      optimizer: optim.sgd({ lr: 0.5 }),
      loss: "crossEntropy",
      epochs: 3,
      validation: val,
      evalBatchSize: 5,
    });
    const { y, x } = buildModel(model, { inputShape: [2], batch: 12 });
    const logits = evaluate(y, { [x.name!]: val.x });
    let correct = 0;
    for (let i = 0; i < 12; i++) {
      const row = Array.from(logits.subarray(3 * i, 3 * i + 3));
      if (row.indexOf(Math.max(...row)) === val.y[i]) correct++;
    }
    expect(r.history.at(-1)!.valAcc).toBe(correct / 12);
  });

  it("a schedule per epoch (default) or per step", () => {
    const s = optim.schedules.step({ lr0: 0.1, stepSize: 2, gamma: 0.5 });
    const perEpoch = fitModel(new Sequential(new Linear(2, 3)), blobs(12, 1), {
      optimizer: optim.sgd({ lr: s }),
      loss: "crossEntropy",
      epochs: 5,
      batchSize: 4,
    });
    perEpoch.history.forEach((h, e) => {
      expect(h.lr).toBeCloseTo(s(e), 7);
    });
    const lrs: number[] = [];
    fitModel(new Sequential(new Linear(2, 3)), blobs(12, 1), {
      optimizer: optim.sgd({ lr: s }),
      loss: "crossEntropy",
      epochs: 2,
      batchSize: 4,
      lrSchedulePer: "step",
      onBatchEnd: (e) => lrs.push(e.lr),
    });
    lrs.forEach((lr, k) => {
      expect(lr).toBeCloseTo(s(k), 7);
    });
    expect(lrs.length).toBe(6);
  });

  it("onEpochEnd can stop training", () => {
    const r = fitModel(new Sequential(new Linear(2, 3)), blobs(12, 1), {
      optimizer: optim.sgd({ lr: 0.1 }),
      loss: "crossEntropy",
      epochs: 50,
      onEpochEnd: (log) => (log.epoch === 3 ? "stop" : undefined),
    });
    expect(r.stopReason).toBe("callback");
    expect(r.history.length).toBe(4);
  });

  it("the interpreter engine gives the same history (float64 vs float32): regression", () => {
    const { train, val } = overfitData();
    const opts = { loss: "mse" as const, epochs: 5, batchSize: 5, validation: val };
    const a = fitModel(wideNet(), train, { ...opts, optimizer: optim.adam({ lr: 0.01 }) });
    const b = fitModel(wideNet(), train, {
      ...opts,
      optimizer: optim.adam({ lr: 0.01 }),
      engine: "interpreter",
    });
    a.history.forEach((h, e) => {
      expect(b.history[e].loss).toBeCloseTo(h.loss, 5);
      expect(b.history[e].valLoss!).toBeCloseTo(h.valLoss!, 5);
    });
  });

  it("the interpreter engine gives the same history (float64 vs float32): classification", () => {
    const opts = {
      optimizer: optim.adam({ lr: 0.05 }),
      loss: "crossEntropy" as const,
      epochs: 5,
      batchSize: 8,
      validation: blobs(9, 2),
    };
    const a = fitModel(new Sequential(new Linear(2, 4), new Tanh(), new Linear(4, 3)), blobs(20, 1), opts);
    const b = fitModel(new Sequential(new Linear(2, 4), new Tanh(), new Linear(4, 3)), blobs(20, 1), {
      ...opts,
      optimizer: optim.adam({ lr: 0.05 }),
      engine: "interpreter",
    });
    a.history.forEach((h, e) => {
      expect(b.history[e].loss).toBeCloseTo(h.loss, 5);
      expect(b.history[e].valLoss!).toBeCloseTo(h.valLoss!, 5);
    });
  });

  it("checks its options, naming them", () => {
    const data = blobs(6, 1);
    const model = new Sequential(new Linear(2, 3));
    const base = { optimizer: optim.sgd({ lr: 0.1 }), loss: "crossEntropy" as const, epochs: 1 };
    expect(() => fitModel(model, data, { ...base, epochs: 0 })).toThrow(
      "fit: epochs must be a whole number >= 1, got 0",
    );
    expect(() => fitModel(model, data, { ...base, batchSize: 2.5 })).toThrow(
      "fit: batchSize must be a whole number >= 1",
    );
    expect(() => fitModel(model, data, { ...base, earlyStopping: { monitor: "valLoss" } })).toThrow(
      'fit: earlyStopping.monitor "valLoss" needs validation data',
    );
    expect(() => fitModel(model, data, { ...base, plateau: { percent: -1 } })).toThrow(
      "fit: plateau.percent must be",
    );
    expect(() => fitModel(model, data, { ...base, epoch: 3 } as never)).toThrow(
      'fit: unknown option "epoch"',
    );
    expect(() => fitModel(model, data, { ...base, loss: "hinge" as never })).toThrow(
      'fit: loss must be "crossEntropy"',
    );
    expect(() => fitModel(model, { ...data, n: 7 }, base)).toThrow("fit: training data: x has 12 values");
  });
});
