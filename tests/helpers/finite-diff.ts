/**
 * Central finite differences in float64 over the reference interpreter, to check symbolic gradients.
 *
 *   const report = checkGradients(loss, [x, W], feeds);        // never throws on a mismatch
 *   expect(report.ok, report.message).toBe(true);
 *   assertGradients(loss, [x, W], feeds, { rtol: 1e-6 });       // throws report.message on a mismatch
 *
 * A leaf's value comes from `feeds` if it is fed there, else (params and buffers) from its stored
 * float32 `.value`. Each element of each leaf in `wrt` is perturbed by ±h and the scalar loss evaluated
 * in float64: numeric[i] = (f(x + h·e_i) − f(x − h·e_i)) / 2h. An element passes when
 *
 *   |symbolic − numeric| <= atol + rtol·max(|symbolic|, |numeric|) + noise,
 *   noise = 64·ε·max(1, |f(x)|) / h       (the rounding floor of the difference quotient itself).
 */
import { evaluate, type Feeds, type Graph, grad, Rng, type Tensor } from "adjoint";

export interface FiniteDiffOptions {
  /** The step (default 1e-6). */
  h?: number;
}

export interface GradCheckOptions extends FiniteDiffOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-7). */
  atol?: number;
  /** Symbolic gradients to check, one per `wrt` leaf (default: `grad(loss, wrt)`, which adds nodes to the graph). */
  grads?: readonly Tensor[];
}

export interface Mismatch {
  leaf: string;
  index: number;
  symbolic: number;
  numeric: number;
  error: number;
  allowed: number;
}

export interface GradCheckReport {
  ok: boolean;
  /** The symbolic gradients, evaluated by the interpreter, one per `wrt` leaf. */
  symbolic: Float64Array[];
  /** The central finite differences, one per `wrt` leaf. */
  numeric: Float64Array[];
  /** The loss at the unperturbed feeds. */
  value: number;
  maxAbsError: number;
  /** Every element that failed its tolerance (empty when ok). */
  mismatches: Mismatch[];
  /** A human-readable summary (the first mismatches and the largest error), for assertion messages. */
  message: string;
}

const LEAF_ROLES = new Set(["input", "param", "state"]);

function label(t: Tensor): string {
  return t.name ? `"${t.name}" ${t.describe()}` : t.describe();
}

/** The float64 value a leaf has under `feeds`: the feed if there is one, else its stored value. */
export function leafValue(leaf: Tensor, feeds: Feeds): Float64Array {
  if (!LEAF_ROLES.has(leaf.role)) {
    throw new Error(
      `finite-diff: ${label(leaf)} is not a leaf (input, param or buffer): it cannot be perturbed`,
    );
  }
  const name = leaf.name!;
  if (name in feeds) return Float64Array.from(feeds[name]);
  if (leaf.role === "input") throw new Error(`finite-diff: no feed for input ${label(leaf)}`);
  return Float64Array.from(leaf.value);
}

/** The loss (a one-element tensor) evaluated in float64. */
export function evaluateScalar(loss: Tensor, feeds: Feeds): number {
  if (loss.size !== 1) {
    throw new Error(`finite-diff: the loss must have one element, got ${loss.describe()} (reduce it first)`);
  }
  return evaluate(loss, feeds)[0];
}

/** Central finite differences of a scalar loss with respect to every element of one leaf. */
export function numericGradient(
  loss: Tensor,
  leaf: Tensor,
  feeds: Feeds,
  options: FiniteDiffOptions = {},
): Float64Array {
  const h = options.h ?? 1e-6;
  const base = leafValue(leaf, feeds);
  const name = leaf.name!;
  const out = new Float64Array(base.length);
  const perturbed = Float64Array.from(base);
  const at = { ...feeds, [name]: perturbed };
  for (let i = 0; i < base.length; i++) {
    perturbed[i] = base[i] + h;
    const plus = evaluateScalar(loss, at);
    perturbed[i] = base[i] - h;
    const minus = evaluateScalar(loss, at);
    perturbed[i] = base[i];
    out[i] = (plus - minus) / (2 * h);
  }
  return out;
}

export function numericGradients(
  loss: Tensor,
  wrt: readonly Tensor[],
  feeds: Feeds,
  options: FiniteDiffOptions = {},
): Float64Array[] {
  return wrt.map((leaf) => numericGradient(loss, leaf, feeds, options));
}

/**
 * Compares symbolic gradients (computed any way: the interpreter, a compiled kernel) with numeric ones.
 * `value` is the loss at the unperturbed point (it sets the rounding floor of the difference quotient).
 */
export function compareGradients(
  symbolic: readonly ArrayLike<number>[],
  numeric: readonly Float64Array[],
  names: readonly string[],
  options: Omit<GradCheckOptions, "grads"> & { value?: number } = {},
): Omit<GradCheckReport, "symbolic" | "numeric" | "value"> {
  const h = options.h ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-7;
  const noise = (64 * Number.EPSILON * Math.max(1, Math.abs(options.value ?? 0))) / h;
  const mismatches: Mismatch[] = [];
  let maxAbsError = 0;
  numeric.forEach((num, k) => {
    const sym = symbolic[k];
    if (sym.length !== num.length) {
      throw new Error(
        `finite-diff: gradient ${k} (${names[k]}) has ${sym.length} values, its leaf ${num.length}`,
      );
    }
    for (let i = 0; i < num.length; i++) {
      const s = sym[i];
      const n = num[i];
      const error = Math.abs(s - n);
      const allowed = atol + rtol * Math.max(Math.abs(s), Math.abs(n)) + noise;
      if (!(error <= allowed))
        mismatches.push({ leaf: names[k], index: i, symbolic: s, numeric: n, error, allowed });
      maxAbsError = Math.max(maxAbsError, error); // NaN stays NaN
    }
  });
  const ok = mismatches.length === 0;
  const lines = mismatches
    .slice(0, 8)
    .map(
      (m) =>
        `  ${m.leaf}[${m.index}]: symbolic ${m.symbolic} vs numeric ${m.numeric} (|error| ${m.error.toExponential(2)} > allowed ${m.allowed.toExponential(2)})`,
    );
  const message = ok
    ? `gradients match finite differences (max |error| ${maxAbsError.toExponential(2)})`
    : `${mismatches.length} gradient element(s) differ from central finite differences (h=${h}, rtol=${rtol}, atol=${atol}):\n${lines.join("\n")}${mismatches.length > 8 ? "\n  …" : ""}`;
  return { ok, maxAbsError, mismatches, message };
}

/** Symbolic gradients of `loss` w.r.t. the leaves `wrt`, checked against central finite differences. */
export function checkGradients(
  loss: Tensor,
  wrt: readonly Tensor[],
  feeds: Feeds,
  options: GradCheckOptions = {},
): GradCheckReport {
  if (loss.size !== 1) {
    throw new Error(`finite-diff: the loss must have one element, got ${loss.describe()} (reduce it first)`);
  }
  for (const leaf of wrt) leafValue(leaf, feeds); // a clear error for a non-leaf or an unfed input
  const grads = options.grads ?? grad(loss, wrt);
  if (grads.length !== wrt.length) throw new Error("finite-diff: one symbolic gradient per leaf is needed");
  const symbolic = grads.length > 0 ? evaluate(grads, feeds) : [];
  const numeric = numericGradients(loss, wrt, feeds, options);
  const value = evaluateScalar(loss, feeds);
  const names = wrt.map(label);
  return { symbolic, numeric, value, ...compareGradients(symbolic, numeric, names, { ...options, value }) };
}

/** checkGradients, throwing its message when some element does not match. */
export function assertGradients(
  loss: Tensor,
  wrt: readonly Tensor[],
  feeds: Feeds,
  options: GradCheckOptions = {},
): GradCheckReport {
  const report = checkGradients(loss, wrt, feeds, options);
  if (!report.ok) throw new Error(report.message);
  return report;
}

export interface RandomFeedOptions {
  /** Values are uniform in [low, high) (default [-1, 1)). */
  low?: number;
  high?: number;
  /** Keep every value at least this far from 0 (away from the kinks of relu, abs, …). Default 0. */
  minAbs?: number;
  /** Also feed every param (float64 values drawn the same way), so that gradients w.r.t. them can be checked at arbitrary points. Default false. */
  params?: boolean;
}

/**
 * Random float64 feeds for every input of a graph (and, with `params: true`, every param). An input that
 * crossEntropy declared to hold class indices gets whole numbers in [0, classes).
 */
export function randomFeeds(
  graph: Graph,
  rng: Rng | number,
  options: RandomFeedOptions = {},
): Record<string, Float64Array> {
  const r = typeof rng === "number" ? new Rng(rng) : rng;
  const low = options.low ?? -1;
  const high = options.high ?? 1;
  const minAbs = options.minAbs ?? 0;
  if (!(high > low)) throw new Error(`randomFeeds: empty range [${low}, ${high})`);
  if (minAbs > 0 && Math.max(Math.abs(low), Math.abs(high)) <= minAbs) {
    throw new Error(`randomFeeds: no value of [${low}, ${high}) is at least ${minAbs} from 0`);
  }
  const draw = () => {
    for (;;) {
      const v = r.uniformRange(low, high);
      if (Math.abs(v) >= minAbs) return v;
    }
  };
  const feeds: Record<string, Float64Array> = {};
  const leaves = options.params ? [...graph.inputs, ...graph.params] : graph.inputs;
  for (const leaf of leaves) {
    const classes = graph.classIndexInputs.get(leaf)?.classes;
    const v = new Float64Array(leaf.size);
    for (let i = 0; i < v.length; i++) v[i] = classes === undefined ? draw() : r.int(classes);
    feeds[leaf.name!] = v;
  }
  return feeds;
}
