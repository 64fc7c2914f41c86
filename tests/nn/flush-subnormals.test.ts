/**
 * flushSubnormal (x, or +0 where |x| < 2⁻¹²⁶) and the optimizers' flushSubnormals option: a state decaying
 * towards zero reaches 0 instead of settling on a float32 subnormal fixed point (where every op on it
 * takes a microcode assist on Intel cores); with the option off it does settle there, as in torch.
 */
import { compile, evaluate, Graph, optim, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";

const SUBNORMAL_MIN = 2 ** -149;
const NORMAL_MIN = 2 ** -126;
const isSubnormal = (x: number) => x !== 0 && Math.abs(x) < NORMAL_MIN;

describe("flushSubnormal", () => {
  const values = [
    SUBNORMAL_MIN,
    -SUBNORMAL_MIN,
    4 * SUBNORMAL_MIN,
    2 ** -127,
    -(2 ** -127),
    NORMAL_MIN,
    -NORMAL_MIN,
    1e-30,
    0,
    -0,
    1,
    -3.5,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    Number.NaN,
  ];
  const expected = values.map((x) => (Math.abs(x) < NORMAL_MIN ? 0 : x));

  // 15 values: JS loops; 15 × 20 = 300 values: the wasm SIMD elementwise kernel (its 4-lane body and tail).
  for (const copies of [1, 20]) {
    it(`is x, or +0 below 2⁻¹²⁶, in the interpreter and compiled (${values.length * copies} elements)`, () => {
      const g = new Graph();
      const input = values.flatMap(() => values).slice(0, values.length * copies);
      const x = g.input("x", [input.length]);
      const y = x.flushSubnormal();
      const want = input.map((_, i) => expected[i % values.length]!);
      const reference = Array.from(evaluate(y, { x: input }));
      const k = compile({ y }, { cache: false });
      k.run({ x: input });
      const compiled = Array.from(k.outputs.y);
      // The interpreter in float64, the kernel in float32 (1e-30 is fround(1e-30) there).
      const same = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
      for (const [i, v] of reference.entries()) {
        expect(same(v, want[i]!), `interpreter: ${input[i]} → ${v}`).toBe(true);
      }
      for (const [i, v] of compiled.entries()) {
        expect(same(v, Math.fround(want[i]!)), `compiled: ${input[i]} → ${v}`).toBe(true);
      }
    });
  }
});

describe("the optimizers' state with flushSubnormals", () => {
  /** A weight whose gradient is 1 at the first step and exactly 0 after it (its input goes to 0). */
  function run(optimizer: { minimize: ReturnType<typeof optim.sgd>["minimize"] }, steps: number) {
    const g = new Graph();
    const w = g.param("w", [4], { init: (v) => v.fill(0.5) });
    const x = g.input("x", [4]);
    const loss = w.mul(x).sum();
    const u = optimizer.minimize(loss);
    const k = compile({ loss: u.loss! }, { updates: u.updates, cache: false });
    for (let s = 0; s < steps; s++) k.run({ x: s === 0 ? [1, 1e-3, 1e-20, -1] : [0, 0, 0, 0] });
    const state = u.state.get(w)!;
    return Object.fromEntries(
      Object.entries(state).map(([name, t]: [string, Tensor]) => [name, Array.from(t.value)]),
    );
  }

  for (const [name, make, steps] of [
    // β2 0.9: v decays as fast as m (with 0.999 it would take ~80,000 steps to reach the subnormals).
    ["adam", (flush: boolean) => optim.adam({ lr: 0.01, betas: [0.9, 0.9], flushSubnormals: flush }), 1200],
    [
      "sgd with momentum",
      (flush: boolean) => optim.sgd({ lr: 0.01, momentum: 0.9, flushSubnormals: flush }),
      1200,
    ],
    ["rmsprop", (flush: boolean) => optim.rmsprop({ lr: 0.01, alpha: 0.9, flushSubnormals: flush }), 1200],
  ] as const) {
    it(`${name}: a decaying state reaches 0 instead of a subnormal fixed point (which it keeps without the flush)`, () => {
      const flushed = run(make(true), steps);
      const kept = run(make(false), steps);
      const all = (s: Record<string, number[]>) => Object.values(s).flat();
      expect(all(flushed).filter(isSubnormal)).toEqual([]);
      expect(all(flushed).every((v) => v === 0)).toBe(true);
      // Without the flush the decay stops on subnormals: the check above could fail.
      expect(all(kept).some(isSubnormal)).toBe(true);
    });
  }

  it("refuses a flushSubnormals that is not a boolean, and still refuses unknown options", () => {
    expect(() => optim.adam({ flushSubnormals: 1 as unknown as boolean })).toThrow(
      /optim\.adam: flushSubnormals must be true or false, got 1/,
    );
    expect(() => optim.sgd({ lr: 0.1, flushSubnormal: true } as never)).toThrow(
      /optim\.sgd: unknown option "flushSubnormal" \(known: .*flushSubnormals/,
    );
  });
});
