import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  batches,
  copyBatchInto,
  type Dataset,
  fitMinMaxScaler,
  fitStandardizer,
  irisClassNames,
  loadIris,
  makeSpiral,
  oneHot,
  shuffledIndices,
  standardizerFrom,
  takeRows,
  trainValSplit,
} from "../packages/nn/src/data";
import { loadAllMnist, loadMnist, parseDigitFile } from "../packages/nn/src/data/mnist";
import { Rng } from "../packages/core/src/random";

/** Bit-for-bit equality of two float arrays (vitest's toEqual walks large arrays element by element, slowly). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    )
  );
}

/** n rows of 3 features; row i is [i, 10 * i, 7] (the last feature is constant). */
function toyDataset(n: number): Dataset {
  const x = new Float32Array(n * 3);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x.set([i, 10 * i, 7], 3 * i);
    y[i] = i % 2;
  }
  return { x, y, n, xShape: [3], yShape: [], classes: 2 };
}

function rowIds(ds: Dataset): number[] {
  return Array.from({ length: ds.n }, (_, i) => ds.x[i * 3]);
}

describe("splits and batches", () => {
  it("shuffledIndices is a seeded permutation", () => {
    const a = shuffledIndices(50, 3);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledIndices(50, 3)).toEqual(a);
    expect(shuffledIndices(50, 4)).not.toEqual(a);
  });

  it("trainValSplit gives disjoint, complete, repeatable parts that keep x and y together", () => {
    const ds = toyDataset(100);
    const { train, val } = trainValSplit(ds, { valFraction: 0.25, seed: 1 });
    expect(val.n).toBe(25);
    expect(train.n).toBe(75);
    const all = [...rowIds(train), ...rowIds(val)].sort((p, q) => p - q);
    expect(all).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 0; i < train.n; i++) {
      expect(train.x[3 * i + 1]).toBe(10 * train.x[3 * i]);
      expect(train.y[i]).toBe(train.x[3 * i] % 2);
    }
    expect(rowIds(trainValSplit(ds, { valFraction: 0.25, seed: 1 }).val)).toEqual(rowIds(val));
    expect(rowIds(trainValSplit(ds, { valFraction: 0.25, seed: 2 }).val)).not.toEqual(rowIds(val));
    expect(() => trainValSplit(ds, { valFraction: 1 })).toThrow(/valFraction must be in \[0, 1\)/);
  });

  it("takeRows copies, so changing the result leaves the source alone", () => {
    const ds = toyDataset(5);
    const taken = takeRows(ds, [4, 0]);
    expect(rowIds(taken)).toEqual([4, 0]);
    taken.x.fill(-1);
    expect(ds.x[12]).toBe(4);
  });

  it("batches cover every sample once, with a short last batch unless dropLast", () => {
    const ds = toyDataset(10);
    const counts = [...batches(ds, 4)].map((b) => b.count);
    expect(counts).toEqual([4, 4, 2]);
    expect([...batches(ds, 4, { dropLast: true })].map((b) => b.count)).toEqual([4, 4]);

    const xBuffer = new Float32Array(4 * 3);
    const yBuffer = new Float32Array(4);
    const seen: number[] = [];
    for (const b of batches(ds, 4, { shuffle: true, seed: 9 })) {
      copyBatchInto(ds, b.order, b.start, b.count, xBuffer, yBuffer);
      for (let r = 0; r < b.count; r++) {
        seen.push(xBuffer[3 * r]);
        expect(yBuffer[r]).toBe(xBuffer[3 * r] % 2);
      }
    }
    expect([...seen].sort((p, q) => p - q)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: 10 }, (_, i) => i));
  });

  it("batches with a generator give a new order each epoch, a fixed seed the same one", () => {
    const ds = toyDataset(30);
    const orderOf = (it: Iterable<{ order: Uint32Array }>) => [...[...it][0].order];
    expect(orderOf(batches(ds, 8, { shuffle: true, seed: 5 }))).toEqual(
      orderOf(batches(ds, 8, { shuffle: true, seed: 5 })),
    );
    const rng = new Rng(5);
    expect(orderOf(batches(ds, 8, { shuffle: true, rng }))).not.toEqual(
      orderOf(batches(ds, 8, { shuffle: true, rng })),
    );
  });

  it("copyBatchInto copies long rows (the memcpy path) exactly and checks its buffers", () => {
    const n = 6;
    const x = Float32Array.from({ length: n * 20 }, (_, i) => i);
    const ds: Dataset = { x, y: new Float32Array(n * 2), n, xShape: [4, 5], yShape: [2] };
    const xOut = new Float32Array(2 * 20);
    const yOut = new Float32Array(2 * 2);
    copyBatchInto(ds, [5, 1], 0, 2, xOut, yOut);
    expect([...xOut]).toEqual([...x.subarray(100, 120), ...x.subarray(20, 40)]);
    expect(() => copyBatchInto(ds, [5, 1], 0, 2, new Float32Array(39), yOut)).toThrow(/xOut holds 39 values/);
    expect(() => copyBatchInto(ds, [6], 0, 1, xOut, yOut)).toThrow(/index 6 is not a row/);
  });
});

describe("scalers", () => {
  it("standardizer statistics come from the training split only", () => {
    const ds = toyDataset(100);
    const { train, val } = trainValSplit(ds, { valFraction: 0.3, seed: 0 });
    const scaler = fitStandardizer(train.x, train.n, 3);
    const ids = rowIds(train);
    const mean = ids.reduce((s, v) => s + v, 0) / ids.length;
    const std = Math.sqrt(ids.reduce((s, v) => s + (v - mean) ** 2, 0) / ids.length);
    expect(scaler.mean[0]).toBeCloseTo(mean, 4);
    expect(scaler.std[0]).toBeCloseTo(std, 4);
    expect(scaler.mean[1]).toBeCloseTo(10 * mean, 3);
    // The full data set's mean (49.5) would differ: the split is what was used.
    expect(Math.abs(mean - 49.5)).toBeGreaterThan(1e-3);

    const scaledTrain = scaler.apply(train.x);
    for (let f = 0; f < 3; f++) {
      let s = 0;
      let s2 = 0;
      for (let i = 0; i < train.n; i++) {
        s += scaledTrain[3 * i + f];
        s2 += scaledTrain[3 * i + f] ** 2;
      }
      expect(s / train.n).toBeCloseTo(0, 5);
      expect(s2 / train.n).toBeCloseTo(f === 2 ? 0 : 1, 4);
    }
    // Validation data is transformed with the training statistics, not its own.
    const scaledVal = scaler.apply(val.x);
    expect(scaledVal[0]).toBeCloseTo((val.x[0] - mean) / std, 4);
  });

  it("a constant feature gets std 1 and scales to exactly 0, never NaN", () => {
    const x = Float32Array.from([0.1, 5, 0.1, 6, 0.1, 7]);
    const scaler = fitStandardizer(x, 3, 2);
    expect(scaler.std[0]).toBe(1);
    const scaled = scaler.apply(x);
    expect([scaled[0], scaled[2], scaled[4]]).toEqual([0, 0, 0]);
    expect(scaled.every(Number.isFinite)).toBe(true);
    const zeros = fitStandardizer(new Float32Array(8), 4, 2).apply(new Float32Array(8));
    expect(zeros.every((v) => v === 0)).toBe(true);
  });

  it("apply returns a new array, applyInPlace modifies its input", () => {
    const x = Float32Array.from([1, 2, 3, 4]);
    const scaler = fitStandardizer(x, 4, 1);
    const copy = scaler.apply(x);
    expect(copy).not.toBe(x);
    expect([...x]).toEqual([1, 2, 3, 4]);
    expect(scaler.applyInPlace(x)).toBe(x);
    expect([...x]).toEqual([...copy]);
    expect(standardizerFrom(scaler.mean, scaler.std).apply(Float32Array.from([1, 2, 3, 4]))).toEqual(copy);
    expect(() => fitStandardizer(Float32Array.from([1, Number.NaN]), 2, 1)).toThrow(
      /feature 0 of sample 1 is NaN/,
    );
    expect(() => fitStandardizer(new Float32Array(5), 2, 2)).toThrow(/x has 5 values/);
  });

  it("min-max scaler maps the training range to [low, high]", () => {
    const x = Float32Array.from([0, 3, 5, 3, 10, 3]);
    const scaler = fitMinMaxScaler(x, 3, 2);
    expect([...scaler.apply(x)]).toEqual([0, 0, 0.5, 0, 1, 0]);
    const symmetric = fitMinMaxScaler(x, 3, 2, { low: -1, high: 1 });
    expect([...symmetric.apply(Float32Array.from([5, 3, 20, 3]))]).toEqual([0, -1, 3, -1]);
  });
});

describe("oneHot", () => {
  it("encodes class indices", () => {
    expect([...oneHot([2, 0], 3)]).toEqual([0, 0, 1, 1, 0, 0]);
    expect([...oneHot(Float32Array.from([1]), 2)]).toEqual([0, 1]);
  });

  it("refuses labels that are not whole numbers in [0, classes)", () => {
    expect(() => oneHot([0, 3], 3)).toThrow("oneHot: label 3 at index 1 is not a whole number in [0, 3)");
    expect(() => oneHot([1.5], 3)).toThrow(/label 1.5 at index 0/);
    expect(() => oneHot([-1], 3)).toThrow(/label -1 at index 0/);
    expect(() => oneHot([Number.NaN], 3)).toThrow(/label NaN/);
    expect(() => oneHot([0], 0)).toThrow(/classes must be a whole number >= 1/);
  });
});

describe("MNIST", () => {
  it("loads 784 features in [0, 1] and labels 0..9, all digits in the training part", () => {
    const started = performance.now();
    const { train, test } = loadMnist({ train: 8000, seed: 0 });
    console.log(`loadMnist (parse + split): ${(performance.now() - started).toFixed(0)} ms`);
    expect(train.n).toBe(8000);
    expect(train.n + test.n).toBe(loadAllMnist().n);
    expect(test.n).toBeGreaterThan(1000);
    expect(train.xShape).toEqual([784]);
    expect(train.yShape).toEqual([]);
    expect(train.classes).toBe(10);
    expect(train.x.length).toBe(8000 * 784);
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const v of train.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect(min).toBe(0);
    expect(max).toBe(1);
    const counts = new Array(10).fill(0);
    for (const label of [...train.y, ...test.y]) {
      expect(Number.isInteger(label) && label >= 0 && label <= 9).toBe(true);
      counts[label]++;
    }
    expect(counts.every((c) => c > 800)).toBe(true);
    const started2 = performance.now();
    loadMnist({ seed: 1 });
    console.log(`loadMnist (cached, split only): ${(performance.now() - started2).toFixed(0)} ms`);
  });

  it("repeats the split for a seed, changes it for another, and keeps train and test disjoint", () => {
    const fingerprint = (ds: Dataset) => {
      // The sum of the pixels of each image identifies it well enough to test membership.
      const sums: number[] = [];
      for (let i = 0; i < ds.n; i++) {
        let s = 0;
        for (let k = 0; k < 784; k++) s += ds.x[i * 784 + k];
        sums.push(Math.round(s * 1000) * 10 + ds.y[i]);
      }
      return sums;
    };
    const a = loadMnist({ train: 500, seed: 7 });
    const b = loadMnist({ train: 500, seed: 7 });
    const c = loadMnist({ train: 500, seed: 8 });
    expect(sameBits(b.train.x, a.train.x)).toBe(true);
    expect(sameBits(b.test.y, a.test.y)).toBe(true);
    expect(sameBits(c.train.x, a.train.x)).toBe(false);

    // Disjoint as sample indices: reconstruct them from the permutation contract.
    const all = loadAllMnist();
    const order = shuffledIndices(all.n, 7);
    expect(sameBits(takeRows(all, order.subarray(0, 500)).x, a.train.x)).toBe(true);
    const trainIds = new Set(order.subarray(0, 500));
    expect([...order.subarray(500)].some((i) => trainIds.has(i))).toBe(false);
    // And as contents: almost no image of the test part equals a training image.
    const trainPrints = new Set(fingerprint(a.train));
    const shared = fingerprint(a.test).filter((p) => trainPrints.has(p)).length;
    expect(shared).toBeLessThan(20);
  });

  it("returns copies: scaling a split in place leaves the cache and later loads alone", () => {
    const first = loadMnist({ train: 100, seed: 3 });
    const before = first.train.x.slice();
    first.train.x.fill(42);
    expect(sameBits(loadMnist({ train: 100, seed: 3 }).train.x, before)).toBe(true);
  });

  it("the byte scanner reads a digit file exactly as JSON.parse would", () => {
    const nnRequire = createRequire(new URL("../packages/nn/package.json", import.meta.url));
    const folder = join(dirname(nnRequire.resolve("mnist/package.json")), "src", "digits");
    const file = join(folder, "5.json");
    const bytes = readFileSync(file);
    const expected = Float32Array.from(JSON.parse(bytes.toString("utf8")).data as number[]);
    expect(sameBits(parseDigitFile(bytes, file), expected)).toBe(true);
    expect(() => parseDigitFile(Buffer.from('{"data":[0,1e3]}'), "bad.json")).toThrow(
      /mnist digit file bad.json: unexpected character "e" at byte 12/,
    );
  });
});

describe("Iris", () => {
  it("has 150 samples of 4 features in 3 classes, split by seed", () => {
    const { train, test } = loadIris({ testFraction: 0.2, seed: 0 });
    expect(train.n).toBe(120);
    expect(test.n).toBe(30);
    expect(train.xShape).toEqual([4]);
    expect(train.x.length).toBe(120 * 4);
    expect(train.classes).toBe(3);
    expect(new Set([...train.y, ...test.y])).toEqual(new Set([0, 1, 2]));
    expect(irisClassNames()).toEqual(["setosa", "versicolor", "virginica"]);
    expect(loadIris({ seed: 0 }).test.x).toEqual(test.x);
    expect(loadIris({ seed: 1 }).test.x).not.toEqual(test.x);
  });
});

describe("spiral", () => {
  it("has pointsPerClass * classes points of 2 features within the unit disc, seeded", () => {
    const ds = makeSpiral({ pointsPerClass: 50, classes: 4, seed: 2 });
    expect(ds.n).toBe(200);
    expect(ds.x.length).toBe(400);
    expect(ds.xShape).toEqual([2]);
    expect(ds.classes).toBe(4);
    expect([...ds.y.subarray(0, 50)].every((c) => c === 0)).toBe(true);
    expect(ds.y[199]).toBe(3);
    for (let i = 0; i < ds.n; i++)
      expect(Math.hypot(ds.x[2 * i], ds.x[2 * i + 1])).toBeLessThanOrEqual(1 + 1e-6);
    expect(makeSpiral({ pointsPerClass: 50, classes: 4, seed: 2 }).x).toEqual(ds.x);
    expect(makeSpiral({ pointsPerClass: 50, classes: 4, seed: 3 }).x).not.toEqual(ds.x);
    const defaults = makeSpiral();
    expect(defaults.n).toBe(300);
    expect(defaults.classes).toBe(3);
  });
});
