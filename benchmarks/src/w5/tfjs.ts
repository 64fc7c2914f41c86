/**
 * TensorFlow.js (cpu or wasm backend, one thread), written as its users write it: tf.variable weights in its
 * own layouts (NHWC activations, conv filters [kh, kw, in, out], dense kernels [in, out]), tf.conv2d,
 * tf.maxPool, optimizer.minimize inside tf.tidy. The activations go back to NCHW before the flatten so
 * that the first dense layer sees torch's feature order (and takes the same weights).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as TF from "@tensorflow/tfjs";
import { BATCH, LR, type W5Data, type W5Runner } from "./data";

type Tfjs = typeof TF;

/** [O, C, kh, kw] → [kh, kw, C, O]. */
function convFilter(a: Float32Array, [O, C, kh, kw]: number[]): Float32Array {
  const out = new Float32Array(a.length);
  for (let o = 0; o < O; o++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < kh; i++)
        for (let j = 0; j < kw; j++) out[((i * kw + j) * C + c) * O + o] = a[((o * C + c) * kh + i) * kw + j];
  return out;
}

/** [out, in] → [in, out]. */
function denseKernel(a: Float32Array, out: number, inn: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inn; i++) t[i * out + o] = a[o * inn + i];
  return t;
}

export async function loadTfjs(backend: "cpu" | "wasm"): Promise<Tfjs> {
  const tf = (await import("@tensorflow/tfjs")) as unknown as Tfjs;
  if (backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm");
    const require = createRequire(import.meta.url);
    wasm.setWasmPaths(
      `${join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist")}/`,
    );
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  }
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialize`);
  await tf.ready();
  return tf;
}

export async function tfjsRunner(backend: "cpu" | "wasm", data: W5Data): Promise<W5Runner> {
  const tf = await loadTfjs(backend);
  const P = data.params;
  const v = (a: Float32Array, shape: number[]) => tf.variable(tf.tensor(a, shape));
  const vars = [
    v(convFilter(P[0], [6, 1, 5, 5]), [5, 5, 1, 6]),
    v(P[1], [6]),
    v(convFilter(P[2], [16, 6, 5, 5]), [5, 5, 6, 16]),
    v(P[3], [16]),
    v(denseKernel(P[4], 120, 400), [400, 120]),
    v(P[5], [120]),
    v(denseKernel(P[6], 84, 120), [120, 84]),
    v(P[7], [84]),
    v(denseKernel(P[8], 10, 84), [84, 10]),
    v(P[9], [10]),
  ];
  // x [N, 1, 28, 28] is also [N, 28, 28, 1]: one channel.
  const x = tf.tensor4d(data.x, [BATCH, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(data.labels, "int32"), 10).toFloat();
  const predict = (): TF.Tensor2D => {
    let h = tf.relu(tf.add(tf.conv2d(x, vars[0] as TF.Tensor4D, 1, 2), vars[1])) as TF.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    h = tf.relu(tf.add(tf.conv2d(h, vars[2] as TF.Tensor4D, 1, "valid"), vars[3])) as TF.Tensor4D;
    h = tf.maxPool(h, 2, 2, "valid");
    let f = tf.transpose(h, [0, 3, 1, 2]).reshape([BATCH, 400]) as TF.Tensor2D;
    f = tf.relu(tf.add(tf.matMul(f, vars[4] as TF.Tensor2D), vars[5]));
    f = tf.relu(tf.add(tf.matMul(f, vars[6] as TF.Tensor2D), vars[7]));
    return tf.add(tf.matMul(f, vars[8] as TF.Tensor2D), vars[9]);
  };
  const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8);
  // tfjs-backend-wasm has no convolution gradients: say so before a failed step leaves the engine's tape
  // half open.
  const missing = ["Conv2DBackpropFilter", "Conv2DBackpropInput", "MaxPoolGrad"].filter(
    (k) => !tf.getKernel(k, backend),
  );
  let last: TF.Scalar | null = null;
  let out: TF.Tensor | null = null;
  return {
    name: `tfjs-${backend}`,
    describe: `@tensorflow/tfjs ${tf.version.tfjs}, backend ${backend}${backend === "wasm" ? " (XNNPACK, SIMD, 1 thread)" : ""}`,
    async prepare() {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
    },
    step() {
      if (missing.length > 0) throw new Error(`no ${missing.join(", ")} kernel on the ${backend} backend`);
      const cost = tf.tidy(
        () => optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, predict()) as TF.Scalar, true, vars)!,
      );
      cost.dataSync(); // the new weights are computed, not merely queued
      last?.dispose();
      last = cost;
    },
    loss: () => (last ? last.dataSync()[0] : Number.NaN),
    forward() {
      out?.dispose();
      out = tf.tidy(predict);
      out.dataSync();
    },
    dispose() {
      last?.dispose();
      out?.dispose();
      optimizer.dispose();
      for (const t of [...vars, x, y]) t.dispose();
    },
  };
}
