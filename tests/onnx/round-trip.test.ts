/**
 * PyTorch → Adjoint → ONNX Runtime: a model exported by torch.onnx.export is imported, fine-tuned for
 * 100 compiled training steps (trainStep), exported again, and ONNX Runtime computes the fine-tuned
 * model's outputs (not the original's), at the training batch and at another batch size.
 */
import { crossEntropy, evaluate, exportOnnx, Graph, importOnnx, mseLoss, optim, trainStep } from "adjoint";
import { describe, expect, it } from "vitest";
import { fixtures } from "./fixtures";
import { data, relativeError, runOrt } from "./ort";

describe("PyTorch → fine-tune in Adjoint → export → ONNX Runtime", () => {
  for (const name of ["mlp_tanh_softmax", "mlp_gelu", "flatten_logsoftmax", "cnn", "lenet"]) {
    it(`${name}: 100 steps of Adam, then ORT gives the fine-tuned outputs`, async () => {
      const f = fixtures().find((x) => x.name === name)!;
      const batch = 8;
      const g = new Graph();
      const m = importOnnx(f.bytes, g, { batch });
      const x = m.inputs[f.input.name];
      const y = m.outputs[f.output.name];
      const xs = data(x.size, 11);
      const classes = y.shape[1];
      const target = g.input("target", y.shape);
      const wanted = Float32Array.from({ length: y.size }, (_, i) =>
        i % classes === Math.floor(i / classes) % classes ? 1 : 0,
      );
      // Probabilities (softmax/sigmoid outputs) fit targets by squared error; logits and log-probabilities
      // by cross-entropy.
      const probabilities = name === "mlp_tanh_softmax" || name === "mlp_gelu";
      const loss = probabilities ? mseLoss(y, target) : crossEntropy(y, target);
      const before = evaluate(y, { [x.name!]: xs });
      const step = trainStep(loss, optim.adam({ lr: 0.01 }));
      const losses: number[] = [];
      for (let i = 0; i < 100; i++) losses.push(step.run({ [x.name!]: xs, target: wanted }));
      expect(losses[99]).toBeLessThan(losses[0] * 0.9);

      const after = evaluate(y, { [x.name!]: xs });
      expect(relativeError(after, before)).toBeGreaterThan(1e-3); // the params did change
      const bytes = exportOnnx({ [f.output.name]: y }, { opset: 17, dynamicBatch: f.dynamic });
      const got = await runOrt(bytes, { [x.name!]: { data: xs, dims: [...x.shape] } });
      expect(relativeError(got[f.output.name].data, after)).toBeLessThan(1e-5);
      if (f.dynamic) {
        // Rows are independent: ORT at batch 3 gives the first 3 rows.
        const rows = x.size / batch;
        const few = await runOrt(bytes, {
          [x.name!]: { data: xs.slice(0, 3 * rows), dims: [3, ...x.shape.slice(1)] },
        });
        expect(relativeError(few[f.output.name].data, after.slice(0, 3 * classes))).toBeLessThan(1e-5);
      }
    });
  }
});
