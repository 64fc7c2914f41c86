import { describe, expect, it } from "vitest";
import { evaluate, Graph, grad } from "../../packages/core/src";
import {
  buildModel,
  Flatten,
  GELU,
  LeakyReLU,
  Linear,
  Module,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
  init,
} from "../../packages/nn/src";

const mlp = () => new Sequential(new Linear(3, 4), new Tanh(), new Linear(4, 2));

describe("Module params: named by module path, one copy in the graph", () => {
  it("a Sequential names its params like a torch state_dict", () => {
    const model = mlp();
    const { graph } = buildModel(model, { inputShape: [3], batch: 5 });
    expect(model.namedParameters().map(([n, t]) => [n, t.shape])).toEqual([
      ["0.weight", [4, 3]],
      ["0.bias", [4]],
      ["2.weight", [2, 4]],
      ["2.bias", [2]],
    ]);
    expect(graph.params.map((p) => p.name)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    // Nodes are tagged with their module path.
    expect(new Set(graph.nodes.filter((n) => n.role === "op").map((n) => n.scope))).toEqual(
      new Set(["0", "1", "2"]),
    );
  });

  it("nested containers prefix their children's names", () => {
    const model = new Sequential(
      new Sequential(new Linear(2, 2)),
      new ReLU(),
      new Linear(2, 1, { bias: false }),
    );
    buildModel(model, { inputShape: [2], batch: 1 });
    expect(model.namedParameters().map(([n]) => n)).toEqual(["0.0.weight", "0.0.bias", "2.weight"]);
  });

  it("building again in the same graph reuses the params (another batch size, evaluation)", () => {
    const model = mlp();
    const a = buildModel(model, { inputShape: [3], batch: 5 });
    const b = buildModel(model, { inputShape: [3], batch: 2 });
    expect(b.graph).toBe(a.graph);
    expect(a.graph.params.length).toBe(4);
    expect(b.x.name).toBe("x_1");
    const xs = Float32Array.from({ length: 15 }, (_, i) => Math.sin(i));
    const ya = evaluate(a.y, { x: xs });
    const yb = evaluate(b.y, { x_1: xs.subarray(0, 6) });
    expect(Array.from(yb)).toEqual(Array.from(ya.subarray(0, 4)));
  });

  it("refuses to build into a second graph, and parameters() before build", () => {
    const model = mlp();
    expect(() => model.parameters()).toThrow('Linear "0": parameters() before the module was built');
    buildModel(model, { inputShape: [3], batch: 1 });
    const other = new Graph();
    expect(() => model.build(other.input("x", [1, 3]))).toThrow("Linear: already built in another graph");
  });

  it("two models in one graph need their own scopes", () => {
    const g = new Graph();
    const x = g.input("x", [1, 3]);
    mlp().build(x);
    expect(() => mlp().build(x)).toThrow('the graph already has a leaf named "0.weight"');
    const other = mlp();
    g.scope("second", () => other.build(x));
    expect(other.namedParameters()[0][0]).toBe("0.weight");
    expect(other.parameters()[0].name).toBe("second.0.weight");
  });

  it("stateDict views the live weights; loadStateDict checks then copies", () => {
    const model = mlp();
    buildModel(model, { inputShape: [3], batch: 1 });
    const sd = model.stateDict();
    expect(Object.keys(sd)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    sd["0.bias"][0] = 42;
    expect(model.parameters()[1].value[0]).toBe(42);
    const copy = Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, Array.from(v, () => 0.5)]));
    model.loadStateDict(copy);
    expect(Array.from(model.parameters()[2].value)).toEqual(new Array(8).fill(0.5));
    expect(() => model.loadStateDict({ ...copy, "0.bias": [1] })).toThrow(
      '"0.bias" has 1 values, expected 4',
    );
    expect(() => model.loadStateDict({ ...copy, extra: [1] })).toThrow('no parameter "extra"');
  });

  it("a custom module composes children", () => {
    class Residual extends Module {
      readonly inner = this.addChild("inner", new Linear(3, 3));
      protected forward(x: ReturnType<Graph["input"]>) {
        return x.add(this.buildChild("inner", x));
      }
    }
    const model = new Residual();
    const { y } = buildModel(model, { inputShape: [3], batch: 2 });
    expect(model.namedParameters().map(([n]) => n)).toEqual(["inner.weight", "inner.bias"]);
    expect(y.shape).toEqual([2, 3]);
  });
});

describe("Linear", () => {
  it("computes x·Wᵀ + b (torch layout) for 2-D, 1-D and 3-D inputs", () => {
    const lin = new Linear(3, 2);
    const g = new Graph({ seed: 4 });
    const x = g.input("x", [2, 3]);
    const y = lin.build(x);
    const [W, b] = lin.parameters().map((p) => p.value);
    const xv = [1, 2, 3, -1, 0.5, 2];
    const out = evaluate(y, { x: xv });
    for (let r = 0; r < 2; r++) {
      for (let o = 0; o < 2; o++) {
        let s = b[o];
        for (let i = 0; i < 3; i++) s += xv[r * 3 + i] * W[o * 3 + i];
        expect(out[r * 2 + o]).toBeCloseTo(s, 6);
      }
    }
    const y1 = lin.build(g.input("v", [3]));
    expect(y1.shape).toEqual([2]);
    expect(Array.from(evaluate(y1, { v: xv.slice(0, 3) }))).toEqual(Array.from(out.subarray(0, 2)));
    const y3 = lin.build(g.input("u", [1, 2, 3]));
    expect(Array.from(evaluate(y3, { u: xv }))).toEqual(Array.from(out));
  });

  it("default init is torch's: U(±1/√in) for weight and bias", () => {
    const lin = new Linear(400, 300);
    buildModel(lin, { inputShape: [400], batch: 1, seed: 3 });
    const [W, b] = lin.parameters().map((p) => p.value);
    const bound = 1 / Math.sqrt(400);
    for (const v of [W, b]) {
      expect(Math.max(...v)).toBeLessThanOrEqual(bound);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-bound);
      expect(Math.max(...v)).toBeGreaterThan(0.95 * bound);
    }
    let s = 0;
    for (const v of W) s += v * v;
    expect(Math.abs(s / W.length / ((bound * bound) / 3) - 1)).toBeLessThan(0.05);
  });

  it("takes an initializer; checks its input width", () => {
    const lin = new Linear(2, 2, { init: init.constant(0.5), biasInit: init.zeros() });
    const { y } = buildModel(lin, { inputShape: [2], batch: 1 });
    expect(Array.from(evaluate(y, { x: [1, 3] }))).toEqual([2, 2]);
    expect(() => lin.build(y.graph.input("z", [1, 3]))).toThrow(
      "Linear(2, 2): input [1,3] must end in 2 features",
    );
    expect(() => new Linear(0, 2)).toThrow("Linear: in must be a whole number >= 1, got 0");
  });
});

describe("activations", () => {
  const g = new Graph();
  const x = g.input("x", [2, 3]);
  const xv = [-2, -0.5, 0, 0.5, 1, 3];
  const run = (m: Module) => Array.from(evaluate(m.build(x), { x: xv }));
  it("Tanh, Sigmoid, ReLU, LeakyReLU", () => {
    run(new Tanh()).forEach((v, i) => {
      expect(v).toBeCloseTo(Math.tanh(xv[i]), 12);
    });
    run(new Sigmoid()).forEach((v, i) => {
      expect(v).toBeCloseTo(1 / (1 + Math.exp(-xv[i])), 12);
    });
    expect(run(new ReLU())).toEqual(xv.map((v) => Math.max(v, 0)));
    run(new LeakyReLU(0.2)).forEach((v, i) => {
      expect(v).toBeCloseTo(xv[i] > 0 ? xv[i] : 0.2 * xv[i], 12);
    });
  });
  it("Softmax rows sum to 1 along the axis", () => {
    const rows = run(new Softmax());
    expect(rows[0] + rows[1] + rows[2]).toBeCloseTo(1, 12);
    const cols = run(new Softmax(0));
    expect(cols[0] + cols[3]).toBeCloseTo(1, 12);
    expect(() => new Softmax(2).build(x)).toThrow("Softmax: axis 2 is out of range for shape [2,3]");
  });
  it("GELU (tanh approximation)", () => {
    const c = Math.sqrt(2 / Math.PI);
    run(new GELU()).forEach((v, i) => {
      const u = xv[i];
      expect(v).toBeCloseTo(0.5 * u * (1 + Math.tanh(c * (u + 0.044715 * u ** 3))), 12);
    });
  });
  it("Flatten keeps the batch axis", () => {
    const y = new Flatten().build(g.input("img", [4, 2, 3]));
    expect(y.shape).toEqual([4, 6]);
  });
  it("gradients flow through a model", () => {
    const model = new Sequential(new Linear(3, 3), new GELU(), new Linear(3, 1));
    const { y } = buildModel(model, { inputShape: [3], batch: 2 });
    const grads = grad(y.sum(), model.parameters());
    const values = evaluate(grads, { x: xv });
    expect(values.every((v) => v.every(Number.isFinite))).toBe(true);
    expect(values[0].some((v) => v !== 0)).toBe(true);
  });
});
