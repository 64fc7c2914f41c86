/**
 * Threads against one thread, bit for bit, by the browser's engine: a small MLP and a tiny conv net trained
 * for a few Adam steps with `threads` 1 and 2 (same seed, same data). Run in a dedicated worker (how the
 * playground trains: nested Web Workers, Atomics.wait allowed) and on a page's main thread (where
 * Atomics.wait throws: the runtime must spin instead of blocking). Imported by threads.ts and
 * threads-worker.ts.
 */
import {
  type CompiledKernel,
  Conv2d,
  crossEntropy,
  Flatten,
  Graph,
  Linear,
  MaxPool2d,
  type Module,
  optim,
  ReLU,
  Sequential,
  trainStep,
} from "adjoint";

export interface ThreadRun {
  threads: number;
  /** Threads the kernel really runs on (1 when it fell back), and why not more. */
  used: number;
  note: string;
  /** Slices of products computed by the other threads (0 with one thread). */
  workerSlices: number;
  /** Loss of every step, then the last step's outputs and every updated parameter, as float32 bit patterns. */
  losses: number[];
  bits: number[];
}

export interface ThreadCase {
  name: string;
  runs: ThreadRun[];
}

const STEPS = 4;

const models: Record<string, { build: () => Module; sample: number[]; batch: number }> = {
  "MLP 96→160→10 ReLU, batch 48, Adam": {
    build: () => new Sequential(new Linear(96, 160), new ReLU(), new Linear(160, 10)),
    sample: [96],
    batch: 48,
  },
  "conv net: conv 1→4 3×3, ReLU, max-pool 2, 676→10, batch 32, Adam": {
    build: () =>
      new Sequential(new Conv2d(1, 4, 3), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(676, 10)),
    sample: [1, 28, 28],
    batch: 32,
  },
};

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

function buildStep(name: string, threads: number) {
  const spec = models[name];
  const g = new Graph({ seed: 11 });
  const model = spec.build();
  const x = g.input("x", [spec.batch, ...spec.sample]);
  const t = g.input("t", [spec.batch]);
  const y = model.build(x);
  const step = trainStep(crossEntropy(y, t), optim.adam({ lr: 0.01 }), { outputs: { y }, threads });
  const kernel = (step.kernel as CompiledKernel).compiled;
  for (let i = 0; i < step.inputs.x.length; i++) step.inputs.x[i] = ((i * 7919) % 251) / 251 - 0.4;
  for (let i = 0; i < spec.batch; i++) step.inputs.t[i] = (i * 7) % 10;
  return { step, kernel, model };
}

async function train(name: string, threads: number): Promise<ThreadRun> {
  const { step, kernel, model } = buildStep(name, threads);
  // Every slice of the other thread is then computed by a worker, not taken back by this thread.
  await kernel.whenReady();
  if (kernel.pool) kernel.pool.steal = false;
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) losses.push(step.run());
  const bits = bitsOf(step.outputs.y);
  for (const p of model.parameters()) bits.push(...bitsOf(p.value));
  const run: ThreadRun = {
    threads,
    used: kernel.threads,
    note: kernel.threadsNote,
    workerSlices: kernel.pool?.workerSlices ?? 0,
    losses,
    bits,
  };
  await kernel.dispose();
  return run;
}

export async function threadCases(): Promise<ThreadCase[]> {
  const cases: ThreadCase[] = [];
  for (const name of Object.keys(models)) {
    cases.push({ name, runs: [await train(name, 1), await train(name, 2)] });
  }
  return cases;
}

/** Whether this thread may block in Atomics.wait (a worker: yes; a page's main thread: no). */
export function canBlockHere(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * What run() throws after a worker failed: one that throws inside a job (the pool's fault hook), and one
 * that is terminated from outside while its kernel lives.
 */
export async function faultCases(): Promise<{ threw: string; terminated: string }> {
  const name = Object.keys(models)[0];
  const message = async (hurt: (pool: NonNullable<CompiledKernel["compiled"]["pool"]>) => Promise<void>) => {
    const { step, kernel } = buildStep(name, 2);
    await kernel.whenReady();
    // No stealing: the hurt worker's slice is not taken back by this thread, so its failure must surface.
    kernel.pool!.steal = false;
    step.run();
    await hurt(kernel.pool!);
    let text = "(no error)";
    try {
      step.run();
    } catch (e) {
      text = e instanceof Error ? e.message : String(e);
    }
    await kernel.dispose();
    return text;
  };
  return {
    threw: await message(async (pool) => pool.injectFault(1)),
    terminated: await message((pool) => pool.killWorker(1)),
  };
}
