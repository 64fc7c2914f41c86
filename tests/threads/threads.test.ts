/**
 * threads > 1: the large products and their epilogues are split over workers on the graph's shared
 * memory. Every result must be bit for bit the one of threads: 1 (slices never cut a sum), for several
 * optimizers, odd sizes, batched and transposed products, with wasm on and off; disposing ends the
 * workers; a worker that throws or dies makes run() throw instead of waiting.
 */
import { readdirSync } from "node:fs";
import {
  assign,
  checkNoAllocation,
  compile,
  crossEntropy,
  Graph,
  linear,
  type Optimizer,
  optim,
  type Tensor,
  trainStep,
} from "adjoint";
import { describe, expect, it } from "vitest";

/**
 * Waits until the workers have started and turns stealing off (the main thread would otherwise run the
 * slices of a worker that wakes late), so that every slice but the main thread's is computed by a worker.
 */
async function started<T extends { kernel: ReturnType<typeof compile> }>(runs: T[]): Promise<T[]> {
  await Promise.all(runs.map((r) => r.kernel.whenReady()));
  for (const r of runs) if (r.kernel.pool) r.kernel.pool.steal = false;
  return runs;
}

/** The workers did compute slices. */
function expectForked(k: ReturnType<typeof compile>): void {
  if (k.threads > 1) {
    expect(k.pool!.forks).toBeGreaterThan(0);
    // Every slice of every job ran on a worker (stealing is off), and jobs have more slices than threads.
    expect(k.pool!.workerSlices).toBe(k.pool!.forkedSlices);
    expect(k.pool!.forkedSlices).toBeGreaterThan(k.pool!.forks * (k.threads - 1));
  }
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** An MLP training step, its inputs filled deterministically; the same seed gives the same weights. */
function mlpStep(sizes: number[], batch: number, optimizer: () => Optimizer, threads: number, wasm = true) {
  const g = new Graph({ seed: 7 });
  const x = g.input("x", [batch, sizes[0]]);
  const y = g.input("y", [batch]);
  let h: Tensor = x;
  const params: Tensor[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const W = g.param(`W${l}`, [sizes[l + 1], sizes[l]]);
    const b = g.param(`b${l}`, [sizes[l + 1]]);
    for (let i = 0; i < W.value.length; i++) W.value[i] = Math.sin(i * 0.731 + l) / Math.sqrt(sizes[l]);
    for (let i = 0; i < b.value.length; i++) b.value[i] = Math.cos(i * 1.3) * 0.1;
    params.push(W, b);
    h = linear(h, W, b);
    if (l + 2 < sizes.length) h = h.relu();
  }
  const loss = crossEntropy(h, y);
  const step = wasm
    ? trainStep(loss, optimizer(), { threads })
    : (() => {
        // trainStep has no wasm switch: compile the same step by hand with wasm off.
        const u = optimizer().minimize(loss);
        const k = compile({ loss: u.loss! }, { updates: u.updates, threads, wasm: false, cache: false });
        return { kernel: { compiled: k }, inputs: k.inputs, outputs: k.outputs, run: () => k.run() };
      })();
  for (let i = 0; i < step.inputs.x.length; i++) step.inputs.x[i] = ((i * 7919) % 255) / 255 - 0.3;
  for (let i = 0; i < batch; i++) step.inputs.y[i] = (i * 7) % sizes[sizes.length - 1];
  const kernel = (step.kernel as unknown as { compiled: ReturnType<typeof compile> }).compiled;
  return { step, params, kernel };
}

const optimizers: Array<[string, () => Optimizer]> = [
  ["sgd", () => optim.sgd({ lr: 0.05 })],
  ["momentum", () => optim.sgd({ lr: 0.02, momentum: 0.9 })],
  ["adam", () => optim.adam({ lr: 1e-3 })],
];

describe("threads: bit-identical to one thread", () => {
  for (const [name, optimizer] of optimizers) {
    for (const wasm of [true, false]) {
      it(`MLP 37→129→65→7, batch 33, ${name}, wasm ${wasm ? "on" : "off"}: threads 2 and 3 equal threads 1`, async () => {
        const sizes = [37, 129, 65, 7];
        const runs = await started([1, 2, 3].map((t) => mlpStep(sizes, 33, optimizer, t, wasm)));
        // With wasm off, the JS register-tiled matmuls are split by column panels.
        expect(runs[1].kernel.threads).toBe(2);
        expect(runs[2].kernel.threads).toBe(3);
        expect(runs[1].kernel.source).toMatch(/par\.fork\(0\)/);
        if (!wasm) expect(runs[1].kernel.wasmListing).toBe("");
        const losses: number[][] = runs.map(() => []);
        for (let s = 0; s < 6; s++) {
          runs.forEach((r, i) => {
            r.step.run();
            losses[i].push(r.step.outputs.loss[0]);
          });
        }
        for (const r of runs) expectForked(r.kernel);
        expect(losses[1]).toEqual(losses[0]);
        expect(losses[2]).toEqual(losses[0]);
        for (let p = 0; p < runs[0].params.length; p++) {
          const ref = bits(runs[0].params[p].value);
          expect(bits(runs[1].params[p].value), runs[0].params[p].name).toEqual(ref);
          expect(bits(runs[2].params[p].value), runs[0].params[p].name).toEqual(ref);
        }
        // The weights did move (the comparison is not between untouched buffers).
        expect(losses[0][5]).not.toBe(losses[0][0]);
        await Promise.all(runs.map((r) => r.kernel.dispose()));
      });
    }
  }

  it("the MNIST MLP 784→128→10, batch 64, Adam, over 4 threads (more threads than cores)", async () => {
    const runs = await started(
      [1, 4].map((t) => mlpStep([784, 128, 10], 64, () => optim.adam({ lr: 1e-3 }), t)),
    );
    expect(runs[1].kernel.threads).toBe(4);
    for (let s = 0; s < 5; s++) for (const r of runs) r.step.run();
    expectForked(runs[1].kernel);
    expect(runs[1].step.outputs.loss[0]).toBe(runs[0].step.outputs.loss[0]);
    for (let p = 0; p < runs[0].params.length; p++) {
      expect(bits(runs[1].params[p].value)).toEqual(bits(runs[0].params[p].value));
    }
    await Promise.all(runs.map((r) => r.kernel.dispose()));
  });

  for (const [transA, transB, wasm] of [
    [false, false, true],
    [true, false, true],
    [false, true, true],
    [true, true, true],
    [false, false, false],
    [true, false, false],
    [false, true, false],
    [true, true, false],
  ]) {
    it(`batched products ${transA ? "Aᵀ" : "A"}·${transB ? "Bᵀ" : "B"} [3, 45, 70]·[3, 70, 51] with an epilogue, wasm ${wasm ? "on" : "off"}`, async () => {
      const kernels = [1, 2, 3].map((threads) => {
        const g = new Graph({ seed: 3 });
        const a = g.param("a", transA ? [3, 70, 45] : [3, 45, 70]);
        const b = g.param("b", transB ? [3, 51, 70] : [3, 70, 51]);
        for (const t of [a, b]) for (let i = 0; i < t.value.length; i++) t.value[i] = Math.sin(i * 0.37);
        const A = transA ? a.transpose() : a;
        const B = transB ? b.transpose() : b;
        return compile({ y: A.matmul(B).tanh().mul(3), z: A.matmul(B) }, { threads, wasm, cache: false });
      });
      await started(kernels.map((kernel) => ({ kernel })));
      const outs = kernels.map((k) => {
        k.run();
        expectForked(k);
        return { k, y: Float32Array.from(k.outputs.y), z: Float32Array.from(k.outputs.z) };
      });
      expect(outs[1].k.threads).toBe(2);
      for (const o of outs.slice(1)) {
        expect(bits(o.y)).toEqual(bits(outs[0].y));
        expect(bits(o.z)).toEqual(bits(outs[0].z));
      }
      await Promise.all(outs.map((o) => o.k.dispose()));
    });
  }

  it("an update that overwrites an operand of its own product waits for the whole product (wasm)", async () => {
    const results = [1, 2].map((threads) => {
      const g = new Graph({ seed: 1 });
      const W = g.param("W", [96, 96]);
      for (let i = 0; i < W.value.length; i++) W.value[i] = Math.sin(i * 0.1) * 0.1;
      const next = W.sub(W.matmul(W).mul(0.5));
      return { W, k: compile({ s: next.sum() }, { updates: [assign(W, next)], threads, cache: false }) };
    });
    for (const { k } of results) {
      await started([{ kernel: k }]);
      for (let s = 0; s < 3; s++) k.run();
      expectForked(k);
    }
    expect(results[1].k.threads).toBe(2);
    expect(bits(results[1].W.value)).toEqual(bits(results[0].W.value));
    await Promise.all(results.map((r) => r.k.dispose()));
  });

  it("wasm off: an update of the weight its own split JS product reads, and a second split product", async () => {
    const results = [1, 2].map((threads) => {
      const g = new Graph({ seed: 1 });
      const W = g.param("W", [96, 96]);
      const V = g.param("V", [96, 96]);
      for (let i = 0; i < W.value.length; i++) W.value[i] = Math.sin(i * 0.1) * 0.1;
      for (let i = 0; i < V.value.length; i++) V.value[i] = Math.cos(i * 0.1) * 0.1;
      const next = W.sub(W.matmul(W).mul(0.5));
      const k = compile(
        { s: next.sum(), p: V.matmul(V).tanh() },
        { updates: [assign(W, next)], threads, wasm: false, cache: false },
      );
      return { W, k };
    });
    for (const { k } of results) {
      await started([{ kernel: k }]);
      for (let s = 0; s < 3; s++) k.run();
      expectForked(k);
    }
    expect(results[1].k.threads).toBe(2);
    expect(results[1].k.source.match(/par\.fork\(/g)).toHaveLength(2);
    expect(bits(results[1].W.value)).toEqual(bits(results[0].W.value));
    expect(bits(results[1].k.outputs.p)).toEqual(bits(results[0].k.outputs.p));
    await Promise.all(results.map((r) => r.k.dispose()));
  });
});

describe("threads: the main thread runs the slices of a worker that is late", () => {
  it("with stealing on, whoever computes a slice, the results are the same", async () => {
    const runs = [1, 2].map((t) => mlpStep([256, 320, 10], 96, () => optim.adam({ lr: 1e-3 }), t));
    await Promise.all(runs.map((r) => r.kernel.whenReady()));
    expect(runs[1].kernel.pool!.steal).toBe(true);
    for (let s = 0; s < 20; s++) for (const r of runs) r.step.run();
    const pool = runs[1].kernel.pool!;
    // Every slice ran exactly once, here or on the worker.
    expect(pool.workerSlices).toBeLessThanOrEqual(pool.forkedSlices);
    expect(runs[1].step.outputs.loss[0]).toBe(runs[0].step.outputs.loss[0]);
    for (let p = 0; p < runs[0].params.length; p++) {
      expect(bits(runs[1].params[p].value)).toEqual(bits(runs[0].params[p].value));
    }
    await Promise.all(runs.map((r) => r.kernel.dispose()));
  });
});

describe("threads: before the workers have started", () => {
  it("the main thread runs their slices itself, with the same results", async () => {
    const runs = [1, 3].map((t) => mlpStep([64, 96, 10], 48, () => optim.adam({ lr: 1e-3 }), t));
    // Right after compile the workers are still starting (tens of ms): these steps run here.
    runs[1].step.run();
    runs[0].step.run();
    const localForks = runs[1].kernel.pool!.forks;
    await started(runs);
    for (let s = 0; s < 3; s++) for (const r of runs) r.step.run();
    expect(runs[1].kernel.pool!.forks).toBeGreaterThan(localForks);
    expect(runs[1].step.outputs.loss[0]).toBe(runs[0].step.outputs.loss[0]);
    for (let p = 0; p < runs[0].params.length; p++) {
      expect(bits(runs[1].params[p].value)).toEqual(bits(runs[0].params[p].value));
    }
    await Promise.all(runs.map((r) => r.kernel.dispose()));
  });
});

describe("threads: the generated code", () => {
  it("the step and the workers' jobs pass the static allocation check", async () => {
    const { kernel } = mlpStep([784, 128, 10], 64, () => optim.adam({ lr: 1e-3 }), 2);
    expect(checkNoAllocation(kernel.source).violations).toEqual([]);
    expect(kernel.jobsSource).toMatch(/function jobs\(j, s\)/);
    expect(checkNoAllocation(kernel.jobsSource, new Set(), "jobs").violations).toEqual([]);
    await kernel.dispose();
  });

  it("only par.fork and par.join are whitelisted", () => {
    const wrap = (body: string) => `return function step() {\n  ${body}\n  return -1;\n};`;
    expect(checkNoAllocation(wrap("par.fork(0); F[0] = 1; par.join();")).ok).toBe(true);
    expect(checkNoAllocation(wrap("par.dispose();")).ok).toBe(false);
    expect(checkNoAllocation(wrap("par[0]();")).ok).toBe(false);
  });

  it("small products stay on one thread; threads must be a whole number", () => {
    const g = new Graph({ seed: 1 });
    const a = g.param("a", [8, 8]);
    const k = compile({ y: a.matmul(a) }, { threads: 2 });
    expect(k.threads).toBe(1);
    expect(k.threadsNote).toMatch(/no product or loop is large enough/);
    expect(k.source).not.toMatch(/par\./);
    expect(() => compile({ y: a.matmul(a) }, { threads: 1.5 })).toThrow(/threads must be a whole number/);
    expect(() => compile({ y: a.matmul(a) }, { threads: 0 })).toThrow(/threads must be a whole number/);
  });
});

/** Threads of this process (Linux): a worker that did not end would still be one. */
function osThreads(): number {
  return readdirSync("/proc/self/task").length;
}

async function until(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

describe("threads: lifetime and failures", () => {
  it("dispose ends the workers: compiling and disposing in a loop leaves no thread behind", async () => {
    const before = osThreads();
    for (let i = 0; i < 8; i++) {
      const { step, kernel } = mlpStep([64, 96, 10], 48, () => optim.sgd({ lr: 0.1 }), 3);
      await kernel.whenReady();
      step.run();
      expect(kernel.threads).toBe(3);
      await kernel.dispose();
      expect(() => step.run()).toThrow(/disposed/);
    }
    expect(await until(() => osThreads() <= before, 5000), `threads: ${osThreads()} vs ${before}`).toBe(true);
  });

  it("the workers really start (threads are counted while a kernel lives)", async () => {
    const before = osThreads();
    const { step, kernel } = mlpStep([64, 96, 10], 48, () => optim.sgd({ lr: 0.1 }), 3);
    await kernel.whenReady();
    step.run();
    expect(osThreads()).toBeGreaterThanOrEqual(before + 2);
    await kernel.dispose();
  });

  it("a worker that throws makes run() throw, naming the worker and its error, and every run after", async () => {
    const { step, kernel } = mlpStep([64, 96, 10], 48, () => optim.sgd({ lr: 0.1 }), 3);
    await started([{ kernel }]);
    step.run();
    kernel.pool!.injectFault(2);
    // Worker 2 throws in the next slice it claims (worker 1 may claim all of a step's slices first).
    expect(() => {
      for (let s = 0; s < 100; s++) step.run();
    }).toThrow(/worker 2 of 2 failed: Error: a fault injected by a test/);
    expect(() => step.run()).toThrow(/worker 2 of 2 failed/);
    await kernel.dispose();
  });

  it("the workers count their GC events: none in steps, some after a worker made garbage", async () => {
    const { step, kernel } = mlpStep([64, 96, 10], 48, () => optim.sgd({ lr: 0.1 }), 3);
    await started([{ kernel }]);
    // Until V8 optimizes a worker's jobs function, its interpreted float arithmetic boxes numbers.
    for (let s = 0; s < 2000; s++) step.run();
    const before = await kernel.pool!.workerGcEvents();
    expect(before).not.toBeNull();
    for (let s = 0; s < 200; s++) step.run();
    expect(await kernel.pool!.workerGcEvents()).toBe(before);
    kernel.pool!.injectGarbage(2);
    step.run();
    expect(await kernel.pool!.workerGcEvents()).toBeGreaterThan(before!);
    // The steps go on after the reports (the workers serve again).
    step.run();
    expectForked(kernel);
    await kernel.dispose();
  });

  it("a worker that dies makes the next run() throw instead of waiting", async () => {
    const { step, kernel } = mlpStep([64, 96, 10], 48, () => optim.sgd({ lr: 0.1 }), 2);
    await kernel.whenReady();
    step.run();
    await kernel.pool!.killWorker(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(() => step.run()).toThrow(/worker 1 of 1 exited/);
    await kernel.dispose();
  });
});
