/**
 * The five benchmark workloads and the one generator of their starting data. Every system (JS or Python)
 * starts from exactly these float32 numbers: seeded inputs and weights in torch layout. The MLPs (W1–W4)
 * have Glorot-uniform weights W [out, in] and zero biases; W5 (LeNet-5, lenet.ts) has torch's default init.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../../packages/core/src/random";
import { LENET_IMAGE, LENET_PARAMS, lenetForwardFlops, lenetParams } from "./lenet";

export type WorkloadId = "W1" | "W2" | "W3" | "W4" | "W5";
/** mlp: dense layers of `sizes`; lenet5: the LeNet-5 of lenet.ts on [batch, 1, 28, 28] images. */
export type Architecture = "mlp" | "lenet5";
export type Activation = "tanh" | "relu";
/** mse-mean: mean over all output elements; mse-sum: sum; softmax-ce: cross-entropy with class indices, mean over the batch. */
export type LossKind = "mse-mean" | "mse-sum" | "softmax-ce";
export type OptimizerSpec =
  | { kind: "sgd"; lr: number }
  | { kind: "momentum"; lr: number; momentum: number }
  | { kind: "adam"; lr: number; beta1: number; beta2: number; eps: number };

/** The batches of a workload's correctness steps (stream.ts reads them, mnist-stream.ts builds them). */
export interface Stream {
  /** Batches in the stream: batch i is rows [i·batch, (i+1)·batch). */
  batches: number;
  /** Images, row-major [batches · batch, ...inputShape(w) without the batch axis], values in [0, 1]. */
  x: Float32Array;
  /** Class indices [batches · batch]. */
  labels: Int32Array;
}

export interface WorkloadSpec {
  id: WorkloadId;
  name: string;
  /** Default mlp. */
  arch?: Architecture;
  /** Layer widths, input first: [8, 16, 1] is 8→16→1 (lenet5: [input features, classes]). */
  sizes: number[];
  batch: number;
  /** Activation of every hidden layer; the output layer is linear. */
  activation: Activation;
  loss: LossKind;
  optimizer: OptimizerSpec;
  /** Distribution of the inputs x. */
  input: "uniform" | "normal";
  seed: number;
}

export interface Workload extends WorkloadSpec {
  /** Inputs, row-major [batch, sizes[0]]. */
  x: Float32Array;
  /** Regression targets [batch, sizes[L]] (MSE losses), else null. */
  target: Float32Array | null;
  /** Class indices [batch] (softmax-ce), else null. */
  labels: Int32Array | null;
  /** weights[l]: row-major [sizes[l+1], sizes[l]] (torch layout W [out, in]); lenet5: its 5 weights in LENET_PARAMS order. */
  weights: Float32Array[];
  /** biases[l]: [sizes[l+1]], all zero (lenet5: its 5 biases, torch's default init). */
  biases: Float32Array[];
  /** Matmul FLOPs of one training step: 2·m·n·k per matmul, forward once and backward twice. */
  flopsPerStep: number;
  /** Matmul FLOPs of one forward pass. */
  flopsPerForward: number;
  /** The batches of the correctness steps (stream.ts), on the correctness workloads of a run; else null. */
  stream: Stream | null;
}

export const WORKLOAD_SPECS: readonly WorkloadSpec[] = [
  {
    id: "W1",
    name: "seed-tiny",
    sizes: [8, 16, 1],
    batch: 1,
    activation: "tanh",
    loss: "mse-mean",
    optimizer: { kind: "sgd", lr: 1e-3 },
    input: "normal",
    seed: 101,
  },
  {
    id: "W2",
    name: "seed-two-layer",
    sizes: [1000, 100, 10],
    batch: 64,
    activation: "relu",
    loss: "mse-sum",
    optimizer: { kind: "sgd", lr: 1e-4 },
    input: "normal",
    seed: 102,
  },
  {
    id: "W3",
    name: "mnist-mlp",
    sizes: [784, 128, 10],
    batch: 64,
    activation: "relu",
    loss: "softmax-ce",
    optimizer: { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    input: "uniform",
    seed: 103,
  },
  {
    id: "W4",
    name: "wide-mlp",
    sizes: [784, 1024, 1024, 10],
    batch: 128,
    activation: "relu",
    loss: "softmax-ce",
    optimizer: { kind: "momentum", lr: 1e-2, momentum: 0.9 },
    input: "uniform",
    seed: 104,
  },
  {
    id: "W5",
    name: "lenet5",
    arch: "lenet5",
    sizes: [784, 10],
    batch: 64,
    activation: "relu",
    loss: "softmax-ce",
    optimizer: { kind: "adam", lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 },
    input: "uniform",
    seed: 105,
  },
];

export function isLenet(w: WorkloadSpec): boolean {
  return w.arch === "lenet5";
}

/** The shape of x: [batch, features], or [batch, 1, 28, 28] for lenet5. */
export function inputShape(w: WorkloadSpec): number[] {
  return isLenet(w) ? [w.batch, ...LENET_IMAGE] : [w.batch, w.sizes[0]];
}

/** Every parameter as [name, shape, value], in torch's parameters() order (W0, b0, W1, b1, …). */
export function namedParams(w: Workload): [string, number[], Float32Array][] {
  if (isLenet(w))
    return LENET_PARAMS.map(([name, shape], i) => [
      name,
      shape,
      i % 2 === 0 ? w.weights[i / 2] : w.biases[(i - 1) / 2],
    ]);
  return w.weights.flatMap((wt, l): [string, number[], Float32Array][] => [
    [`w${l}`, [w.sizes[l + 1], w.sizes[l]], wt],
    [`b${l}`, [w.sizes[l + 1]], w.biases[l]],
  ]);
}

export function forwardFlops(spec: WorkloadSpec): number {
  if (isLenet(spec)) return lenetForwardFlops(spec.batch);
  let f = 0;
  for (let l = 0; l + 1 < spec.sizes.length; l++) f += 2 * spec.batch * spec.sizes[l] * spec.sizes[l + 1];
  return f;
}

/** Builds a workload's data deterministically from its seed. Draw order: weights layer by layer, then x, then targets/labels. */
export function buildWorkload(spec: WorkloadSpec): Workload {
  const rng = new Rng(spec.seed);
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  if (isLenet(spec)) {
    const p = lenetParams(rng);
    for (let i = 0; i < p.length; i += 2) {
      weights.push(p[i]);
      biases.push(p[i + 1]);
    }
  }
  for (let l = 0; !isLenet(spec) && l + 1 < spec.sizes.length; l++) {
    const fanIn = spec.sizes[l];
    const fanOut = spec.sizes[l + 1];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const w = new Float32Array(fanOut * fanIn);
    for (let i = 0; i < w.length; i++) w[i] = rng.uniformRange(-limit, limit);
    weights.push(w);
    biases.push(new Float32Array(fanOut));
  }
  const nOut = spec.sizes[spec.sizes.length - 1];
  const x = new Float32Array(inputShape(spec).reduce((a, b) => a * b, 1));
  for (let i = 0; i < x.length; i++) x[i] = spec.input === "uniform" ? rng.uniform() : rng.normal();
  let target: Float32Array | null = null;
  let labels: Int32Array | null = null;
  if (spec.loss === "softmax-ce") {
    labels = new Int32Array(spec.batch);
    for (let i = 0; i < labels.length; i++) labels[i] = rng.int(nOut);
  } else {
    target = new Float32Array(spec.batch * nOut);
    for (let i = 0; i < target.length; i++) target[i] = rng.normal();
  }
  const flopsPerForward = forwardFlops(spec);
  return {
    ...spec,
    sizes: [...spec.sizes],
    x,
    target,
    labels,
    weights,
    biases,
    flopsPerForward,
    flopsPerStep: 3 * flopsPerForward,
    stream: null,
  };
}

export function buildWorkloads(ids?: readonly string[]): Workload[] {
  const specs = ids && ids.length > 0 ? WORKLOAD_SPECS.filter((s) => ids.includes(s.id)) : WORKLOAD_SPECS;
  return specs.map(buildWorkload);
}

export function layerCount(w: WorkloadSpec): number {
  return w.sizes.length - 1;
}

/** Transposes a row-major [rows, cols] matrix into [cols, rows]. */
export function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

interface ArrayEntry {
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  /** Byte offset in the .bin file. */
  offset: number;
  length: number;
}

/**
 * Writes the workloads' starting data for other processes (the PyTorch script): `<dir>/workloads.json`
 * (specs and the layout of every array) and `<dir>/workloads.bin` (the little-endian arrays). Returns the JSON path.
 */
export function writeWorkloadData(workloads: readonly Workload[], dir: string): string {
  mkdirSync(dir, { recursive: true });
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const add = (name: string, a: Float32Array | Int32Array, shape: number[]): ArrayEntry => {
    const entry: ArrayEntry = {
      name,
      dtype: a instanceof Float32Array ? "float32" : "int32",
      shape,
      offset,
      length: a.length,
    };
    chunks.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    offset += a.byteLength;
    return entry;
  };
  const manifest = workloads.map((w) => {
    const arrays: Record<string, ArrayEntry> = {};
    const nOut = w.sizes[w.sizes.length - 1];
    arrays.x = add(`${w.id}.x`, w.x, inputShape(w));
    if (w.target) arrays.target = add(`${w.id}.target`, w.target, [w.batch, nOut]);
    if (w.labels) arrays.labels = add(`${w.id}.labels`, w.labels, [w.batch]);
    // MLPs: w0, b0, w1, …; lenet5: params0 … params9 in LENET_PARAMS order.
    namedParams(w).forEach(([name, shape, value], i) => {
      arrays[isLenet(w) ? `p${i}` : name] = add(`${w.id}.${name}`, value, shape);
    });
    if (w.stream) {
      arrays.stream_x = add(`${w.id}.stream_x`, w.stream.x, [
        w.stream.batches * w.batch,
        ...inputShape(w).slice(1),
      ]);
      arrays.stream_labels = add(`${w.id}.stream_labels`, w.stream.labels, [w.stream.batches * w.batch]);
    }
    const { x: _x, target: _t, labels: _l, weights: _w, biases: _b, stream: _s, ...spec } = w;
    return { ...spec, arrays };
  });
  const bin = Buffer.concat(chunks);
  writeFileSync(join(dir, "workloads.bin"), bin);
  const jsonPath = join(dir, "workloads.json");
  writeFileSync(jsonPath, JSON.stringify({ bin: "workloads.bin", workloads: manifest }, null, 1));
  return jsonPath;
}
