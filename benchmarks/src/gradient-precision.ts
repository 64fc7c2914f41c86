/**
 * How accurate each system's float32 gradient is: the gradient of W5's loss at the workload's
 * start, from Adjoint's compiled step and from jax-js, against Adjoint's float64 interpreter; per
 * parameter, max |g − g64| / max |g64|. It explains the correctness table's late losses (README): Adam
 * turns gradient noise into whole steps on the parameters whose gradients are small, so a system whose
 * gradients carry 10× the rounding drifts further from the others over 200 steps.
 *
 *   npx tsx benchmarks/src/gradient-precision.ts
 *
 * Measured on the 2-core AMD EPYC (family 26, Zen 5), W5: Adjoint 3.5e-7 (c1.w), 4.3e-7 (c2.w), ≤ 5.4e-7 for the dense
 * layers; jax-js 4.9e-6 (c1.w), 2.1e-6 (c2.w), ≤ 5.1e-7 for the dense layers.
 */
import { compile, crossEntropy, evaluate, grad } from "adjoint";
import { buildNet } from "./systems/adjoint";
import { initParams, loadJax, makeForward } from "./systems/jax-js";
import { inputShape, buildWorkloads } from "./workloads";

const [w] = buildWorkloads([process.argv[2] ?? "W5"]);
// jax-js's MLP parameters are in another order and layout (kernels [in, out] first): LeNet's are Adjoint's.
if (w.arch !== "lenet5") throw new Error("gradient-precision: W5 only (LeNet-5)");
const { g, logits, params } = buildNet(w);
const y = g.input("y", [w.batch]);
const grads = grad(crossEntropy(logits, y), params);
const named = Object.fromEntries(grads.map((t, i) => [`g${i}`, t]));
const f64 = evaluate(named, { x: w.x, y: w.labels! }) as Record<string, Float64Array>;

const kernel = compile(named);
kernel.inputs.x.set(w.x);
kernel.inputs.y.set(w.labels!);
kernel.run();

const jax = await loadJax();
if ("skipped" in jax) throw new Error(jax.reason);
const { numpy: np, nn } = jax;
const forward = makeForward(jax, w);
const lossFn = (p: JaxArr[], x: JaxArr, t: JaxArr) =>
  nn
    .logSoftmax(forward(p, x))
    .mul(t)
    .sum()
    .mul(-1 / w.batch);
type JaxArr = ReturnType<typeof np.array>;
const jaxGrads = jax.jit(jax.grad(lossFn))(
  initParams(jax, w),
  np.array(w.x).reshape(inputShape(w)),
  nn.oneHot(np.array(w.labels!, { dtype: np.int32 }), 10),
) as JaxArr[];

function relError(a: ArrayLike<number>, ref: Float64Array): string {
  let max = 0;
  let diff = 0;
  for (let i = 0; i < ref.length; i++) {
    max = Math.max(max, Math.abs(ref[i]));
    diff = Math.max(diff, Math.abs(a[i] - ref[i]));
  }
  return (diff / max).toExponential(1);
}

console.log(`${w.id}: max |g − g64| / max |g64| per parameter (g64: Adjoint's float64 interpreter)`);
for (let i = 0; i < grads.length; i++) {
  const jd = (await jaxGrads[i].data()) as Float32Array;
  console.log(
    `  ${(params[i].name ?? `p${i}`).padEnd(5)} adjoint ${relError(kernel.outputs[`g${i}`], f64[`g${i}`])}  jax-js ${relError(jd, f64[`g${i}`])}`,
  );
}
