/**
 * The CLI's ONNX files: a run's model written as ONNX (`adjoint export`, `adjoint train --onnx`), and an
 * ONNX model read to fine-tune (`adjoint train --init-from`).
 *
 * The file takes raw features, as the dataset gives them: the run's standardization (when it has one) is
 * written into the graph, so a server feeds what it receives. Input "x" [batch, ...sample shape] (features,
 * or [1, 28, 28] images for the CNNs; a symbolic batch unless one is fixed), outputs "logits" and
 * "probabilities" (softmax of the logits).
 */
import { readFileSync } from "node:fs";
import { exportOnnx, Graph, type Module, OnnxModel, softmax, type Standardizer } from "adjoint";
import { CliError, oneLine } from "./errors";

export interface OnnxExportSettings {
  opset: number;
  /** A fixed batch size, or null for a symbolic batch. */
  batch: number | null;
}

/**
 * ONNX bytes of a trained model: `model` is an unbuilt twin of it, built here in its own graph (so the
 * file's input is named "x"), then given the trained weights by `load`.
 */
export function modelToOnnx(
  model: Module,
  load: (built: Module) => void,
  sampleShape: readonly number[],
  scaler: Standardizer | null,
  settings: OnnxExportSettings,
): Uint8Array {
  model.eval();
  const g = new Graph();
  const x = g.input("x", [settings.batch ?? 1, ...sampleShape]);
  const f = scaler?.features ?? 0;
  const z = scaler ? x.sub(g.constant(scaler.mean, [f])).div(g.constant(scaler.std, [f])) : x;
  const logits = model.build(z);
  load(model);
  return exportOnnx(
    { logits, probabilities: softmax(logits, -1) },
    { opset: settings.opset, dynamicBatch: settings.batch === null, name: "adjoint-cli" },
  );
}

/** An ONNX file to fine-tune on a dataset: read, checked to take `features` and give `classes` logits. */
export function onnxModelFor(path: string, dataset: string, features: number, classes: number): OnnxModel {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new CliError(`--init-from: cannot read ${path}: ${oneLine(error)}`);
  }
  let model: OnnxModel;
  try {
    model = new OnnxModel(bytes);
  } catch (error) {
    throw new CliError(`--init-from ${path}: ${oneLine(error)}`);
  }
  const ins = model.inputShape();
  const outs = model.outputShape();
  const fmt = (s: readonly number[]) => `[batch,${s.slice(1).join(",")}]`;
  if (ins.length !== 2 || ins[1] !== features || outs.length !== 2 || outs[1] !== classes) {
    throw new CliError(
      `--init-from ${path}: the model maps ${fmt(ins)} to ${fmt(outs)}, but ${dataset} needs [batch,${features}] features to [batch,${classes}] class scores`,
    );
  }
  if (!model.symbolicBatch) {
    throw new CliError(
      `--init-from ${path}: the model's batch is fixed at ${ins[0]}; export it with a symbolic batch axis (torch.onnx.export(..., dynamic_axes={"x": {0: "batch"}}) or exportOnnx(..., { dynamicBatch: true }))`,
    );
  }
  return model;
}
