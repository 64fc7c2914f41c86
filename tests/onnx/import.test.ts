/**
 * importOnnx on files exported by PyTorch (tests/fixtures/onnx, made by scripts/make_onnx_fixtures.py):
 * outputs equal PyTorch's, and gradients of PyTorch's loss with respect to the imported params equal
 * PyTorch's, within 1e-5 of their scale. Also: Adjoint → ONNX → Adjoint at every opset 13–18.
 */
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  erf,
  evaluate,
  exportOnnx,
  Flatten,
  GELU,
  Graph,
  grad,
  importOnnx,
  LayerNorm,
  LeakyReLU,
  OnnxModel,
  Linear,
  MaxPool2d,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  sum,
  Tanh,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { decodeModel } from "../../packages/nn/src/formats/onnx/schema";
import { fixtures } from "./fixtures";
import { data, relativeError } from "./ort";

const TOL = 1e-5;

describe("importOnnx: PyTorch's files", () => {
  for (const f of fixtures()) {
    it(`${f.name} (opset ${f.opset}): outputs and gradients equal PyTorch's`, () => {
      const g = new Graph();
      const m = importOnnx(f.bytes, g, { batch: f.input.shape[0] });
      expect(m.opset).toBe(f.opset);
      expect(Object.keys(m.inputs)).toEqual([f.input.name]);
      const y = m.outputs[f.output.name];
      expect(y.shape).toEqual(f.output.shape);
      const feeds = { [f.input.name]: f.input.data };
      const out = evaluate(y, feeds);
      const err = relativeError(out, f.output.data);
      expect(err).toBeLessThan(TOL);

      expect(Object.keys(m.params).sort()).toEqual(Object.keys(f.grads).sort());
      const loss = sum(y.mul(g.constant(f.weights, y.shape)));
      const names = Object.keys(m.params);
      const grads = evaluate(
        grad(
          loss,
          names.map((n) => m.params[n]),
        ),
        feeds,
      );
      names.forEach((n, i) => {
        expect(relativeError(grads[i], f.grads[n]), n).toBeLessThan(TOL);
      });
    });
  }

  it("a symbolic batch takes { batch }; trainable: false makes constants", () => {
    const f = fixtures().find((x) => x.dynamic)!;
    const g = new Graph();
    const m = importOnnx(f.bytes, g, { batch: 7, trainable: false });
    expect(m.inputs.x.shape[0]).toBe(7);
    expect(Object.keys(m.params)).toEqual([]);
    expect(g.params).toEqual([]);
    expect(Object.values(m.outputs)[0].shape[0]).toBe(7);
  });

  it("builds nothing into a graph that already has a leaf of the same name", () => {
    const f = fixtures()[0];
    const g = new Graph();
    g.input("x", [1]);
    const before = g.nodes.length;
    expect(() => importOnnx(f.bytes, g, { batch: 3 })).toThrow(
      /^importOnnx: the graph already has a leaf named "x"/,
    );
    expect(g.nodes.length).toBe(before);
  });
});

describe("Adjoint → ONNX → Adjoint", () => {
  const nets = () => [
    new Sequential(
      new Flatten(),
      new Linear(12, 8),
      new GELU(),
      new Linear(8, 6),
      new LeakyReLU(0.3),
      new Linear(6, 4),
      new Softmax(),
    ),
    new Sequential(
      new Flatten(),
      new Linear(12, 5),
      new Sigmoid(),
      new Linear(5, 5),
      new Tanh(),
      new Linear(5, 3),
      new ReLU(),
    ),
  ];
  for (let opset = 13; opset <= 18; opset++) {
    it(`opset ${opset}: the imported model computes what the exported one did`, () => {
      for (const net of nets()) {
        const g = new Graph({ seed: opset });
        const y = net.build(g.input("x", [2, 3, 4]));
        const feed = data(24, opset);
        const want = evaluate(y, { x: feed });
        const bytes = exportOnnx({ y }, { opset, dynamicBatch: true });
        const h = new Graph();
        const m = importOnnx(bytes, h, { batch: 2 });
        // Not bit-exact: ONNX stores float attributes and constants (gelu's, LeakyReLU's alpha) as float32.
        expect(relativeError(evaluate(m.outputs.y, { x: feed }), want)).toBeLessThan(1e-7);
        expect(Object.keys(m.params).length).toBe(6);
      }
    });
  }
});

describe("Adjoint → ONNX → Adjoint: convolutional", () => {
  for (const opset of [13, 17]) {
    it(`opset ${opset}: Conv, BatchNormalization, MaxPool, AveragePool, Pad, LayerNormalization round-trip`, () => {
      const net = new Sequential(
        new Conv2d(2, 4, 3, { padding: 1 }),
        new BatchNorm2d(4),
        new ReLU(),
        new MaxPool2d(2, { padding: 1 }),
        new Conv2d(4, 4, [3, 2], { groups: 2, dilation: [1, 2], stride: [1, 2] }),
        new AvgPool2d(2, { stride: 1, padding: 1 }),
        new Flatten(),
        new Linear(48, 8),
        new LayerNorm(8),
      ).eval();
      const g = new Graph({ seed: 5 });
      const x = g.input("x", [3, 2, 9, 9]);
      const y = net.build(x).reshape([3, 2, 4]).pad([1, 0, 1, 2], -1);
      for (const [n, t] of net.namedBuffers())
        t.value.set(data(t.size, 9).map((v) => (n.endsWith("var") ? 1 + Math.abs(v) : v)));
      const bytes = exportOnnx({ y }, { opset, dynamicBatch: true });
      const m = importOnnx(bytes, new Graph(), { batch: 3 });
      const feed = data(x.size, 2);
      expect(relativeError(evaluate(m.outputs.y, { x: feed }), evaluate(y, { x: feed }))).toBeLessThan(1e-7);
      expect(Object.keys(m.frozen).sort()).toEqual(["1.running_mean", "1.running_var"]);
      const again = decodeModel(exportOnnx(m.outputs, { opset })).graph!.node!.map((n) => n.op_type);
      const first = decodeModel(bytes).graph!.node!.map((n) => n.op_type);
      expect(again.filter((o) => o !== "Constant")).toEqual(first.filter((o) => o !== "Constant"));
    });
  }
});

describe("OnnxModel: an ONNX file as a Module", () => {
  it("every build in one graph shares the file's params; PyTorch's outputs; bad files fail at construction", () => {
    const f = fixtures().find((x) => x.name === "mlp_tanh_softmax")!;
    const model = new OnnxModel(f.bytes);
    expect(model.inputShape()).toEqual([1, 5]);
    const g = new Graph();
    const y4 = model.build(g.input("a", [4, 5]));
    const y2 = model.build(g.input("b", [2, 5]));
    expect(model.namedParameters().map(([n]) => n)).toEqual(["0.weight", "0.bias", "2.weight", "2.bias"]);
    expect(g.params.length).toBe(4);
    const out = evaluate({ y4, y2 }, { a: f.input.data, b: f.input.data.slice(0, 10) });
    expect(relativeError(out.y4, f.output.data)).toBeLessThan(TOL);
    expect(relativeError(out.y2, f.output.data.slice(0, 6))).toBeLessThan(TOL);
    expect(() => new OnnxModel(f.bytes.slice(0, 100))).toThrow(/^importOnnx: /);
  });
});

describe("Adjoint → ONNX → Adjoint: a graph of primitives", () => {
  for (const opset of [13, 17, 18]) {
    it(`opset ${opset}: reductions (axes as attribute or input), layout ops, -inf padding, erf`, () => {
      const g = new Graph({ seed: 3 });
      const x = g.input("x", [3, 4]);
      const w = g.param("w", [4, 4], { init: (v) => v.set(data(16, 7)) });
      const h = x.matmul(w).abs().add(0.5).sqrt().log().mul(x.square().neg().exp());
      const a = h.sum(1, true).sub(h.max(0, true)).div(h.logsumexp(null, true).add(1));
      const b = h
        .permute([1, 0])
        .slice(1, 3, 0)
        .reshape([3, 2])
        .pad([1, 0, 0, 2], Number.NEGATIVE_INFINITY)
        .maximum(-2);
      const c = a.maximum(h).minimum(h.pow(3)).sin().cos().reciprocal().softplus().leakyRelu(0.2);
      const y = c.add(erf(h)).gelu().sum(0).broadcastTo([2, 4]);
      const z = b
        .logSoftmax(1)
        .mean(1)
        .add(h.slice(0, 3, 1).sign().mul(0.25).sum());
      const feed = data(12, 5);
      const want = evaluate({ y, z }, { x: feed });
      const m = importOnnx(exportOnnx({ y, z }, { opset }), new Graph());
      const got = evaluate(m.outputs, { x: feed });
      expect(relativeError(got.y, want.y)).toBeLessThan(1e-7);
      expect(relativeError(got.z, want.z)).toBeLessThan(1e-7);
      expect(Object.keys(m.params)).toEqual(["w"]);
    });
  }
});
