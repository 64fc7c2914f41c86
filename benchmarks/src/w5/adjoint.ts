/** Adjoint: the whole step (forward, backward, Adam) compiled into one generated function + wasm matmuls. */
import {
  compile,
  conv2d,
  crossEntropy,
  Graph,
  type Kernel,
  maxPool2d,
  optim,
  type Tensor,
  trainStep,
} from "adjoint";
import { BATCH, LR, PARAMS, type W5Data, type W5Runner } from "./data";

export function adjointRunner(data: W5Data): W5Runner {
  const g = new Graph({ seed: 1 });
  const p = PARAMS.map(([name, shape], i) => g.param(name, shape, { init: (v) => v.set(data.params[i]) }));
  const x = g.input("x", [BATCH, 1, 28, 28]);
  const y = g.input("y", [BATCH]);
  const fc = (h: Tensor, w: Tensor, b: Tensor) => h.matmul(w.transpose()).add(b);
  let h = maxPool2d(conv2d(x, p[0], p[1], { padding: 2 }).relu(), 2);
  h = maxPool2d(conv2d(h, p[2], p[3]).relu(), 2).reshape([BATCH, 400]);
  h = fc(fc(h, p[4], p[5]).relu(), p[6], p[7]).relu();
  const logits = fc(h, p[8], p[9]);
  const step = trainStep(crossEntropy(logits, y), optim.adam({ lr: LR, betas: [0.9, 0.999], eps: 1e-8 }));
  step.inputs.x.set(data.x);
  step.inputs.y.set(Float32Array.from(data.labels));
  const infer: Kernel = compile({ logits });
  infer.inputs.x.set(data.x);
  let last = Number.NaN;
  return {
    name: "adjoint",
    describe: "compiled step (generated JS loops + wasm SIMD matmuls), 1 thread",
    step() {
      last = step.run();
    },
    loss: () => last,
    forward() {
      infer.run();
    },
    dispose() {},
  };
}
