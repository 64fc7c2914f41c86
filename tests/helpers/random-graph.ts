/**
 * Random, well-conditioned graphs for property tests: smooth elementwise ops, broadcasting, reductions,
 * matmuls (2-D and batched), layout and neural ops, built from random shapes, with fan-out. Fully
 * determined by a seed, so a failing case is reproduced by its seed alone:
 *
 *   const { graph, loss, leaves, feeds } = randomGraph(seed);
 *   assertGradients(loss, leaves, feeds);                  // symbolic vs finite differences
 *   compile(graph, ...) vs evaluate(outputs, feeds)        // compiler vs interpreter
 *
 * Every tensor in the pool has a shape that broadcasts to one random "frame" shape (rank 1 to 3), so any
 * two of them can be combined by a binary op. Ops are chosen knowing the current float64 values (the
 * builder evaluates each new node), so that values stay bounded (|v| <= `bound`), log/sqrt/reciprocal/div
 * and fractional powers only see operands >= 0.1 (else the operand is first mapped to a positive one), and
 * max never reduces over a near-tie. No kinked op (relu, abs, maximum, …) is used: gradients are
 * checkable by finite differences everywhere near the feeds.
 */
import {
  broadcastsTo,
  concat,
  crossEntropy,
  evaluate,
  Graph,
  linear,
  mseLoss,
  norm,
  reductionMap,
  Rng,
  type Tensor,
} from "adjoint";

export type OpFamily = "unary" | "binary" | "broadcast" | "reduce" | "matmul" | "layout" | "neural";

export const ALL_FAMILIES: readonly OpFamily[] = [
  "unary",
  "binary",
  "broadcast",
  "reduce",
  "matmul",
  "layout",
  "neural",
];

export interface RandomGraphOptions {
  /** The number of op steps is drawn in [1, maxOps] (default 8); a step may add a few nodes. */
  maxOps?: number;
  /** The number of differentiable leaves created up front is drawn in [1, maxLeaves] (default 3). */
  maxLeaves?: number;
  /** Dimensions are drawn in [1, maxDim] (default 3). */
  maxDim?: number;
  /** Which kinds of ops to use (default all). */
  families?: readonly OpFamily[];
  /** Keep every intermediate value within [-bound, bound] (default 30). */
  bound?: number;
}

export interface RandomGraph {
  graph: Graph;
  /** A scalar: Σ over the pool's sinks of sum(sink · C), C a fixed random constant of its shape. */
  loss: Tensor;
  /** Every leaf that requires grad (inputs created with requiresGrad, and params), in creation order. */
  leaves: Tensor[];
  /** Float64 feeds for every input (labels of crossEntropy are class indices). Params hold their values. */
  feeds: Record<string, Float64Array>;
  /** The op results the pool holds (intermediate tensors worth comparing), in creation order. */
  outputs: Tensor[];
  /** The shape every pool tensor broadcasts to. */
  frame: number[];
  seed: number;
  /** One line per step, for failure messages. */
  recipe: string[];
}

interface Entry {
  t: Tensor;
  values: Float64Array;
  maxAbs: number;
  min: number;
}

const SMOOTH_ANY = [
  "tanh",
  "sigmoid",
  "sin",
  "cos",
  "neg",
  "square",
  "exp",
  "softplus",
  "gelu",
  "pow2",
  "pow3",
];
const SMOOTH_POSITIVE = ["log", "sqrt", "reciprocal", "pow0.5", "pow-1.5", "pow1.5"];

export function randomGraph(seed: number, options: RandomGraphOptions = {}): RandomGraph {
  return new Builder(seed, options).build();
}

class Builder {
  private readonly rng: Rng;
  private readonly graph: Graph;
  private readonly frame: number[];
  private readonly pool: Entry[] = [];
  private readonly used = new Set<Tensor>();
  private readonly leaves: Tensor[] = [];
  private readonly feeds: Record<string, Float64Array> = {};
  private readonly recipe: string[] = [];
  private readonly bound: number;
  private readonly families: readonly OpFamily[];
  private names = 0;

  constructor(
    private readonly seed: number,
    private readonly options: RandomGraphOptions,
  ) {
    this.rng = new Rng(seed);
    this.graph = new Graph({ seed });
    this.bound = options.bound ?? 30;
    this.families = options.families ?? ALL_FAMILIES;
    if (this.families.length === 0) throw new Error("randomGraph: no op family to draw from");
    const maxDim = options.maxDim ?? 3;
    const rank = 1 + this.rng.int(3);
    this.frame = Array.from({ length: rank }, () => 1 + this.rng.int(maxDim));
    // A square frame now and then, so that pool tensors can multiply each other.
    if (rank >= 2 && this.rng.uniform() < 0.3) this.frame[rank - 2] = this.frame[rank - 1];
  }

  build(): RandomGraph {
    const nLeaves = 1 + this.rng.int(this.options.maxLeaves ?? 3);
    for (let i = 0; i < nLeaves; i++) this.addLeaf(this.subShape(), this.rng.uniform() < 0.5);
    if (this.rng.uniform() < 0.3) this.addData(this.subShape());

    const steps = 1 + this.rng.int(this.options.maxOps ?? 8);
    for (let s = 0; s < steps; s++) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const family = this.families[this.rng.int(this.families.length)];
        if (this.step(family)) break;
      }
    }

    // The loss reaches every sink (and through it every node of the pool).
    const g = this.graph;
    let loss: Tensor | null = null;
    for (const e of this.pool) {
      if (this.used.has(e.t)) continue;
      const c = Array.from({ length: e.t.size }, () => this.rng.uniformRange(-1, 1));
      const term = e.t.rank === 0 ? e.t.mul(c[0]) : e.t.mul(g.constant(c, e.t.shape)).sum();
      loss = loss ? loss.add(term) : term;
    }
    return {
      graph: g,
      loss: loss!,
      leaves: this.leaves,
      feeds: this.feeds,
      outputs: this.pool.filter((e) => e.t.role === "op").map((e) => e.t),
      frame: this.frame,
      seed: this.seed,
      recipe: this.recipe,
    };
  }

  // ---- shapes ----

  /** A shape that broadcasts to the frame: some trailing dims of it, each possibly 1. */
  private subShape(): number[] {
    const r = this.rng.int(this.frame.length + 1);
    return this.frame.slice(this.frame.length - r).map((d) => (this.rng.uniform() < 0.3 ? 1 : d));
  }

  private fits(shape: readonly number[]): boolean {
    const f = this.frame;
    if (shape.length > f.length) return false;
    return shape.every((d, i) => d === 1 || d === f[f.length - shape.length + i]);
  }

  // ---- leaves and entries ----

  private name(prefix: string): string {
    return `${prefix}${this.names++}`;
  }

  private addLeaf(shape: number[], asParam: boolean): Entry {
    const g = this.graph;
    let t: Tensor;
    if (asParam) {
      t = g.param(this.name("p"), shape, {
        init: (v, _s, r) => {
          for (let i = 0; i < v.length; i++) v[i] = r.uniformRange(-1, 1);
        },
      });
    } else {
      t = g.input(this.name("x"), shape, { requiresGrad: true });
      this.feeds[t.name!] = Float64Array.from({ length: t.size }, () => this.rng.uniformRange(-1, 1));
    }
    this.leaves.push(t);
    this.recipe.push(`${t.describe()}`);
    return this.push(t);
  }

  /** An input that does not require grad (data). */
  private addData(shape: number[]): Entry {
    const t = this.graph.input(this.name("d"), shape);
    this.feeds[t.name!] = Float64Array.from({ length: t.size }, () => this.rng.uniformRange(-1, 1));
    this.recipe.push(`${t.describe()} (no grad)`);
    return this.push(t);
  }

  /** A param used as a weight (not frame-shaped: not put in the pool). */
  private weight(shape: number[], scale: number): Tensor {
    const t = this.graph.param(this.name("w"), shape, {
      init: (v, _s, r) => {
        for (let i = 0; i < v.length; i++) v[i] = scale * r.uniformRange(-1, 1);
      },
    });
    this.leaves.push(t);
    return t;
  }

  private entry(t: Tensor): Entry {
    const values = evaluate(t, this.feeds);
    let maxAbs = 0;
    let min = Number.POSITIVE_INFINITY;
    for (const v of values) {
      if (!Number.isFinite(v))
        throw new Error(`randomGraph(${this.seed}): non-finite value in ${t.describe()}`);
      maxAbs = Math.max(maxAbs, Math.abs(v));
      min = Math.min(min, v);
    }
    return { t, values, maxAbs, min };
  }

  private push(t: Tensor): Entry {
    const e = this.entry(t);
    this.pool.push(e);
    return e;
  }

  private result(t: Tensor, what: string, ...operands: Entry[]): true {
    if (!this.fits(t.shape)) throw new Error(`randomGraph(${this.seed}): ${what} gave ${t.describe()}`);
    for (const o of operands) this.used.add(o.t);
    this.recipe.push(`${what} -> ${t.describe()}`);
    this.push(t);
    return true;
  }

  /** Half the time the newest tensor (deep chains), else any (fan-out, wide graphs). */
  private pick(): Entry {
    const p = this.pool;
    return this.rng.uniform() < 0.5 ? p[p.length - 1] : p[this.rng.int(p.length)];
  }

  private choose<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)];
  }

  /** A tensor >= 0.1 everywhere computed from `e` (e itself when it already is). */
  private positive(e: Entry): { t: Tensor; min: number; maxAbs: number; how: string } {
    if (e.min >= 0.1) return { t: e.t, min: e.min, maxAbs: e.maxAbs, how: "" };
    switch (this.rng.int(4)) {
      case 0:
        return { t: e.t.softplus().add(0.3), min: 0.3, maxAbs: e.maxAbs + 1.1, how: "softplus(·)+0.3 " };
      case 1:
        return { t: e.t.tanh().exp(), min: Math.exp(-1), maxAbs: Math.E, how: "exp(tanh(·)) " };
      case 2:
        return { t: e.t.square().add(0.5), min: 0.5, maxAbs: e.maxAbs ** 2 + 0.5, how: "(·)²+0.5 " };
      default:
        return { t: e.t.sigmoid().add(0.2), min: 0.2, maxAbs: 1.2, how: "sigmoid(·)+0.2 " };
    }
  }

  // ---- steps ----

  private step(family: OpFamily): boolean {
    switch (family) {
      case "unary":
        return this.unary();
      case "binary":
        return this.binary();
      case "broadcast":
        return this.broadcast();
      case "reduce":
        return this.reduce();
      case "matmul":
        return this.matmul();
      case "layout":
        return this.layout();
      case "neural":
        return this.neural();
    }
  }

  private unary(): boolean {
    const a = this.pick();
    const B = this.bound;
    const op = this.choose([...SMOOTH_ANY, ...SMOOTH_POSITIVE]);
    if (SMOOTH_POSITIVE.includes(op)) {
      const p = this.positive(a);
      const p1 = op.startsWith("pow") ? Number(op.slice(3)) : 0;
      const est =
        op === "reciprocal" ? 1 / p.min : op === "pow-1.5" ? p.min ** -1.5 : p.maxAbs ** Math.max(p1, 1);
      if (est > B) return false;
      const t =
        op === "log"
          ? p.t.log()
          : op === "sqrt"
            ? p.t.sqrt()
            : op === "reciprocal"
              ? p.t.reciprocal()
              : p.t.pow(p1);
      return this.result(t, `${op}(${p.how}${a.t.describe()})`, a);
    }
    const m = a.maxAbs;
    const est: Record<string, number> = {
      square: m * m,
      exp: Math.exp(m),
      pow2: m * m,
      pow3: m * m * m,
      softplus: m + 1,
    };
    if ((est[op] ?? m) > B) return false;
    let t: Tensor;
    switch (op) {
      case "tanh":
        t = a.t.tanh();
        break;
      case "sigmoid":
        t = a.t.sigmoid();
        break;
      case "sin":
        t = a.t.sin();
        break;
      case "cos":
        t = a.t.cos();
        break;
      case "neg":
        t = a.t.neg();
        break;
      case "square":
        t = a.t.square();
        break;
      case "exp":
        t = a.t.exp();
        break;
      case "softplus":
        t = a.t.softplus();
        break;
      case "gelu":
        t = a.t.gelu();
        break;
      case "pow2":
        t = a.t.pow(2);
        break;
      default:
        t = a.t.pow(3);
    }
    return this.result(t, `${op}(${a.t.describe()})`, a);
  }

  private binary(): boolean {
    const a = this.pick();
    const r = this.rng.uniform();
    // b: another pool tensor (maybe a itself: fan-out), a new leaf of another shape, or a plain number.
    const b: Entry =
      r < 0.6
        ? this.pick()
        : r < 0.85
          ? this.addLeaf(this.subShape(), this.rng.uniform() < 0.5)
          : this.numberEntry();
    const op = this.choose(["add", "sub", "mul", "div"]);
    const B = this.bound;
    const [x, y] = this.rng.uniform() < 0.5 ? [b, a] : [a, b];
    let t: Tensor;
    let what: string;
    if (op === "div") {
      const p = this.positive(y);
      if (x.maxAbs / p.min > B) return false;
      t = x.t.div(p.t);
      what = `div(${x.t.describe()}, ${p.how}${y.t.describe()})`;
    } else {
      const est = op === "mul" ? x.maxAbs * y.maxAbs : x.maxAbs + y.maxAbs;
      if (est > B) return false;
      t = op === "add" ? x.t.add(y.t) : op === "sub" ? x.t.sub(y.t) : x.t.mul(y.t);
      what = `${op}(${x.t.describe()}, ${y.t.describe()})`;
    }
    return this.result(t, what, x, y);
  }

  /** A scalar constant operand (lifted from a plain number by the op). */
  private numberEntry(): Entry {
    const v = Math.round(this.rng.uniformRange(-2, 2) * 100) / 100 || 0.5;
    const t = this.graph.scalar(v);
    return { t, values: Float64Array.of(v), maxAbs: Math.abs(v), min: v };
  }

  private broadcast(): boolean {
    const a = this.pick();
    const f = this.frame;
    const rank = a.t.rank + this.rng.int(f.length - a.t.rank + 1);
    const target = f.slice(f.length - rank).map((d, i) => {
      const j = i - (rank - a.t.rank);
      const ad = j >= 0 ? a.t.shape[j] : 1;
      return ad !== 1 ? ad : this.rng.uniform() < 0.7 ? d : 1;
    });
    return this.result(a.t.broadcastTo(target), `broadcastTo(${a.t.describe()}, [${target}])`, a);
  }

  private reduce(): boolean {
    const a = this.pick();
    const op = this.choose(["sum", "mean", "max", "logsumexp"]);
    const rank = a.t.rank;
    const useAxis = rank > 0 && this.rng.uniform() < 0.75;
    const axis = useAxis ? this.rng.int(rank) : null;
    const axisArg = axis !== null && this.rng.uniform() < 0.5 ? axis - rank : axis; // negative form
    const keepdims = this.rng.uniform() < 0.5;
    const axes = axis === null ? a.t.shape.map((_, i) => i) : [axis];
    const count = axes.reduce((n, i) => n * a.t.shape[i], 1);
    if (count === 0) return false;
    if (op === "sum" && a.maxAbs * count > this.bound) return false;
    if (op === "max" && !this.clearMax(a, axes)) return false;
    let t: Tensor =
      op === "sum"
        ? a.t.sum(axisArg, keepdims)
        : op === "mean"
          ? a.t.mean(axisArg, keepdims)
          : op === "max"
            ? a.t.max(axisArg, keepdims)
            : a.t.logsumexp(axisArg, keepdims);
    let what = `${op}(${a.t.describe()}, axis=${axisArg}, keepdims=${keepdims})`;
    if (!this.fits(t.shape)) {
      // A middle axis dropped: reshape to the keepdims form (sometimes with a -1).
      const kept = a.t.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const target = this.rng.uniform() < 0.5 ? kept : kept.map((d, i) => (i === 0 ? -1 : d));
      t = t.reshape(target);
      what += ` reshape [${target}]`;
    }
    return this.result(t, what, a);
  }

  /** Whether, in each group max reduces, the largest value beats every smaller one by 1e-3 (exact ties are structural copies). */
  private clearMax(a: Entry, axes: readonly number[]): boolean {
    const map = reductionMap(a.t.shape, axes);
    const groups = new Map<number, number[]>();
    map.forEach((o, i) => {
      const list = groups.get(o) ?? [];
      list.push(a.values[i]);
      groups.set(o, list);
    });
    for (const vs of groups.values()) {
      const top = Math.max(...vs);
      for (const v of vs) if (v !== top && top - v < 1e-3) return false;
    }
    return true;
  }

  private matmul(): boolean {
    const a = this.pick();
    const f = this.frame;
    if (a.t.rank < 2) return false;
    const [p, q] = a.t.shape.slice(-2);
    const n = f[f.length - 1];
    const B = this.bound;
    const mode = this.rng.int(3);
    if (mode === 0) {
      // a · c with c from the pool: [.., p, q] x [q, r] or batched.
      const candidates = this.pool.filter((c) => {
        if (c.t.rank < 2 || c.t.shape[c.t.rank - 2] !== q) return false;
        if (c.t.rank === 3 && a.t.rank === 3 && c.t.shape[0] !== a.t.shape[0]) return false;
        return this.fits([
          ...(c.t.rank === 3 ? [c.t.shape[0]] : a.t.rank === 3 ? [a.t.shape[0]] : []),
          p,
          c.t.shape[c.t.rank - 1],
        ]);
      });
      if (candidates.length === 0) return false;
      const c = this.choose(candidates);
      if (a.maxAbs * c.maxAbs * q > B) return false;
      return this.result(a.t.matmul(c.t), `matmul(${a.t.describe()}, ${c.t.describe()})`, a, c);
    }
    if (mode === 1) {
      // a · W, W a new weight [q, n] or batched [b, q, n].
      const batched = (a.t.rank === 3 || f.length === 3) && this.rng.uniform() < 0.5;
      const batch = a.t.rank === 3 ? a.t.shape[0] : f[0];
      const shape = batched ? [batch, q, n] : [q, n];
      if (a.maxAbs * q > B) return false;
      const W = this.weight(shape, 1);
      return this.result(a.t.matmul(W), `matmul(${a.t.describe()}, ${W.describe()})`, a);
    }
    // W · a, W a new weight [m, p]: the [m,k] x [b,k,n] form when a is batched.
    const m = f[f.length - 2];
    if (a.maxAbs * p > B) return false;
    const W = this.weight([m, p], 1);
    return this.result(W.matmul(a.t), `matmul(${W.describe()}, ${a.t.describe()})`, a);
  }

  private layout(): boolean {
    const a = this.pick();
    const kind = this.rng.int(4);
    const r = a.t.rank;
    if (kind === 0) {
      if (r < 2) return false;
      const s = [...a.t.shape];
      [s[r - 2], s[r - 1]] = [s[r - 1], s[r - 2]];
      if (!this.fits(s)) return false;
      return this.result(a.t.transpose(), `transpose(${a.t.describe()})`, a);
    }
    if (kind === 1) {
      if (r < 2) return false;
      const perm = this.rng.shuffle(a.t.shape.map((_, i) => i));
      const shape = perm.map((i) => a.t.shape[i]);
      if (!this.fits(shape)) return false;
      return this.result(a.t.permute(perm), `permute(${a.t.describe()}, [${perm}])`, a);
    }
    if (kind === 2) {
      // Flatten, scale each element differently, and restore the shape.
      const c = Array.from({ length: a.t.size }, () => this.rng.uniformRange(0.5, 1.5));
      const flat = a.t.reshape([-1]).mul(this.graph.constant(c, [a.t.size]));
      return this.result(flat.reshape(a.t.shape), `reshape(${a.t.describe()}, [-1]) · c, reshape back`, a);
    }
    // Split along an axis and concat the parts in the other order (slice + concat).
    const axes = a.t.shape.map((d, i) => (d >= 2 ? i : -1)).filter((i) => i >= 0);
    if (axes.length === 0) return false;
    const axis = this.choose(axes);
    const d = a.t.shape[axis];
    const k = 1 + this.rng.int(d - 1);
    const t = concat([a.t.slice(k, d, axis), a.t.slice(0, k, axis)], axis);
    return this.result(t, `concat(slice(${a.t.describe()}, ${k}, ${d}, ${axis}), slice(0, ${k}))`, a);
  }

  private neural(): boolean {
    const a = this.pick();
    const f = this.frame;
    const kind = this.rng.int(6);
    const r = a.t.rank;
    if (kind === 0 || kind === 1) {
      if (r === 0) return false;
      const axis = this.rng.int(r) - (this.rng.uniform() < 0.5 ? r : 0);
      const t = kind === 0 ? a.t.softmax(axis) : a.t.logSoftmax(axis);
      return this.result(t, `${kind === 0 ? "softmax" : "logSoftmax"}(${a.t.describe()}, ${axis})`, a);
    }
    if (kind === 2) {
      if (a.maxAbs < 0.05) return false; // keep away from norm's kink at 0
      return this.result(norm(a.t), `norm(${a.t.describe()})`, a);
    }
    if (kind === 3) {
      const b = this.pick();
      const [x, y] = this.rng.uniform() < 0.5 ? [a, b] : [b, a];
      // Same shapes: broadcast the smaller one to the other's shape first.
      const shape = [...(x.t.size >= y.t.size ? x.t.shape : y.t.shape)];
      if (!broadcastsTo(x.t.shape, shape) || !broadcastsTo(y.t.shape, shape)) return false;
      const reduction = this.rng.uniform() < 0.5 ? "mean" : "sum";
      const size = shape.reduce((n, d) => n * d, 1);
      if ((x.maxAbs + y.maxAbs) ** 2 * (reduction === "sum" ? size : 1) > this.bound) return false;
      const toShape = (t: Tensor) => (t.shape.join() === shape.join() ? t : t.broadcastTo(shape));
      const t = mseLoss(toShape(x.t), toShape(y.t), reduction);
      return this.result(t, `mseLoss(${x.t.describe()}, ${y.t.describe()}, ${reduction})`, x, y);
    }
    if (kind === 4) {
      // linear(a, W [n, q], b [n]).
      if (r < 2) return false;
      const q = a.t.shape[r - 1];
      const n = f[f.length - 1];
      if (a.maxAbs * q > this.bound) return false;
      const W = this.weight([n, q], 1);
      const bias = this.weight([n], 1);
      return this.result(
        linear(a.t, W, bias),
        `linear(${a.t.describe()}, ${W.describe()}, ${bias.describe()})`,
        a,
      );
    }
    // crossEntropy of [N,C] logits against class indices (a new input) or probabilities (a softmax).
    if (r !== 2) return false;
    const [n, c] = a.t.shape;
    if (this.rng.uniform() < 0.5) {
      const labels = this.graph.input(this.name("labels"), [n]);
      this.feeds[labels.name!] = Float64Array.from({ length: n }, () => this.rng.int(c));
      return this.result(crossEntropy(a.t, labels), `crossEntropy(${a.t.describe()}, class indices)`, a);
    }
    const b = this.pick();
    if (!broadcastsTo(b.t.shape, a.t.shape)) return false;
    const target = b.t.shape.join() === a.t.shape.join() ? b.t : b.t.broadcastTo(a.t.shape);
    const probs = target.softmax(1);
    return this.result(
      crossEntropy(a.t, probs),
      `crossEntropy(${a.t.describe()}, softmax(${b.t.describe()}))`,
      a,
      b,
    );
  }
}
