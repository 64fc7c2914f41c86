/**
 * Conv2d, the pools, BatchNorm1d/2d and LayerNorm as modules: torch's parameter shapes, default init and
 * state_dict keys (buffers included); a small CNN trained 3 SGD steps against PyTorch (losses, every weight
 * and the running statistics the step updates, then eval mode); BatchNorm's running estimates in a compiled
 * step; errors.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { evaluate, Graph } from "../../packages/core/src";
import {
  AvgPool2d,
  BatchNorm1d,
  BatchNorm2d,
  buildModel,
  Conv2d,
  crossEntropy,
  fit as fitModel,
  Flatten,
  init,
  LayerNorm,
  Linear,
  MaxPool2d,
  optim,
  ReLU,
  readFloat64,
  Sequential,
  stateUpdates,
  trainStep,
} from "../../packages/nn/src";
import {
  loadCheckpointInto,
  loadSafetensorsInto,
  saveCheckpoint,
  saveSafetensors,
} from "../../packages/nn/src/node";

describe("Conv2d", () => {
  it("weight [out, in/groups, kh, kw] and bias [out], torch's default init bounds ±1/√fan_in", () => {
    const conv = new Conv2d(6, 16, [5, 3], { groups: 2 });
    const { y } = buildModel(new Sequential(conv), { inputShape: [6, 12, 12], batch: 2 });
    expect(y.shape).toEqual([2, 16, 8, 10]);
    const sd = conv.stateDict();
    expect(Object.keys(sd)).toEqual(["weight", "bias"]);
    const [w, b] = conv.parameters();
    expect(w.shape).toEqual([16, 3, 5, 3]);
    expect(b.shape).toEqual([16]);
    const bound = 1 / Math.sqrt(3 * 5 * 3); // fan_in = in/groups·kh·kw
    const maxAbs = (v: Float32Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxAbs(w.value)).toBeLessThanOrEqual(bound);
    expect(maxAbs(w.value)).toBeGreaterThan(0.9 * bound);
    expect(maxAbs(b.value)).toBeLessThanOrEqual(bound);
    expect(maxAbs(b.value)).toBeGreaterThan(0.5 * bound);
  });

  it("init.* see the conv fans as torch (fan_in = in/groups·kh·kw, fan_out = out·kh·kw)", () => {
    expect(init.fans([16, 3, 5, 3])).toEqual({ fanIn: 45, fanOut: 240 });
    const conv = new Conv2d(2, 4, 3, { bias: false, init: init.constant(0.5) });
    buildModel(conv, { inputShape: [2, 5, 5], batch: 1 });
    expect(conv.parameters().length).toBe(1);
    expect([...conv.parameters()[0].value].every((v) => v === 0.5)).toBe(true);
  });

  it("refuses bad arguments and inputs with the layer's shape in the message", () => {
    expect(() => new Conv2d(3, 4, 0)).toThrow(/Conv2d: kernelSize must be a whole number >= 1/);
    expect(() => new Conv2d(3, 4, 3, { groups: 2 })).toThrow(
      /Conv2d: groups = 2 must be a whole number >= 1 dividing/,
    );
    const g = new Graph();
    expect(() => new Conv2d(3, 4, 3).build(g.input("x", [2, 1, 8, 8]))).toThrow(
      /Conv2d\(3, 4\): input must be \[N, 3, H, W\], got \[2,1,8,8\]/,
    );
    expect(() => new Conv2d(3, 4, 3).build(g.input("x3", [3, 8, 8]))).toThrow(/got \[3,8,8\]/);
  });
});

describe("pools and norms as modules", () => {
  it("shapes and state_dict keys as torch", () => {
    const model = new Sequential(
      new Conv2d(1, 4, 3, { padding: 1 }),
      new BatchNorm2d(4),
      new ReLU(),
      new MaxPool2d(2),
      new AvgPool2d(2, { stride: 1 }),
      new Flatten(),
      new LayerNorm(144),
      new Linear(144, 5),
      new BatchNorm1d(5, { affine: false }),
    );
    const { y } = buildModel(model, { inputShape: [1, 14, 14], batch: 3 });
    expect(y.shape).toEqual([3, 5]);
    expect(Object.keys(model.stateDict())).toEqual([
      "0.weight",
      "0.bias",
      "1.weight",
      "1.bias",
      "1.running_mean",
      "1.running_var",
      "1.num_batches_tracked",
      "6.weight",
      "6.bias",
      "7.weight",
      "7.bias",
      "8.running_mean",
      "8.running_var",
      "8.num_batches_tracked",
    ]);
    expect(model.buffers().map((b) => b.shape)).toEqual([[4], [4], [], [5], [5], []]);
    expect([...model.stateDict()["1.running_var"]]).toEqual([1, 1, 1, 1]);
    expect(model.parameters().every((p) => p.role === "param")).toBe(true);
  });

  it("errors name the layer and the expected input", () => {
    const g = new Graph();
    expect(() => new BatchNorm2d(3).build(g.input("a", [2, 3, 4]))).toThrow(
      /BatchNorm2d\(3\): input must be \[N, 3, H, W\], got \[2,3,4\]/,
    );
    expect(() => new BatchNorm1d(4).build(g.input("b", [2, 3]))).toThrow(
      /BatchNorm1d\(4\): input must be \[N, 4\] or \[N, 4, L\], got \[2,3\]/,
    );
    expect(() => new BatchNorm1d(4, { momentum: 2 })).toThrow(
      /BatchNorm1d: momentum must be a number in \[0, 1\]/,
    );
    expect(() => new LayerNorm([])).toThrow(/LayerNorm: normalizedShape must be whole numbers >= 1/);
    expect(() => new LayerNorm(5).build(g.input("c", [2, 4]))).toThrow(
      /layerNorm: input \[2,4\] must end in/,
    );
  });
});

interface StateRecord {
  shape: number[];
  values: number[];
}
const fixture = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "conv", "train.json"), "utf8")) as {
  torch: string;
  init: Record<string, StateRecord>;
  x: number[];
  t: number[];
  losses: number[];
  final: Record<string, StateRecord>;
  eval: number[];
};

function fixtureModel() {
  return new Sequential(
    new Conv2d(2, 3, 3, { padding: 1 }),
    new BatchNorm2d(3),
    new ReLU(),
    new MaxPool2d(2),
    new Flatten(),
    new Linear(27, 8),
    new BatchNorm1d(8),
    new ReLU(),
    new Linear(8, 3),
  );
}

describe(`a small CNN trained 3 SGD steps, against PyTorch ${fixture.torch} (float64)`, () => {
  it("losses, weights and running statistics after each step; eval mode uses the running statistics", () => {
    const model = fixtureModel();
    const { graph: g, x, y } = buildModel(model, { inputShape: [2, 6, 6], batch: 4 });
    const t = g.input("t", [4]);
    model.loadStateDict(Object.fromEntries(Object.entries(fixture.init).map(([k, v]) => [k, v.values])));
    const step = trainStep(crossEntropy(y, t), optim.sgd({ lr: 0.1 }), { engine: "interpreter" });
    const losses = [0, 1, 2].map(() => step.run({ [x.name!]: fixture.x, t: fixture.t }));
    for (const [k, loss] of losses.entries()) expect(loss).toBeCloseTo(fixture.losses[k], 12);
    const state = new Map(model.namedState());
    expect([...state.keys()]).toEqual(Object.keys(fixture.final));
    for (const [name, want] of Object.entries(fixture.final)) {
      const got = readFloat64(state.get(name)!);
      expect(got.length, name).toBe(want.values.length);
      for (let i = 0; i < got.length; i++) expect(got[i], `${name}[${i}]`).toBeCloseTo(want.values[i], 11);
    }
    // Eval mode: a second build in the same graph reads the (trained) running statistics, updates nothing.
    model.eval();
    const ev = buildModel(model, { inputShape: [2, 6, 6], batch: 4 });
    expect(stateUpdates([ev.y])).toEqual([]);
    const feeds: Record<string, Float64Array> = { [ev.x.name!]: Float64Array.from(fixture.x) };
    for (const [name, t] of state) feeds[name] = readFloat64(t);
    const logits = evaluate(ev.y, feeds);
    for (let i = 0; i < logits.length; i++) expect(logits[i]).toBeCloseTo(fixture.eval[i], 11);
  });
});

describe("BatchNorm's running statistics in a compiled training step", () => {
  it("running_mean, running_var (unbiased) and num_batches_tracked are updated by every step", () => {
    const bn = new BatchNorm1d(2, { momentum: 0.25 });
    const model = new Sequential(new Linear(3, 2), bn);
    const { graph: g, x, y } = buildModel(model, { inputShape: [3], batch: 4 });
    const loss = y.square().mean().add(g.input("u", []));
    const step = trainStep(loss, optim.sgd({ lr: 0 }));
    const xs = [1, 2, 3, -1, 0, 2, 0.5, -2, 1, 3, 1, -1];
    const h = evaluate(model.layers[0].build(x), { [x.name!]: xs }); // the Linear's output (lr 0: fixed)
    let mean = [0, 0];
    let variance = [1, 1];
    for (let k = 0; k < 3; k++) {
      step.run({ [x.name!]: xs, u: [0] });
      for (let c = 0; c < 2; c++) {
        const col = [0, 1, 2, 3].map((r) => h[r * 2 + c]);
        const m = col.reduce((a, b) => a + b, 0) / 4;
        const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / 3;
        mean[c] = 0.75 * mean[c] + 0.25 * m;
        variance[c] = 0.75 * variance[c] + 0.25 * v;
      }
      mean = [...mean];
      variance = [...variance];
    }
    const sd = bn.stateDict();
    for (let c = 0; c < 2; c++) {
      expect(sd.running_mean[c]).toBeCloseTo(mean[c], 5);
      expect(sd.running_var[c]).toBeCloseTo(variance[c], 5);
    }
    expect(sd.num_batches_tracked[0]).toBe(3);
  });
});

describe("buffers in checkpoints, safetensors and early stopping", () => {
  function trained() {
    const model = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 2));
    const { graph: g, x, y } = buildModel(model, { inputShape: [3], batch: 5 });
    const t = g.input("t", [5]);
    const step = trainStep(crossEntropy(y, t), optim.sgd({ lr: 0.1 }));
    const xs = Array.from({ length: 15 }, (_, i) => Math.sin(i));
    for (let k = 0; k < 3; k++) step.run({ [x.name!]: xs, t: [0, 1, 1, 0, 1] });
    return model;
  }
  const records = (m: Sequential) =>
    m.namedState().map(([name, t]) => ({ name, shape: [...t.shape], value: t.value }));

  it("save and load the running statistics (Adjoint checkpoint and safetensors)", () => {
    const dir = mkdtempSync(join(tmpdir(), "adjoint-bn-"));
    try {
      const a = trained();
      expect(a.stateDict()["1.num_batches_tracked"][0]).toBe(3);
      saveCheckpoint(join(dir, "m.ckpt"), { tensors: records(a) });
      saveSafetensors(join(dir, "m.safetensors"), records(a));
      for (const load of [
        (m: Sequential) => loadCheckpointInto(join(dir, "m.ckpt"), records(m)),
        (m: Sequential) => loadSafetensorsInto(join(dir, "m.safetensors"), records(m)),
      ]) {
        const b = new Sequential(new Linear(3, 4), new BatchNorm1d(4), new ReLU(), new Linear(4, 2));
        buildModel(b, { inputShape: [3], batch: 5 });
        load(b);
        for (const [name, v] of Object.entries(a.stateDict()))
          expect([...b.stateDict()[name]], name).toEqual([...v]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fit's early stopping restores the best epoch's running statistics with its weights", () => {
    const rows = 40;
    const x = Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(i * 1.7) * 2);
    const y = Float32Array.from({ length: rows }, (_, i) => (x[2 * i] + x[2 * i + 1] > 0 ? 1 : 0));
    const data = { x, y, n: rows, xShape: [2], yShape: [], classes: 2 };
    const val = { ...data, x: x.map((v) => v + 0.5) };
    const model = new Sequential(new Linear(2, 16), new BatchNorm1d(16), new ReLU(), new Linear(16, 2));
    const seen: number[][] = [];
    const result = fitModel(model, data, {
      optimizer: optim.adam({ lr: 0.05 }),
      loss: "crossEntropy",
      epochs: 60,
      batchSize: 8,
      validation: val,
      earlyStopping: { patience: 3 },
      onEpochEnd: () => {
        seen.push([...model.stateDict()["1.running_mean"]]);
      },
    });
    expect(result.stopReason).toBe("earlyStopping");
    const best = result.bestEpoch!;
    expect(best).toBeLessThan(seen.length - 1);
    expect(seen[seen.length - 1]).not.toEqual(seen[best]);
    expect([...model.stateDict()["1.running_mean"]]).toEqual(seen[best]);
  });
});

describe("the LeNet-5 training step with batch norm: compiled against the float64 interpreter", () => {
  // SGD, not Adam: Adam's m/√v turns float32 noise in near-zero gradients into steps of size lr.
  it("agrees on the losses, the weights and the running statistics after 3 SGD steps", () => {
    const make = () =>
      new Sequential(
        new Conv2d(1, 6, 5, { padding: 2 }),
        new BatchNorm2d(6),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(6, 16, 5),
        new BatchNorm2d(16),
        new ReLU(),
        new MaxPool2d(2),
        new Flatten(),
        new Linear(400, 120),
        new BatchNorm1d(120),
        new ReLU(),
        new Linear(120, 10),
      );
    const batch = 3;
    const xs = Array.from({ length: batch * 784 }, (_, i) => Math.max(0, Math.sin(i * 0.37) * 1.3 - 0.3));
    const ts = [3, 7, 1];
    const run = (engine: "compiled" | "interpreter") => {
      const model = make();
      const { graph: g, x, y } = buildModel(model, { inputShape: [1, 28, 28], batch, seed: 4 });
      const t = g.input("t", [batch]);
      const step = trainStep(crossEntropy(y, t), optim.sgd({ lr: 0.1, momentum: 0.9 }), { engine });
      const losses = [0, 1, 2].map(() => step.run({ [x.name!]: xs, t: ts }));
      return { losses, state: model.namedState().map(([n, p]) => [n, readFloat64(p)] as const) };
    };
    const a = run("compiled");
    const b = run("interpreter");
    for (let k = 0; k < 3; k++) expect(a.losses[k]).toBeCloseTo(b.losses[k], 4);
    expect(a.state.map(([n]) => n)).toEqual(b.state.map(([n]) => n));
    for (const [i, [name, va]] of a.state.entries()) {
      const vb = b.state[i][1];
      let worst = 0;
      for (let j = 0; j < va.length; j++)
        worst = Math.max(worst, Math.abs(va[j] - vb[j]) / (1 + Math.abs(vb[j])));
      // float32 against float64 after three steps of a batch-normalized net (statistics over 3 samples
      // amplify rounding): up to ~5e-5 relative here; a wrong rule would be off by O(1).
      expect(worst, name).toBeLessThan(2e-4);
    }
  }, 120_000);
});
