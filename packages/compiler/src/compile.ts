/**
 * compile(): the whole pipeline, short enough to hold in mind —
 *   extract -> passes (simplify, CSE, DCE) -> fuse -> plan memory -> generate one step -> bind.
 * Every stage can be switched off or inspected; kernels are cached per graph by what they compute.
 */
import { formatShape, type Graph, Tensor } from "@adjoint/core";
import { RENDERERS } from "./codegen/render";
import { jobSlices } from "./codegen/parallel";
import { generateStep } from "./codegen/step";
import { type WasmKernelInfo, wasmMatmulRenderer, wasmStatus } from "./codegen/wasm-matmul";
import { wasmElementwiseRenderer } from "./codegen/wasm-elementwise";
import { wasmCopyRenderer, wasmReduceRenderer } from "./codegen/wasm-windows";
import { fusedGroups, programText } from "./dump";
import { planMemory } from "./memory/plan";
import { type PassOptions, runPasses } from "./passes";
import { extract } from "./program";
import { CONTROL_WORDS } from "./runtime/control-block";
import { Kernel } from "./runtime/kernel";
import { ThreadPool } from "./runtime/threads";
import { defaultWorkerHost } from "./runtime/worker-host";
import { fuse } from "./schedule/fuse";

/** Options of {@link compile}. */
export interface CompileOptions {
  /** assign nodes (optimizer updates) applied in place after the outputs are computed. */
  updates?: readonly Tensor[];
  /** Build a checked variant naming the first node that produces a NaN or an infinity. */
  checkFinite?: boolean;
  /** Switch passes off for debugging: { simplify: false, cse: false, dce: false, fusion: false }. */
  passes?: PassOptions;
  /** Reuse arena slots across lifetimes (default true). */
  reuse?: boolean;
  /** Record per-stage times (ms) in kernel.timings. */
  timing?: boolean;
  /** Use the kernel cache (default true). */
  cache?: boolean;
  /** Run matmuls in generated WebAssembly SIMD kernels where they fit (default: when the engine has SIMD). */
  wasm?: boolean;
  /**
   * Run a product's elementwise epilogue (an optimizer's update of the weight whose gradient it is) inside
   * its wasm kernel, on each register tile while it is in registers (default true); false runs it as a
   * loop over the stored product. Both give the same bits.
   */
  tileEpilogues?: boolean;
  /**
   * Split the large products (and their fused epilogues) and the large loops (elementwise groups,
   * reductions over their kept dims, window copies) over this many threads: the main thread and
   * threads − 1 workers on the graph's shared memory. Results are bit-identical to one thread. Default 1.
   * Where workers or SharedArrayBuffer are missing, the kernel runs on one thread (see kernel.threadsNote).
   */
  threads?: number;
  /**
   * With threads > 1, products below this many multiply-adds stay on the main thread. Default
   * THREAD_MIN_MACS, measured by benchmarks/src/split-threshold.ts; a benchmark sets it to 0 to time the
   * splits it would otherwise refuse.
   */
  threadMinMacs?: number;
  /**
   * With threads > 1, elementwise loops and reductions over fewer elements than this stay on the main
   * thread. Default THREAD_MIN_ELEMENTS, measured by benchmarks/src/loop-split-threshold.ts; Infinity
   * splits products only.
   */
  threadMinElements?: number;
  /**
   * With threads > 1, the slices each parallel job is cut into per thread (default SLICES_PER_THREAD):
   * threads claim slices as they come free. A benchmark varies it.
   */
  slicesPerThread?: number;
  /**
   * Time every group of the step (kernel.profile(): mean ms per step and group, in step order); the step
   * calls a timer where each group starts, whose clock (performance.now()) allocates a number per call.
   */
  profile?: boolean;
}

const kernelCache = new WeakMap<Graph, Map<string, Kernel>>();
const factoryCache = new Map<string, (...args: unknown[]) => () => number>();

/**
 * Compiles the computation of `outputs` (and the `updates`, applied in place) into one generated JavaScript
 * function over preallocated float32 memory, matmuls in generated wasm SIMD kernels where they fit: the
 * returned Kernel's `run(feeds)` allocates nothing. Kernels are cached per graph by what they compute.
 * @example
 * ```ts
 * const g = new Graph();
 * const x = g.input("x", [3], { requiresGrad: true });
 * const y = x.mul(x).mul(x).sum();
 * const [dy] = grad(y, [x]);
 * const kernel = compile({ y, dy });
 * kernel.run({ x: [1, 2, 3] });
 * kernel.outputs.dy;                        // Float32Array [3, 12, 27]
 * console.log(kernel.source);               // the generated function
 * ```
 */
export function compile(outputs: Record<string, Tensor> | Tensor, options: CompileOptions = {}): Kernel {
  const named: Record<string, Tensor> = outputs instanceof Tensor ? { out: outputs } : outputs;
  const requestedThreads = options.threads ?? 1;
  if (!Number.isInteger(requestedThreads) || requestedThreads < 1 || requestedThreads > 256) {
    throw new RangeError(
      `compile: threads must be a whole number from 1 to 256, got ${String(options.threads)}`,
    );
  }
  if (named === null || typeof named !== "object")
    throw new TypeError("compile: outputs must be a Tensor or an object of named Tensors");
  const updates = options.updates ?? [];
  const program0 = extract(named, updates);
  const graph = program0.graph;

  const key = JSON.stringify([
    Object.entries(named).map(([k, t]) => [k, t.id]),
    updates.map((u) => u.id),
    options.checkFinite ?? false,
    options.passes ?? {},
    options.reuse ?? true,
    options.wasm ?? true,
    options.tileEpilogues ?? true,
    options.threads ?? 1,
    options.threadMinMacs ?? null,
    options.threadMinElements ?? null,
    options.slicesPerThread ?? null,
    options.profile ?? false,
  ]);
  const cached = options.cache === false ? undefined : kernelCache.get(graph)?.get(key);
  if (cached) return cached;

  const timings: Record<string, number> | undefined = options.timing ? {} : undefined;
  const time = <T>(stage: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    if (timings) timings[stage] = (timings[stage] ?? 0) + performance.now() - t0;
    return r;
  };
  const program = runPasses(program0, options.passes ?? {}, timings);
  // A checked kernel stores every node, so that the first bad one can be named.
  const schedule = time("fuse", () =>
    fuse(program, { fusion: options.checkFinite ? false : options.passes?.fusion }),
  );
  const plan = time("plan", () => planMemory(schedule, { reuse: options.reuse }));
  const wasmKernels: WasmKernelInfo[] = [];
  const renderers =
    options.wasm === false
      ? {}
      : {
          matmul: wasmMatmulRenderer(RENDERERS.matmul, wasmKernels, {
            tileEpilogues: options.tileEpilogues ?? true,
          }),
          elementwise: wasmElementwiseRenderer(RENDERERS.elementwise),
          copy: wasmCopyRenderer(RENDERERS.copy),
          reduce: wasmReduceRenderer(RENDERERS.reduce),
        };
  const host = requestedThreads > 1 ? defaultWorkerHost() : undefined;
  let threadsNote = typeof host === "string" ? `threads: ${requestedThreads} requested, 1 used: ${host}` : "";
  if (threadsNote) warnOnce(threadsNote);
  const threads = typeof host === "string" ? 1 : requestedThreads;
  const generated = time("codegen", () =>
    generateStep(schedule, plan, {
      checkFinite: options.checkFinite,
      renderers,
      threads,
      threadMinMacs: options.threadMinMacs,
      threadMinElements: options.threadMinElements,
      slicesPerThread: options.slicesPerThread,
      profile: options.profile,
    }),
  );
  if (threads > 1 && !generated.parallel) {
    threadsNote = `threads: ${threads} requested, 1 used: no product or loop is large enough to split`;
  }
  const controlOffset = generated.parallel ? graph.memory.allocate(CONTROL_WORDS) : 0;
  const wasmExports = Object.fromEntries(generated.externals);
  const heap = new Float32Array(graph.memory.memory.buffer);
  const pool =
    generated.parallel && typeof host === "object"
      ? time("threads", () => {
          const { jobsSource, build } = generated.parallel!;
          // Printed from an ESTree by codegen, like the step (see below).
          const jobs = new Function("F", "wasm", jobsSource)(heap, wasmExports) as (
            j: number,
            s: number,
          ) => void;
          return new ThreadPool({
            memory: graph.memory.memory,
            controlOffset,
            threads: build.threads,
            jobsSource,
            modules: build.modules,
            jobSlices: jobSlices(build),
            runLocal: jobs,
            host,
          });
        })
      : undefined;
  const step = time("bind", () => {
    let factory = factoryCache.get(generated.source);
    if (!factory) {
      // The source is printed from an ESTree that codegen built; no user text reaches it except in
      // sanitized line comments.
      factory = new Function("F", "wasm", "par", generated.source) as (...args: unknown[]) => () => number;
      factoryCache.set(generated.source, factory);
    }
    return factory(heap, wasmExports, pool);
  });

  const mem = graph.memory;
  const inputs: Record<string, Float32Array> = {};
  const inputLeaves: Record<string, Tensor> = {};
  for (const n of program.nodes) {
    if (n.leaf?.role === "input") {
      inputs[n.leaf.name!] = mem.f32(plan.location.get(n.id)! * 4, n.leaf.size);
      inputLeaves[n.leaf.name!] = n.leaf;
    }
  }
  const outs: Record<string, Float32Array> = {};
  for (const [name, id] of program.outputs) {
    const a = schedule.views.access(id)!;
    if (a.kind !== "buffer") throw new Error(`compile: output "${name}" has no memory (internal error)`);
    const size = program.nodes[id].shape.reduce((x, d) => x * d, 1);
    outs[name] = mem.f32((plan.location.get(a.base)! + a.offset) * 4, size);
  }

  const kernel = new Kernel({
    graph,
    source: generated.source,
    step,
    inputs,
    inputLeaves,
    outputs: outs,
    memory: {
      arenaBytes: plan.arenaBytes,
      naiveBytes: plan.naiveBytes,
      outputBytes: plan.buffers.filter((b) => b.kind === "output").reduce((n, b) => n + b.floats * 4, 0),
      buffers: plan.buffers,
    },
    checked: options.checkFinite ?? false,
    pool,
    threadsNote,
    jobsSource: generated.parallel?.jobsSource ?? "",
    profile: generated.profile,
    onDispose: () => kernelCache.get(graph)?.delete(key),
    timings,
    programText: programText(schedule),
    fusedGroups: fusedGroups(schedule),
    outputTensors: named,
    groups: schedule.groups.length,
    wasmListing: () =>
      wasmKernels.length === 0 && generated.listings.size === 0
        ? ""
        : [
            `;; ${wasmStatus()}`,
            ...wasmKernels.map((w) => `;; wasm.${w.name}\n${w.listing()}`),
            ...[...generated.listings].map(([name, listing]) => `;; wasm.${name}\n${listing()}`),
          ].join("\n"),
    describeNode: (id) => {
      const n = program.nodes[id];
      const t = graph.nodes[n.origin];
      const line = generated.textNumber.get(n.origin);
      return t && line !== undefined
        ? `%${line} = ${t.op} : f32${formatShape(t.shape)} (line ${line + 1} of graph.toText())`
        : `${n.op} : f32${formatShape(n.shape)}`;
    },
  });
  if (options.cache !== false) {
    if (!kernelCache.has(graph)) kernelCache.set(graph, new Map());
    kernelCache.get(graph)!.set(key, kernel);
  }
  return kernel;
}

const warned = new Set<string>();
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(`adjoint: ${message}`);
}
