import { type DotOptions, toDot } from "./dump/dot";
import { type TextOptions, toText } from "./dump/text";
import { GraphMemory } from "./memory";
import { getOp } from "./ops/registry";
import { Rng } from "./random";
import { checkShape, formatShape, type Shape, sizeOf } from "./shape";
import { type Attrs, type Role, type Storage, Tensor } from "./tensor";

/** Fills a parameter's values at creation: `init.glorotUniform()` and friends return one. */
export type Initializer = (value: Float32Array, shape: Shape, rng: Rng) => void;

/** Options of a new Graph. */
export interface GraphOptions {
  /** Seeds every initializer of the graph, so that a model is reproducible. */
  seed?: number;
}

/** Options of {@link Graph.input}. */
export interface InputOptions {
  /** Marks the input as something to differentiate with respect to (default false). */
  requiresGrad?: boolean;
}

/** Options of {@link Graph.param}. */
export interface ParamOptions {
  /** Fills the values at creation (default: zeros); see the `init` namespace. */
  init?: Initializer;
  /** Default true; false makes a frozen parameter. */
  requiresGrad?: boolean;
}

/**
 * A define-then-run graph: a list of nodes in creation order. Leaves are inputs (fed at run time),
 * params (trainable, with values in the graph's shared memory), buffers (non-trainable state such as
 * optimizer moments or the learning rate) and constants.
 * @example
 * ```ts
 * const g = new Graph({ seed: 0 });
 * const x = g.input("x", [4, 3]);                                     // fed at run time
 * const w = g.param("w", [3, 2], { init: init.glorotUniform() });      // trainable, stored
 * const y = x.matmul(w).tanh().sum();                                  // nodes; nothing runs yet
 * console.log(g.toText({ outputs: [y] }));                             // the IR, one node a line
 * ```
 */
export class Graph {
  readonly nodes: Tensor[] = [];
  readonly memory: GraphMemory;
  readonly seed: number;
  private readonly rng: Rng;
  private readonly names = new Map<string, Tensor>();
  private readonly scalarCache = new Map<number, Tensor>();
  private readonly scopeStack: string[] = [];
  private gradientDepth = 0;
  /** Inputs fed with class indices, checked (whole numbers in [0, classes)) wherever they are fed. */
  readonly classIndexInputs = new Map<Tensor, { classes: number; op: string }>();
  /** Bumped on every change, so caches keyed by a graph can tell it grew. */
  version = 0;

  constructor(options: GraphOptions = {}) {
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
    this.memory = new GraphMemory();
  }

  get currentScope(): string {
    return this.scopeStack.join(".");
  }
  get markingGradients(): boolean {
    return this.gradientDepth > 0;
  }

  /** Runs `build` with the module path set to `path` (grad files a gradient node under its primal's module). */
  inScope<T>(path: string, build: () => T): T {
    const saved = this.scopeStack.splice(0, this.scopeStack.length, ...(path ? path.split(".") : []));
    try {
      return build();
    } finally {
      this.scopeStack.splice(0, this.scopeStack.length, ...saved);
    }
  }

  /** Runs `build` with nodes tagged by a module path (dumps group by it). */
  scope<T>(name: string, build: () => T): T {
    this.scopeStack.push(name);
    try {
      return build();
    } finally {
      this.scopeStack.pop();
    }
  }

  /** Runs `build` with the nodes it creates marked as gradient nodes. */
  markGradients<T>(build: () => T): T {
    this.gradientDepth++;
    try {
      return build();
    } finally {
      this.gradientDepth--;
    }
  }

  /**
   * Declares that `input` is fed class indices in [0, classes), checked wherever it is fed (`op` names the
   * user in messages).
   */
  declareClassIndices(input: Tensor, classes: number, op: string): void {
    this.classIndexInputs.set(input, { classes, op });
  }

  /** A tensor fed at run time. */
  input(name: string, shape: readonly number[], options: InputOptions = {}): Tensor {
    return this.leaf("input", name, shape, options.requiresGrad ?? false, null);
  }

  /** A trainable leaf that owns its values (`.value`), zeros unless an initializer is given. */
  param(name: string, shape: readonly number[], options: ParamOptions = {}): Tensor {
    const storage = this.allocateStorage("param", name, shape);
    if (options.init) options.init(storage.value, checkShape("param", shape), this.rng.fork());
    this.checkFiniteValues("param", name, storage.value);
    return this.leaf("param", name, shape, options.requiresGrad ?? true, storage);
  }

  /** A non-trainable stored tensor (optimizer state, the learning rate, a step counter). */
  buffer(name: string, shape: readonly number[], fill = 0): Tensor {
    if (!Number.isFinite(fill)) throw new Error(`buffer "${name}": fill value ${fill} is not finite`);
    const storage = this.allocateStorage("buffer", name, shape);
    storage.value.fill(fill);
    return this.leaf("state", name, shape, false, storage);
  }

  /** A scalar constant; one node per value, so equal constants are one node. */
  scalar(value: number): Tensor {
    if (!Number.isFinite(value)) throw new Error(`constant: ${value} is not a finite number`);
    const key = Object.is(value, -0) ? 0 : value;
    let t = this.scalarCache.get(key);
    if (!t) {
      t = this.push("const", [], { value: key }, [], false, "const", null);
      this.scalarCache.set(key, t);
    }
    return t;
  }

  /** A constant tensor with the given values (row-major). */
  constant(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    const s = checkShape("constant", shape);
    if (values.length !== sizeOf(s)) {
      throw new Error(
        `constant: ${values.length} values given for shape ${formatShape(s)} (expected ${sizeOf(s)})`,
      );
    }
    const data = Float32Array.from(values);
    this.checkFiniteValues("constant", "", data);
    return this.push("const", [], { data, shape: s }, s, false, "const", null);
  }

  /** zeros of a shape: a broadcast scalar, never a materialized array in the IR. */
  zeros(shape: readonly number[]): Tensor {
    const z = this.scalar(0);
    return shape.length === 0 ? z : z.broadcastTo(shape);
  }

  /** The named leaf (input, param or buffer). */
  get(name: string): Tensor {
    const t = this.names.get(name);
    if (!t) throw new Error(`graph: no input, param or buffer named "${name}"`);
    return t;
  }
  /** Whether a leaf (input, param or buffer) of that name exists. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  get inputs(): Tensor[] {
    return this.nodes.filter((n) => n.role === "input");
  }
  get params(): Tensor[] {
    return this.nodes.filter((n) => n.role === "param");
  }
  get buffers(): Tensor[] {
    return this.nodes.filter((n) => n.role === "state");
  }

  /** Creates an op node: validates the operands and attributes, infers the shape. */
  addNode(op: string, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor {
    const def = getOp(op);
    for (const t of inputs) {
      if (!(t instanceof Tensor))
        throw new TypeError(`${op}: operand ${String(t)} is not a Tensor or a number`);
      if (t.graph !== this) throw new Error(`${op}: operands belong to different graphs (${t.describe()})`);
    }
    for (const [k, v] of Object.entries(attrs)) {
      const infiniteOk = def.infiniteAttrs?.includes(k) && !Number.isNaN(v);
      if (typeof v === "number" && !Number.isFinite(v) && !infiniteOk) {
        throw new Error(`${op}: attribute ${k} = ${v} is not a finite number`);
      }
    }
    const shape = def.shape(
      inputs.map((t) => t.shape),
      attrs,
    );
    const requiresGrad = def.vjp !== undefined && inputs.some((t) => t.requiresGrad);
    return this.push(op, inputs, attrs, checkShape(op, shape), requiresGrad, "op", null);
  }

  /** The graph as readable text IR, one node a line (see {@link toText}). */
  toText(options?: TextOptions): string {
    return toText(this, options);
  }
  /** The graph as Graphviz DOT (see {@link toDot}; {@link renderSvg} draws it). */
  toDot(options?: DotOptions): string {
    return toDot(this, options);
  }

  private leaf(
    role: Role,
    name: string,
    shape: readonly number[],
    requiresGrad: boolean,
    storage: Storage | null,
  ) {
    const s = checkShape(role, shape);
    const op = role === "state" ? "buffer" : role;
    const t = this.push(op, [], { name }, s, requiresGrad, role, storage);
    this.names.set(name, t);
    return t;
  }

  private allocateStorage(kind: string, name: string, shape: readonly number[]): Storage {
    if (typeof name !== "string" || name.length === 0) throw new Error(`${kind}: a name is required`);
    if (this.names.has(name)) throw new Error(`${kind}: the graph already has a leaf named "${name}"`);
    const s = checkShape(kind, shape);
    const n = sizeOf(s);
    const offset = this.memory.allocate(n);
    return { offset, value: this.memory.f32(offset, n) };
  }

  private checkFiniteValues(kind: string, name: string, v: Float32Array) {
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]))
        throw new Error(`${kind} ${name}: initial value [${i}] = ${v[i]} is not finite`);
    }
  }

  private push(
    op: string,
    inputs: readonly Tensor[],
    attrs: Attrs,
    shape: Shape,
    requiresGrad: boolean,
    role: Role,
    storage: Storage | null,
  ): Tensor {
    if (role !== "op" && role !== "const" && this.names.has(String(attrs.name))) {
      throw new Error(`${role}: the graph already has a leaf named "${attrs.name}"`);
    }
    const t = new Tensor(this, this.nodes.length, op, inputs, attrs, shape, requiresGrad, role, storage);
    this.nodes.push(t);
    this.version++;
    return t;
  }
}
