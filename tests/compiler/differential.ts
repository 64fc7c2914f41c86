/**
 * Differential testing of compiled kernels against the float64 reference interpreter.
 *
 *   const c = new CaseBuilder(seed);
 *   const x = c.x("x", [3, 4]);                 // an input that requires grad, fed random values
 *   const report = differential(c, x.tanh());   // forward and gradients, under every compile config
 *   expect(report.failures, report.message).toEqual([]);
 *
 * For a forward output y, the scalar loss is Σ y·C (C a fixed random constant of y's shape, so every
 * element of y reaches the gradients with a different weight, and the cotangent of y is computed data,
 * not the constant 1: grad of a plain sum is tested separately) and the gradients are grad(loss, leaves).
 * The kernel computing { y, loss, d_<leaf>... } is compiled under each CONFIG, run on the feeds rounded
 * to float32, and compared element by element with evaluate() on the same float32 feeds (the params are
 * the same float32 storage for both):
 *
 *   |compiled − reference| <= rtol · (|reference| + max|reference over the tensor|) + atol
 *
 * i.e. a float32 tolerance relative to the element and to the magnitude of its tensor (the floor that
 * rounding of the tensor's larger elements, or of a sum over them, sets). atol is 0 unless a test sets
 * it: a tensor that is exactly 0 in float64 by cancellation (d(x/x)/dx = 1/x − x/x²) is a few ulps of
 * its terms in float32, and its own magnitude says nothing about theirs.
 */
import { type CompileOptions, compile, evaluate, Graph, grad, type Kernel, Rng, type Tensor } from "adjoint";

/** float32 carries 24 bits: unit roundoff 2^-24 ≈ 6e-8. The default allows ~1700 roundoffs of error. */
export const FLOAT32_RTOL = 1e-4;

export interface Config {
  name: string;
  options: CompileOptions;
}

/**
 * Every differential case runs under each of these. The default renders large enough matmuls as
 * generated WebAssembly; "wasm off" keeps the JS matmul loops under test too.
 */
export const CONFIGS: readonly Config[] = [
  { name: "default (fusion on)", options: {} },
  { name: "fusion off", options: { passes: { fusion: false } } },
  { name: "simplify and cse off", options: { passes: { simplify: false, cse: false } } },
  { name: "wasm off (JS matmul)", options: { wasm: false } },
];

export interface LeafOptions {
  low?: number;
  high?: number;
  /** Keep every value at least this far from 0 (away from the kinks of relu, abs, sign). */
  minAbs?: number;
  /** Explicit values instead of random ones. */
  values?: ArrayLike<number>;
}

/** A graph with its leaves and float32 feeds, built up by a test. */
export class CaseBuilder {
  readonly graph: Graph;
  readonly rng: Rng;
  /** Leaves to differentiate with respect to (inputs with requiresGrad and params). */
  readonly leaves: Tensor[] = [];
  readonly feeds: Record<string, Float32Array> = {};

  constructor(readonly seed = 1) {
    this.graph = new Graph({ seed });
    this.rng = new Rng(seed);
  }

  values(n: number, o: LeafOptions = {}): Float32Array {
    if (o.values) {
      if (o.values.length !== n) throw new Error(`CaseBuilder: ${o.values.length} values given, ${n} needed`);
      return Float32Array.from(o.values);
    }
    const low = o.low ?? -1;
    const high = o.high ?? 1;
    const minAbs = o.minAbs ?? 0;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let x: number;
      do x = this.rng.uniformRange(low, high);
      while (Math.abs(x) < minAbs);
      v[i] = x;
    }
    return v;
  }

  /** An input that requires grad. */
  x(name: string, shape: number[], o: LeafOptions = {}): Tensor {
    const t = this.graph.input(name, shape, { requiresGrad: true });
    this.feeds[name] = this.values(t.size, o);
    this.leaves.push(t);
    return t;
  }

  /** An input that does not require grad (data, labels). */
  data(name: string, shape: number[], o: LeafOptions = {}): Tensor {
    const t = this.graph.input(name, shape);
    this.feeds[name] = this.values(t.size, o);
    return t;
  }

  /** A trainable param with random values. */
  param(name: string, shape: number[], o: LeafOptions = {}): Tensor {
    const init = this.values(shape.reduce((a, b) => a * b, 1), o);
    const t = this.graph.param(name, shape, { init: (v) => v.set(init) });
    this.leaves.push(t);
    return t;
  }
}

export interface DiffOptions {
  rtol?: number;
  /** An absolute floor added to the allowed error (default 0); see compareArray. */
  atol?: number;
  /** Some gradient may be identically zero (default false: an all-zero reference gradient is an error, as it would make the comparison vacuous). */
  allowZeroGradient?: boolean;
  /** Compile configurations (default CONFIGS). */
  configs?: readonly Config[];
  /** Extra compile options merged into each config (e.g. cache: false). */
  extra?: CompileOptions;
}

export interface Failure {
  config: string;
  output: string;
  index: number;
  compiled: number;
  reference: number;
  allowed: number;
}

export interface DiffReport {
  failures: Failure[];
  /** max over outputs and configs of |compiled − reference| / allowed (below 1 when everything passes). */
  worst: number;
  /** Elements compared (over all outputs and configs). */
  compared: number;
  message: string;
  kernels: Kernel[];
  expected: Record<string, Float64Array>;
}

/** Round-trips feeds through float32 (what a kernel's inputs hold). */
export function float32Feeds(feeds: Record<string, ArrayLike<number>>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, Float32Array.from(v)]));
}

/** Compares one compiled array with its float64 reference; pushes failures, returns the worst error/allowed (< 1: all pass). */
export function compareArray(
  compiled: ArrayLike<number>,
  reference: ArrayLike<number>,
  rtol: number,
  push: (index: number, compiled: number, reference: number, allowed: number) => void,
  atol = 0,
): number {
  if (compiled.length !== reference.length) {
    push(-1, compiled.length, reference.length, 0);
    return Number.POSITIVE_INFINITY;
  }
  let scale = 0;
  for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]));
  let worst = 0;
  for (let i = 0; i < reference.length; i++) {
    const c = compiled[i];
    const r = reference[i];
    const denom = Math.abs(r) + scale;
    const err = Math.abs(c - r);
    const allowed = rtol * denom + atol;
    if (!(err <= allowed)) push(i, c, r, allowed);
    const ratio = allowed === 0 ? (err === 0 ? 0 : Number.POSITIVE_INFINITY) : err / allowed;
    worst = Math.max(worst, Number.isNaN(ratio) ? Number.POSITIVE_INFINITY : ratio);
  }
  return worst;
}

/** Compiles named outputs under each config and compares them with evaluate() on the same feeds. */
export function compareOutputs(
  outputs: Record<string, Tensor>,
  feeds: Record<string, ArrayLike<number>>,
  options: DiffOptions = {},
): DiffReport {
  const rtol = options.rtol ?? FLOAT32_RTOL;
  const atol = options.atol ?? 0;
  const f32 = float32Feeds(feeds);
  const graph = Object.values(outputs)[0].graph;
  const fed = Object.fromEntries(Object.entries(f32).filter(([k]) => graph.has(k)));
  const expected = evaluate(outputs, fed);
  const failures: Failure[] = [];
  const kernels: Kernel[] = [];
  let worst = 0;
  let compared = 0;
  for (const config of options.configs ?? CONFIGS) {
    const k = compile(outputs, { ...config.options, ...options.extra });
    kernels.push(k);
    const mine = Object.fromEntries(Object.entries(fed).filter(([name]) => name in k.inputs));
    k.run(mine);
    for (const name of Object.keys(outputs)) {
      const w = compareArray(k.outputs[name], expected[name], rtol, (index, compiled, reference, allowed) =>
        failures.push({ config: config.name, output: name, index, compiled, reference, allowed }),
        atol,
      );
      worst = Math.max(worst, w);
      compared += expected[name].length;
    }
  }
  const lines = failures
    .slice(0, 12)
    .map(
      (f) =>
        `  [${f.config}] ${f.output}[${f.index}]: compiled ${f.compiled} vs reference ${f.reference} (allowed ±${f.allowed.toExponential(2)})`,
    );
  const message =
    failures.length === 0
      ? `all outputs within rtol ${rtol}, atol ${atol} (worst error/allowed ${worst.toExponential(2)})`
      : `${failures.length} element(s) differ (rtol ${rtol}, atol ${atol}):\n${lines.join("\n")}${failures.length > 12 ? "\n  …" : ""}`;
  return { failures, worst, compared, message, kernels, expected };
}

/**
 * Forward output y and the gradients of Σ y·C with respect to the builder's leaves: compiled (each config)
 * vs the interpreter.
 */
export function differential(c: CaseBuilder, y: Tensor, options: DiffOptions = {}): DiffReport {
  const g = c.graph;
  const weights = new Rng(c.seed ^ 0x9e3779b9);
  const loss = y.mul(g.constant(Array.from({ length: y.size }, () => weights.uniformRange(-1, 1)), y.shape)).sum();
  const outputs: Record<string, Tensor> = { y, loss };
  const grads = c.leaves.length > 0 ? grad(loss, c.leaves) : [];
  c.leaves.forEach((leaf, i) => {
    outputs[`d_${leaf.name}`] = grads[i];
  });
  const report = compareOutputs(outputs, c.feeds, options);
  if (!options.allowZeroGradient) {
    for (const leaf of c.leaves) {
      const ref = report.expected[`d_${leaf.name}`];
      if (!ref.some((v) => v !== 0)) {
        report.failures.push({
          config: "(reference)",
          output: `d_${leaf.name}`,
          index: -1,
          compiled: Number.NaN,
          reference: 0,
          allowed: 0,
        });
        report.message += `\n  the reference gradient d_${leaf.name} is all zeros: the comparison would be vacuous`;
      }
    }
  }
  return report;
}
