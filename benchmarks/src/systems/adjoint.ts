/**
 * adjoint: the workload as a user writes it with Adjoint — a graph with the workload's weights, the loss,
 * an optimizer from `optim`, and `trainStep`, which compiles forward + backward + update into one
 * generated function (matmuls in generated wasm SIMD kernels). step() is one call of that function.
 */
import { crossEntropy, Graph, mseLoss, optim, type Tensor, trainStep } from "adjoint";
import type { Workload } from "../workloads";
import type { InferenceRunner, Runner, System } from "./types";

function buildNet(w: Workload) {
  const g = new Graph({ seed: w.seed });
  const x = g.input("x", [w.batch, w.sizes[0]]);
  let h: Tensor = x;
  const params: Tensor[] = [];
  for (let l = 0; l + 1 < w.sizes.length; l++) {
    const W = g.param(`W${l}`, [w.sizes[l + 1], w.sizes[l]]);
    const b = g.param(`b${l}`, [w.sizes[l + 1]]);
    W.value.set(w.weights[l]);
    b.value.set(w.biases[l]);
    params.push(W, b);
    h = h.matmul(W.transpose()).add(b);
    if (l + 2 < w.sizes.length) h = w.activation === "relu" ? h.relu() : h.tanh();
  }
  return { g, x, logits: h, params };
}

function optimizerOf(w: Workload) {
  const o = w.optimizer;
  if (o.kind === "sgd") return optim.sgd({ lr: o.lr });
  if (o.kind === "momentum") return optim.sgd({ lr: o.lr, momentum: o.momentum });
  return optim.adam({ lr: o.lr, betas: [o.beta1, o.beta2], eps: o.eps });
}

/** Adjoint with its step split over `threads` (the system is named adjoint-<n>t for n > 1). */
export function createAdjointSystem(threads: number): System {
  return {
    ...adjointSystem,
    name: threads === 1 ? "adjoint" : `adjoint-${threads}t`,
    setup: (w) => setupAdjoint(w, threads),
    async describe() {
      const one = await adjointSystem.describe!();
      return `${one}; the large products and their epilogues split over ${threads} threads (main + ${threads - 1} worker${threads > 2 ? "s" : ""})`;
    },
    setupInference: undefined,
  };
}

async function setupAdjoint(w: Workload, threads: number): Promise<Runner> {
  const { g, logits } = buildNet(w);
  let loss: Tensor;
  if (w.loss === "softmax-ce") {
    const y = g.input("y", [w.batch]);
    loss = crossEntropy(logits, y);
  } else {
    const t = g.input("t", [w.batch, w.sizes[w.sizes.length - 1]]);
    loss = mseLoss(logits, t, w.loss === "mse-sum" ? "sum" : "mean");
  }
  const step = trainStep(loss, optimizerOf(w), { threads });
  // Time the steps that run on the workers (until they have started, the main thread runs their share).
  await (step.kernel as unknown as { compiled: { whenReady(): Promise<void> } }).compiled.whenReady();
  step.inputs.x.set(w.x);
  if (w.labels) step.inputs.y.set(w.labels);
  if (w.target) step.inputs.t.set(w.target);
  const out = step.outputs.loss;
  return {
    step: () => {
      step.run();
    },
    loss: () => out[0],
    dispose: () => step.kernel.dispose(),
  };
}

export const adjointSystem: System = {
  name: "adjoint",
  setup: (w: Workload) => setupAdjoint(w, 1),
  async describe() {
    const { relaxedSimdAvailable } = await import("../../../packages/compiler/src/wasm/features");
    return `one generated JS function per step; matmuls in generated wasm SIMD kernels (${relaxedSimdAvailable() ? "relaxed FMA" : "mul+add"})`;
  },
  async setupInference(w: Workload): Promise<InferenceRunner> {
    const { logits } = buildNet(w);
    const { compile } = await import("adjoint");
    const k = compile({ logits });
    k.inputs.x.set(w.x);
    return { run: () => k.run(), output: () => k.outputs.logits, dispose: () => {} };
  },
};

export default adjointSystem;
