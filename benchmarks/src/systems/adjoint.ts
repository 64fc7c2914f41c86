/**
 * adjoint: the workload as a user writes it with Adjoint — a graph with the workload's weights, the loss,
 * an optimizer from `optim`, and `trainStep`, which compiles forward + backward + update into one
 * generated function (matmuls in generated wasm SIMD kernels). step() is one call of that function.
 */
import { conv2d, crossEntropy, Graph, maxPool2d, mseLoss, optim, type Tensor, trainStep } from "adjoint";
import { streamBatch } from "../stream";
import { inputShape, isLenet, namedParams, type Workload } from "../workloads";
import type { InferenceRunner, Runner, System } from "./types";

/** LeNet-5 (lenet.ts) as a user writes it with Adjoint's ops, on the workload's parameters. */
function buildLenet(w: Workload) {
  const g = new Graph({ seed: w.seed });
  const p = namedParams(w).map(([name, shape, value]) => g.param(name, shape, { init: (v) => v.set(value) }));
  const x = g.input("x", inputShape(w));
  const fc = (h: Tensor, W: Tensor, b: Tensor) => h.matmul(W.transpose()).add(b);
  let h = maxPool2d(conv2d(x, p[0], p[1], { padding: 2 }).relu(), 2);
  h = maxPool2d(conv2d(h, p[2], p[3]).relu(), 2).reshape([w.batch, 400]);
  h = fc(fc(h, p[4], p[5]).relu(), p[6], p[7]).relu();
  return { g, x, logits: fc(h, p[8], p[9]), params: p };
}

export function buildNet(w: Workload) {
  if (isLenet(w)) return buildLenet(w);
  const g = new Graph({ seed: w.seed });
  const x = g.input("x", inputShape(w));
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

/** The workload's loss over its net, and its optimizer (thread-speedup.ts compiles them its own way too). */
export function workloadLoss(w: Workload): { loss: Tensor; optimizer: ReturnType<typeof optimizerOf> } {
  const { g, logits } = buildNet(w);
  let loss: Tensor;
  if (w.loss === "softmax-ce") {
    const y = g.input("y", [w.batch]);
    loss = crossEntropy(logits, y);
  } else {
    const t = g.input("t", [w.batch, w.sizes[w.sizes.length - 1]]);
    loss = mseLoss(logits, t, w.loss === "mse-sum" ? "sum" : "mean");
  }
  return { loss, optimizer: optimizerOf(w) };
}

async function setupAdjoint(w: Workload, threads: number): Promise<Runner> {
  const { loss, optimizer } = workloadLoss(w);
  const step = trainStep(loss, optimizer, { threads });
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
    streamSteps(from, n) {
      for (let i = from; i < from + n; i++) {
        const b = streamBatch(w.stream!, w.batch, i);
        step.inputs.x.set(b.x);
        step.inputs.y.set(b.labels);
        step.run();
      }
      step.inputs.x.set(w.x);
      if (w.labels) step.inputs.y.set(w.labels);
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
