/**
 * The TensorFlow.js training step, written the way its users write it: tf.variable parameters, the loss as a
 * closure, optimizer.minimize inside tf.tidy. Shared by the cpu and wasm backends (tfjs-cpu.ts, tfjs-wasm.ts).
 */
import type * as TF from "@tensorflow/tfjs";
import { streamBatch } from "../stream";
import { isLenet, transpose, type Workload } from "../workloads";
import { type InferenceRunner, type Runner, type Skip, skip } from "./types";

export type Tfjs = typeof TF;

interface TfModel {
  vars: TF.Variable[];
  /** The logits of a batch of the workload's input shape. */
  predict: (x: TF.Tensor) => TF.Tensor2D;
  dispose: () => void;
}

/** The input batch as the model takes it: [N, features], or LeNet's [N, 28, 28, 1] (one channel: NCHW = NHWC). */
function inputTensor(tf: Tfjs, w: Workload, x: Float32Array): TF.Tensor {
  return isLenet(w) ? tf.tensor4d(x, [w.batch, 28, 28, 1]) : tf.tensor2d(x, [w.batch, w.sizes[0]]);
}

/** [O, C, kh, kw] (torch) → [kh, kw, C, O] (tfjs's conv filter). */
function convFilter(a: Float32Array, [O, C, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) out[((i * kw + j) * C + c) * O + o] = a[((o * C + c) * kh + i) * kw + j];
  return out;
}

/**
 * LeNet-5 in tfjs's own layouts: NHWC activations, conv filters [kh, kw, in, out], dense kernels [in, out];
 * tf.conv2d and tf.maxPool. The activations go back to NCHW before the flatten, so that the first dense
 * layer sees torch's feature order (and takes the same weights).
 */
function buildLenet(tf: Tfjs, w: Workload, trainable: boolean): TfModel {
  const v = (a: Float32Array, shape: number[]) => tf.variable(tf.tensor(a, shape), trainable);
  const dense = (l: number, out: number, inn: number) => v(transpose(w.weights[l], out, inn), [inn, out]);
  const c1 = v(convFilter(w.weights[0], [6, 1, 5, 5]), [5, 5, 1, 6]) as TF.Variable<TF.Rank.R4>;
  const c2 = v(convFilter(w.weights[1], [16, 6, 5, 5]), [5, 5, 6, 16]) as TF.Variable<TF.Rank.R4>;
  const [f1, f2, f3] = [dense(2, 120, 400), dense(3, 84, 120), dense(4, 10, 84)] as TF.Variable<TF.Rank.R2>[];
  const b = w.biases.map((a) => v(a, [a.length]));
  const predict = (x: TF.Tensor): TF.Tensor2D => {
    let h = tf.relu(tf.add(tf.conv2d(x as TF.Tensor4D, c1, 1, 2), b[0])) as TF.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.relu(tf.add(tf.conv2d(h, c2, 1, "valid"), b[1])) as TF.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    let f = tf.transpose(h, [0, 3, 1, 2]).reshape([w.batch, 400]) as TF.Tensor2D;
    f = tf.relu(tf.add(tf.matMul(f, f1), b[2]));
    f = tf.relu(tf.add(tf.matMul(f, f2), b[3]));
    return tf.add(tf.matMul(f, f3), b[4]);
  };
  const vars = [c1, b[0], c2, b[1], f1, b[2], f2, b[3], f3, b[4]];
  return {
    vars,
    predict,
    dispose: () => {
      for (const t of vars) t.dispose();
    },
  };
}

function buildModel(tf: Tfjs, w: Workload, trainable: boolean): TfModel {
  if (isLenet(w)) return buildLenet(tf, w, trainable);
  const L = w.sizes.length - 1;
  // Dense layers in tfjs's own layout: kernel [in, out], as tf.layers.dense stores it.
  const kernels = w.weights.map((a, l) =>
    tf.variable(
      tf.tensor2d(transpose(a, w.sizes[l + 1], w.sizes[l]), [w.sizes[l], w.sizes[l + 1]]),
      trainable,
    ),
  );
  const biases = w.biases.map((a) => tf.variable(tf.tensor1d(a), trainable));
  const predict = (x: TF.Tensor): TF.Tensor2D => {
    let h = x as TF.Tensor2D;
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

/** The gradient kernels a backend needs for W5 that it may lack (tfjs-backend-wasm has none of them). */
const CONV_GRADIENTS = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"];

export function tfjsTrainRunner(tf: Tfjs, w: Workload): Runner | Skip {
  const backend = tf.getBackend();
  const missing = isLenet(w) ? CONV_GRADIENTS.filter((k) => !tf.getKernel(k, backend)) : [];
  // Said before a step, which would fail with the engine's tape half open.
  if (missing.length)
    return skip(`no conv gradients on tfjs's ${backend} backend (no ${missing.join(", ")} kernel)`);
  const model = buildModel(tf, w, true);
  const nOut = w.sizes[w.sizes.length - 1];
  const oneHot = (labels: Int32Array) =>
    tf.tidy(() => tf.oneHot(tf.tensor1d(labels, "int32"), nOut).toFloat()) as TF.Tensor2D;
  const fixedX = inputTensor(tf, w, w.x);
  const fixedY = w.labels ? oneHot(w.labels) : (tf.tensor2d(w.target!, [w.batch, nOut]) as TF.Tensor2D);
  // The batch the next step trains on: the fixed one, or a stream batch during streamSteps.
  let x = fixedX;
  let y = fixedY;
  const lossFn = (): TF.Scalar => {
    const out = model.predict(x);
    if (w.loss === "softmax-ce") return tf.losses.softmaxCrossEntropy(y, out) as TF.Scalar;
    if (w.loss === "mse-sum")
      return tf.losses.meanSquaredError(y, out, undefined, tf.Reduction.SUM) as TF.Scalar;
    return tf.losses.meanSquaredError(y, out) as TF.Scalar;
  };
  const optimizer = makeOptimizer(tf, w);
  let last: TF.Scalar | null = null;
  const step = () => {
    const cost = tf.tidy(() => optimizer.minimize(lossFn, true, model.vars)!);
    last?.dispose();
    last = cost;
  };
  return {
    step,
    streamSteps(from, n) {
      for (let i = from; i < from + n; i++) {
        const b = streamBatch(w.stream!, w.batch, i);
        x = inputTensor(tf, w, b.x);
        y = oneHot(b.labels);
        step();
        x.dispose();
        y.dispose();
      }
      x = fixedX;
      y = fixedY;
    },
    loss: () => (last ? last.dataSync()[0] : Number.NaN),
    dispose() {
      last?.dispose();
      fixedX.dispose();
      fixedY.dispose();
      optimizer.dispose();
      model.dispose();
    },
  };
}

export function tfjsInferenceRunner(tf: Tfjs, w: Workload): InferenceRunner {
  const model = buildModel(tf, w, false);
  const x = inputTensor(tf, w, w.x);
  let out: TF.Tensor2D | null = null;
  return {
    run() {
      out?.dispose();
      out = tf.tidy(() => model.predict(x));
      out.dataSync(); // make sure the result exists (a no-op copy-out on cpu/wasm, which run eagerly)
    },
    output: () => out!.dataSync() as Float32Array,
    dispose() {
      out?.dispose();
      x.dispose();
      model.dispose();
    },
  };
}
