/**
 * Kernels for nn: one function that computes named outputs and then applies update (assign) nodes.
 *
 * Two engines with one contract (compile()'s Kernel: `inputs` views, `outputs` views, `run(feeds?)`):
 *  - "compiled": packages/compiler's compile(), float32, fast: what training uses (kernel.compiled is
 *    the compiler's Kernel: memory, programText, ...).
 *  - "interpreter": core's float64 reference interpreter (evaluate), slow, for testing the maths of a
 *    step exactly. Params and buffers that steps update are kept in float64 "shadows" (one per leaf and
 *    graph, shared by every interpreted kernel of the graph); their float32 storage is written after
 *    every step, and a write into the storage from outside (a restored checkpoint, zeroGrad, a new lr)
 *    is noticed and taken over by the shadow before the next run. Feeds given to run() are used as they
 *    are (float64 stays float64); inputs not fed are read from the `inputs` views.
 */
import { compile, type Kernel as CompiledKernelType } from "@adjoint/compiler";
import { evaluate, type Feeds, type Graph, type Tensor } from "@adjoint/core";
import { ancestors, exactFillOf } from "./graph-utils";

/**
 * How a step runs: "compiled" (the generated kernel, float32) or "interpreter" (the float64 reference, slow).
 */
export type Engine = "compiled" | "interpreter";

export interface KernelOptions {
  updates?: readonly Tensor[];
  checkFinite?: boolean;
  engine?: Engine;
  /** Threads of a compiled kernel (compile()'s `threads`; the interpreter ignores it). */
  threads?: number;
  /** Time the compiled step's groups (compile()'s `profile`; the interpreter ignores it). */
  profile?: boolean;
}

/** What compile() returns (packages/compiler), and what the interpreter engine mimics. */
export interface KernelLike {
  readonly inputs: Record<string, Float32Array>;
  readonly outputs: Record<string, Float32Array>;
  /** Runs the kernel once with these input values (by name); outputs land in `outputs`. */
  run(feeds?: Record<string, ArrayLike<number>>): void;
  readonly source: string;
  readonly engine: Engine;
  /** Ends the kernel's worker threads, if any; later runs throw. */
  dispose(): Promise<void>;
}

/**
 * Builds a kernel for the outputs and updates with the chosen engine (compiled, or the interpreter behind the
 * same interface).
 */
export function makeKernel(
  where: string,
  outputs: Record<string, Tensor>,
  options: KernelOptions = {},
): KernelLike {
  const engine = options.engine ?? "compiled";
  if (engine !== "compiled" && engine !== "interpreter") {
    throw new Error(`${where}: engine must be "compiled" or "interpreter", got ${JSON.stringify(engine)}`);
  }
  const updates = [...(options.updates ?? [])];
  for (const u of updates) {
    if (u.op !== "assign") throw new Error(`${where}: update ${u.describe()} is not an assign node`);
  }
  if (engine === "interpreter")
    return new InterpretedKernel(where, outputs, updates, options.checkFinite ?? false);
  const kernel = compile(outputs, {
    updates,
    checkFinite: options.checkFinite ?? false,
    cache: false,
    threads: options.threads,
    profile: options.profile,
  });
  return new CompiledKernel(kernel);
}

/** packages/compiler's Kernel, with the engine named. */
export class CompiledKernel implements KernelLike {
  readonly engine = "compiled" as const;
  constructor(readonly compiled: CompiledKernelType) {}
  get inputs(): Record<string, Float32Array> {
    return this.compiled.inputs;
  }
  get outputs(): Record<string, Float32Array> {
    return this.compiled.outputs;
  }
  get source(): string {
    return this.compiled.source;
  }
  run(feeds?: Record<string, ArrayLike<number>>): void {
    this.compiled.run(feeds);
  }
  dispose(): Promise<void> {
    return this.compiled.dispose();
  }
}

// ------------------------------------------------------------------------------------------ float64 shadows

interface Shadow {
  readonly value: Float64Array;
  /** The float32 storage as this shadow last saw or wrote it: a difference means someone else wrote. */
  readonly seen: Float32Array;
}

const shadows = new WeakMap<Graph, Map<Tensor, Shadow>>();

function shadowsOf(g: Graph): Map<Tensor, Shadow> {
  let m = shadows.get(g);
  if (!m) shadows.set(g, (m = new Map()));
  return m;
}

function checkStored(where: string, t: Tensor): void {
  if (t.role !== "param" && t.role !== "state") {
    throw new Error(`${where}: ${t.describe()} is not a param or a buffer`);
  }
}

function shadowOf(t: Tensor): Shadow {
  const m = shadowsOf(t.graph);
  let s = m.get(t);
  if (!s) {
    const storage = t.value;
    const value = Float64Array.from(storage);
    const fill = exactFillOf(t);
    if (fill !== undefined && storage.every((v) => v === Math.fround(fill))) value.fill(fill);
    s = { value, seen: Float32Array.from(storage) };
    m.set(t, s);
  }
  return s;
}

/** Takes over writes made to the float32 storage since the shadow last saw it. */
function sync(t: Tensor, s: Shadow): void {
  const storage = t.value;
  for (let i = 0; i < storage.length; i++) {
    const v = storage[i];
    if (v !== s.seen[i] && !(Number.isNaN(v) && Number.isNaN(s.seen[i]))) {
      s.value[i] = v;
      s.seen[i] = v;
    }
  }
}

/**
 * The float64 value the interpreter engine holds for a param or buffer (a copy). Until an interpreted
 * step has updated it, it is the float32 storage (or a buffer's exact fill).
 */
export function readFloat64(t: Tensor): Float64Array {
  checkStored("readFloat64", t);
  const s = shadowOf(t);
  sync(t, s);
  return Float64Array.from(s.value);
}

/**
 * Sets a param's or buffer's value in float64 for the interpreter engine (e.g. exact initial values from
 * a PyTorch reference) and in its float32 storage (rounded) for compiled kernels.
 */
export function writeFloat64(t: Tensor, values: ArrayLike<number>): void {
  checkStored("writeFloat64", t);
  if (values.length !== t.size) {
    throw new RangeError(`writeFloat64: ${t.describe()} holds ${t.size} values, got ${values.length}`);
  }
  const s = shadowOf(t);
  for (let i = 0; i < t.size; i++) s.value[i] = values[i];
  t.value.set(s.value);
  s.seen.set(t.value);
}

// ------------------------------------------------------------------------------------ interpreted kernels

class InterpretedKernel implements KernelLike {
  readonly inputs: Record<string, Float32Array> = {};
  readonly outputs: Record<string, Float32Array> = {};
  /** The float64 values of the outputs after the last run. */
  readonly outputs64: Record<string, Float64Array> = {};
  readonly source = "/* float64 reference interpreter (core's evaluate): no generated code */";
  async dispose(): Promise<void> {}
  readonly engine = "interpreter" as const;
  private readonly inputLeaves: Tensor[];

  constructor(
    private readonly where: string,
    private readonly outs: Record<string, Tensor>,
    private readonly updates: readonly Tensor[],
    private readonly checkFinite: boolean,
  ) {
    const all = [...Object.values(outs), ...updates];
    if (all.length === 0) throw new Error(`${where}: no outputs and no updates to compute`);
    const g = all[0].graph;
    for (const t of all) if (t.graph !== g) throw new Error(`${where}: outputs belong to different graphs`);
    const seen = ancestors(all);
    this.inputLeaves = g.inputs.filter((t) => seen[t.id]);
    for (const t of this.inputLeaves) this.inputs[t.name!] = new Float32Array(t.size);
    for (const [name, t] of Object.entries(outs)) {
      this.outputs[name] = new Float32Array(t.size);
      this.outputs64[name] = new Float64Array(t.size);
    }
    // Every stored leaf the kernel reads or writes gets a float64 shadow (a buffer's exact fill, e.g. the lr).
    for (const t of g.nodes) if (seen[t.id] && (t.role === "param" || t.role === "state")) shadowOf(t);
    for (const u of updates) shadowOf(u.inputs[0]);
  }

  run(feeds: Record<string, ArrayLike<number>> = {}): void {
    const all = [...Object.values(this.outs), ...this.updates];
    const g = all[0].graph;
    const merged: Record<string, ArrayLike<number>> = {};
    for (const t of this.inputLeaves) merged[t.name!] = feeds[t.name!] ?? this.inputs[t.name!];
    for (const [name, v] of Object.entries(feeds)) {
      if (!(name in merged)) merged[name] = v;
    }
    for (const [t, s] of shadowsOf(g)) {
      if (t.name! in feeds) continue;
      sync(t, s);
      merged[t.name!] = s.value;
    }
    const results = evaluate(all, merged as Feeds);
    const names = Object.keys(this.outs);
    if (this.checkFinite) {
      results.forEach((r, i) => {
        const bad = r.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          const what =
            i < names.length
              ? `output "${names[i]}"`
              : `update of ${this.updates[i - names.length].inputs[0].describe()}`;
          throw new Error(
            `${this.where}: ${what} is not finite (${r[bad]} at [${bad}]); no update was applied`,
          );
        }
      });
    }
    names.forEach((name, i) => {
      this.outputs64[name].set(results[i]);
      this.outputs[name].set(results[i]);
    });
    this.updates.forEach((u, i) => {
      const target = u.inputs[0];
      const s = shadowOf(target);
      s.value.set(results[names.length + i]);
      target.value.set(s.value);
      s.seen.set(target.value);
    });
  }
}

export function isInterpreted(k: KernelLike): k is KernelLike & { outputs64: Record<string, Float64Array> } {
  return k instanceof InterpretedKernel;
}
