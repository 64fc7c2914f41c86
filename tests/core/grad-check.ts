/**
 * Shared by the gradient suites: builds a small graph over fed inputs, reduces a non-scalar output with
 * fixed random weights (so each output element gets a different cotangent), and compares the symbolic
 * gradients with central finite differences of the float64 interpreter.
 */
import { Graph, grad, Rng, type Tensor } from "adjoint";
import { assertGradients, type GradCheckOptions, type GradCheckReport } from "../helpers/finite-diff";

export interface InputSpec {
  shape: number[];
  /** Fixed values; else uniform in [low, high) (default [-1, 1)), at least `minAbs` from 0. */
  values?: number[];
  low?: number;
  high?: number;
  minAbs?: number;
  /** Default true. */
  requiresGrad?: boolean;
}

/** An input of this shape, with these value options: X([2, 3], { low: 0.2 }). */
export const X = (shape: number[], extra: Partial<InputSpec> = {}): InputSpec => ({ shape, ...extra });

export interface Built {
  g: Graph;
  xs: Record<string, Tensor>;
  /** The leaves differentiated (the inputs that require grad). */
  wrt: Tensor[];
  feeds: Record<string, Float64Array>;
  /** The scalar: y itself, or sum(y · C). */
  loss: Tensor;
  y: Tensor;
}

/** Builds `f` over fed inputs and a scalar loss Σ y·C (C a fixed random constant, one per element). */
export function build(
  inputs: Record<string, InputSpec>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
  seed = 1,
): Built {
  const g = new Graph();
  const rng = new Rng(seed);
  const xs: Record<string, Tensor> = {};
  const feeds: Record<string, Float64Array> = {};
  const wrt: Tensor[] = [];
  for (const [name, spec] of Object.entries(inputs)) {
    const requiresGrad = spec.requiresGrad ?? true;
    const t = g.input(name, spec.shape, { requiresGrad });
    xs[name] = t;
    if (requiresGrad) wrt.push(t);
    const n = t.size;
    if (spec.values) {
      if (spec.values.length !== n) throw new Error(`build: ${name} needs ${n} values`);
      feeds[name] = Float64Array.from(spec.values);
    } else {
      const low = spec.low ?? -1;
      const high = spec.high ?? 1;
      const minAbs = spec.minAbs ?? 0;
      feeds[name] = Float64Array.from({ length: n }, () => {
        for (;;) {
          const v = rng.uniformRange(low, high);
          if (Math.abs(v) >= minAbs) return v;
        }
      });
    }
  }
  const y = f(xs, g);
  const loss =
    y.size === 1 && y.rank === 0
      ? y
      : y
          .mul(
            g.constant(
              Array.from({ length: y.size }, () => rng.uniformRange(-1, 1)),
              y.shape,
            ),
          )
          .sum();
  return { g, xs, wrt, feeds, loss, y };
}

/** build + assertGradients (throws a detailed message on a mismatch). */
export function gradCheck(
  inputs: Record<string, InputSpec>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
  options: GradCheckOptions & { seed?: number } = {},
): GradCheckReport & Built {
  const b = build(inputs, f, options.seed);
  const report = assertGradients(b.loss, b.wrt, b.feeds, options);
  return { ...b, ...report };
}

/**
 * Second order: with the first gradients g_i = ∂loss/∂x_i and fixed random v_i, loss2 = Σ_i sum(g_i · v_i);
 * grad(loss2, xs) (a gradient of a gradient) must match finite differences of loss2 (of the first
 * gradients' dot with v, evaluated by the interpreter).
 */
export function secondOrderCheck(
  inputs: Record<string, InputSpec>,
  f: (xs: Record<string, Tensor>, g: Graph) => Tensor,
  options: GradCheckOptions & { seed?: number } = {},
): GradCheckReport & Built & { loss2: Tensor; first: Tensor[] } {
  const b = build(inputs, f, options.seed);
  const first = grad(b.loss, b.wrt);
  const rng = new Rng(1000 + (options.seed ?? 1));
  let loss2: Tensor | null = null;
  for (const gi of first) {
    const v = b.g.constant(
      Array.from({ length: gi.size }, () => rng.uniformRange(-1, 1)),
      gi.shape,
    );
    const term = gi.mul(v).sum();
    loss2 = loss2 ? loss2.add(term) : term;
  }
  if (!loss2?.requiresGrad) {
    throw new Error("secondOrderCheck: the first gradient does not depend on the inputs (a linear function)");
  }
  const report = assertGradients(loss2, b.wrt, b.feeds, options);
  return { ...b, ...report, loss2, first };
}
