import { describe, expect, it } from "vitest";
import { Graph, Rng } from "../../packages/core/src";
import { init } from "../../packages/nn/src";

function sample(initializer: ReturnType<typeof init.zeros>, shape: number[], seed = 7): Float32Array {
  const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
  initializer(v, shape, new Rng(seed));
  return v;
}

function moments(v: Float32Array): { mean: number; variance: number } {
  let m = 0;
  for (const x of v) m += x;
  m /= v.length;
  let s = 0;
  for (const x of v) s += (x - m) ** 2;
  return { mean: m, variance: s / (v.length - 1) };
}

describe("init: sample variance of a 256x256 tensor within 5% of the formula", () => {
  const shape = [256, 256];
  const fanIn = 256;
  const fanOut = 256;
  const cases: [string, ReturnType<typeof init.zeros>, number][] = [
    ["xavierNormal: 1/fan_in", init.xavierNormal(), 1 / fanIn],
    ["glorotNormal: 2/(fi+fo)", init.glorotNormal(), 2 / (fanIn + fanOut)],
    ["glorotNormal gain 2", init.glorotNormal({ gain: 2 }), (4 * 2) / (fanIn + fanOut)],
    ["glorotUniform: a²/3, a = √(6/(fi+fo))", init.glorotUniform(), 6 / (fanIn + fanOut) / 3],
    ["glorotUniform gain 3", init.glorotUniform({ gain: 3 }), (9 * 6) / (fanIn + fanOut) / 3],
    ["heNormal relu: 2/fan_in", init.heNormal({ nonlinearity: "relu" }), 2 / fanIn],
    ["heNormal default (leaky_relu, a=0): 2/fan_in", init.heNormal(), 2 / fanIn],
    ["heNormal leaky a=0.2", init.heNormal({ a: 0.2 }), 2 / (1 + 0.04) / fanIn],
    ["heUniform relu: 2/fan_in", init.heUniform({ nonlinearity: "relu" }), 2 / fanIn],
    ["heUniform a=√5 (torch Linear): 1/(3 fan_in)", init.heUniform({ a: Math.sqrt(5) }), 1 / (3 * fanIn)],
    ["normal std 0.3", init.normal({ mean: 1, std: 0.3 }), 0.09],
    ["uniform [-2, 4]: 36/12", init.uniform({ low: -2, high: 4 }), 3],
  ];
  for (const [name, f, expected] of cases) {
    it(name, () => {
      const { variance } = moments(sample(f, shape));
      expect(Math.abs(variance / expected - 1)).toBeLessThan(0.05);
    });
  }

  it("fan_out mode uses shape[0]: [64, 256] heNormal fan_out has variance 2/64", () => {
    const { variance } = moments(
      sample(init.heNormal({ mode: "fan_out", nonlinearity: "relu" }), [64, 1024]),
    );
    expect(Math.abs(variance / (2 / 64) - 1)).toBeLessThan(0.05);
    const { variance: vin } = moments(
      sample(init.heNormal({ mode: "fan_in", nonlinearity: "relu" }), [1024, 64]),
    );
    expect(Math.abs(vin / (2 / 64) - 1)).toBeLessThan(0.05);
  });

  it("means: normal has its mean, uniform its midpoint, the rest 0", () => {
    expect(Math.abs(moments(sample(init.normal({ mean: 1, std: 0.3 }), shape)).mean - 1)).toBeLessThan(0.01);
    expect(Math.abs(moments(sample(init.uniform({ low: -2, high: 4 }), shape)).mean - 1)).toBeLessThan(0.02);
    expect(Math.abs(moments(sample(init.glorotNormal(), shape)).mean)).toBeLessThan(0.002);
  });

  it("uniform initializers stay within their bounds", () => {
    const a = Math.sqrt(6 / 512);
    const v = sample(init.glorotUniform(), shape);
    expect(Math.max(...v)).toBeLessThanOrEqual(a);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-a);
    expect(Math.max(...v)).toBeGreaterThan(0.99 * a);
  });
});

describe("init: fans as torch", () => {
  it("2-D, conv-like 4-D (receptive field), 1-D and scalar", () => {
    expect(init.fans([10, 20])).toEqual({ fanIn: 20, fanOut: 10 });
    expect(init.fans([8, 3, 5, 5])).toEqual({ fanIn: 75, fanOut: 200 });
    expect(init.fans([7])).toEqual({ fanIn: 7, fanOut: 7 });
    expect(init.fans([])).toEqual({ fanIn: 1, fanOut: 1 });
  });
  it("a conv-shaped he init scales by the receptive field", () => {
    const { variance } = moments(sample(init.heNormal({ nonlinearity: "relu" }), [64, 16, 4, 4]));
    expect(Math.abs(variance / (2 / 256) - 1)).toBeLessThan(0.05);
  });
});

describe("init: reproducible", () => {
  it("the same seed gives the same values, another seed others", () => {
    const a = sample(init.glorotNormal(), [32, 32], 11);
    const b = sample(init.glorotNormal(), [32, 32], 11);
    const c = sample(init.glorotNormal(), [32, 32], 12);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });
  it("through a graph: the graph seed fixes every param", () => {
    const make = (seed: number) => {
      const g = new Graph({ seed });
      return [
        g.param("a", [8, 8], { init: init.heUniform() }),
        g.param("b", [8], { init: init.normal() }),
      ].map((p) => Array.from(p.value));
    };
    expect(make(3)).toEqual(make(3));
    expect(make(3)).not.toEqual(make(4));
  });
  it("zeros and constant", () => {
    expect(Array.from(sample(init.constant(0.25), [3]))).toEqual([0.25, 0.25, 0.25]);
    const v = new Float32Array([1, 2]);
    init.zeros()(v, [2], new Rng(0));
    expect(Array.from(v)).toEqual([0, 0]);
  });
});

describe("init: options are checked", () => {
  it("names the initializer and the option", () => {
    expect(() => init.normal({ std: -1 })).toThrow("init.normal: std must be >= 0, got -1");
    expect(() => init.uniform({ low: 2, high: 1 })).toThrow("init.uniform: low must be <= high");
    expect(() => init.glorotUniform({ gain: Number.NaN })).toThrow(
      "init.glorotUniform: gain must be a finite number",
    );
    expect(() => init.heNormal({ mode: "fan_avg" as never })).toThrow(
      'init.heNormal: mode must be "fan_in" or "fan_out"',
    );
    expect(() => init.heNormal({ nonlinearity: "relu", a: 0.1 })).toThrow("only for nonlinearity");
    expect(() => init.constant(Number.POSITIVE_INFINITY)).toThrow(
      "init.constant: value must be a finite number",
    );
    expect(() => sample(init.xavierNormal(), [4, 0])).toThrow(
      "init.xavierNormal: fan_in of shape [4,0] is 0",
    );
  });
});
