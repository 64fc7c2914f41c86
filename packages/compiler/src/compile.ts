/**
 * compile(): the whole pipeline, short enough to hold in mind —
 *   extract -> passes (simplify, CSE, DCE) -> fuse -> plan memory -> generate one step -> bind.
 * Every stage can be switched off or inspected; kernels are cached per graph by what they compute.
 */
import { formatShape, type Graph, Tensor } from "@adjoint/core";
import { RENDERERS } from "./codegen/render";
import { generateStep } from "./codegen/step";
import { type WasmKernelInfo, wasmMatmulRenderer, wasmStatus } from "./codegen/wasm-matmul";
import { fusedGroups, programText } from "./dump";
import { planMemory } from "./memory/plan";
import { type PassOptions, runPasses } from "./passes";
import { extract } from "./program";
import { Kernel } from "./runtime/kernel";
import { fuse } from "./schedule/fuse";

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
}

const kernelCache = new WeakMap<Graph, Map<string, Kernel>>();
const factoryCache = new Map<string, (...args: unknown[]) => () => number>();

export function compile(outputs: Record<string, Tensor> | Tensor, options: CompileOptions = {}): Kernel {
  const named: Record<string, Tensor> = outputs instanceof Tensor ? { out: outputs } : outputs;
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
    options.wasm === false ? {} : { matmul: wasmMatmulRenderer(RENDERERS.matmul, wasmKernels) };
  const generated = time("codegen", () =>
    generateStep(schedule, plan, { checkFinite: options.checkFinite, renderers }),
  );
  const wasmExports = Object.fromEntries(generated.externals);
  const step = time("bind", () => {
    let factory = factoryCache.get(generated.source);
    if (!factory) {
      // The source is printed from an ESTree that codegen built; no user text reaches it except in
      // sanitized line comments.
      factory = new Function("F", "wasm", generated.source) as (...args: unknown[]) => () => number;
      factoryCache.set(generated.source, factory);
    }
    const heap = new Float32Array(graph.memory.memory.buffer);
    return factory(heap, wasmExports);
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
    timings,
    programText: programText(schedule),
    fusedGroups: fusedGroups(schedule),
    outputTensors: named,
    groups: schedule.groups.length,
    wasmListing: () =>
      wasmKernels.length === 0
        ? ""
        : [`;; ${wasmStatus()}`, ...wasmKernels.map((w) => `;; wasm.${w.name}\n${w.listing()}`)].join("\n"),
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
