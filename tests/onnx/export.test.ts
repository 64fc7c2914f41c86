/**
 * exportOnnx against ONNX Runtime: every exported model, run by ORT (float32), equals Adjoint's float64
 * interpreter within 1e-5 of the output's scale, at the export batch and (dynamicBatch) at others.
 */
import {
  Dropout,
  erf,
  evaluate,
  exportOnnx,
  Flatten,
  GELU,
  Graph,
  LeakyReLU,
  Linear,
  type Module,
  pad,
  ReLU,
  Sequential,
  Sigmoid,
  Softmax,
  Tanh,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { makeModel } from "../../packages/cli/src/model";
import { decodeModel } from "../../packages/nn/src/formats/onnx/schema";
import { data, relativeError, runOrt } from "./ort";

const TOL = 1e-5;

/** Builds net on an input [batch, ...shape] into a fresh graph. */
function build(net: Module, shape: number[], batch: number, seed = 0) {
  const g = new Graph({ seed });
  const x = g.input("x", [batch, ...shape]);
  return { g, x, y: net.build(x) };
}

/** The error of ORT against the interpreter, for the exported model of `net`, at each batch size. */
async function check(
  net: Module,
  shape: number[],
  opts: { opset?: number; dynamicBatch?: boolean; batches: number[] },
) {
  const [b0, ...others] = opts.batches;
  const { y } = build(net, shape, b0);
  const bytes = exportOnnx({ y }, { opset: opts.opset, dynamicBatch: opts.dynamicBatch });
  const errors: number[] = [];
  for (const batch of [b0, ...others]) {
    // The same params: the module was built into one graph, so rebuild at this batch in that graph.
    const xName = batch === b0 ? "x" : `x_b${batch}`;
    const yb = batch === b0 ? y : net.build(y.graph.input(xName, [batch, ...shape]));
    const feed = data(batch * shape.reduce((a, b) => a * b, 1), batch);
    const want = evaluate(yb, { [xName]: feed });
    const got = await runOrt(bytes, { x: { data: feed, dims: [batch, ...shape] } });
    expect(got.y.dims).toEqual(yb.shape);
    errors.push(relativeError(got.y.data, want));
  }
  return { errors, bytes };
}

const ACTIVATIONS: [string, () => Module][] = [
  ["ReLU", () => new ReLU()],
  ["Tanh", () => new Tanh()],
  ["Sigmoid", () => new Sigmoid()],
  ["LeakyReLU", () => new LeakyReLU(0.1)],
  ["GELU", () => new GELU()],
  ["Softmax", () => new Softmax()],
];

describe("exportOnnx → ONNX Runtime", () => {
  for (const [name, act] of ACTIVATIONS) {
    it(`an MLP with ${name}, dynamic batch (1, 5, 3)`, async () => {
      const net = new Sequential(new Linear(6, 16), act(), new Linear(16, 4), act());
      const { errors } = await check(net, [6], { dynamicBatch: true, batches: [1, 5, 3] });
      for (const e of errors) expect(e).toBeLessThan(TOL);
    });
  }

  it("Flatten, Dropout (eval: no node), Softmax at every opset 13–18", async () => {
    for (let opset = 13; opset <= 18; opset++) {
      const net = new Sequential(
        new Flatten(),
        new Linear(12, 8),
        new Tanh(),
        new Dropout(0.5),
        new Linear(8, 5),
        new Softmax(),
      );
      net.eval();
      const { errors, bytes } = await check(net, [3, 4], { opset, dynamicBatch: true, batches: [2, 7] });
      for (const e of errors) expect(e).toBeLessThan(TOL);
      const ops = decodeModel(bytes).graph!.node!.map((n) => n.op_type);
      expect(ops).toEqual(["Constant", "Reshape", "Gemm", "Tanh", "Gemm", "Softmax"]);
      expect(decodeModel(bytes).graph!.initializer!.map((t) => t.name)).toEqual([
        "1.weight",
        "1.bias",
        "4.weight",
        "4.bias",
      ]);
      expect(Number(decodeModel(bytes).opset_import![0].version)).toBe(opset);
    }
  });

  it("the CLI's MLP (--model mlp: 784→128→10 relu) at a fixed batch, and dynamic", async () => {
    const spec = { kind: "mlp", inputs: 784, layers: [128], classes: 10, activation: "relu" } as const;
    const fixed = await check(makeModel({ ...spec, layers: [128] }), [784], { batches: [4] });
    expect(fixed.errors[0]).toBeLessThan(TOL);
    const model = decodeModel(fixed.bytes);
    expect(model.graph!.input![0].type!.tensor_type!.shape!.dim!.map((d) => Number(d.dim_value))).toEqual([
      4, 784,
    ]);
    const dyn = await check(makeModel({ ...spec, layers: [128] }), [784], {
      dynamicBatch: true,
      batches: [1, 32],
    });
    for (const e of dyn.errors) expect(e).toBeLessThan(TOL);
    const dims = decodeModel(dyn.bytes).graph!.input![0].type!.tensor_type!.shape!.dim!;
    expect(dims[0].dim_param).toBe("batch");
  });

  it("a graph of primitives (reductions, layout, elementwise) lowers op by op", async () => {
    for (const opset of [13, 17, 18]) {
      const g = new Graph({ seed: 3 });
      const x = g.input("x", [3, 4]);
      const w = g.param("w", [4, 4], { init: (v) => v.set(data(16, 7)) });
      const h = x.matmul(w).abs().add(0.5).sqrt().log().mul(x.square().neg().exp());
      const a = h.sum(1, true).sub(h.max(0, true)).div(h.logsumexp(null, true).add(1));
      const b0 = h.permute([1, 0]).slice(1, 3, 0).reshape([3, 2]);
      const b = pad(b0, 1, 0, 1).add(pad(b0, 0, 1, 1, Number.NEGATIVE_INFINITY).maximum(-3));
      const c = a.maximum(h).minimum(h.pow(3)).sin().cos().reciprocal().softplus().leakyRelu(0.2);
      const s = g.constant([1, -2, 3, -4], [4]).sigmoid().tanh().relu();
      const y = c.add(s).gelu().add(erf(h));
      const z = b.logSoftmax(1).add(h.slice(0, 3, 1).sign().mul(0.25));
      const feed = data(12, 5);
      const want = evaluate({ y, z }, { x: feed });
      const bytes = exportOnnx({ y, z }, { opset });
      const got = await runOrt(bytes, { x: { data: feed, dims: [3, 4] } });
      expect(relativeError(got.y.data, want.y)).toBeLessThan(TOL);
      expect(relativeError(got.z.data, want.z)).toBeLessThan(TOL);
    }
  });

  it("flushSubnormal lowers to Where(|x| < 2⁻¹²⁶, 0, x), exact in ONNX Runtime", async () => {
    const g = new Graph();
    const x = g.input("x", [8]);
    const y = x.flushSubnormal();
    const feed = new Float32Array([1e-40, -1e-40, 2 ** -126, -(2 ** -126), 2 ** -127, 1, -2.5, 0]);
    const got = await runOrt(exportOnnx({ y }), { x: { data: feed, dims: [8] } });
    expect(Array.from(got.y.data)).toEqual([0, 0, 2 ** -126, -(2 ** -126), 0, 1, -2.5, 0]);
  });

  it("an output that is an input or is named twice gets an Identity", async () => {
    const g = new Graph();
    const x = g.input("x", [2, 2]);
    const y = x.relu();
    const bytes = exportOnnx({ a: y, b: y, c: x });
    const feed = data(4);
    const got = await runOrt(bytes, { x: { data: feed, dims: [2, 2] } });
    const want = evaluate(y, { x: feed });
    expect(relativeError(got.a.data, want)).toBe(0);
    expect(relativeError(got.b.data, want)).toBe(0);
    expect(Array.from(got.c.data)).toEqual(Array.from(feed));
  });
});

describe("exportOnnx: clear errors", () => {
  const msg = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("did not throw");
  };
  it("names the node: a training-mode Dropout, an update, an opset out of range", () => {
    const net = new Sequential(new Linear(3, 3), new Dropout(0.5));
    const { y } = build(net, [3], 2);
    expect(msg(() => exportOnnx({ y }))).toMatch(/^exportOnnx: hashUniform .* no ONNX lowering .*eval mode/);
    const { y: y2 } = build(new Linear(3, 3), [3], 2);
    expect(msg(() => exportOnnx({ y: y2 }, { opset: 12 }))).toMatch(/^exportOnnx: opset 12 is not supported/);
    expect(msg(() => exportOnnx({}))).toMatch(/^exportOnnx: no outputs/);
  });
  it("dynamicBatch refuses a graph that mixes rows, naming the op", () => {
    const g = new Graph();
    const x = g.input("x", [4, 3]);
    const y: Tensor = x.sum(0);
    expect(msg(() => exportOnnx({ y }, { dynamicBatch: true }))).toMatch(
      /^exportOnnx: dynamicBatch: sum %\d+ \[3\] \(inputs \[4,3\]\) reduces over the batch axis/,
    );
    const z = x.reshape([2, 6]);
    expect(msg(() => exportOnnx({ z }, { dynamicBatch: true }))).toMatch(/reshapes across the batch axis/);
    expect(() => exportOnnx({ y, z })).not.toThrow();
  });
});
