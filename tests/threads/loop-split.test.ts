/**
 * threads > 1 also splits the standalone elementwise loops, the reductions (over their kept dims) and
 * the window copies (pads, im2col copies, foldWindows, foldAtFirstMax, by leading index):
 * every result must be bit for bit the one of threads: 1, for loops cut unevenly, for loops with fewer
 * outer iterations than slices, for a training step in which every loop is split (threadMinElements 0)
 * and for the LeNet-5 Adam step of benchmark W5 at the default threshold. The splits must really happen
 * (found in the generated step), pass the static allocation check, and a loop whose output overlaps what
 * it reads other than at the same index must stay on one thread.
 */
import {
  buildModel,
  type CompileOptions,
  checkNoAllocation,
  compile,
  crossEntropy,
  extract,
  fuse,
  Graph,
  generateStep,
  grad,
  type Kernel,
  maxPool2d,
  optim,
  planMemory,
  runPasses,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";
import { lenet } from "../probes/lenet-adam-step";

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Waits for the workers and turns stealing off, so that the workers compute their slices themselves. */
type Run = { kernel: Kernel; params: Tensor[] };

/** Runs every kernel `steps` times, interleaved; each run's losses in order. */
function stepRuns(runs: Run[], steps: number): number[][] {
  const losses: number[][] = runs.map(() => []);
  for (let s = 0; s < steps; s++) {
    runs.forEach((r, i) => {
      r.kernel.run();
      losses[i].push(r.kernel.outputs.loss[0]);
    });
  }
  return losses;
}

/** The losses changed over the steps, and runs 2.. equal run 1 bit for bit, losses and parameters. */
function expectSameAsFirst(runs: Run[], losses: number[][], label: (p: number) => string): void {
  expect(losses[0][losses[0].length - 1]).not.toBe(losses[0][0]);
  for (const l of losses.slice(1)) expect(l).toEqual(losses[0]);
  for (let p = 0; p < runs[0].params.length; p++) {
    const ref = bits(runs[0].params[p].value);
    for (const r of runs.slice(1)) expect(bits(r.params[p].value), label(p)).toEqual(ref);
  }
}

async function started(kernels: Kernel[]): Promise<void> {
  await Promise.all(kernels.map((k) => k.whenReady()));
  for (const k of kernels) if (k.pool) k.pool.steal = false;
}

/** The kind of every group of a generated step that forks a parallel job, in step order. */
function splitGroupKinds(source: string): string[] {
  const kinds: string[] = [];
  let current = "";
  for (const line of source.split("\n")) {
    const header = /\/\/ group \d+: (\w+)/.exec(line);
    if (header) current = header[1];
    if (line.includes("par.fork(")) kinds.push(current);
  }
  return kinds;
}

/** The jobs a step forks for conv products (rank-4 outputs) whose group ends in a relu. */
function convReluJobs(source: string): number[] {
  const jobs: number[] = [];
  let text = "";
  for (const line of source.split("\n")) {
    if (/\/\/ (group \d+|parallel job \d+):/.test(line) && !line.includes("parallel job")) text = "";
    text += `${line}\n`;
    const fork = /par\.fork\((\d+)\)/.exec(line);
    if (
      fork &&
      /= matmul .*: f32\[\d+,\d+,\d+\]/.test(text) &&
      /= relu .*: f32\[\d+,\d+,\d+,\d+\]/.test(text)
    )
      jobs.push(Number(fork[1]));
  }
  return jobs;
}

/** The statements the jobs function runs for job j (up to the next job's test). */
function jobBody(jobsSource: string, j: number): string {
  const start = jobsSource.indexOf(`if (j === ${j}) {`);
  const next = jobsSource.indexOf(`if (j === ${j + 1}) {`, start);
  return jobsSource.slice(start, next < 0 ? undefined : next);
}

/** The comment lines (header and ops) of the group of every parallel job a generated step forks. */
function splitGroupText(source: string): string[] {
  const groups: string[] = [];
  let current: string[] = [];
  for (const line of source.split("\n").map((l) => l.trim())) {
    if (/^\/\/ group \d+:/.test(line)) current = [line];
    else if (/^\/\/\s+%/.test(line)) current.push(line);
    else if (line.includes("par.fork(")) groups.push(current.join("\n"));
  }
  return groups;
}

/** Jobs whose slices share one loop (loop splits), as opposed to one kernel per slice (products). */
const sharedJobs = (jobsSource: string) => (jobsSource.match(/const lo = s \*/g) ?? []).length;

function fill(t: Tensor, phase: number) {
  for (let i = 0; i < t.value.length; i++) t.value[i] = Math.sin(i * 0.731 + phase) * 2;
}

describe("threads: elementwise loops and reductions are split, bit-identical to one thread", () => {
  it("a broadcast elementwise group and sum / max / logsumexp over kept dims, cut unevenly, threads 1, 2, 3", async () => {
    const kernels = [1, 2, 3].map((threads) => {
      const g = new Graph({ seed: 2 });
      // 181 rows and 301 columns: no slice count divides them (uneven shares).
      const a = g.param("a", [181, 301]);
      const b = g.param("b", [301]);
      // 3 rows: fewer outer iterations than the slices of 2 or 3 threads.
      const c = g.param("c", [3, 24001]);
      fill(a, 0);
      fill(b, 1);
      fill(c, 2);
      const y = a.mul(1.7).add(b).tanh();
      return compile(
        { y, cols: y.sum(0), rowMax: y.max(1), rowLse: y.logsumexp(1), few: c.exp().sum(1) },
        { threads, cache: false },
      );
    });
    await started(kernels);
    for (const k of kernels) k.run();
    expect(kernels[1].threads).toBe(2);
    expect(kernels[2].threads).toBe(3);
    for (const k of kernels.slice(1)) {
      const kinds = splitGroupKinds(k.source);
      expect(kinds.filter((x) => x === "elementwise").length).toBeGreaterThanOrEqual(1);
      expect(kinds.filter((x) => x === "reduce").length).toBeGreaterThanOrEqual(4);
      expect(sharedJobs(k.jobsSource)).toBe(kinds.length);
      // The workers computed slices: more than one per fork and thread (2 slices per thread).
      expect(k.pool!.workerSlices).toBe(k.pool!.forkedSlices);
      expect(k.pool!.forkedSlices).toBeGreaterThan(k.pool!.forks * (k.threads - 1));
    }
    expect(kernels[0].source).not.toMatch(/par\./);
    for (const name of ["y", "cols", "rowMax", "rowLse", "few"]) {
      const ref = bits(kernels[0].outputs[name]);
      expect(new Set(ref).size, name).toBeGreaterThan(1);
      for (const k of kernels.slice(1)) expect(bits(k.outputs[name]), name).toEqual(ref);
    }
    await Promise.all(kernels.map((k) => k.dispose()));
  });

  it("every loop split (threadMinElements 0): an MLP Adam step, threads 1, 2, 3, six steps", async () => {
    const runs = [1, 2, 3].map((threads) => {
      const g = new Graph({ seed: 7 });
      const x = g.input("x", [33, 37]);
      const y = g.input("y", [33]);
      const W0 = g.param("W0", [29, 37]);
      const b0 = g.param("b0", [29]);
      const W1 = g.param("W1", [7, 29]);
      const b1 = g.param("b1", [7]);
      [W0, b0, W1, b1].forEach(fill);
      const logits = x.matmul(W0.transpose()).add(b0).relu().matmul(W1.transpose()).add(b1);
      const u = optim.adam({ lr: 1e-2 }).minimize(crossEntropy(logits, y));
      const options: CompileOptions = { updates: u.updates, threads, threadMinElements: 0, cache: false };
      const kernel = compile({ loss: u.loss! }, options);
      for (let i = 0; i < kernel.inputs.x.length; i++) kernel.inputs.x[i] = ((i * 7919) % 255) / 255 - 0.3;
      for (let i = 0; i < 33; i++) kernel.inputs.y[i] = (i * 5) % 7;
      return { kernel, params: [W0, b0, W1, b1] };
    });
    await started(runs.map((r) => r.kernel));
    const losses = stepRuns(runs, 6);
    for (const { kernel } of runs.slice(1)) {
      const kinds = splitGroupKinds(kernel.source);
      // Adam's updates, the gradients' elementwise loops and the bias-gradient sums at least.
      expect(kinds.filter((x) => x === "elementwise").length).toBeGreaterThanOrEqual(4);
      expect(kinds.filter((x) => x === "reduce").length).toBeGreaterThanOrEqual(2);
    }
    expectSameAsFirst(runs, losses, (p) => runs[0].params[p].name ?? `param ${p}`);
    await Promise.all(runs.map((r) => r.kernel.dispose()));
  });

  // With wasm on (the default) the conv layers' bias + ReLU run in the products' kernels, split by image,
  // and the pools, im2col and col2im copies in wasm window kernels, one per share of the planes
  // (codegen/wasm-windows.ts); with wasm off those are JS loops, and split.
  const configs: { threadMinElements?: number; wasm: boolean; expect: Record<string, number> }[] = [
    { wasm: true, expect: { reduce: 2, matmul: 3, copy: 4 } },
    { threadMinElements: 0, wasm: true, expect: { elementwise: 8, reduce: 4, matmul: 1, copy: 4 } },
    { threadMinElements: 0, wasm: false, expect: { elementwise: 8, reduce: 4, matmul: 1, copy: 2 } },
  ];
  for (const { threadMinElements, wasm, expect: least } of configs) {
    it(`the LeNet-5 Adam step of W5 (batch 64), threadMinElements ${threadMinElements ?? "default"}, wasm ${wasm ? "on" : "off"}: threads 2 and 3 equal threads 1`, async () => {
      const runs = [1, 2, 3].map((threads) => {
        const model = lenet();
        const { graph, x, y } = buildModel(model, { inputShape: [1, 28, 28], batch: 64, seed: 3 });
        const labels = graph.input("labels", [64]);
        const u = optim.adam({ lr: 1e-3 }).minimize(crossEntropy(y, labels));
        const kernel = compile(
          { loss: u.loss! },
          { updates: u.updates, threads, threadMinElements, wasm, cache: false },
        );
        const images = kernel.inputs[x.name!];
        for (let i = 0; i < images.length; i++) images[i] = ((i * 7919) % 255) / 255;
        for (let i = 0; i < 64; i++) kernel.inputs.labels[i] = i % 10;
        return { kernel, params: model.parameters() };
      });
      await started(runs.map((r) => r.kernel));
      const losses = stepRuns(runs, 3);
      for (const { kernel } of runs.slice(1)) {
        const kinds = splitGroupKinds(kernel.source);
        // At the default threshold too: the bias-gradient sums of the convolutions, and the products (Adam's
        // update of the 48,000 weights of the first dense layer is the epilogue of its gradient's product,
        // split with it); at 0, most loops; with wasm off, the copies.
        for (const [kind, n] of Object.entries(least))
          expect(kinds.filter((k) => k === kind).length, kind).toBeGreaterThanOrEqual(n);
        // With wasm off: the convolutions' im2col (slidingWindows) and conv2's col2im (foldWindows,
        // fold-rows.ts) among the split copies.
        if (!wasm)
          for (const op of ["slidingWindows[", "foldWindows["])
            expect(splitGroupText(kernel.source).join("\n")).toContain(op);
        if (wasm) {
          // The two conv products with bias + ReLU are split by image with the epilogue in the kernel:
          // their jobs call a kernel per slice and run no JS loop.
          const convJobs = convReluJobs(kernel.source);
          expect(convJobs.length).toBe(2);
          for (const j of convJobs) {
            const body = jobBody(kernel.jobsSource, j);
            expect(body).toMatch(/wasm\.mm\d+_\d+\(\)/);
            expect(body).not.toContain("for (");
          }
          // im2col of both convs, col2im and the pools' gradients: one window kernel per slice.
          expect(kernel.jobsSource.match(/wasm\.win\d+_0\(\)/g)?.length ?? 0).toBeGreaterThanOrEqual(4);
        }
        expect(checkNoAllocation(kernel.source).violations).toEqual([]);
        expect(checkNoAllocation(kernel.jobsSource, new Set(), "jobs").violations).toEqual([]);
      }
      expectSameAsFirst(runs, losses, (p) => `param ${p}`);
      await Promise.all(runs.map((r) => r.kernel.dispose()));
    });
  }
});

describe("threads: window copies are split, bit-identical to one thread", () => {
  it("a strided, dilated, padded conv and an overlapping max pool, with their gradients (threadMinElements 0)", async () => {
    const kernels = [1, 2, 3].map((threads) => {
      const g = new Graph({ seed: 5 });
      const x = g.param("x", [4, 3, 17, 15]);
      const w = g.param("w", [5, 3, 3, 3]);
      fill(x, 0);
      fill(w, 1);
      const h = x.conv2d(w, { stride: 2, dilation: 2, padding: 1 }).relu();
      // The pool of the ReLU's output has its gradient through foldWindows; the one of x.sin() through
      // foldAtFirstMax (passes/pool-grad.ts).
      const pooled = maxPool2d(h, 3, { stride: 2, padding: 1 }).square().sum();
      const loss = pooled.add(maxPool2d(x.sin(), 3, { stride: 2, padding: 1 }).square().sum());
      const [dx, dw] = grad(loss, [x, w]);
      // wasm off: the JS window loops (with wasm on, the column-stride-1 ones are wasm kernels, split by plane).
      return compile({ loss, dx, dw }, { threads, threadMinElements: 0, wasm: false, cache: false });
    });
    await started(kernels);
    for (const k of kernels) k.run();
    for (const k of kernels.slice(1)) {
      const split = splitGroupText(k.source).join("\n");
      for (const op of ["pad[", "slidingWindows[", "foldWindows["]) expect(split).toContain(op);
      // foldAtFirstMax keeps the comment of the foldWindows it replaced; its loop (per plane) is in a job.
      expect(k.programText).toContain("foldAtFirstMax");
      expect(k.jobsSource).toMatch(/const plane = /);
      expect(k.pool!.workerSlices).toBe(k.pool!.forkedSlices);
    }
    for (const name of ["loss", "dx", "dw"]) {
      const ref = bits(kernels[0].outputs[name]);
      expect(new Set(ref).size, name).toBeGreaterThan(name === "loss" ? 0 : 1);
      for (const k of kernels.slice(1)) expect(bits(k.outputs[name]), name).toEqual(ref);
    }
    await Promise.all(kernels.map((k) => k.dispose()));
  });
});

describe("threads: a padded conv's windows read from the unpadded input are split", () => {
  it("paddedWindows (passes/padded-windows.ts) of a conv over an input, wasm on and off, threads 1, 2, 3", async () => {
    for (const wasm of [false, true]) {
      const kernels = [1, 2, 3].map((threads) => {
        const g = new Graph({ seed: 6 });
        const x = g.input("x", [6, 2, 13, 11]);
        const w = g.param("w", [4, 2, 3, 3]);
        fill(w, 2);
        const loss = x
          .conv2d(w, { padding: [2, 1], stride: [1, 2] })
          .relu()
          .square()
          .sum();
        const [dw] = grad(loss, [w]);
        const k = compile({ loss, dw }, { threads, threadMinElements: 0, wasm, cache: false });
        for (let i = 0; i < k.inputs.x.length; i++) k.inputs.x[i] = Math.cos(i * 0.37);
        return k;
      });
      await started(kernels);
      for (const k of kernels) k.run();
      for (const k of kernels.slice(1)) {
        // The program names the group that runs paddedWindows (the source's comments show the graph's
        // slidingWindows of a pad it replaced); that group is a parallel job.
        const group = /paddedWindows\[.*# group (\d+) copy/.exec(k.programText)?.[1];
        expect(group).toBeDefined();
        expect(splitGroupText(k.source).join("\n")).toContain(`// group ${group}: copy`);
      }
      const ref = bits(kernels[0].outputs.dw);
      expect(new Set(ref).size).toBeGreaterThan(1);
      for (const k of kernels.slice(1)) expect(bits(k.outputs.dw), `wasm ${wasm}`).toEqual(ref);
      await Promise.all(kernels.map((k) => k.dispose()));
    }
  });
});

describe("threads: which loops are split", () => {
  it("threadMinElements Infinity splits the products only; a graph with no large product or loop runs on one thread", async () => {
    const g = new Graph({ seed: 1 });
    const a = g.param("a", [256, 256]);
    fill(a, 0);
    const outputs = { p: a.matmul(a).tanh(), e: a.exp().sum(0) };
    const all = compile(outputs, { threads: 2, cache: false });
    const productsOnly = compile(outputs, { threads: 2, threadMinElements: Infinity, cache: false });
    expect(splitGroupKinds(all.source)).toEqual(expect.arrayContaining(["matmul", "reduce"]));
    expect(splitGroupKinds(productsOnly.source).every((k) => k === "matmul")).toBe(true);
    expect(sharedJobs(productsOnly.jobsSource)).toBe(0);
    const small = compile({ e: g.param("s", [8, 8]).exp().sum(0) }, { threads: 2, cache: false });
    expect(small.threads).toBe(1);
    expect(small.threadsNote).toMatch(/no product or loop is large enough to split/);
    await Promise.all([all, productsOnly, small].map((k) => k.dispose()));
  });

  /**
   * A step generated for a schedule whose memory plan is changed by hand, so that the elementwise
   * group's output lies over its operand: at the same index (as the plan's in-place reuse does), or
   * shifted by one element (which no slice split could run safely).
   */
  function generatedWithOutputOver(shift: number, transpose = false) {
    const g = new Graph({ seed: 1 });
    const x = g.param("x", [200, 200]);
    const y = (transpose ? x.transpose() : x).mul(2).add(1);
    const schedule = fuse(runPasses(extract({ y }), {}));
    const plan = planMemory(schedule);
    const p = schedule.program;
    const xNode = p.nodes.find((n) => n.leaf?.name === "x")!.id;
    const group = schedule.groups.find((gr) => gr.kind === "elementwise")!;
    const location = new Map(plan.location);
    for (const o of group.outputs) location.set(o, plan.location.get(xNode)! + shift);
    return generateStep(schedule, { ...plan, location }, { threads: 2 });
  }

  it("an output over its operand at the same index is split; shifted, or read transposed, it stays on one thread", () => {
    const same = generatedWithOutputOver(0);
    expect(splitGroupKinds(same.source)).toEqual(["elementwise"]);
    expect(generatedWithOutputOver(1).parallel).toBeUndefined();
    expect(generatedWithOutputOver(-1).parallel).toBeUndefined();
    expect(generatedWithOutputOver(0, true).parallel).toBeUndefined();
    // Not aliased at all, the same group is split.
    const g = new Graph({ seed: 1 });
    const x = g.param("x", [200, 200]);
    const schedule = fuse(runPasses(extract({ y: x.transpose().mul(2).add(1) }), {}));
    expect(splitGroupKinds(generateStep(schedule, planMemory(schedule), { threads: 2 }).source)).toEqual([
      "elementwise",
    ]);
  });
});
