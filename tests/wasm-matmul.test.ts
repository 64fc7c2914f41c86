import { describe, expect, it } from "vitest";
import { Rng } from "../packages/core/src/random";
import { relaxedSimdAvailable, simdAvailable } from "../packages/compiler/src/wasm/features";
import { wasmApi } from "../packages/compiler/src/wasm/js-api";
import { listMatmul } from "../packages/compiler/src/wasm/listing";
import {
  generateMatmul,
  instantiateMatmul,
  type MatmulSpec,
  type MatmulTuning,
  packBytes,
} from "../packages/compiler/src/wasm/matmul";

/** Shapes and options of one case; offsets are laid out by runCase. */
interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  accumulate?: boolean;
  /** true: one bias per column (bias[j]); "rows": one per row (bias[i], biasPerRow). */
  bias?: boolean | "rows";
  relu?: boolean;
  /**
   * Batch count, which operands are broadcast (stride 0), whether all elements sum into one C (cStride 0) and
   * `gap` floats of padding between elements.
   */
  batch?: { count: number; broadcastA?: boolean; broadcastB?: boolean; sumIntoC?: boolean; gap?: number };
  fma?: boolean;
  tuning?: Partial<MatmulTuning>;
  /** The dot-product kernel (wasm/matmul-dot.ts) instead of register tiles. */
  dot?: boolean;
}

const PAGE = 65536;
const FLOAT32_UNIT_ROUNDOFF = 2 ** -24;

/** Runs the generated kernel on seeded data and compares with a float64 reference, element by element. */
function runCase(
  c: Case,
  seed = 1,
): { maxError: number; maxAllowed: number; worst: number; output: Float32Array } {
  const { m, n, k } = c;
  const count = c.batch?.count ?? 1;
  const gap = c.batch?.gap ?? 0;
  const elementFloats = { a: m * k + gap, b: k * n + gap, c: m * n + gap };
  const aCopies = c.batch?.broadcastA ? 1 : count;
  const bCopies = c.batch?.broadcastB ? 1 : count;
  const cCopies = c.batch?.sumIntoC ? 1 : count;
  const aOffset = 64;
  const bOffset = aOffset + aCopies * elementFloats.a * 4 + 16;
  const cOffset = bOffset + bCopies * elementFloats.b * 4 + 32;
  const biasOffset = cOffset + cCopies * elementFloats.c * 4 + 4;
  const packOffset = biasOffset + Math.max(m, n) * 4 + 8;
  const spec: MatmulSpec = {
    m,
    n,
    k,
    transA: c.transA ?? false,
    transB: c.transB ?? false,
    aOffset,
    bOffset,
    cOffset,
    packOffset,
    accumulate: c.accumulate ?? false,
    biasOffset: c.bias ? biasOffset : undefined,
    biasPerRow: c.bias === "rows",
    activation: c.relu ? "relu" : "none",
    batch: c.batch && {
      count,
      aStride: c.batch.broadcastA ? 0 : elementFloats.a * 4,
      bStride: c.batch.broadcastB ? 0 : elementFloats.b * 4,
      cStride: c.batch.sumIntoC ? 0 : elementFloats.c * 4,
    },
    fma: c.fma ?? false,
    dot: c.dot,
  };
  const end = packOffset + packBytes(spec, c.tuning);
  const pages = Math.ceil(end / PAGE) + 1;
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  const floats = new Float32Array(memory.buffer);
  const rng = new Rng(seed);
  // Fill everything (pack scratch and padding included) so stray reads or writes show up as mismatches.
  for (let i = 0; i < end / 4; i++) floats[i] = rng.normal();
  const before = floats.slice();

  instantiateMatmul(spec, memory, c.tuning)();

  let maxError = 0;
  let maxAllowed = 0;
  let worst = 0;
  for (let output = 0; output < cCopies; output++) {
    const c0 = cOffset / 4 + output * elementFloats.c;
    const elements = c.batch?.sumIntoC ? Array.from({ length: count }, (_, e) => e) : [output];
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let expected = 0;
        let scale = 0;
        for (const e of elements) {
          const a0 = aOffset / 4 + (c.batch?.broadcastA ? 0 : e * elementFloats.a);
          const b0 = bOffset / 4 + (c.batch?.broadcastB ? 0 : e * elementFloats.b);
          for (let p = 0; p < k; p++) {
            const a = before[a0 + (spec.transA ? p * m + i : i * k + p)]!;
            const b = before[b0 + (spec.transB ? j * k + p : p * n + j)]!;
            expected += a * b;
            scale += Math.abs(a * b);
          }
        }
        if (spec.accumulate) {
          expected += before[c0 + i * n + j]!;
          scale += Math.abs(before[c0 + i * n + j]!);
        }
        if (c.bias) {
          const bias = before[biasOffset / 4 + (c.bias === "rows" ? i : j)]!;
          expected += bias;
          scale += Math.abs(bias);
        }
        if (c.relu) expected = Math.max(expected, 0);
        // Worst-case float32 summation bound over all terms; FMA and blocking change the rounding, not this.
        const terms = k * elements.length;
        const allowed = 2 * (terms + 3) * FLOAT32_UNIT_ROUNDOFF * scale + 1e-30;
        const error = Math.abs(floats[c0 + i * n + j]! - expected);
        if (!(error <= allowed)) worst++;
        maxError = Math.max(maxError, error / allowed);
        maxAllowed = Math.max(maxAllowed, allowed);
      }
    }
  }
  // Everything outside the C elements must be untouched, except the pack scratch.
  const inC = (index: number) => {
    const relative = index - cOffset / 4;
    if (relative < 0 || relative >= cCopies * elementFloats.c) return false;
    return relative % elementFloats.c < m * n;
  };
  for (let i = 0; i < packOffset / 4; i++) {
    if (!inC(i) && !Object.is(floats[i], before[i])) throw new Error(`float ${i} outside C was overwritten`);
  }
  for (let i = end / 4; i < floats.length; i++) {
    if (!Object.is(floats[i], before[i])) throw new Error(`float ${i} past the pack scratch was overwritten`);
  }
  const output = floats.slice(cOffset / 4, cOffset / 4 + cCopies * elementFloats.c);
  if (c.dot && !spec.fma) {
    // mul + add rounds every step, so the dot kernel's order can be replayed exactly: lane p mod 4 sums
    // its k over the batch elements in order, then (l0 + l1) + (l2 + l3).
    const f = Math.fround;
    for (let out = 0; out < cCopies; out++) {
      const elements = c.batch?.sumIntoC ? Array.from({ length: count }, (_, e) => e) : [out];
      const c0 = cOffset / 4 + out * elementFloats.c;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const lanes = [0, 0, 0, 0];
          for (const e of elements) {
            const a0 = aOffset / 4 + (c.batch?.broadcastA ? 0 : e * elementFloats.a) + i * k;
            const b0 = bOffset / 4 + (c.batch?.broadcastB ? 0 : e * elementFloats.b) + j * k;
            for (let p = 0; p < k; p++)
              lanes[p % 4] = f(lanes[p % 4]! + f(before[a0 + p]! * before[b0 + p]!));
          }
          let sum = f(f(lanes[0]! + lanes[1]!) + f(lanes[2]! + lanes[3]!));
          if (spec.accumulate) sum = f(before[c0 + i * n + j]! + sum);
          if (!Object.is(floats[c0 + i * n + j], sum))
            throw new Error(`dot C[${out}][${i},${j}]: ${floats[c0 + i * n + j]} ≠ replayed ${sum}`);
        }
    }
  }
  return { maxError, maxAllowed, worst, output };
}

function expectMatches(c: Case): void {
  const { worst, maxError } = runCase(c);
  expect(worst, `worst error ${maxError.toFixed(3)}× the bound`).toBe(0);
}

const orientations = [
  { transA: false, transB: false },
  { transA: true, transB: false },
  { transA: false, transB: true },
  { transA: true, transB: true },
];
const fmaModes = relaxedSimdAvailable() ? [false, true] : [false];
const sizes: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 7],
  [127, 129, 65],
  [64, 784, 128],
];

describe("wasm matmul", () => {
  it("runs on this host (SIMD available)", () => {
    expect(simdAvailable()).toBe(true);
  });

  for (const fma of fmaModes) {
    for (const o of orientations) {
      const name = `${o.transA ? "Aᵀ" : "A"}·${o.transB ? "Bᵀ" : "B"}${fma ? " fma" : ""}`;
      for (const [m, n, k] of sizes) {
        it(`${name} ${m}×${n}×${k}`, () => expectMatches({ m, n, k, ...o, fma }));
      }
      it(`${name} accumulate 13×21×300 (three K blocks)`, () =>
        expectMatches({ m: 13, n: 21, k: 300, ...o, fma, accumulate: true, tuning: { kBlock: 128 } }));
      it(`${name} bias + relu 37×19×512 (two K blocks, no remainder)`, () =>
        expectMatches({ m: 37, n: 19, k: 512, ...o, fma, bias: true, relu: true, tuning: { kBlock: 256 } }));
      it(`${name} accumulate + bias + relu 9×30×600 (default K block + remainder)`, () =>
        expectMatches({ m: 9, n: 30, k: 600, ...o, fma, accumulate: true, bias: true, relu: true }));
      it(`${name} batched, with gaps between elements`, () =>
        expectMatches({ m: 6, n: 11, k: 9, ...o, fma, batch: { count: 3, gap: 5 } }));
      it(`${name} batched with broadcast B (stride 0)`, () =>
        expectMatches({ m: 10, n: 12, k: 20, ...o, fma, batch: { count: 4, broadcastB: true } }));
      it(`${name} batched with broadcast B and gaps (not foldable)`, () =>
        expectMatches({ m: 10, n: 12, k: 20, ...o, fma, batch: { count: 3, broadcastB: true, gap: 3 } }));
      it(`${name} batched, summed into one C (cStride 0), bias + relu once at the end`, () =>
        expectMatches({
          m: 9,
          n: 10,
          k: 11,
          ...o,
          fma,
          bias: true,
          relu: true,
          batch: { count: 4, sumIntoC: true },
        }));
      it(`${name} batched, accumulated into one C with broadcast B and several K blocks`, () =>
        expectMatches({
          ...{ m: 5, n: 17, k: 40, ...o, fma, accumulate: true, relu: true, tuning: { kBlock: 16 } },
          batch: { count: 3, sumIntoC: true, broadcastB: true, gap: 2 },
        }));
      it(`${name} batched with broadcast A, bias, relu`, () =>
        expectMatches({
          m: 7,
          n: 9,
          k: 5,
          ...o,
          fma,
          bias: true,
          relu: true,
          batch: { count: 3, broadcastA: true },
        }));
    }
  }

  it("adds a bias per row (a convolution's channels), through M blocks, row tiles and batches", () => {
    for (const fma of fmaModes) {
      for (const o of orientations) {
        // W5's first conv: [6, 25] weights broadcast over the batch, times [25, 784] windows per image.
        expectMatches({
          m: 6,
          n: 784,
          k: 25,
          ...o,
          fma,
          bias: "rows",
          relu: true,
          batch: { count: 3, broadcastA: true },
        });
        // Rows at and past the tile and M-block edges, several N blocks, K blocks with a remainder.
        for (const tuning of [
          {},
          { mBlock: 12, nBlock: 48, kBlock: 12 },
          { tileRows: 2, tileCols: 16 },
          { tileRows: 4, tileCols: 8, mBlock: 8 },
        ]) {
          expectMatches({ m: 29, n: 41, k: 30, ...o, fma, bias: "rows", relu: true, tuning });
          expectMatches({ m: 9, n: 17, k: 35, ...o, fma, accumulate: true, bias: "rows", tuning });
        }
        // A broadcast B would fold the batch into one taller matmul: not with a bias per row.
        expectMatches({
          m: 10,
          n: 12,
          k: 20,
          ...o,
          fma,
          bias: "rows",
          batch: { count: 4, broadcastB: true },
        });
        expectMatches({
          m: 5,
          n: 7,
          k: 6,
          ...o,
          fma,
          bias: "rows",
          relu: true,
          batch: { count: 3, sumIntoC: true },
        });
      }
    }
  });

  it("its relu is the JS relu (x > 0 ? x : 0): NaN and −0 become +0", () => {
    // C = A·B with k = 1, B = [1]: C is A's column, then + bias 0 and relu.
    const spec: MatmulSpec = {
      ...{ m: 5, n: 1, k: 1, transA: false, transB: false, aOffset: 0, bOffset: 64, cOffset: 128 },
      ...{
        biasOffset: 192,
        biasPerRow: true,
        activation: "relu",
        packOffset: 256,
        accumulate: false,
        fma: false,
      },
    };
    const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: true });
    const floats = new Float32Array(memory.buffer);
    floats.set([Number.NaN, -0, -2, 3, Number.POSITIVE_INFINITY], 0);
    floats[16] = 1;
    instantiateMatmul(spec, memory)();
    const c = Array.from(floats.slice(32, 37));
    expect(c.map((x) => Object.is(x, 0) || x)).toEqual([true, true, true, 3, Number.POSITIVE_INFINITY]);
  });

  it("blocks over M and N when they exceed the cache blocks", () => {
    for (const o of orientations) {
      expectMatches({ m: 300, n: 70, k: 40, ...o, tuning: { mBlock: 64, nBlock: 16 } });
      expectMatches({
        m: 30,
        n: 90,
        k: 70,
        ...o,
        accumulate: true,
        tuning: { mBlock: 8, nBlock: 32, kBlock: 16 },
      });
    }
  });

  it("reads A in place, packed, or packed pre-broadcast, with either instruction choice", () => {
    for (const fma of fmaModes) {
      for (const broadcastA of [false, true]) {
        for (const o of orientations) {
          const tuning = { broadcastA, mBlock: 12, kBlock: 32 };
          expectMatches({ m: 21, n: 19, k: 70, ...o, fma, accumulate: true, bias: true, relu: true, tuning });
          expectMatches({ m: 3, n: 5, k: 7, ...o, fma, tuning: { ...tuning, tileRows: 4, tileCols: 8 } });
        }
      }
    }
  });

  it("gives the same bits whatever its register tile: every C element sums its k terms in one order", () => {
    // The default tile may change with the processor it was tuned on (3×12 since an Intel measurement):
    // that must never change a result, so threads, checkpoints and fixtures stay valid across tunings.
    const tiles = [
      { tileRows: 3, tileCols: 12, mBlock: 12, nBlock: 48 },
      { tileRows: 4, tileCols: 8, mBlock: 12, nBlock: 48 },
      { tileRows: 2, tileCols: 16, mBlock: 12, nBlock: 48 },
      { tileRows: 1, tileCols: 4, mBlock: 12, nBlock: 48 },
    ];
    for (const fma of fmaModes) {
      for (const o of orientations) {
        for (const [m, n, k] of [
          [5, 23, 70],
          [13, 50, 600],
          [29, 41, 66],
        ] as Array<[number, number, number]>) {
          const outputs = tiles.map((tuning) => {
            const c: Case = { m, n, k, ...o, fma, accumulate: true, bias: true, relu: true, tuning };
            const { worst, output } = runCase(c);
            expect(worst, JSON.stringify(c)).toBe(0);
            return output;
          });
          for (const [t, output] of outputs.entries()) {
            const differing = output.findIndex((x, i) => !Object.is(x, outputs[0]![i]));
            expect(
              differing,
              `${m}×${n}×${k} ${JSON.stringify(o)} fma ${fma} ${JSON.stringify(tiles[t])}`,
            ).toBe(-1);
          }
        }
      }
    }
  });

  it("packs B per panel or per block and A in place or packed, ragged at every tile edge, bit for bit alike", () => {
    // Packing moves data, never arithmetic: every packing choice must give the same bits. Sizes sit one
    // below, at and one above the 3×12 and 4×8 tiles in m and n, k leaves a remainder after the 4-step
    // transposes, and the small blocks give several M, N and K blocks with remainders.
    const packings = [false, true].flatMap((packBPerPanel) =>
      [false, true].map((packRowMajorA) => ({ packBPerPanel, packRowMajorA })),
    );
    for (const fma of fmaModes) {
      for (const o of orientations) {
        for (const [m, n, k] of [
          [2, 11, 13],
          [3, 12, 32],
          [4, 13, 35],
          [7, 15, 13],
          [8, 16, 32],
          [9, 17, 35],
          [29, 41, 66],
        ] as Array<[number, number, number]>) {
          for (const blocks of [{}, { mBlock: 12, nBlock: 48, kBlock: 12 }]) {
            const outputs = packings.map((packing) => {
              const c: Case = {
                m,
                n,
                k,
                ...o,
                fma,
                bias: true,
                relu: true,
                tuning: { ...blocks, ...packing },
              };
              const { worst, maxError, output } = runCase(c);
              expect(worst, `${JSON.stringify(c)}: worst error ${maxError.toFixed(3)}× the bound`).toBe(0);
              return output;
            });
            for (const output of outputs.slice(1)) {
              const differing = output.findIndex((x, i) => !Object.is(x, outputs[0]![i]));
              expect(differing, `${m}×${n}×${k} ${JSON.stringify(o)} fma ${fma}`).toBe(-1);
            }
          }
        }
      }
    }
  });

  it("supports a 2×16 register tile", () => {
    for (const o of orientations) {
      expectMatches({
        m: 33,
        n: 50,
        k: 27,
        ...o,
        bias: true,
        relu: true,
        tuning: { tileRows: 2, tileCols: 16 },
      });
      expectMatches({ m: 3, n: 5, k: 7, ...o, accumulate: true, tuning: { tileRows: 2, tileCols: 16 } });
    }
  });

  it("rejects misaligned offsets, bad sizes and a scratch region overlapping an operand", () => {
    const spec: MatmulSpec = {
      ...{ m: 2, n: 2, k: 2, transA: false, transB: false, aOffset: 0, bOffset: 64, cOffset: 128 },
      ...{ packOffset: 256, accumulate: false, fma: false },
    };
    expect(() => generateMatmul(spec)).not.toThrow();
    expect(() => generateMatmul({ ...spec, aOffset: 2 })).toThrow(
      /aOffset must be a non-negative multiple of 4/,
    );
    expect(() => generateMatmul({ ...spec, biasOffset: 7 })).toThrow(/biasOffset/);
    expect(() => generateMatmul({ ...spec, k: 0 })).toThrow(/k must be a positive integer/);
    const batch = { count: 2, aStride: 16, bStride: 6, cStride: 16 };
    expect(() => generateMatmul({ ...spec, batch })).toThrow(/bStride/);
    expect(() => generateMatmul({ ...spec, packOffset: 140 })).toThrow(/overlaps C/);
    expect(packBytes({ ...spec, packOffset: 0 })).toBeGreaterThan(0); // sizing works before placement
    expect(() => generateMatmul(spec, { tileCols: 6 })).toThrow(/multiple of 4/);
  });

  it("lists the loop nest, strides and instruction choice", () => {
    const spec: MatmulSpec = {
      ...{ m: 64, n: 784, k: 128, transA: true, transB: false, aOffset: 0, bOffset: 32768 },
      ...{ cOffset: 434176, packOffset: 635904, accumulate: true, fma: false, activation: "relu" },
    };
    const listing = listMatmul(spec);
    expect(listing).toContain("f32x4.mul");
    expect(listing).toContain("pack");
    expect(listing).not.toContain("relaxed_madd");
    if (relaxedSimdAvailable()) expect(listMatmul({ ...spec, fma: true })).toContain("f32x4.relaxed_madd");
  });
});

describe("wasm matmul: the dot kernel (A·Bᵀ, both operands along k)", () => {
  for (const fma of fmaModes) {
    const name = fma ? "fma" : "mul+add (replayed bit for bit)";
    const dot = { transB: true, dot: true, fma };
    for (const [m, n, k] of [
      [1, 1, 16],
      [3, 3, 16],
      [5, 7, 17],
      [6, 25, 30],
      [16, 150, 100],
      [4, 2, 63],
    ] as Array<[number, number, number]>) {
      it(`${name}: ${m}×${n}×${k} (edge tiles of C, k mod 4 = ${k % 4})`, () =>
        expectMatches({ m, n, k, ...dot }));
    }
    it(`${name}: accumulate`, () => expectMatches({ m: 7, n: 8, k: 21, ...dot, accumulate: true }));
    it(`${name}: a C per batch element, with gaps and broadcast A`, () => {
      expectMatches({ m: 4, n: 5, k: 18, ...dot, batch: { count: 3, gap: 3 } });
      expectMatches({ m: 4, n: 5, k: 18, ...dot, batch: { count: 3, broadcastA: true, gap: 1 } });
    });
    // 12 floats × 4 B × k 1030 per element: blocks of 5 elements in the 256 KB budget.
    for (const count of [3, 5, 10, 12]) {
      it(`${name}: a sum over ${count} batch elements into one C (blocks of 5, partial sums saved between them)`, () =>
        expectMatches({ m: 5, n: 7, k: 1030, ...dot, batch: { count, sumIntoC: true, gap: 2 } }));
    }
    it(`${name}: a sum over the batch accumulated into C, broadcast B`, () =>
      expectMatches({
        m: 5,
        n: 7,
        k: 1030,
        ...dot,
        accumulate: true,
        batch: { count: 12, sumIntoC: true, broadcastB: true },
      }));
  }

  it("is listed as the dot kernel, with no scratch for one block and partial sums for several", () => {
    const spec: MatmulSpec = {
      ...{ m: 6, n: 25, k: 784, transA: false, transB: true, dot: true, fma: false, accumulate: false },
      ...{ aOffset: 0, bOffset: 1 << 20, cOffset: 1 << 24, packOffset: (1 << 24) + 4096 },
      batch: { count: 64, aStride: 6 * 784 * 4, bStride: 25 * 784 * 4, cStride: 0 },
    };
    expect(listMatmul(spec)).toMatch(/;; dot kernel, tiles of 3×3 outputs/);
    expect(listMatmul(spec)).toMatch(/\(func \$dot_3x3 /);
    expect(packBytes(spec)).toBe(6 * 25 * 16);
    expect(packBytes({ ...spec, batch: { ...spec.batch!, count: 2 } })).toBe(0);
  });

  it("rejects what it cannot run: A stored transposed, B not, an epilogue, k < 16", () => {
    const base: MatmulSpec = {
      ...{ m: 4, n: 4, k: 32, transA: false, transB: true, dot: true, fma: false, accumulate: false },
      ...{ aOffset: 0, bOffset: 1024, cOffset: 2048, packOffset: 4096 },
    };
    expect(() => generateMatmul(base)).not.toThrow();
    for (const bad of [
      { transA: true },
      { transB: false },
      { biasOffset: 3072 },
      { activation: "relu" as const },
      { k: 8 },
    ]) {
      expect(() => generateMatmul({ ...base, ...bad })).toThrow(/dot kernel needs/);
    }
  });
});
