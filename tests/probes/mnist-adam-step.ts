// The 784→128→10 MLP's Adam training step on a fixed batch: shared by the allocation test and its probe.
import { crossEntropy, Graph, init, optim, type Tensor, trainStep } from "adjoint";

export function mnistAdamStep(threads = 1, profile = false) {
  const g = new Graph({ seed: 3 });
  const x = g.input("x", [64, 784]);
  const y = g.input("y", [64]);
  let h: Tensor = x;
  const sizes = [784, 128, 10];
  for (let l = 0; l < 2; l++) {
    const W = g.param(`W${l}`, [sizes[l + 1], sizes[l]], { init: init.glorotUniform() });
    const b = g.param(`b${l}`, [sizes[l + 1]]);
    h = h.matmul(W.transpose()).add(b);
    if (l === 0) h = h.relu();
  }
  const step = trainStep(crossEntropy(h, y), optim.adam({ lr: 1e-3 }), { threads, profile });
  for (let i = 0; i < step.inputs.x.length; i++) step.inputs.x[i] = ((i * 7919) % 255) / 255;
  for (let i = 0; i < 64; i++) step.inputs.y[i] = i % 10;
  return step;
}
