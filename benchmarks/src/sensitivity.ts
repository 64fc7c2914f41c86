/**
 * How precisely a workload's loss after the correctness steps can be compared at all: Adjoint's own
 * correctness steps rerun with the pixels of the fixed first batch moved by one float32 ulp (all of them
 * up, all down, every other one up: the size of the rounding differences between two systems, which touch
 * every value). The largest relative change of the last loss is the trajectory's resolution. On W3 it is
 * ~1e-7 (every system agrees to that); on W5 (LeNet-5, Adam) single pixels moved by one ulp moved the loss
 * of step 200 by up to 1% (0.26200 → 0.26458 and 0.26090; most pixels by 1e-6: a max pool's tie decided
 * the other way, then Adam) while step 50 stayed within 1e-7, so systems whose float32 sums run in
 * different orders (PyTorch on 1 and 2 threads among them) cannot agree there to 3 digits. correctness.ts
 * widens the late check to this resolution; the early check stays at 3 digits.
 */
import { correctnessSteps } from "./cases";
import { isSkip, type System } from "./systems/types";
import type { LossSensitivity, Settings, TrainCase } from "./types";
import type { Workload } from "./workloads";

/** The perturbations: every pixel one ulp up, every pixel one ulp down, every other pixel one ulp up. */
export const PERTURBATIONS: ReadonlyArray<{ name: string; apply: (x: Float32Array) => Float32Array }> = [
  { name: "every pixel +1 ulp", apply: (x) => x.map((v) => oneUlp(v, +1)) },
  { name: "every pixel −1 ulp", apply: (x) => x.map((v) => oneUlp(v, -1)) },
  { name: "even pixels +1 ulp", apply: (x) => x.map((v, i) => (i % 2 === 0 ? oneUlp(v, +1) : v)) },
];

/** The next float32 up (+1) or down (−1) from v. */
export function oneUlp(v: number, direction: 1 | -1): number {
  const f = new Float32Array([v]);
  if (f[0] === 0) return direction * 2 ** -149;
  const bits = new Int32Array(f.buffer);
  bits[0]! += f[0]! > 0 === direction > 0 ? 1 : -1;
  return f[0]!;
}

/** The late loss of `system`'s correctness steps on `w` (its first step on w.x, then the stream). */
async function lateLoss(system: System, w: Workload, s: Settings): Promise<number | undefined> {
  const r = await system.setup(w);
  if (isSkip(r)) return undefined;
  try {
    await r.step();
    const c = { system: system.name, workload: w.id, status: "ok" } as TrainCase;
    await correctnessSteps(c, r, w, { ...s, correctnessMaxMs: 0 });
    return c.checkLoss;
  } finally {
    await r.dispose?.();
  }
}

/** Reruns of `system`'s correctness steps with each of PERTURBATIONS applied to w.x. */
export async function lossSensitivity(
  system: System,
  w: Workload,
  s: Settings,
): Promise<LossSensitivity | null> {
  const base = await lateLoss(system, w, s);
  if (base === undefined || !Number.isFinite(base)) return null;
  const perturbed: LossSensitivity["perturbed"] = [];
  for (const p of PERTURBATIONS) {
    const loss = await lateLoss(system, { ...w, x: p.apply(w.x) }, s);
    if (loss !== undefined) perturbed.push({ perturbation: p.name, loss });
  }
  const spread = Math.max(0, ...perturbed.map((p) => Math.abs(p.loss - base) / Math.abs(base)));
  return { base, perturbed, spread };
}
