/**
 * Convolutional models exported (core's composites as Conv, MaxPool, AveragePool, Pad, BatchNormalization,
 * LayerNormalization) and run by ONNX Runtime: equal to Adjoint's float64 interpreter within 1e-5 of the
 * output's scale, at batch 1 and 3 with a symbolic batch.
 */
import {
  AvgPool2d,
  BatchNorm2d,
  Conv2d,
  evaluate,
  exportOnnx,
  Flatten,
  Graph,
  LayerNorm,
  Linear,
  MaxPool2d,
  type Module,
  ReLU,
  Sequential,
  Tanh,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { makeModel } from "../../packages/cli/src/model";
import { decodeModel } from "../../packages/nn/src/formats/onnx/schema";
import { data, relativeError, runOrt } from "./ort";

const TOL = 1e-5;

/** Non-trivial running statistics (eval-mode batch norm reads them). */
function setRunningStats(net: Module) {
  for (const [name, t] of net.namedBuffers()) {
    if (name.endsWith("running_mean")) t.value.set(data(t.size, 3).map((v) => v * 0.3));
    if (name.endsWith("running_var")) t.value.set(data(t.size, 4).map((v) => 0.5 + Math.abs(v)));
  }
}

async function check(net: Module, sample: number[], opset: number, batches = [1, 3]) {
  net.eval();
  const g = new Graph({ seed: 1 });
  const builds = batches.map((b, i) => ({ b, x: g.input(`x${i}`, [b, ...sample]) }));
  const ys = builds.map(({ x }) => net.build(x));
  setRunningStats(net);
  const bytes = exportOnnx({ y: ys[0] }, { opset, dynamicBatch: true });
  const errors: number[] = [];
  for (const [i, { b, x }] of builds.entries()) {
    const feed = data(x.size, 10 + i);
    const want = evaluate(ys[i], { [x.name!]: feed });
    const got = await runOrt(bytes, { [builds[0].x.name!]: { data: feed, dims: [b, ...sample] } });
    expect(got.y.dims).toEqual(ys[i].shape);
    errors.push(relativeError(got.y.data, want));
  }
  const ops = decodeModel(bytes).graph!.node!.map((n) => n.op_type!);
  return { errors, ops };
}

describe("exportOnnx: convolutional models → ONNX Runtime", () => {
  it("every composite: strided, dilated, grouped conv; padded pools; batch and layer norm (opsets 13, 17, 18)", async () => {
    for (const opset of [13, 17, 18]) {
      const net = new Sequential(
        new Conv2d(2, 4, 3, { padding: 1 }),
        new BatchNorm2d(4),
        new ReLU(),
        new MaxPool2d(2, { padding: 1 }),
        new Conv2d(4, 4, [3, 2], { groups: 2, dilation: [1, 2], stride: [1, 2] }),
        new AvgPool2d(2, { stride: 1, padding: 1 }),
        new Tanh(),
        new Flatten(),
        new Linear(48, 8),
        new LayerNorm(8),
        new Linear(8, 3),
      );
      const { errors, ops } = await check(net, [2, 9, 9], opset);
      for (const e of errors) expect(e).toBeLessThan(TOL);
      for (const op of ["Conv", "BatchNormalization", "MaxPool", "AveragePool"]) expect(ops).toContain(op);
      expect(ops.includes("LayerNormalization")).toBe(opset >= 17);
      expect(ops).not.toContain("MatMul"); // the convolutions' im2col matmuls are not written
    }
  });

  it("x.pad (constant, asymmetric) as Pad", async () => {
    const g = new Graph();
    const x = g.input("x", [2, 3, 4, 5]);
    const y = x.pad([1, 0, 2, 1], 0.5).relu();
    const bytes = exportOnnx({ y }, { dynamicBatch: true });
    expect(decodeModel(bytes).graph!.node!.map((n) => n.op_type)).toContain("Pad");
    const feed = data(x.size);
    const got = await runOrt(bytes, { x: { data: feed, dims: [2, 3, 4, 5] } });
    expect(relativeError(got.y.data, evaluate(y, { x: feed }))).toBeLessThan(TOL);
  });

  for (const kind of ["cnn", "cnn-bn"] as const) {
    it(`the CLI's ${kind} (LeNet-5${kind === "cnn-bn" ? " with batch norm, the default on MNIST" : ""})`, async () => {
      const net = makeModel({ kind, inputs: 784, layers: [120, 84], classes: 10, activation: "relu" });
      const { errors, ops } = await check(net, [1, 28, 28], 17, [1, 4]);
      for (const e of errors) expect(e).toBeLessThan(TOL);
      expect(ops.filter((o) => o === "Conv")).toHaveLength(2);
    });
  }

  it("a batch norm built in training mode (batch statistics) cannot take a symbolic batch: a clear error", () => {
    const net = new Sequential(new Conv2d(1, 2, 3), new BatchNorm2d(2));
    const g = new Graph();
    const y = net.build(g.input("x", [2, 1, 5, 5]));
    expect(() => exportOnnx({ y }, { dynamicBatch: true })).toThrow(
      /^exportOnnx: dynamicBatch: .*reduces over the batch axis/,
    );
  });
});
