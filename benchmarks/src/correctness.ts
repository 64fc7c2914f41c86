/**
 * The correctness checks: every system's first-step loss, and its losses of steps `correctnessEarlySteps`
 * and `correctnessSteps` of a correctness workload (trained on the stream's distinct batches, stream.ts),
 * must agree with the median of all systems to 3 significant digits (the late one: or to the trajectory's
 * resolution, where one-ulp changes of the input move it more, sensitivity.ts); every forward pass's logits must
 * match handwritten-js's. A disagreement is a problem of the run (exit code 1), except a peer's loss after
 * the stream steps, which is a note (checkLossAfterSteps).
 */
import { median } from "./stats";
import type {
  CorrectnessRow,
  CorrectnessTable,
  InferCase,
  LossSensitivity,
  Settings,
  TrainCase,
} from "./types";

/** True when `a` equals `ref` to 3 significant digits (within half a unit of ref's 3rd digit). */
export function agree3(a: number, ref: number): boolean {
  if (!Number.isFinite(a) || !Number.isFinite(ref)) return false;
  if (ref === 0) return Math.abs(a) < 1e-12;
  const e = Math.floor(Math.log10(Math.abs(ref)));
  return Math.abs(a - ref) <= 0.5 * 10 ** (e - 2) * (1 + 1e-9);
}

/**
 * Each loss against the median: equal to 3 significant digits, or within `resolution` (relative) of it,
 * the trajectory's own resolution where that is coarser (sensitivity.ts).
 */
function agreement(
  values: { system: string; loss: number }[],
  resolution = 0,
): {
  reference: number | null;
  rows: CorrectnessRow[];
} {
  const finite = values.filter((v) => Number.isFinite(v.loss)).map((v) => v.loss);
  const reference = finite.length ? median(finite) : null;
  const close = (loss: number) =>
    reference !== null &&
    (agree3(loss, reference) ||
      (Number.isFinite(loss) && Math.abs(loss - reference) <= resolution * Math.abs(reference)));
  return {
    reference,
    rows: values.map((v) => ({ system: v.system, loss: v.loss, agrees: close(v.loss) })),
  };
}

/** The first-step losses of one workload's cases, each marked as agreeing or not. */
export function checkFirstLosses(workload: string, cases: TrainCase[], problems: string[]): CorrectnessRow[] {
  const first = agreement(
    cases.filter((c) => c.firstLoss !== undefined).map((c) => ({ system: c.system, loss: c.firstLoss! })),
  );
  for (const r of first.rows)
    if (!r.agrees)
      problems.push(
        `${workload}: ${r.system}'s first-step loss ${r.loss} disagrees (median ${first.reference})`,
      );
  return first.rows.map((r) => ({ system: r.system, loss: r.loss, agrees: r.agrees }));
}

/** Adjoint's own systems (adjoint, adjoint-2t, …): their disagreements are problems of the run. */
export function isAdjoint(system: string): boolean {
  return system === "adjoint" || system.startsWith("adjoint-");
}

/**
 * The losses of one step of `workload`'s correctness steps (null when no case got that far): "early" is
 * step `s.correctnessEarlySteps`, "late" step `s.correctnessSteps`; each must agree with the median to 3
 * significant digits. A disagreeing Adjoint is a problem of the run (exit code 1); a disagreeing peer is a
 * note of the report (peers' float32 roundings differ from each other's, and Adam compounds the
 * differences: jax-js's conv gradients carry 10× Adjoint's rounding error, gradient-precision.ts).
 */
export function checkLossAfterSteps(
  workload: string,
  which: "early" | "late",
  train: TrainCase[],
  s: Settings,
  log: (line: string) => void,
  problems: string[],
  notes: string[],
  sensitivity?: LossSensitivity | null,
): CorrectnessTable | null {
  const steps = which === "early" ? s.correctnessEarlySteps : s.correctnessSteps;
  // The late loss is compared to the trajectory's resolution where that is coarser than 3 digits.
  const resolution = which === "late" ? (sensitivity?.spread ?? 0) : 0;
  const lossOf = (c: TrainCase) => (which === "early" ? c.earlyLoss : c.checkLoss);
  const mine = train.filter((c) => c.workload === workload);
  const cases = mine.filter((c) => lossOf(c) !== undefined);
  if (!cases.length) return null;
  const a = agreement(
    cases.map((c) => ({ system: c.system, loss: lossOf(c)! })),
    resolution,
  );
  const notRun = mine
    .filter((c) => c.checkSkipped !== undefined)
    .map((c) => ({ system: c.system, reason: c.checkSkipped! }));
  log(`${workload} loss after ${steps} steps (reference = median ${a.reference}):`);
  if (which === "late" && sensitivity)
    log(
      `  resolution: one-ulp changes of the first batch's pixels move Adjoint's loss by up to ${sensitivity.spread.toExponential(1)} ` +
        `(${sensitivity.perturbed.map((p) => p.loss).join(", ")} vs ${sensitivity.base}); agreement: 3 digits or within that`,
    );
  const limit = `3 significant digits${resolution > 0 ? ` or within ${resolution.toExponential(1)}` : ""}`;
  for (const r of a.rows) {
    if (a.reference) r.relDiff = (r.loss - a.reference) / a.reference;
    log(
      `  ${r.system.padEnd(16)} ${r.loss}  rel diff ${r.relDiff?.toExponential(1) ?? "–"}${r.agrees ? "" : `   <-- DISAGREES (${limit})`}`,
    );
    if (!r.agrees)
      (isAdjoint(r.system) ? problems : notes).push(
        `${workload}: ${r.system}'s loss after ${steps} steps ${r.loss} disagrees (median ${a.reference}, rel diff ${r.relDiff?.toExponential(1)})`,
      );
  }
  for (const n of notRun) log(`  ${n.system.padEnd(16)} ${n.reason}`);
  return {
    workload,
    steps,
    reference: a.reference,
    rows: a.rows,
    notRun,
    allAgree: a.rows.every((r) => r.agrees),
    sensitivity: which === "late" ? (sensitivity ?? undefined) : undefined,
  };
}

/** Forward passes whose logits differ from handwritten-js's by 1e-4 (relative to the largest) or more. */
export function checkLogits(workload: string, cases: InferCase[], problems: string[]): void {
  for (const c of cases) {
    if (c.maxRelDiff !== undefined && !(c.maxRelDiff < 1e-4))
      problems.push(`${workload} forward: ${c.system}'s logits differ from the reference by ${c.maxRelDiff}`);
  }
}
