/**
 * handwritten-js: what a careful user writes by hand. Plain loops over Float32Arrays, every buffer allocated
 * once, forward + backward + update written out. Weights stay in the torch layout W [out, in]: the forward
 * pass is a dot product of two contiguous rows (4 accumulators), the two backward products are i-k-j axpy
 * loops over contiguous rows.
 */
import { streamBatch } from "../stream";
import { isLenet, type Workload } from "../workloads";
import { type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

const NO_CONV = skip("dense layers only (no hand-written convolution)");

export class HandwrittenMlp {
  readonly L: number;
  readonly B: number;
  readonly sizes: number[];
  readonly W: Float32Array[];
  readonly b: Float32Array[];
  /** acts[0] = x; acts[l+1] = output of layer l (post-activation for hidden layers, logits for the last). */
  readonly acts: Float32Array[];
  /** deltas[l]: gradient of the loss w.r.t. layer l's pre-activation, [B, sizes[l+1]]. */
  private readonly deltas: Float32Array[];
  private readonly gW: Float32Array[];
  private readonly gb: Float32Array[];
  private readonly s1: Float32Array[];
  private readonly s2: Float32Array[];
  private readonly params: Float32Array[];
  private readonly grads: Float32Array[];
  private t = 0;
  /** The class indices of the batch in acts[0] (the workload's, or a stream batch's: setBatch). */
  private readonly labels: Int32Array | null;
  lastLoss = Number.NaN;

  constructor(private readonly w: Workload) {
    this.sizes = w.sizes;
    this.L = w.sizes.length - 1;
    this.B = w.batch;
    this.W = w.weights.map((a) => a.slice());
    this.b = w.biases.map((a) => a.slice());
    this.acts = [w.x.slice()];
    this.labels = w.labels?.slice() ?? null;
    this.deltas = [];
    for (let l = 0; l < this.L; l++) {
      this.acts.push(new Float32Array(this.B * w.sizes[l + 1]));
      this.deltas.push(new Float32Array(this.B * w.sizes[l + 1]));
    }
    this.gW = this.W.map((a) => new Float32Array(a.length));
    this.gb = this.b.map((a) => new Float32Array(a.length));
    this.params = [...this.W, ...this.b];
    this.grads = [...this.gW, ...this.gb];
    const opt = w.optimizer.kind;
    this.s1 = opt === "sgd" ? [] : this.params.map((a) => new Float32Array(a.length));
    this.s2 = opt === "adam" ? this.params.map((a) => new Float32Array(a.length)) : [];
  }

  forward(): Float32Array {
    const { B, L, sizes } = this;
    const relu = this.w.activation === "relu";
    for (let l = 0; l < L; l++) {
      const nIn = sizes[l];
      const nOut = sizes[l + 1];
      const a = this.acts[l];
      const z = this.acts[l + 1];
      const W = this.W[l];
      const bias = this.b[l];
      const hidden = l < L - 1;
      for (let r = 0; r < B; r++) {
        const ar = r * nIn;
        for (let o = 0; o < nOut; o++) {
          const wr = o * nIn;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          let k = 0;
          for (; k + 3 < nIn; k += 4) {
            s0 += a[ar + k] * W[wr + k];
            s1 += a[ar + k + 1] * W[wr + k + 1];
            s2 += a[ar + k + 2] * W[wr + k + 2];
            s3 += a[ar + k + 3] * W[wr + k + 3];
          }
          for (; k < nIn; k++) s0 += a[ar + k] * W[wr + k];
          let v = bias[o] + (s0 + s1 + (s2 + s3));
          if (hidden) v = relu ? Math.max(v, 0) : Math.tanh(v);
          z[r * nOut + o] = v;
        }
      }
    }
    return this.acts[L];
  }

  /** Loss of the current forward output, and its gradient into deltas[L-1]. */
  private lossAndGrad(): number {
    const { B, L, sizes } = this;
    const nOut = sizes[L];
    const y = this.acts[L];
    const d = this.deltas[L - 1];
    const w = this.w;
    let loss = 0;
    if (w.loss === "softmax-ce") {
      const labels = this.labels!;
      const invB = 1 / B;
      for (let r = 0; r < B; r++) {
        const o0 = r * nOut;
        let m = y[o0];
        for (let o = 1; o < nOut; o++) if (y[o0 + o] > m) m = y[o0 + o];
        let sum = 0;
        for (let o = 0; o < nOut; o++) {
          const e = Math.exp(y[o0 + o] - m);
          d[o0 + o] = e;
          sum += e;
        }
        const label = labels[r];
        loss += m + Math.log(sum) - y[o0 + label];
        const inv = invB / sum;
        for (let o = 0; o < nOut; o++) d[o0 + o] *= inv;
        d[o0 + label] -= invB;
      }
      return loss / B;
    }
    const t = w.target!;
    const n = B * nOut;
    const scale = w.loss === "mse-mean" ? 1 / n : 1;
    for (let i = 0; i < n; i++) {
      const diff = y[i] - t[i];
      loss += diff * diff;
      d[i] = 2 * scale * diff;
    }
    return loss * scale;
  }

  private backward(): void {
    const { B, L, sizes } = this;
    const relu = this.w.activation === "relu";
    for (let l = L - 1; l >= 0; l--) {
      const nIn = sizes[l];
      const nOut = sizes[l + 1];
      const d = this.deltas[l];
      const a = this.acts[l];
      const gW = this.gW[l];
      const gb = this.gb[l];
      gW.fill(0);
      gb.fill(0);
      for (let r = 0; r < B; r++) {
        const ar = r * nIn;
        for (let o = 0; o < nOut; o++) {
          const s = d[r * nOut + o];
          gb[o] += s;
          const gr = o * nIn;
          for (let k = 0; k < nIn; k++) gW[gr + k] += s * a[ar + k];
        }
      }
      if (l === 0) break;
      // Gradient w.r.t. the layer's input, then through the previous layer's activation.
      const dPrev = this.deltas[l - 1];
      const W = this.W[l];
      dPrev.fill(0);
      for (let r = 0; r < B; r++) {
        const pr = r * nIn;
        for (let o = 0; o < nOut; o++) {
          const s = d[r * nOut + o];
          const wr = o * nIn;
          for (let k = 0; k < nIn; k++) dPrev[pr + k] += s * W[wr + k];
        }
      }
      const n = B * nIn;
      if (relu) {
        for (let i = 0; i < n; i++) if (a[i] <= 0) dPrev[i] = 0;
      } else {
        for (let i = 0; i < n; i++) dPrev[i] *= 1 - a[i] * a[i];
      }
    }
  }

  private update(): void {
    const opt = this.w.optimizer;
    const { params, grads } = this;
    if (opt.kind === "adam") this.t++;
    for (let p = 0; p < params.length; p++) {
      const w = params[p];
      const g = grads[p];
      const n = w.length;
      if (opt.kind === "sgd") {
        const lr = opt.lr;
        for (let i = 0; i < n; i++) w[i] -= lr * g[i];
      } else if (opt.kind === "momentum") {
        const v = this.s1[p];
        const { lr, momentum } = opt;
        for (let i = 0; i < n; i++) {
          const vi = momentum * v[i] + g[i];
          v[i] = vi;
          w[i] -= lr * vi;
        }
      } else {
        const m = this.s1[p];
        const v = this.s2[p];
        const { lr, beta1, beta2, eps } = opt;
        const stepSize = lr / (1 - beta1 ** this.t);
        const bc2Sqrt = Math.sqrt(1 - beta2 ** this.t);
        for (let i = 0; i < n; i++) {
          const gi = g[i];
          const mi = beta1 * m[i] + (1 - beta1) * gi;
          const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          w[i] -= (stepSize * mi) / (Math.sqrt(vi) / bc2Sqrt + eps);
        }
      }
    }
  }

  /** Trains the next steps on these images and class indices (a batch of the workload's shapes). */
  setBatch(x: Float32Array, labels: Int32Array): void {
    this.acts[0].set(x);
    this.labels!.set(labels);
  }

  step(): void {
    this.forward();
    this.lastLoss = this.lossAndGrad();
    this.backward();
    this.update();
  }
}

export const handwrittenSystem: System = {
  name: "handwritten-js",
  async describe() {
    return "plain JS loops over Float32Arrays";
  },
  async setup(w: Workload): Promise<Runner | Skip> {
    if (isLenet(w)) return NO_CONV;
    const mlp = new HandwrittenMlp(w);
    return {
      step: () => mlp.step(),
      streamSteps(from, n) {
        for (let i = from; i < from + n; i++) {
          const b = streamBatch(w.stream!, w.batch, i);
          mlp.setBatch(b.x, b.labels);
          mlp.step();
        }
        if (w.labels) mlp.setBatch(w.x, w.labels);
      },
      loss: () => mlp.lastLoss,
      dispose() {},
    };
  },
  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    if (isLenet(w)) return NO_CONV;
    const mlp = new HandwrittenMlp(w);
    return {
      run: () => {
        mlp.forward();
      },
      output: () => mlp.acts[mlp.L].slice(),
      dispose() {},
    };
  },
};

export default handwrittenSystem;
