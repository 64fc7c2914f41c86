/**
 * An ONNX model as a Module: built like any layer (fit, buildModel, trainStep), every build in one graph
 * sharing the same params, which start from the file's initializers (named as in the file). So a model
 * exported by PyTorch fine-tunes in Adjoint, and exports again with exportOnnx.
 */
import { Graph, type Tensor } from "@adjoint/core";
import { Module } from "../../modules/module";
import { type ImportedOnnx, type ImportOnnxOptions, importOnnx } from "./import";

/**
 * An ONNX model (one input, one output) as a Module: built into a graph like any layer, its initializers
 * become trainable params.
 */
export class OnnxModel extends Module {
  private readonly probe: ImportedOnnx;
  readonly inputName: string;
  readonly outputName: string;

  /** `bytes`: an ONNX model with one input and one output. */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly options: Pick<ImportOnnxOptions, "limits"> = {},
  ) {
    super();
    // Read (and check) the file once now, so that a bad file fails here rather than at the first build.
    this.probe = importOnnx(bytes, new Graph(), { limits: options.limits });
    const ins = Object.keys(this.probe.inputs);
    const outs = Object.keys(this.probe.outputs);
    if (ins.length !== 1 || outs.length !== 1) {
      throw new Error(
        `OnnxModel: the model has ${ins.length} inputs (${ins.join(", ")}) and ${outs.length} outputs (${outs.join(", ")}); one of each is supported`,
      );
    }
    this.inputName = ins[0];
    this.outputName = outs[0];
    const first = this.probe.inputs[this.inputName].shape[0];
    this.symbolicBatch =
      first === 1 &&
      importOnnx(bytes, new Graph(), { batch: 2, limits: options.limits }).inputs[this.inputName].shape[0] ===
        2;
  }

  /** Whether axis 0 of the input is symbolic (the model then builds for any batch size). */
  readonly symbolicBatch: boolean;

  /** The input's shape in the file (a symbolic batch read as 1). */
  inputShape(): readonly number[] {
    return this.probe.inputs[this.inputName].shape;
  }
  /** The output's shape in the file (a symbolic batch read as 1). */
  outputShape(): readonly number[] {
    return this.probe.outputs[this.outputName].shape;
  }

  protected override get declaresParams(): boolean {
    return Object.keys(this.probe.params).length > 0;
  }

  protected forward(x: Tensor): Tensor {
    const g = x.graph;
    const m = importOnnx(this.bytes, g, {
      limits: this.options.limits,
      inputs: { [this.inputName]: x },
      initializer: (name, shape, data, frozen) => {
        const init = (v: Float32Array) => v.set(data);
        return frozen ? this.frozenLeaf(g, name, shape, data) : this.param(g, name, shape, init);
      },
    });
    return m.outputs[this.outputName];
  }

  private readonly filled = new Set<string>();

  /** A statistic (BatchNormalization's running mean, variance) as a module buffer, filled once. */
  private frozenLeaf(g: Graph, name: string, shape: readonly number[], data: Float32Array): Tensor {
    const b = this.buffer(g, name, shape, 0);
    if (!this.filled.has(name)) b.value.set(data);
    this.filled.add(name);
    return b;
  }
}
