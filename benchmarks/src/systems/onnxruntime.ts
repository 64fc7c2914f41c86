/**
 * onnxruntime-node: forward pass only (ONNX Runtime does not train). The model bytes come from the library's
 * exportOnnx: Gemm(transB=1) + Relu/Tanh layers with the workload's weights as initializers.
 * Runs with one intra-op and one inter-op thread.
 */
import { exportOnnx, Graph, linear } from "adjoint";
import { inputShape, isLenet, type Workload } from "../workloads";
import { buildNet } from "./adjoint";
import { errorMessage, type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

/** ONNX model bytes (opset 17) of the workload's network (MLP or LeNet-5), written by Adjoint's exportOnnx: input "x" [batch, in] → "logits". */
export function mlpOnnxModel(w: Workload): Uint8Array {
  // LeNet-5: Adjoint's graph of it (its conv composites export as Conv, MaxPool).
  if (isLenet(w)) return exportOnnx({ logits: buildNet(w).logits }, { opset: 17, name: `${w.id}-lenet5` });
  const L = w.sizes.length - 1;
  const g = new Graph();
  let h = g.input("x", [w.batch, w.sizes[0]]);
  for (let l = 0; l < L; l++) {
    const W = g.param(`W${l}`, [w.sizes[l + 1], w.sizes[l]], { init: (v) => v.set(w.weights[l]) });
    const b = g.param(`b${l}`, [w.sizes[l + 1]], { init: (v) => v.set(w.biases[l]) });
    h = linear(h, W, b); // exported as Gemm(transB = 1)
    if (l < L - 1) h = w.activation === "relu" ? h.relu() : h.tanh();
  }
  return exportOnnx({ logits: h }, { opset: 17, name: `${w.id}-mlp` });
}

type Ort = typeof import("onnxruntime-node");
let ortPromise: Promise<Ort | Skip> | null = null;

function loadOrt(): Promise<Ort | Skip> {
  ortPromise ??= (async () => {
    try {
      const mod = (await import("onnxruntime-node")) as Ort & { default?: Ort };
      return mod.InferenceSession ? mod : mod.default!;
    } catch (e) {
      return skip(`cannot load onnxruntime-node: ${errorMessage(e)}`);
    }
  })();
  return ortPromise;
}

export const onnxruntimeSystem: System = {
  name: "onnxruntime-node",
  async describe() {
    const ort = await loadOrt();
    return "skipped" in ort
      ? ort.reason
      : `onnxruntime-node ${ort.env.versions.node ?? "?"}, CPU EP, 1 thread`;
  },
  async setup(_w: Workload): Promise<Runner | Skip> {
    return skip("inference only (no training API)");
  },
  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    const ort = await loadOrt();
    if ("skipped" in ort) return ort;
    let session: import("onnxruntime-node").InferenceSession;
    try {
      session = await ort.InferenceSession.create(mlpOnnxModel(w), {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
    } catch (e) {
      return skip(`onnxruntime rejected the model: ${errorMessage(e)}`);
    }
    const x = new ort.Tensor("float32", w.x.slice(), inputShape(w));
    let out: Float32Array | null = null;
    return {
      async run() {
        const r = await session.run({ x });
        out = r.logits.data as Float32Array;
      },
      output: () => out!,
      async dispose() {
        await session.release();
      },
    };
  },
};

export default onnxruntimeSystem;
