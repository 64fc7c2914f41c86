/**
 * jax-js: @jax-js/jax on its wasm backend (single-threaded in Node: no global Worker), the whole step
 * (valueAndGrad + optimizer update) under one jit, as its users write it. jax-js arrays are reference
 * counted and every call consumes its arguments, hence the `.ref`s.
 */
import type * as JaxNs from "@jax-js/jax";
import { streamBatch } from "../stream";
import { inputShape, isLenet, namedParams, transpose, type Workload } from "../workloads";
import { errorMessage, type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

type Jax = typeof JaxNs;
type Arr = JaxNs.numpy.Array;

let jaxPromise: Promise<Jax | Skip> | null = null;

export function loadJax(): Promise<Jax | Skip> {
  jaxPromise ??= (async () => {
    try {
      const jax = await import("@jax-js/jax");
      // The default init() probes browser devices (navigator); in Node ask for wasm alone.
      const devices = await jax.init("wasm");
      if (!devices.includes("wasm"))
        return skip(`jax-js wasm backend unavailable (got ${devices.join(", ")})`);
      jax.defaultDevice("wasm");
      return jax;
    } catch (e) {
      return skip(`cannot load @jax-js/jax: ${errorMessage(e)}`);
    }
  })();
  return jaxPromise;
}

type OptState = { count: Arr; m: Arr[]; v: Arr[] };

export function initParams(jax: Jax, w: Workload): Arr[] {
  const np = jax.numpy;
  // LeNet-5: torch's layouts (lax.convGeneralDilated takes NCHW and OIHW), in LENET_PARAMS order.
  if (isLenet(w)) return namedParams(w).map(([, shape, value]) => np.array(value.slice()).reshape(shape));
  const params: Arr[] = [];
  // [w0, ..., w(L-1), b0, ..., b(L-1)], kernels in [in, out] (x @ W), the layout jax users write.
  w.weights.forEach((a, l) => {
    params.push(np.array(transpose(a, w.sizes[l + 1], w.sizes[l])).reshape([w.sizes[l], w.sizes[l + 1]]));
  });
  for (const b of w.biases) params.push(np.array(b.slice()));
  return params;
}

/**
 * LeNet-5 with lax.convGeneralDilated; the 2×2 max pools as a reshape and a max over the window axes
 * (jax-js has no max-pool op; for non-overlapping windows that is the same function). Its gradient splits
 * among tied maxima where torch's goes to the first (ties are common: a conv over a blank patch outputs its
 * bias alike at every position). A one-hot of argmax gives torch's gradient; tried on W5, jax-js's loss after
 * 200 stream steps moved from 2.3% to 1.8% off Adjoint's, no closer: the spread is LeNet's own
 * sensitivity to rounding (sensitivity.ts), not the ties, so the pools stay as jax-js users write them.
 */
function lenetForward(jax: Jax, w: Workload) {
  const { numpy: np, nn, lax } = jax;
  const B = w.batch;
  const pool = (h: Arr, C: number, S: number) => h.reshape([B, C, S / 2, 2, S / 2, 2]).max([3, 5]);
  const dense = (h: Arr, W: Arr, b: Arr) => np.dot(h, W.transpose()).add(b);
  const pad2: [number, number][] = [
    [2, 2],
    [2, 2],
  ];
  return (p: Arr[], x: Arr): Arr => {
    let h = nn.relu(lax.convGeneralDilated(x, p[0], [1, 1], pad2).add(p[1].reshape([6, 1, 1])));
    h = pool(h, 6, 28);
    h = nn.relu(lax.convGeneralDilated(h, p[2], [1, 1], "VALID").add(p[3].reshape([16, 1, 1])));
    h = pool(h, 16, 10).reshape([B, 400]);
    h = nn.relu(dense(h, p[4], p[5]));
    h = nn.relu(dense(h, p[6], p[7]));
    return dense(h, p[8], p[9]);
  };
}

export function makeForward(jax: Jax, w: Workload) {
  if (isLenet(w)) return lenetForward(jax, w);
  const { numpy: np, nn } = jax;
  const L = w.sizes.length - 1;
  return (p: Arr[], x: Arr): Arr => {
    let h = x;
    for (let l = 0; l < L; l++) {
      h = np.dot(h, p[l]).add(p[L + l]);
      if (l < L - 1) h = w.activation === "relu" ? nn.relu(h) : np.tanh(h);
    }
    return h;
  };
}

export const jaxSystem: System = {
  name: "jax-js",
  async describe() {
    const jax = await loadJax();
    return "skipped" in jax ? jax.reason : "@jax-js/jax, wasm device, jit(valueAndGrad + update)";
  },

  async setup(w: Workload): Promise<Runner | Skip> {
    const jax = await loadJax();
    if ("skipped" in jax) return jax;
    const { numpy: np, nn, tree } = jax;
    const L = w.sizes.length - 1;
    const nOut = w.sizes[L];
    const forward = makeForward(jax, w);
    const lossFn = (p: Arr[], x: Arr, y: Arr): Arr => {
      const out = forward(p, x);
      if (w.loss === "softmax-ce")
        return nn
          .logSoftmax(out)
          .mul(y)
          .sum()
          .mul(-1 / w.batch);
      const sq = np.square(out.sub(y));
      return w.loss === "mse-sum" ? sq.sum() : sq.mean();
    };
    const opt = w.optimizer;

    const trainStep = jax.jit((p: Arr[], s: OptState, x: Arr, y: Arr) => {
      const [loss, g] = jax.valueAndGrad(lossFn)(tree.ref(p), x, y);
      const newP: Arr[] = [];
      const m2: Arr[] = [];
      const v2: Arr[] = [];
      if (opt.kind === "sgd") {
        for (let i = 0; i < p.length; i++) newP.push(p[i].sub(g[i].mul(opt.lr)));
        return { loss, p: newP, s };
      }
      if (opt.kind === "momentum") {
        for (let i = 0; i < p.length; i++) {
          const v = s.m[i].mul(opt.momentum).add(g[i]);
          newP.push(p[i].sub(v.ref.mul(opt.lr)));
          m2.push(v);
        }
        return { loss, p: newP, s: { count: s.count, m: m2, v: s.v } };
      }
      const { lr, beta1, beta2, eps } = opt;
      const count = s.count.add(1);
      const bc1 = np.subtract(1, np.power(beta1, count.ref));
      const bc2 = np.subtract(1, np.power(beta2, count.ref));
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const m = s.m[i].mul(beta1).add(gi.ref.mul(1 - beta1));
        const v = s.v[i].mul(beta2).add(np.square(gi).mul(1 - beta2));
        const update = m.ref
          .div(bc1.ref)
          .div(np.sqrt(v.ref.div(bc2.ref)).add(eps))
          .mul(lr);
        newP.push(p[i].sub(update));
        m2.push(m);
        v2.push(v);
      }
      bc1.dispose();
      bc2.dispose();
      return { loss, p: newP, s: { count, m: m2, v: v2 } };
    });

    let params = initParams(jax, w);
    let state: OptState = {
      count: np.array(0),
      m: opt.kind === "sgd" ? [] : params.map((a) => np.zerosLike(a.ref)),
      v: opt.kind === "adam" ? params.map((a) => np.zerosLike(a.ref)) : [],
    };
    const x = np.array(w.x).reshape(inputShape(w));
    const oneHot = (labels: Int32Array) => nn.oneHot(np.array(labels, { dtype: np.int32 }), nOut);
    const y = w.labels ? oneHot(w.labels) : np.array(w.target!).reshape([w.batch, nOut]);
    await jax.blockUntilReady([params, state, x, y]);
    let last: Arr | null = null;
    /** One step on the batch (bx, by), which it consumes. */
    const stepOn = async (bx: Arr, by: Arr) => {
      const r = trainStep(params, state, bx, by);
      params = r.p;
      state = r.s;
      last?.dispose();
      last = r.loss;
      await jax.blockUntilReady(params);
    };

    return {
      step: () => stepOn(x.ref, y.ref),
      async streamSteps(from, n) {
        for (let i = from; i < from + n; i++) {
          const b = streamBatch(w.stream!, w.batch, i);
          await stepOn(np.array(b.x.slice()).reshape(inputShape(w)), oneHot(b.labels.slice()));
        }
      },
      async loss() {
        if (!last) return Number.NaN;
        const d = await last.ref.data();
        return d[0];
      },
      dispose() {
        last?.dispose();
        tree.dispose([params, state, x, y]);
        trainStep.dispose();
      },
    };
  },

  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    const jax = await loadJax();
    if ("skipped" in jax) return jax;
    const { numpy: np, tree } = jax;
    const predict = jax.jit(makeForward(jax, w));
    const params = initParams(jax, w);
    const x = np.array(w.x).reshape(inputShape(w));
    await jax.blockUntilReady([params, x]);
    let out: Arr | null = null;
    return {
      async run() {
        out?.dispose();
        out = predict(tree.ref(params), x.ref);
        await out.blockUntilReady();
      },
      async output() {
        return (await out!.ref.data()) as Float32Array;
      },
      dispose() {
        out?.dispose();
        tree.dispose([params, x]);
        predict.dispose();
      },
    };
  },
};

export default jaxSystem;
