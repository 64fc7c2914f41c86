/**
 * A compiled kernel: the generated step bound to the graph's memory, with Float32Array views for its
 * inputs and outputs. `run()` calls the one generated function; it allocates nothing. Parameters are
 * read and written in place (`W.value` is the one copy of the weights).
 */
import { checkFeed, type Feeds, formatShape, type Graph, type Tensor } from "@adjoint/core";
import type { GroupTime, GroupTimer } from "../codegen/profile";
import type { BufferInfo } from "../memory/plan";
import type { ThreadPool } from "./threads";

/**
 * Where a kernel's memory goes (see Kernel.memory): the planned arena against what an eager executor would
 * allocate.
 */
export interface KernelMemory {
  /** Bytes of the planned arena: the workspace of intermediates, slots reused across lifetimes. */
  arenaBytes: number;
  /** Bytes an eager executor would allocate for the same intermediates: one buffer per computed node. */
  naiveBytes: number;
  /** Bytes of the outputs' own buffers (in neither figure above; like inputs and params). */
  outputBytes: number;
  buffers: BufferInfo[];
}

export interface KernelParts {
  graph: Graph;
  source: string;
  step: () => number;
  inputs: Record<string, Float32Array>;
  inputLeaves: Record<string, Tensor>;
  outputs: Record<string, Float32Array>;
  memory: KernelMemory;
  /** Node id -> text for a non-finite value found by a checked kernel. */
  describeNode: (programNode: number) => string;
  checked: boolean;
  timings?: Record<string, number>;
  /** Program-level dump (after passes, with fused groups). */
  programText: string;
  groups: number;
  wasmListing: () => string;
  fusedGroups: Map<number, string>;
  outputTensors: Record<string, Tensor>;
  /** The workers of a kernel compiled with threads > 1 that has parallel jobs. */
  pool?: ThreadPool;
  threadsNote: string;
  jobsSource: string;
  /** With compile's `profile`: the step's group timer and the groups' comment lines. */
  profile?: { timer: GroupTimer; headers: string[] };
  /** Called once by dispose() (the compile cache forgets the kernel). */
  onDispose: () => void;
}

/**
 * A compiled step (made by {@link compile}): the generated function bound to the graph's memory, with
 * `inputs` and `outputs` as Float32Array views; `run(feeds?)` calls it and allocates nothing; params are read
 * and written in place.
 */
export class Kernel {
  readonly graph: Graph;
  readonly inputs: Readonly<Record<string, Float32Array>>;
  readonly outputs: Readonly<Record<string, Float32Array>>;
  /** The generated JavaScript, readable, with comments naming the graph nodes. */
  readonly source: string;
  readonly memory: KernelMemory;
  readonly timings?: Record<string, number>;
  /** The program after the passes, one line per node, with its fused group. */
  readonly programText: string;
  /** Number of loop nests (fused groups) in the step. */
  readonly groups: number;
  private readonly listWasm: () => string;
  /** Graph node id -> fused group label, for every node fused with others (toDot draws them as clusters). */
  readonly fusedGroups: ReadonlyMap<number, string>;
  private readonly outputTensors: Record<string, Tensor>;
  private readonly step: () => number;
  private readonly inputLeaves: Record<string, Tensor>;
  private readonly labelViews: Float32Array[];
  private readonly labelClasses: number[];
  private readonly labelNames: string[];
  private readonly describeNode: (id: number) => string;
  private readonly checked: boolean;
  /** @internal The thread pool (tests reach its fault hooks through it). */
  readonly pool: ThreadPool | undefined;
  /** Threads the step runs on: 1, or the `threads` asked of compile() when it has parallel jobs. */
  readonly threads: number;
  /** Why fewer threads are used than were asked for ("" when not). */
  readonly threadsNote: string;
  /** The workers' generated program (`function jobs(j, t)`), "" with one thread. */
  readonly jobsSource: string;
  private readonly onDispose: () => void;
  private readonly groupTimes?: { timer: GroupTimer; headers: string[] };
  private disposed = false;

  constructor(parts: KernelParts) {
    this.graph = parts.graph;
    this.inputs = Object.freeze(parts.inputs);
    this.outputs = Object.freeze(parts.outputs);
    this.source = parts.source;
    this.memory = parts.memory;
    this.timings = parts.timings;
    this.programText = parts.programText;
    this.groups = parts.groups;
    this.listWasm = parts.wasmListing;
    this.fusedGroups = parts.fusedGroups;
    this.outputTensors = parts.outputTensors;
    this.step = parts.step;
    this.inputLeaves = parts.inputLeaves;
    this.describeNode = parts.describeNode;
    this.checked = parts.checked;
    this.pool = parts.pool;
    this.threads = parts.pool?.threads ?? 1;
    this.threadsNote = parts.threadsNote;
    this.jobsSource = parts.jobsSource;
    this.groupTimes = parts.profile;
    this.onDispose = parts.onDispose;
    this.labelViews = [];
    this.labelClasses = [];
    this.labelNames = [];
    for (const [name, leaf] of Object.entries(parts.inputLeaves)) {
      const c = parts.graph.classIndexInputs.get(leaf);
      if (!c) continue;
      this.labelViews.push(parts.inputs[name]);
      this.labelClasses.push(c.classes);
      this.labelNames.push(name);
    }
  }

  /**
   * Mean wall time per step of every group of the step (in step order, then the updates copied at the
   * end), over the steps run since compile or since the last `profile({ reset: true })`, which starts a
   * new count after reading. Needs `compile(..., { profile: true })`.
   *
   * @example
   * const k = compile({ loss }, { updates, profile: true });
   * for (let i = 0; i < 100; i++) k.run();
   * const top = k.profile().sort((a, b) => b.ms - a.ms).slice(0, 5); // [{ group, header, ms }, ...]
   */
  profile(options: { reset?: boolean } = {}): GroupTime[] {
    if (!this.groupTimes)
      throw new Error(
        "profile: this kernel was compiled without { profile: true }, so its groups are not timed",
      );
    const times = this.groupTimes.timer.read(this.groupTimes.headers);
    if (options.reset) this.groupTimes.timer.reset();
    return times;
  }

  /** Runs the step. With feeds, each is checked (name, length, type) and copied into its input first. */
  run(feeds?: Feeds): void {
    if (this.disposed) throw new Error("run: this kernel was disposed (compile it again)");
    if (feeds !== undefined) this.feed(feeds);
    this.checkLabels();
    const bad = this.step();
    if (bad >= 0) {
      throw new Error(
        `checkFinite: a non-finite value (NaN or Infinity) was produced by ${this.describeNode(bad)}`,
      );
    }
  }

  /** Checks every feed (name, type, length, class indices), then copies them: all or nothing. */
  feed(feeds: Feeds): void {
    if (feeds === null || typeof feeds !== "object")
      throw new TypeError("run: feeds must be an object of named arrays");
    const names = Object.keys(feeds);
    for (const name of names) {
      const leaf = this.inputLeaves[name];
      if (!leaf) {
        const known =
          Object.keys(this.inputs)
            .map((k) => `"${k}"`)
            .join(", ") || "none";
        throw new Error(`run: unknown feed "${name}" (this kernel's inputs are: ${known})`);
      }
      checkFeed("run", leaf, feeds[name]);
    }
    for (const name of names) this.inputs[name].set(feeds[name]);
  }

  /** Class-index inputs must hold whole numbers in [0, classes): out of range would silently be a zero one-hot. */
  private checkLabels(): void {
    for (let k = 0; k < this.labelViews.length; k++) {
      const v = this.labelViews[k];
      const c = this.labelClasses[k];
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (!(x >= 0 && x < c && x === Math.floor(x))) {
          throw new RangeError(
            `run: label ${x} at [${i}] of input "${this.labelNames[k]}" ${formatShape([v.length])} is not a class index (a whole number in [0, ${c}))`,
          );
        }
      }
    }
  }

  /**
   * Ends the kernel's workers (if any) and makes later runs throw; resolves when the workers have exited.
   * A kernel with one thread holds nothing to free, but is disposed the same way.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.onDispose();
    await this.pool?.dispose();
  }

  /** Resolves once every worker has started (a kernel with one thread is always ready). */
  async whenReady(): Promise<void> {
    await this.pool?.whenReady();
  }

  /** Listings of the generated WebAssembly kernels, next to `source` for debugging ("" when none). */
  get wasmListing(): string {
    return this.listWasm();
  }

  /** The graph of this kernel's outputs as DOT: modules and fused groups as clusters, gradients in orange. */
  toDot(title?: string): string {
    return this.graph.toDot({ outputs: this.outputTensors, groups: this.fusedGroups, title });
  }

  /** Whether this kernel checks every stored value for NaN/Infinity. */
  get checksFinite(): boolean {
    return this.checked;
  }
}
