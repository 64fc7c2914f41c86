/**
 * The TensorFlow.js training step, written the way its users write it: tf.variable parameters, the loss as a
 * closure, optimizer.minimize inside tf.tidy. Shared by the cpu and wasm backends (tfjs-cpu.ts, tfjs-wasm.ts).
 */
import type * as TF from "@tensorflow/tfjs";
import { transpose, type Workload } from "../workloads";
import type { InferenceRunner, Runner } from "./types";

export type Tfjs = typeof TF;

interface TfModel {
  vars: TF.Variable[];
  predict: () => TF.Tensor2D;
  dispose: () => void;
}

function buildModel(tf: Tfjs, w: Workload, trainable: boolean): TfModel {
  const L = w.sizes.length - 1;
  // Dense layers in tfjs's own layout: kernel [in, out], as tf.layers.dense stores it.
  const kernels = w.weights.map((a, l) =>
    tf.variable(
      tf.tensor2d(transpose(a, w.sizes[l + 1], w.sizes[l]), [w.sizes[l], w.sizes[l + 1]]),
      trainable,
    ),
  );
  const biases = w.biases.map((a) => tf.variable(tf.tensor1d(a), trainable));
  const x = tf.tensor2d(w.x, [w.batch, w.sizes[0]]);
  const predict = (): TF.Tensor2D => {
    let h: TF.Tensor2D = x;
    for (let l = 0; l < L; l++) {
      h = tf.add(tf.matMul(h, kernels[l]), biases[l]);
      if (l < L - 1) h = w.activation === "relu" ? tf.relu(h) : tf.tanh(h);
    }
    return h;
  };
  return {
    vars: [...kernels, ...biases],
    predict,
    dispose: () => {
      x.dispose();
      for (const v of [...kernels, ...biases]) v.dispose();
    },
  };
}

function makeOptimizer(tf: Tfjs, w: Workload): TF.Optimizer {
  const o = w.optimizer;
  switch (o.kind) {
    case "sgd":
      return tf.train.sgd(o.lr);
    case "momentum":
      return tf.train.momentum(o.lr, o.momentum);
    case "adam":
      return tf.train.adam(o.lr, o.beta1, o.beta2, o.eps);
  }
}

export function tfjsTrainRunner(tf: Tfjs, w: Workload): Runner {
  const model = buildModel(tf, w, true);
  const nOut = w.sizes[w.sizes.length - 1];
  const y = tf.tidy(() =>
    w.labels
      ? tf.oneHot(tf.tensor1d(w.labels, "int32"), nOut).toFloat()
      : tf.tensor2d(w.target!, [w.batch, nOut]),
  ) as TF.Tensor2D;
  const lossFn = (): TF.Scalar => {
    const out = model.predict();
    if (w.loss === "softmax-ce") return tf.losses.softmaxCrossEntropy(y, out) as TF.Scalar;
    if (w.loss === "mse-sum")
      return tf.losses.meanSquaredError(y, out, undefined, tf.Reduction.SUM) as TF.Scalar;
    return tf.losses.meanSquaredError(y, out) as TF.Scalar;
  };
  const optimizer = makeOptimizer(tf, w);
  let last: TF.Scalar | null = null;
  return {
    step() {
      const cost = tf.tidy(() => optimizer.minimize(lossFn, true, model.vars)!);
      last?.dispose();
      last = cost;
    },
    loss: () => (last ? last.dataSync()[0] : Number.NaN),
    dispose() {
      last?.dispose();
      y.dispose();
      optimizer.dispose();
      model.dispose();
    },
  };
}

export function tfjsInferenceRunner(tf: Tfjs, w: Workload): InferenceRunner {
  const model = buildModel(tf, w, false);
  let out: TF.Tensor2D | null = null;
  return {
    run() {
      out?.dispose();
      out = tf.tidy(model.predict);
      out.dataSync(); // make sure the result exists (a no-op copy-out on cpu/wasm, which run eagerly)
    },
    output: () => out!.dataSync() as Float32Array,
    dispose() {
      out?.dispose();
      model.dispose();
    },
  };
}
