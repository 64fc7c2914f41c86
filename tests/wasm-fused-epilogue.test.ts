/**
 * The matmul kernel's fused elementwise epilogue (wasm/fused-epilogue.ts): on each register tile, the loop
 * the elementwise kernel would run over the stored product. It must give the bits of that loop over the
 * product the unfused kernel stores, whatever the orientation, the tile edges, the K blocks (partial sums
 * in C, the epilogue on the last), a batch of products or a sum over the batch, the tile shape and the
 * thread slices; and it must write nothing but its outputs.
 */
import { describe, expect, it } from "vitest";
import { Rng } from "../packages/core/src/random";
import {
  buildElementwiseModule,
  type ElementwiseSpec,
  type LaneExpr,
} from "../packages/compiler/src/wasm/elementwise";
import { relaxedSimdAvailable, simdAvailable } from "../packages/compiler/src/wasm/features";
import { wasmApi } from "../packages/compiler/src/wasm/js-api";
import { listMatmul } from "../packages/compiler/src/wasm/listing";
import {
  instantiateMatmul,
  type MatmulSpec,
  type MatmulTuning,
  packBytes,
} from "../packages/compiler/src/wasm/matmul";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

interface Case {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  batch?: { count: number; sumIntoC?: boolean };
  fma?: boolean;
  tuning?: Partial<MatmulTuning>;
}

const operand = (index: number): LaneExpr => ({ kind: "operand", index });
const member = (index: number): LaneExpr => ({ kind: "member", index });
const num = (value: number): LaneExpr => ({ kind: "const", value });
const bin = (op: "add" | "sub" | "mul" | "div", a: LaneExpr, b: LaneExpr): LaneExpr => ({
  kind: "binary",
  op,
  a,
  b,
});

/**
 * Adam over the product g (operand 0) with state m (1), v (2), the weight p (3) and a scalar step size s
 * (4, broadcast), and a relu mask of g: stores m', v', p' in place and the mask apart.
 */
function adam(count: number, at: { g: number; m: number; v: number; p: number; s: number; mask: number }) {
  const g = operand(0);
  const members: LaneExpr[] = [
    bin("add", bin("mul", operand(1), num(0.9)), bin("mul", g, num(0.1))), // 0: m'
    bin("add", bin("mul", operand(2), num(0.999)), bin("mul", bin("mul", g, g), num(0.001))), // 1: v'
    bin(
      "div",
      member(0),
      bin("add", bin("mul", { kind: "unary", op: "sqrt", x: member(1) }, operand(4)), num(1e-8)),
    ),
    bin("sub", operand(3), bin("mul", member(2), num(0.01))), // 3: p'
    { kind: "select", test: { op: "gt", a: g, b: num(0) }, whenTrue: g, whenFalse: bin("mul", g, num(-0.5)) },
  ];
  const spec: ElementwiseSpec = {
    count,
    operands: [
      { offset: at.g, broadcast: false },
      { offset: at.m, broadcast: false },
      { offset: at.v, broadcast: false },
      { offset: at.p, broadcast: false },
      { offset: at.s, broadcast: true },
    ],
    members,
    stores: [
      { member: 0, offset: at.m },
      { member: 1, offset: at.v },
      { member: 3, offset: at.p },
      { member: 4, offset: at.mask },
    ],
  };
  return spec;
}

/** The memory after the product and its epilogue, fused or as a loop over the stored product. */
function run(
  c: Case,
  fused: boolean,
  slices = 1,
): { floats: Float32Array; outputs: number[][]; listing: string } {
  const { m, n, k } = c;
  const count = c.batch?.count ?? 1;
  const products = c.batch?.sumIntoC ? 1 : count;
  const elements = products * m * n;
  // Operands of the epilogue below the product and above it, so its distances are negative and positive.
  const state = 64;
  const aOffset = state + 2 * elements * 4 + 64;
  const bOffset = aOffset + count * m * k * 4 + 32;
  const cOffset = bOffset + count * k * n * 4 + 16;
  const above = cOffset + elements * 4 + 48;
  const at = {
    g: cOffset,
    m: state,
    v: state + elements * 4,
    p: above,
    mask: above + elements * 4,
    s: above + 2 * elements * 4,
  };
  const packOffset = at.s + 64;
  const spec: MatmulSpec = {
    ...{ m, n, k, transA: c.transA ?? false, transB: c.transB ?? false, aOffset, bOffset, cOffset },
    ...{ packOffset, accumulate: false, fma: c.fma ?? false },
    batch: c.batch && {
      count,
      aStride: m * k * 4,
      bStride: k * n * 4,
      cStride: c.batch.sumIntoC ? 0 : m * n * 4,
    },
  };
  const ew = adam(elements, at);
  if (fused) spec.fused = { elementwise: ew, product: 0, productOffset: cOffset };
  // Thread slices: the product's rows cut in `slices` parts, each a kernel over its rows in place.
  const parts =
    slices === 1 || c.batch
      ? [spec]
      : Array.from({ length: slices }, (_, s) => {
          const [i0, i1] = [Math.floor((s * m) / slices), Math.floor(((s + 1) * m) / slices)];
          return {
            ...spec,
            m: i1 - i0,
            aOffset: aOffset + i0 * (spec.transA ? 1 : k) * 4,
            cOffset: cOffset + i0 * n * 4,
            lda: spec.transA ? m : undefined,
            ldc: n,
          };
        });
  const end = packOffset + Math.max(...parts.map((p) => packBytes(p, c.tuning)));
  const pages = Math.ceil(end / 65536) + 1;
  const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  const floats = new Float32Array(memory.buffer);
  const rng = new Rng(3);
  for (let i = 0; i < end / 4; i++) floats[i] = rng.normal();
  for (let i = 0; i < elements; i++) floats[at.v / 4 + i] = Math.abs(floats[at.v / 4 + i]!);
  floats[at.s / 4] = 0.75;
  for (const part of parts) instantiateMatmul(part, memory, c.tuning)();
  if (!fused) {
    const module = new wasmApi.Module(buildElementwiseModule(ew).encode());
    const kernel = new wasmApi.Instance(module, { env: { memory } }).exports.run as (
      lo: number,
      hi: number,
    ) => void;
    kernel(0, elements);
  }
  const outputs = [at.m, at.v, at.p, at.mask].map((o) => bits(floats.slice(o / 4, o / 4 + elements)));
  return { floats, outputs, listing: listMatmul(spec, c.tuning) };
}

const orientations = [{}, { transA: true }, { transB: true }, { transA: true, transB: true }];
const fmaModes = relaxedSimdAvailable() ? [false, true] : [false];

describe.runIf(simdAvailable())("the matmul kernel's fused elementwise epilogue", () => {
  it("gives the bits of the loop over the stored product: orientations, tile edges, K blocks, tiles", () => {
    for (const fma of fmaModes) {
      for (const o of orientations) {
        for (const [m, n, k] of [
          [7, 13, 5],
          [29, 41, 66],
          [64, 100, 40],
        ] as Array<[number, number, number]>) {
          for (const tuning of [
            {},
            { kBlock: 12 },
            { tileRows: 4, tileCols: 8, kBlock: 16 },
            { tileRows: 2, tileCols: 16 },
          ]) {
            const c: Case = { m, n, k, ...o, fma, tuning };
            const unfused = run(c, false);
            const fused = run(c, true);
            fused.outputs.forEach((out, i) => {
              expect(out, `${JSON.stringify(c)} output ${i}`).toEqual(unfused.outputs[i]);
            });
            expect(new Set(fused.outputs[3]).size).toBeGreaterThan((m * n) / 2);
          }
        }
      }
    }
  });

  it("over a batch of products and a sum over the batch, and split by rows as threads split it", () => {
    for (const fma of fmaModes) {
      for (const batch of [{ count: 3 }, { count: 4, sumIntoC: true }]) {
        const c: Case = { m: 10, n: 30, k: 20, fma, batch, tuning: { kBlock: 8 } };
        const [unfused, fused] = [run(c, false), run(c, true)];
        for (const [i, out] of fused.outputs.entries()) {
          expect(out, `${JSON.stringify(c)} ${i}`).toEqual(unfused.outputs[i]);
        }
      }
      for (const slices of [2, 3]) {
        const c: Case = { m: 29, n: 41, k: 66, fma, transA: true };
        const [whole, split] = [run(c, true), run(c, true, slices)];
        for (const [i, out] of split.outputs.entries()) {
          expect(out, `${slices} slices ${i}`).toEqual(whole.outputs[i]);
        }
        expect(split.outputs[0]).toEqual(run(c, false).outputs[0]);
      }
    }
  });

  it("writes only its outputs (C only with the partial sums of earlier K blocks), and says so in its listing", () => {
    const c: Case = { m: 20, n: 27, k: 30 };
    const { floats, listing } = run(c, true);
    const again = run(c, true);
    expect(bits(floats)).toEqual(bits(again.floats));
    // With one K block, C keeps the bytes it was filled with: the gradient never leaves the registers.
    const unwritten = run({ ...c, tuning: {} }, true).floats;
    const filled = new Float32Array(unwritten.length);
    const rng = new Rng(3);
    for (let i = 0; i < filled.length; i++) filled[i] = rng.normal();
    const state = 64;
    const elements = c.m * c.n;
    const cOffset = state + 2 * elements * 4 + 64 + c.m * c.k * 4 + 32 + c.k * c.n * 4 + 16;
    expect(bits(unwritten.slice(cOffset / 4, cOffset / 4 + elements))).toEqual(
      bits(filled.slice(cOffset / 4, cOffset / 4 + elements)),
    );
    expect(listing).toMatch(
      /epilogue: fused elementwise loop of 5 ops on each tile, storing @\d+, @\d+, @\d+, @\d+ instead of C/,
    );
  });

  it("refuses a fused epilogue together with a bias, an activation or accumulate", () => {
    const spec: MatmulSpec = {
      ...{ m: 4, n: 4, k: 4, transA: false, transB: false, aOffset: 0, bOffset: 64, cOffset: 128 },
      ...{ packOffset: 4096, accumulate: true, fma: false },
      fused: {
        elementwise: adam(16, { g: 128, m: 256, v: 320, p: 384, mask: 448, s: 512 }),
        product: 0,
        productOffset: 128,
      },
    };
    const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: true });
    expect(() => instantiateMatmul(spec, memory)).toThrow(
      /fused elementwise epilogue replaces bias, activation and accumulate/,
    );
  });
});
