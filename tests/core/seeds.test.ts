/** Seeded graphs: parameter initializers are reproducible from the graph's seed, and differ across seeds. */
import { evaluate, Graph, type Initializer, Rng } from "adjoint";
import { describe, expect, it } from "vitest";

const normal: Initializer = (v, _shape, rng) => {
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
};

function params(seed: number | undefined) {
  const g = seed === undefined ? new Graph() : new Graph({ seed });
  const W = g.param("W", [4, 3], { init: normal });
  const b = g.param("b", [4], { init: normal });
  return { g, W, b };
}

describe("seeds", () => {
  it("W.value is a Float32Array of the param's size, written by the initializer", () => {
    const { W, b } = params(7);
    expect(W.value).toBeInstanceOf(Float32Array);
    expect(W.value).toHaveLength(12);
    expect(b.value).toHaveLength(4);
    expect(W.value.some((v) => v !== 0)).toBe(true);
    expect(new Set(W.value).size).toBe(12); // normal draws: all different
  });

  it("the same seed gives the same values", () => {
    const a = params(42);
    const b = params(42);
    expect(Array.from(a.W.value)).toEqual(Array.from(b.W.value));
    expect(Array.from(a.b.value)).toEqual(Array.from(b.b.value));
  });

  it("different seeds give different values", () => {
    const a = params(1);
    const b = params(2);
    expect(Array.from(a.W.value)).not.toEqual(Array.from(b.W.value));
    expect(Array.from(a.b.value)).not.toEqual(Array.from(b.b.value));
  });

  it("two params of one graph get different streams", () => {
    const { g } = params(3);
    const c = g.param("c", [4], { init: normal });
    const d = g.param("d", [4], { init: normal });
    expect(Array.from(c.value)).not.toEqual(Array.from(d.value));
  });

  it("the default seed is 0, and is reproducible", () => {
    const a = params(undefined);
    expect(a.g.seed).toBe(0);
    expect(Array.from(a.W.value)).toEqual(Array.from(params(0).W.value));
  });

  it("the initializer receives the shape and a generator forked from the graph's", () => {
    const seen: { shape: readonly number[]; first: number }[] = [];
    const spy: Initializer = (v, shape, rng) => {
      expect(rng).toBeInstanceOf(Rng);
      seen.push({ shape, first: rng.uniform() });
      v.fill(0.25);
    };
    const g = new Graph({ seed: 5 });
    const W = g.param("W", [2, 3], { init: spy });
    expect(seen[0].shape).toEqual([2, 3]);
    expect(Array.from(W.value)).toEqual([0.25, 0.25, 0.25, 0.25, 0.25, 0.25]);
    // Reproducible: the same first draw from a new graph of the same seed.
    new Graph({ seed: 5 }).param("W", [2, 3], { init: spy });
    expect(seen[1].first).toBe(seen[0].first);
  });

  it("a param without an initializer is zeros, and its values are float32", () => {
    const g = new Graph({ seed: 1 });
    const z = g.param("z", [3]);
    expect(Array.from(z.value)).toEqual([0, 0, 0]);
    const p = g.param("p", [1], { init: (v) => v.fill(0.1) });
    expect(p.value[0]).toBe(Math.fround(0.1));
    expect(p.value[0]).not.toBe(0.1);
  });

  it("W.value is the one copy: writing it changes what the graph reads", () => {
    const g = new Graph({ seed: 1 });
    const W = g.param("W", [2], { init: normal });
    W.value.set([1.5, -2]);
    expect(Array.from(g.get("W").value)).toEqual([1.5, -2]);
    expect(evaluate(W.mul(2), {})).toEqual(Float64Array.of(3, -4));
  });
});
