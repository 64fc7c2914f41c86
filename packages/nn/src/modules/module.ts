/**
 * Modules: layers that build themselves into a graph. A module owns no numbers: its parameters are
 * graph params, created the first time the module is built into a graph (the model is then bound to that
 * graph, whose shared memory holds the one copy of the weights). Building it again in the same graph (a
 * second batch size, an evaluation build, a tied layer) reuses the same params, so every kernel compiled
 * from that graph trains and reads the same weights.
 *
 * `build(x)` runs the module's `forward` with its children built under `g.scope(childName)`, so dumps group
 * nodes by module path and params are named by it: a Sequential's params are "0.weight", "0.bias",
 * "2.weight", ... as in a torch state_dict. Modes (`train()` / `eval()`) are read at build time: a
 * Dropout built in eval mode is the identity, built in train mode it draws a mask every step.
 */
import type { Graph, Initializer, Tensor } from "@adjoint/core";
import { exactBuffer } from "../graph-utils";

/**
 * The base of every layer: a module builds itself into a graph and owns no numbers (its weights are graph
 * params).
 * Subclasses implement `forward`, declare weights with `param` and sublayers with `addChild`.
 * @example
 * ```ts
 * class TwoLayer extends Module {
 *   constructor() {
 *     super();
 *     this.addChild("fc1", new Linear(4, 8));
 *     this.addChild("fc2", new Linear(8, 1));
 *   }
 *   protected forward(x: Tensor): Tensor {
 *     return this.buildChild("fc2", this.buildChild("fc1", x).relu());
 *   }
 * }
 * const net = new TwoLayer();
 * const y = net.build(new Graph({ seed: 0 }).input("x", [32, 4])); // [32, 1]; params "fc1.weight", ...
 * ```
 */
export abstract class Module {
  /** Read when the module is built (Dropout is the identity when built in eval mode). */
  training = true;
  private readonly childModules = new Map<string, Module>();
  private readonly ownParams = new Map<string, Tensor>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private boundGraph: Graph | null = null;

  /** The type's name, for messages ("Linear", "Dropout"). */
  get typeName(): string {
    return this.constructor.name;
  }

  /** The graph this module's params live in (null until built, or for modules without params). */
  get graph(): Graph | null {
    return this.boundGraph;
  }

  /** Builds the module into x's graph: the output tensor. */
  build(x: Tensor): Tensor {
    this.bind(x.graph);
    return this.forward(x);
  }

  /**
   * The module's computation on x, in x's graph (called by `build`, with children built under their scopes).
   */
  protected abstract forward(x: Tensor): Tensor;

  /** Whether this module creates params when built (so that parameters() before build() is an error). */
  protected get declaresParams(): boolean {
    return false;
  }

  /** Registers a child under a name (its path component: "0", "encoder"). */
  protected addChild<M extends Module>(name: string, child: M): M {
    if (!(child instanceof Module)) {
      throw new TypeError(`${this.typeName}: child "${name}" is not a Module, got ${String(child)}`);
    }
    if (!/^[A-Za-z0-9_]+$/.test(name)) {
      throw new Error(`${this.typeName}: child name ${JSON.stringify(name)} must be letters, digits or _`);
    }
    if (this.childModules.has(name)) throw new Error(`${this.typeName}: two children named "${name}"`);
    this.childModules.set(name, child);
    return child;
  }

  /** Builds a child under its scope (its params are then named "<path>.<child>.<param>"). */
  protected buildChild(name: string, x: Tensor): Tensor {
    const child = this.childModules.get(name);
    if (!child) throw new Error(`${this.typeName}: no child named "${name}"`);
    return x.graph.scope(name, () => child.build(x));
  }

  /** This module's param `name` in graph g: created (named by the current scope) on first use, then reused. */
  protected param(g: Graph, name: string, shape: readonly number[], init: Initializer): Tensor {
    const existing = this.ownParams.get(name);
    if (existing) return existing;
    this.bind(g);
    const scoped = g.currentScope ? `${g.currentScope}.${name}` : name;
    if (g.has(scoped)) {
      throw new Error(
        `${this.typeName}: the graph already has a leaf named "${scoped}" (to build two models into one graph, ` +
          `build each inside its own g.scope("name", () => model.build(x)))`,
      );
    }
    const t = g.param(scoped, shape, { init });
    this.ownParams.set(name, t);
    return t;
  }

  /**
   * This module's buffer `name` in graph g (non-trainable state saved with the weights, such as BatchNorm's
   * running statistics): created filled with `fill` on first use, then reused, like a param.
   */
  protected buffer(g: Graph, name: string, shape: readonly number[], fill: number): Tensor {
    const existing = this.ownBuffers.get(name);
    if (existing) return existing;
    this.bind(g);
    const scoped = g.currentScope ? `${g.currentScope}.${name}` : name;
    if (g.has(scoped)) {
      throw new Error(`${this.typeName}: the graph already has a leaf named "${scoped}"`);
    }
    const t = exactBuffer(g, scoped, shape, fill);
    this.ownBuffers.set(name, t);
    return t;
  }

  private bind(g: Graph): void {
    if (this.boundGraph === g) return;
    if (this.boundGraph !== null && (this.ownParams.size > 0 || this.ownBuffers.size > 0)) {
      throw new Error(
        `${this.typeName}: already built in another graph, where its params live; build every use of a model ` +
          `(other batch sizes, evaluation) into that one graph so that its kernels share the weights`,
      );
    }
    this.boundGraph = g;
  }

  /** Children in registration order. */
  children(): [string, Module][] {
    return [...this.childModules];
  }

  /** Params named by module path, torch state_dict style ("0.weight", "2.bias"). */
  namedParameters(prefix = ""): [string, Tensor][] {
    if (this.declaresParams && this.ownParams.size === 0) {
      throw new Error(
        `${this.typeName}${prefix ? ` "${prefix.slice(0, -1)}"` : ""}: parameters() before the module was built ` +
          `(its params are created in a graph by build(x), e.g. buildModel(model, { inputShape, batch }))`,
      );
    }
    const out: [string, Tensor][] = [...this.ownParams].map(([n, t]) => [prefix + n, t]);
    for (const [name, child] of this.childModules) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  /**
   * The trainable params of this module and its children, in state_dict order (an error before the first
   * build).
   */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Buffers (running statistics, ...) named by module path ("1.running_mean"), torch style. */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [...this.ownBuffers].map(([n, t]) => [prefix + n, t]);
    for (const [name, child] of this.childModules) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  /** The buffers (non-trainable state such as running statistics) of this module and its children. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /**
   * What a torch state_dict holds, in its order: each module's params, then its buffers (running
   * statistics), then its children's. This is what checkpoints save and load.
   */
  namedState(prefix = ""): [string, Tensor][] {
    if (prefix === "") this.namedParameters(); // refuses a model that was never built
    const out: [string, Tensor][] = [...this.ownParams, ...this.ownBuffers].map(([n, t]) => [prefix + n, t]);
    for (const [name, child] of this.childModules) out.push(...child.namedState(`${prefix}${name}.`));
    return out;
  }

  /** Views of the weights and buffers by state_dict name (the live storage: writing into them changes the model). */
  stateDict(): Record<string, Float32Array> {
    return Object.fromEntries(this.namedState().map(([n, t]) => [n, t.value]));
  }

  /** Copies values into the weights and buffers; every name must exist and every size match (checked first). */
  loadStateDict(values: Readonly<Record<string, ArrayLike<number>>>): void {
    const named = new Map(this.namedState());
    for (const [name, v] of Object.entries(values)) {
      const t = named.get(name);
      if (!t)
        throw new Error(
          `${this.typeName}.loadStateDict: no parameter "${name}" (have: ${[...named.keys()].join(", ")})`,
        );
      if (v.length !== t.size) {
        throw new Error(
          `${this.typeName}.loadStateDict: "${name}" has ${v.length} values, expected ${t.size}`,
        );
      }
    }
    for (const name of named.keys()) {
      if (!(name in values)) throw new Error(`${this.typeName}.loadStateDict: missing "${name}"`);
    }
    for (const [name, v] of Object.entries(values)) named.get(name)!.value.set(v);
  }

  /** Sets the mode of this module and all its children (read at the next build). */
  train(mode = true): this {
    this.training = mode;
    for (const child of this.childModules.values()) child.train(mode);
    return this;
  }

  /** Switches this module and its children to evaluation mode (read at the next build): `train(false)`. */
  eval(): this {
    return this.train(false);
  }
}
