/**
 * The wasm SIMD elementwise kernels (wasm/elementwise.ts, codegen/wasm-elementwise.ts): a kernel computes
 * in float32, one rounding per op, so it equals Math.fround after every op bit for bit, whatever range a
 * call covers (the leftover elements run on lane 0 of the same code); a fused loop of + − × ÷ √ and
 * comparisons in wasm equals the unfused JS loops (each op stored as float32) bit for bit; loops with ops
 * the kernel lacks stay in JS; Adam's update runs in its gradient's product kernel, on each tile. The float64
 * comparisons of these loops, gradients included, are in ops.test.ts (large loops).
 */
import { compile, Graph, optim, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import {
  buildElementwiseModule,
  type ElementwiseSpec,
  type LaneExpr,
} from "../../packages/compiler/src/wasm/elementwise";
import { simdAvailable } from "../../packages/compiler/src/wasm/features";
import { wasmApi } from "../../packages/compiler/src/wasm/js-api";
import { mlp } from "./models";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const f = Math.fround;

/** The lane expression with float32 rounding after every op (JS's own float32 arithmetic). */
function reference(e: LaneExpr, operand: (i: number) => number, member: (i: number) => number): number {
  const r = (x: LaneExpr) => reference(x, operand, member);
  switch (e.kind) {
    case "operand":
      return operand(e.index);
    case "member":
      return member(e.index);
    case "const":
      return f(e.value);
    case "unary":
      return e.op === "neg" ? -r(e.x) : e.op === "abs" ? Math.abs(r(e.x)) : f(Math.sqrt(r(e.x)));
    case "binary": {
      const [a, b] = [r(e.a), r(e.b)];
      if (e.op === "min") return Math.min(a, b);
      if (e.op === "max") return Math.max(a, b);
      return f(e.op === "add" ? a + b : e.op === "sub" ? a - b : e.op === "mul" ? a * b : a / b);
    }
    case "select": {
      const [a, b] = [r(e.test.a), r(e.test.b)];
      const ops = { eq: a === b, ne: a !== b, lt: a < b, le: a <= b, gt: a > b, ge: a >= b };
      return ops[e.test.op] ? r(e.whenTrue) : r(e.whenFalse);
    }
  }
}

describe.runIf(simdAvailable())("wasm SIMD elementwise kernels", () => {
  // An Adam-like member list: m' = 0.9m + 0.1g, v' = 0.999v + 0.001g², u = m' / (√v' · s + 1e-8),
  // p' = p − lr·u, and a relu mask: (g > 0 ? g : −0.5·g).
  const operand = (index: number): LaneExpr => ({ kind: "operand", index });
  const member = (index: number): LaneExpr => ({ kind: "member", index });
  const c = (value: number): LaneExpr => ({ kind: "const", value });
  const bin = (op: "add" | "sub" | "mul" | "div" | "min" | "max", a: LaneExpr, b: LaneExpr): LaneExpr => ({
    kind: "binary",
    op,
    a,
    b,
  });
  const members: LaneExpr[] = [
    bin("add", bin("mul", operand(1), c(0.9)), bin("mul", operand(0), c(0.1))),
    bin("add", bin("mul", operand(2), c(0.999)), bin("mul", bin("mul", operand(0), operand(0)), c(0.001))),
    bin(
      "div",
      member(0),
      bin("add", bin("mul", { kind: "unary", op: "sqrt", x: member(1) }, operand(4)), c(1e-8)),
    ),
    bin("sub", operand(3), bin("mul", c(0.01), member(2))),
    {
      kind: "select",
      test: { op: "gt", a: operand(0), b: c(0) },
      whenTrue: operand(0),
      whenFalse: bin("mul", c(-0.5), operand(0)),
    },
    bin("max", bin("min", operand(0), c(0.25)), {
      kind: "unary",
      op: "neg",
      x: { kind: "unary", op: "abs", x: operand(1) },
    }),
  ];
  const count = 1031; // 257 groups of four and 3 left over

  function setUp() {
    const memory = new wasmApi.Memory({ initial: 1, maximum: 16, shared: true });
    const F = new Float32Array(memory.buffer);
    const at = (k: number) => 16 + k * 1040; // floats; operands 0-3 contiguous, 4 a broadcast scalar
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < count; i++)
        F[at(k) + i] = k === 2 ? Math.abs(Math.sin(i * 0.37 + k)) : Math.sin(i * 0.71 + k) * 3;
    F[at(4)] = 1.3;
    const spec: ElementwiseSpec = {
      count,
      operands: [0, 1, 2, 3, 4].map((k) => ({ offset: at(k) * 4, broadcast: k === 4 })),
      members,
      stores: [0, 2, 3, 4, 5].map((m, j) => ({ member: m, offset: at(5 + j) * 4 })),
    };
    const instance = new wasmApi.Instance(new wasmApi.Module(buildElementwiseModule(spec).encode()), {
      env: { memory },
    });
    const run = instance.exports.run as (lo: number, hi: number) => void;
    const stored = () => spec.stores.map((_, j) => F.slice(at(5 + j), at(5 + j) + count));
    const clear = () => F.fill(0, at(5), at(10));
    return { F, at, spec, run, stored, clear };
  }

  it("equal Math.fround after every op, bit for bit, over 4-lane groups and the leftover elements", () => {
    const { F, at, spec, run, stored } = setUp();
    run(0, count);
    const got = stored();
    for (let i = 0; i < count; i++) {
      const values: number[] = [];
      const read = (k: number) => (spec.operands[k].broadcast ? F[at(k)] : F[at(k) + i]);
      members.forEach((m, j) => {
        values[j] = reference(m, read, (x) => values[x]);
      });
      spec.stores.forEach((s, j) => {
        expect(bits(Float32Array.of(got[j][i])), `store ${j}, element ${i}`).toEqual(
          bits(Float32Array.of(values[s.member])),
        );
      });
    }
  });

  it("any split of [0, count) into calls gives the same bits as one call", () => {
    const { run, stored, clear } = setUp();
    run(0, count);
    const whole = stored().map(bits);
    for (const cuts of [[1], [2, 3], [513], [4, 8, 1030], [255, 256, 257, 700]]) {
      clear();
      const bounds = [0, ...cuts, count];
      for (let k = 0; k + 1 < bounds.length; k++) run(bounds[k], bounds[k + 1]);
      expect(stored().map(bits), `cut at ${cuts}`).toEqual(whole);
    }
  });

  it("a fused loop of + − × ÷ √, max and comparisons runs in wasm and equals the unfused JS loops bit for bit", () => {
    const build = () => {
      const g = new Graph({ seed: 3 });
      const a = g.param("a", [37, 29], { init: (v) => v.set(v.map((_, i) => Math.sin(i * 0.3) * 2)) });
      const b = g.param("b", [37, 29], { init: (v) => v.set(v.map((_, i) => 5 + Math.cos(i * 0.7))) });
      const s = g.param("s", [], { init: (v) => v.set([1.75]) });
      // Constants exactly representable in float32, so that both roundings see the same numbers.
      const y = a
        .mul(b)
        .maximum(0.25)
        .add(a.abs())
        .sqrt()
        .div(b.sub(a.mul(2)))
        .mul(s)
        .add(a.relu().neg())
        .add(a.leakyRelu(0.125).square());
      return y;
    };
    const fused = compile({ y: build() }, { cache: false });
    expect(fused.source).toMatch(/wasm\.ew\d+\(0, 1073\)/);
    expect(fused.source).not.toMatch(/Math\.sqrt/);
    // Its listing is part of the kernel's wasm listing.
    expect(fused.wasmListing).toMatch(/;; wasm\.ew\d+\n\(func \$run \(param \$lo i32\) \(param \$hi i32\)/);
    expect(fused.wasmListing).toMatch(/f32x4\.sqrt/);
    const unfused = compile({ y: build() }, { passes: { fusion: false }, wasm: false, cache: false });
    fused.run();
    unfused.run();
    expect(bits(fused.outputs.y)).toEqual(bits(unfused.outputs.y));
    expect(fused.outputs.y.some((v) => v !== 0 && Number.isFinite(v))).toBe(true);
  });

  it("a loop with an op the kernel lacks (exp), or below 256 elements, stays a JS loop", () => {
    const g = new Graph();
    const x = g.input("x", [1024]);
    const small = g.input("small", [255]);
    const k = compile({ y: x.exp().mul(2), z: small.mul(3).add(1) }, { cache: false });
    expect(k.source).not.toMatch(/wasm\.ew/);
    expect(k.source).toMatch(/Math\.exp/);
  });

  it("Adam's update runs in the product's kernel on each tile, or in wasm after it: the same bits, on 1 and 2 threads", async () => {
    const runs = await Promise.all(
      [1, 2].flatMap((threads) =>
        [true, false].map(async (tileEpilogues) => {
          const m = mlp([64, 96, 10], 16);
          const u = optim.adam({ lr: 0.01 }).minimize(m.loss);
          const k = compile(
            { loss: u.loss! },
            { updates: u.updates, threads, threadMinMacs: 0, cache: false, tileEpilogues },
          );
          await k.whenReady();
          return { m, k };
        }),
      ),
    );
    const [one, oneLoop, two, twoLoop] = runs;
    // W0's gradient [96, 64] (6,144 elements): fused, the kernel stores m, v and W0 itself (over each
    // slice's tiles on two threads); else the product, then the elementwise kernel over all of it (one
    // thread) or over each slice's rows (two threads).
    expect(one.k.wasmListing).toMatch(/epilogue: fused elementwise loop of \d+ ops on each tile/);
    expect(one.k.source).not.toMatch(/wasm\.ew\d+\(0, 6144\);/);
    expect(two.k.wasmListing).toMatch(/;; wasm\.mm\d+_\d+\n[\s\S]*fused elementwise loop/);
    expect(oneLoop.k.wasmListing).not.toMatch(/fused elementwise loop/);
    expect(oneLoop.k.source).toMatch(/wasm\.mm\d+\(\);\s*wasm\.ew\d+\(0, 6144\);/);
    expect(twoLoop.k.jobsSource).toMatch(/wasm\.mm\d+_\d+\(\);\s*wasm\.ew\d+\(\d+, \d+\);/);
    const params = (m: (typeof runs)[number]["m"]): Tensor[] => m.params;
    for (let s = 0; s < 3; s++) for (const r of runs) r.k.run(r.m.feeds);
    for (const r of runs.slice(1)) {
      expect(r.k.outputs.loss[0]).toBe(one.k.outputs.loss[0]);
      params(one.m).forEach((p, i) => {
        expect(bits(params(r.m)[i].value), p.name).toEqual(bits(p.value));
      });
    }
    for (const r of runs) await r.k.dispose();
  });

  it("a loop reading per-channel statistics and a bias along the rows runs in wasm as rows, equal to the unfused JS loops bit for bit, split or not", async () => {
    const build = (threads: number, fused: boolean) => {
      const g = new Graph({ seed: 4 });
      const wave = (scale: number, phase: number) => (v: Float32Array) =>
        v.set(v.map((_, i) => Math.sin(i * 0.37 + phase) * scale));
      const x = g.param("x", [5, 6, 7, 9], { init: wave(2, 0) });
      const mean = g.param("mean", [1, 6, 1, 1], { init: wave(0.5, 1) });
      const scale = g.param("scale", [6, 1, 1], { init: (v) => v.set(v.map((_, i) => 1 + i / 8)) });
      const bias = g.param("bias", [7, 9], { init: wave(0.25, 2) });
      // Rows of 7·9 = 63 elements (15 groups of four and 3 left over) over 5·6 rows.
      const y = x.sub(mean).mul(scale).add(bias).relu().sqrt();
      return compile(
        { y },
        fused
          ? { threads, threadMinElements: 0, cache: false }
          : { passes: { fusion: false }, wasm: false, cache: false },
      );
    };
    const kernels = [build(1, true), build(2, true), build(3, true), build(1, false)];
    await Promise.all(kernels.map((k) => k.whenReady()));
    for (const k of kernels) k.run();
    expect(kernels[0].source).toMatch(/wasm\.ew\d+\(0, 30\)/);
    expect(kernels[0].wasmListing).toMatch(/i32\.rem_u/);
    expect(kernels[1].jobsSource).toMatch(/wasm\.ew\d+\(lo, hi\)/);
    const y = bits(kernels[3].outputs.y);
    expect(new Set(y).size).toBeGreaterThan(100);
    for (const k of kernels.slice(0, 3)) expect(bits(k.outputs.y)).toEqual(y);
    await Promise.all(kernels.map((k) => k.dispose()));
  });

  it("a loop whose operands vary along the row in other ways, or whose rows are short, stays a JS loop", () => {
    const g = new Graph();
    // Rows of 4·4 = 16 with a per-channel scale run in wasm; rows of 3·3 = 9, or an operand read
    // transposed, stay JS loops.
    const rows = compile(
      { y: g.input("x", [64, 6, 4, 4]).mul(g.input("s", [1, 6, 1, 1])) },
      { cache: false },
    );
    expect(rows.source).toMatch(/wasm\.ew\d+\(0, 384\)/);
    const short = compile(
      { y: g.input("u", [64, 6, 3, 3]).mul(g.input("v", [1, 6, 1, 1])) },
      { cache: false },
    );
    const transposed = compile(
      { y: g.input("t", [64, 6, 16]).add(g.input("w", [64, 16, 6]).permute([0, 2, 1])) },
      { cache: false },
    );
    for (const k of [short, transposed]) expect(k.source).not.toMatch(/wasm\.ew/);
  });
});
