/**
 * One training run, as fit() runs it (the same builds in the same order, hence the same initial weights,
 * the same shuffles and the same float32 steps as `adjoint train` with these settings), but cut into
 * slices: runFor(ms) trains until the time is up or the epoch ends, so that the worker can answer the page
 * (pause, a prediction, a graph view) between slices. fit() itself runs to the end in one call.
 *
 * The kernels: trainStep for full batches and one for the last, smaller batch (sharing params, optimizer
 * state and lr buffer); an eval-mode kernel for the 800 validation digits; a one-row eval kernel with a
 * softmax for the drawn digit. All compiled by the library (wasm SIMD matmuls where the engine has them).
 */
import {
  batches,
  CompiledKernel,
  compile,
  copyBatchInto,
  crossEntropy,
  Graph,
  type Kernel,
  MNIST_CLASSES,
  MNIST_PIXELS,
  type Module,
  Rng,
  type Sequential,
  softmax,
  stateUpdates,
  type Tensor,
  type TrainStep,
  trainStep,
} from "adjoint";
import { checkConfig, type TrainConfig } from "./config";
import type { Splits } from "./data";
import { makeModel, makeOptimizer, sampleShape } from "./model";

export interface SliceReport {
  epoch: number;
  /** Batches done in the current epoch (equal to `batches` when the epoch just ended). */
  batch: number;
  batches: number;
  /** Mean loss and accuracy of the slice's batches. */
  loss: number;
  acc: number;
  steps: number;
  seconds: number;
  epochDone: boolean;
  /** Slices of the full-batch step's products run by the nested workers so far (0 with one thread). */
  workerSlices: number;
}

export interface EpochReport {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number;
  valAcc: number;
  lr: number;
  seconds: number;
}

interface Part {
  step: TrainStep;
  x: Float32Array;
  t: Float32Array;
  y: Float32Array;
}

export class DivergedError extends Error {}

/**
 * A batch loss above this is divergence: guessing among 10 classes costs ln 10 ≈ 2.3, so a loss of 100 is
 * a model far worse than chance, on its way to Infinity (the stable log-softmax keeps it finite for long).
 */
export const DIVERGED_LOSS = 100;

export class Session {
  readonly config: TrainConfig;
  readonly graph: Graph;
  readonly model: Sequential;
  readonly main: Part;
  readonly rest: Part | null;
  /** The step the dumps show: the full-batch training step. */
  readonly stepOutputs: Record<string, Tensor>;
  private readonly evalKernel: Kernel;
  private readonly predictKernel: Kernel;
  private testKernel: Kernel | null = null;
  private readonly rng: Rng;
  private readonly schedule: ((k: number) => number) | null;
  private epochBatches: ReturnType<typeof batches> | null = null;
  epoch = 0;
  private batchInEpoch = 0;
  private epochLossSum = 0;
  private epochCorrect = 0;
  private epochRows = 0;
  private epochSeconds = 0;
  readonly history: EpochReport[] = [];
  /** Rows of a full batch (the batch size, at most the training set). */
  readonly batchSize: number;

  constructor(
    private readonly data: Splits,
    config: TrainConfig,
  ) {
    this.config = checkConfig(config);
    const g = new Graph({ seed: config.seed });
    this.graph = g;
    this.model = makeModel(config, MNIST_PIXELS, MNIST_CLASSES);
    const optimizer = makeOptimizer(config);
    this.schedule = typeof optimizer.lr === "function" ? optimizer.lr : null;
    const n = data.train.n;
    const B = Math.min(config.batch, n);
    this.batchSize = B;
    // The same rows of 784 pixels, seen as [1, 28, 28] images by the CNNs.
    const sample = sampleShape(config);
    const build = (rows: number): Part & { loss: Tensor; yT: Tensor } => {
      const x = g.input(rows === B ? "x" : "x_rest", [rows, ...sample]);
      const t = g.input(rows === B ? "t" : "t_rest", [rows]);
      const y = this.model.build(x);
      const step = trainStep(crossEntropy(y, t), optimizer, {
        outputs: { y },
        autoSchedule: false,
        threads: config.threads,
      });
      return {
        step,
        x: step.inputs[x.name!],
        t: step.inputs[t.name!],
        y: step.outputs.y,
        loss: step.loss,
        yT: y,
      };
    };
    this.model.train(true);
    const main = build(B);
    this.main = main;
    this.rest = n % B !== 0 ? build(n % B) : null;
    const outputs: Record<string, Tensor> = { loss: main.loss, y: main.yT };
    for (const u of [...main.step.update.updates, ...stateUpdates([main.loss, main.yT])]) {
      outputs[`update(${u.inputs[0].name})`] = u;
    }
    this.stepOutputs = outputs;
    this.model.train(false);
    const vx = g.input("val_x", [data.val.n, ...sample]);
    const vt = g.input("val_t", [data.val.n]);
    const vy = this.model.build(vx);
    this.evalKernel = compile({ loss: crossEntropy(vy, vt), y: vy }, { cache: false });
    this.evalKernel.inputs.val_x.set(data.val.x);
    this.evalKernel.inputs.val_t.set(data.val.y);
    const px = g.input("draw_x", [1, ...sample]);
    this.predictKernel = compile({ probs: softmax(this.model.build(px)) }, { cache: false });
    this.rng = new Rng(config.seed);
  }

  /** Module path -> type name, for the graph's boxes ("0" -> "Linear"). */
  get moduleTypes(): Record<string, string> {
    const types: Record<string, string> = {};
    const walk = (m: Module, path: string) => {
      for (const [name, child] of m.children()) {
        const p = path ? `${path}.${name}` : name;
        types[p] = child.typeName;
        walk(child, p);
      }
    };
    walk(this.model, "");
    return types;
  }

  /** The compiler's kernel of the full-batch step (source, memory plan, fused groups). */
  get kernel(): Kernel {
    const k = this.main.step.kernel;
    if (!(k instanceof CompiledKernel)) throw new Error("the training step is not compiled");
    return k.compiled;
  }

  /** Threads the full-batch step really runs on, and why fewer than asked ("" when not). */
  get threads(): { used: number; note: string } {
    return { used: this.kernel.threads, note: this.kernel.threadsNote };
  }

  /** Ends the steps' worker threads (a session with one thread holds none); the session cannot run after. */
  async dispose(): Promise<void> {
    await Promise.all([this.main.step.kernel.dispose(), this.rest?.step.kernel.dispose()]);
  }

  get batchesPerEpoch(): number {
    return Math.ceil(this.data.train.n / this.batchSize);
  }

  get done(): boolean {
    return this.epoch >= this.config.epochs;
  }

  /** Trains for about `ms` milliseconds or to the end of the epoch, whichever comes first. */
  runFor(ms: number): SliceReport {
    const train = this.data.train;
    if (!this.epochBatches) {
      this.epochBatches = batches(train, this.batchSize, { shuffle: true, rng: this.rng });
      if (this.schedule) this.main.step.lr = this.schedule(this.epoch);
    }
    const t0 = performance.now();
    let loss = 0;
    let correct = 0;
    let rows = 0;
    let steps = 0;
    do {
      const next = this.epochBatches.next();
      if (next.done) throw new Error("internal error: the epoch has fewer batches than expected");
      const range = next.value;
      const part = range.count === this.main.t.length ? this.main : this.rest!;
      copyBatchInto(train, range.order, range.start, range.count, part.x, part.t);
      const l = part.step.run();
      if (!(Math.abs(l) <= DIVERGED_LOSS)) {
        throw new DivergedError(
          `Training diverged: the loss reached ${l > DIVERGED_LOSS ? l.toPrecision(3) : l} at epoch ${this.epoch + 1}, step ${this.batchInEpoch + 1}; try a learning rate smaller than ${this.config.lr}.`,
        );
      }
      loss += l * range.count;
      correct += countCorrect(part.y, part.t, range.count);
      rows += range.count;
      steps++;
      this.batchInEpoch++;
    } while (this.batchInEpoch < this.batchesPerEpoch && performance.now() - t0 < ms);
    const seconds = (performance.now() - t0) / 1000;
    this.epochLossSum += loss;
    this.epochCorrect += correct;
    this.epochRows += rows;
    this.epochSeconds += seconds;
    const report: SliceReport = {
      epoch: this.epoch,
      batch: this.batchInEpoch,
      batches: this.batchesPerEpoch,
      loss: rows > 0 ? loss / rows : Number.NaN,
      acc: rows > 0 ? correct / rows : Number.NaN,
      steps,
      seconds,
      epochDone: this.batchInEpoch === this.batchesPerEpoch,
      workerSlices: this.kernel.pool?.workerSlices ?? 0,
    };
    return report;
  }

  /** Closes the epoch: validation on the 800 held-out digits, then the next epoch's shuffle. */
  endEpoch(): EpochReport {
    const { loss, acc } = this.validate();
    const report: EpochReport = {
      epoch: this.epoch,
      loss: this.epochLossSum / this.epochRows,
      acc: this.epochCorrect / this.epochRows,
      valLoss: loss,
      valAcc: acc,
      lr: this.main.step.lr,
      seconds: this.epochSeconds,
    };
    if (!Number.isFinite(loss)) {
      throw new DivergedError(
        `Training diverged: the validation loss is ${loss} after epoch ${this.epoch + 1}; try a learning rate smaller than ${this.config.lr}.`,
      );
    }
    this.history.push(report);
    this.epoch++;
    this.epochBatches = null;
    this.batchInEpoch = 0;
    this.epochLossSum = this.epochCorrect = this.epochRows = this.epochSeconds = 0;
    return report;
  }

  validate(): { loss: number; acc: number } {
    this.evalKernel.run();
    const n = this.data.val.n;
    return {
      loss: this.evalKernel.outputs.loss[0],
      acc: countCorrect(this.evalKernel.outputs.y, this.evalKernel.inputs.val_t, n) / n,
    };
  }

  /**
   * Loss and accuracy on the 2,000 test digits (the CLI's last line), with a kernel compiled on first use:
   * an eval-mode build of the model, reading the weights being trained.
   */
  test(): { loss: number; acc: number; n: number } {
    const data = this.data.test;
    if (!this.testKernel) {
      const g = this.graph;
      const wasTraining = this.model.training;
      this.model.train(false);
      const x = g.input("test_x", [data.n, ...sampleShape(this.config)]);
      const t = g.input("test_t", [data.n]);
      const y = this.model.build(x);
      this.model.train(wasTraining);
      this.testKernel = compile({ loss: crossEntropy(y, t), y }, { cache: false });
      this.testKernel.inputs.test_x.set(data.x);
      this.testKernel.inputs.test_t.set(data.y);
    }
    const k = this.testKernel;
    k.run();
    return {
      loss: k.outputs.loss[0],
      acc: countCorrect(k.outputs.y, k.inputs.test_t, data.n) / data.n,
      n: data.n,
    };
  }

  /** Class probabilities of one 28×28 image (grey levels in [0, 1], row by row) under the current weights. */
  predict(pixels: ArrayLike<number>): Float32Array {
    this.predictKernel.run({ draw_x: pixels });
    return Float32Array.from(this.predictKernel.outputs.probs);
  }
}

function countCorrect(y: Float32Array, t: Float32Array, rows: number): number {
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < MNIST_CLASSES; c++)
      if (y[r * MNIST_CLASSES + c] > y[r * MNIST_CLASSES + best]) best = c;
    if (best === t[r]) correct++;
  }
  return correct;
}
