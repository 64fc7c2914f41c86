/** MLPs for compiler tests: linear layers (torch layout), ReLU, crossEntropy on class indices; SGD updates. */
import { assign, crossEntropy, Graph, grad, linear, Rng, type Tensor } from "adjoint";

export interface Mlp {
  graph: Graph;
  x: Tensor;
  labels: Tensor;
  /** W0, b0, W1, b1, ... */
  params: Tensor[];
  logits: Tensor;
  loss: Tensor;
  /** Gradients of the loss, one per param. */
  grads: Tensor[];
  /** { loss, dW0, db0, ... } */
  outputs: Record<string, Tensor>;
  /** Float32 feeds for one batch: x uniform in [-1, 1), labels whole numbers in [0, classes). */
  feeds: { x: Float32Array; labels: Float32Array };
}

/** sizes = [in, hidden..., classes]. */
export function mlp(sizes: readonly number[], batch: number, seed = 1): Mlp {
  const graph = new Graph({ seed });
  const x = graph.input("x", [batch, sizes[0]]);
  const labels = graph.input("labels", [batch]);
  const params: Tensor[] = [];
  let h = x;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
    const bound = 1 / Math.sqrt(fanIn);
    const uniform = (v: Float32Array, _s: readonly number[], r: Rng) => {
      for (let i = 0; i < v.length; i++) v[i] = r.uniformRange(-bound, bound);
    };
    const W = graph.param(`W${l}`, [fanOut, fanIn], { init: uniform });
    const b = graph.param(`b${l}`, [fanOut], { init: uniform });
    params.push(W, b);
    h = linear(h, W, b);
    if (l + 2 < sizes.length) h = h.relu();
  }
  const logits = h;
  const loss = crossEntropy(logits, labels);
  const grads = grad(loss, params);
  const outputs: Record<string, Tensor> = { loss };
  params.forEach((p, i) => {
    outputs[`d${p.name}`] = grads[i];
  });
  const rng = new Rng(seed + 1000);
  const feeds = {
    x: Float32Array.from({ length: batch * sizes[0] }, () => rng.uniformRange(-1, 1)),
    labels: Float32Array.from({ length: batch }, () => rng.int(sizes[sizes.length - 1])),
  };
  return { graph, x, labels, params, logits, loss, grads, outputs, feeds };
}

/** p ← p − lr·g for every param: the assign nodes, in param order. */
export function sgd(m: Mlp, lr: number): Tensor[] {
  return m.params.map((p, i) => assign(p, p.sub(m.grads[i].mul(lr))));
}

/** v ← μ·v + g, p ← p − lr·v (torch's SGD with momentum), with one buffer per param. */
export function momentum(m: Mlp, lr: number, mu: number): Tensor[] {
  return m.params.flatMap((p, i) => {
    const v = m.graph.buffer(`v_${p.name}`, p.shape);
    const v2 = v.mul(mu).add(m.grads[i]);
    return [assign(v, v2), assign(p, p.sub(v2.mul(lr)))];
  });
}
