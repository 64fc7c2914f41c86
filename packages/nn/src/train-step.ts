/**
 * trainStep: one kernel that computes the loss (and any extra outputs), the gradients, and applies the
 * optimizer's updates in place, with the learning rate in a buffer that a schedule sets before each run.
 *
 * accumulateStep: gradient accumulation over micro-batches, the accumulate-into-.grad style of PyTorch's
 * backward(): its kernel adds ∇loss into one grad buffer per param; `applyStep(optimizer)` builds a kernel
 * that updates the params from those buffers; `zeroGrad()` clears them.
 */
import { assign, grad, type Tensor } from "@adjoint/core";
import { type Engine, isInterpreted, type KernelLike, makeKernel, readFloat64, writeFloat64 } from "./engine";
import { stateUpdates, trainableParamsOf, uniqueName } from "./graph-utils";
import type { Optimizer, OptimizerUpdate } from "./optim/optimizer";

/** How a step's kernel is built: the engine, and NaN/Infinity checks. */
export interface KernelBuildOptions {
  /** "compiled" (default: packages/compiler) or "interpreter" (float64 reference, slow). */
  engine?: Engine;
  /** Check outputs and updates for NaN/Infinity at every run (and refuse to apply the step). */
  checkFinite?: boolean;
  /**
   * Split the large products of the step over this many threads (compile()'s `threads`; default 1);
   * results are bit-identical to one thread. `step.kernel.dispose()` ends the workers.
   */
  threads?: number;
  /** Time every group of the compiled step: `step.kernel.compiled.profile()` (compile()'s `profile`). */
  profile?: boolean;
}

/** Options of {@link trainStep}. */
export interface TrainStepOptions extends KernelBuildOptions {
  /** The params to train (default: every trainable param the loss depends on). */
  params?: readonly Tensor[];
  /** Extra outputs to compute with the step (from the pre-update params), e.g. { logits }. */
  outputs?: Record<string, Tensor>;
  /**
   * When the optimizer's lr is a schedule: set the lr buffer to a_k before run k (default true). With
   * false, the caller sets `step.lr` (e.g. fit's per-epoch schedules).
   */
  autoSchedule?: boolean;
}

/**
 * A compiled training step (see {@link trainStep}): input views, `run()`, the lr, the step count, the
 * generated source.
 */
export interface TrainStep {
  /** Views to write the inputs into (then call run() without feeds): the kernel's own input buffers. */
  readonly inputs: Record<string, Float32Array>;
  /** The outputs of the last run: "loss" and the extra outputs. */
  readonly outputs: Record<string, Float32Array>;
  readonly kernel: KernelLike;
  readonly source: string;
  readonly engine: Engine;
  /** The graph nodes of the step (grads, updates, lr buffer, state). */
  readonly update: OptimizerUpdate;
  /** The loss the step reports (for RMSProp-Nesterov, the loss at the look-ahead point). */
  readonly loss: Tensor;
  readonly optimizer: Optimizer;
  /** One step: computes the loss, applies the update; returns the loss (before the update). */
  run(feeds?: Record<string, ArrayLike<number>>): number;
  /** The learning-rate buffer's value: the next run uses it (a schedule overwrites it before each run). */
  lr: number;
  /** Runs done so far: the next run uses the schedule's a_{steps}. Settable (to resume a schedule). */
  steps: number;
}

function checkOutputs(where: string, outputs: Record<string, Tensor> | undefined, graph: Tensor["graph"]) {
  for (const [name, t] of Object.entries(outputs ?? {})) {
    if (name === "loss") throw new Error(`${where}: the output name "loss" is reserved for the loss`);
    if (!t || t.graph !== graph)
      throw new Error(`${where}: output "${name}" is not a tensor of the loss's graph`);
  }
}

/**
 * A compiled step whose learning rate lives in a buffer: `run` k (from 0) first writes the schedule's a_k
 * there (no recompiling), runs the kernel, and returns the first value of one of its outputs.
 */
class ScheduledRun {
  private count = 0;
  constructor(
    private readonly where: string,
    readonly kernel: KernelLike,
    private readonly lrBuffer: Tensor,
    private readonly schedule: ((k: number) => number) | null,
    private readonly reported: string,
  ) {}

  run(feeds?: Record<string, ArrayLike<number>>): number {
    if (this.schedule) this.lr = this.schedule(this.count);
    this.kernel.run(feeds);
    this.count++;
    const k = this.kernel;
    return isInterpreted(k) ? k.outputs64[this.reported][0] : k.outputs[this.reported][0];
  }

  get lr(): number {
    return isInterpreted(this.kernel) ? readFloat64(this.lrBuffer)[0] : this.lrBuffer.value[0];
  }
  set lr(v: number) {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new Error(`trainStep: lr must be a finite number >= 0, got ${String(v)}`);
    }
    writeFloat64(this.lrBuffer, [v]);
  }

  get steps(): number {
    return this.count;
  }
  set steps(k: number) {
    if (!Number.isInteger(k) || k < 0)
      throw new Error(`${this.where}: steps must be a whole number >= 0, got ${k}`);
    this.count = k;
  }
}

/**
 * Builds a training step for `loss` with `optimizer` (grads, state, lr buffer, updates) and compiles it.
 * `run(feeds?)` does one update and returns the loss as a number.
 * @example
 * ```ts
 * const net = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * const g = new Graph({ seed: 0 });
 * const x = g.input("x", [64, 784]);
 * const y = g.input("y", [64]);
 * const step = trainStep(crossEntropy(net.build(x), y), optim.adam({ lr: 1e-3 }));
 * step.inputs.x.set(images);                 // write a batch into the kernel's own buffers
 * step.inputs.y.set(labels);
 * const loss = step.run();                   // forward, backward and the Adam update: no allocation
 * ```
 */
export function trainStep(loss: Tensor, optimizer: Optimizer, options: TrainStepOptions = {}): TrainStep {
  const where = "trainStep";
  if (!optimizer || typeof (optimizer as Optimizer).minimize !== "function") {
    throw new TypeError(
      `${where}: the second argument must be an optimizer (optim.sgd(...), ...), got ${String(optimizer)}`,
    );
  }
  checkOutputs(where, options.outputs, loss.graph);
  const update = optimizer.minimize(loss, options.params);
  const reported = update.loss!;
  const outputs = { loss: reported, ...(options.outputs ?? {}) };
  const updates = [...update.updates, ...stateUpdates(Object.values(outputs))];
  const kernel = makeKernel(where, outputs, {
    updates,
    engine: options.engine,
    checkFinite: options.checkFinite,
    threads: options.threads,
    profile: options.profile,
  });
  const schedule = typeof optimizer.lr === "function" && (options.autoSchedule ?? true) ? optimizer.lr : null;
  const step = new (class extends ScheduledRun implements TrainStep {
    readonly inputs = kernel.inputs;
    readonly outputs = kernel.outputs;
    readonly source = kernel.source;
    readonly engine = kernel.engine;
    readonly update = update;
    readonly loss = reported;
    readonly optimizer = optimizer;
  })(where, kernel, update.lr, schedule, "loss");
  return step;
}

// ------------------------------------------------------------------------------------- accumulation

/** Options of {@link accumulateStep}. */
export interface AccumulateOptions extends KernelBuildOptions {
  /** The params to accumulate gradients for (default: every trainable param the loss depends on). */
  params?: readonly Tensor[];
  /** Extra outputs, e.g. { logits }. */
  outputs?: Record<string, Tensor>;
}

/** The optimizer half of gradient accumulation (see {@link AccumulateStep.applyStep}). */
export interface ApplyStep {
  readonly kernel: KernelLike;
  readonly update: OptimizerUpdate;
  /** Applies the optimizer with the accumulated gradients; returns their global L2 norm (before clipping). */
  run(): number;
  lr: number;
  steps: number;
}

/**
 * Gradient accumulation (see {@link accumulateStep}): run() adds ∇loss to grad buffers; applyStep() builds
 * the update.
 */
export interface AccumulateStep {
  readonly inputs: Record<string, Float32Array>;
  readonly outputs: Record<string, Float32Array>;
  readonly kernel: KernelLike;
  readonly params: readonly Tensor[];
  /** The grad buffer of each param (like param.grad in PyTorch). */
  readonly grads: ReadonlyMap<Tensor, Tensor>;
  /** Adds ∇loss to the grad buffers; returns the loss. */
  run(feeds?: Record<string, ArrayLike<number>>): number;
  /** Sets every grad buffer to zero. */
  zeroGrad(): void;
  /** A kernel that updates the params with `optimizer` from the grad buffers (it does not zero them). */
  applyStep(optimizer: Optimizer, options?: KernelBuildOptions & { autoSchedule?: boolean }): ApplyStep;
}

/** Grad buffers are per param, shared by every accumulateStep of its graph (e.g. two batch sizes). */
const gradBuffers = new WeakMap<Tensor, Tensor>();

/**
 * The gradient-accumulation buffer of a param (created on first use, shared by its graph's accumulate steps).
 */
export function gradBuffer(p: Tensor): Tensor {
  let b = gradBuffers.get(p);
  if (!b) {
    b = p.graph.buffer(uniqueName(p.graph, `${p.name}.grad`), p.shape, 0);
    gradBuffers.set(p, b);
  }
  return b;
}

/**
 * Gradient accumulation: run() adds ∇loss (for this micro-batch) into per-param grad buffers, as
 * PyTorch's loss.backward() accumulates into .grad; applyStep(optimizer).run() then updates the params
 * from the buffers (like optimizer.step()), and zeroGrad() clears them. For the mean loss over k
 * micro-batches, scale the loss by 1/k (or use a "sum" loss and the right lr).
 */
export function accumulateStep(loss: Tensor, options: AccumulateOptions = {}): AccumulateStep {
  const where = "accumulateStep";
  if (loss.size !== 1) throw new Error(`${where}: the loss must be a scalar, got ${loss.describe()}`);
  checkOutputs(where, options.outputs, loss.graph);
  const g = loss.graph;
  const params = [...(options.params ?? trainableParamsOf(loss))];
  if (params.length === 0) throw new Error(`${where}: no trainable params (the loss depends on none)`);
  const grads = grad(loss, params);
  const buffers = new Map(params.map((p) => [p, gradBuffer(p)] as const));
  const outputs = { loss, ...(options.outputs ?? {}) };
  const updates = g.inScope("grad", () =>
    params.map((p, i) => {
      const b = buffers.get(p)!;
      return assign(b, b.add(grads[i]));
    }),
  );
  updates.push(...stateUpdates(Object.values(outputs)));
  const kernel = makeKernel(where, outputs, {
    updates,
    engine: options.engine,
    checkFinite: options.checkFinite,
    threads: options.threads,
    profile: options.profile,
  });
  const zeros = params.map((p) => new Float64Array(p.size));
  return {
    inputs: kernel.inputs,
    outputs: kernel.outputs,
    kernel,
    params,
    grads: buffers,
    run(feeds) {
      kernel.run(feeds);
      return isInterpreted(kernel) ? kernel.outputs64.loss[0] : kernel.outputs.loss[0];
    },
    zeroGrad() {
      for (const [i, p] of params.entries()) writeFloat64(buffers.get(p)!, zeros[i]);
    },
    applyStep(optimizer, opts = {}) {
      const update = optimizer.applyGradients(
        params,
        params.map((p) => buffers.get(p)!),
      );
      const bufs = params.map((p) => buffers.get(p)!);
      const gradNorm = g.inScope("grad", () => {
        let total = bufs[0].square().sum();
        for (const b of bufs.slice(1)) total = total.add(b.square().sum());
        return total.sqrt();
      });
      const k = makeKernel(
        "applyStep",
        { gradNorm },
        {
          updates: update.updates,
          engine: opts.engine ?? options.engine,
          checkFinite: opts.checkFinite ?? options.checkFinite,
          threads: opts.threads ?? options.threads,
          profile: opts.profile ?? options.profile,
        },
      );
      const schedule =
        typeof optimizer.lr === "function" && (opts.autoSchedule ?? true) ? optimizer.lr : null;
      return Object.assign(new ScheduledRun("applyStep", k, update.lr, schedule, "gradNorm"), { update });
    },
  };
}
