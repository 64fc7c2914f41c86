/**
 * What one run compares: the systems, which workloads also get the forward-only and correctness tables,
 * the matmul rows, and which system the ratios are relative to. The workloads themselves are in
 * workloads.ts (WORKLOAD_SPECS); a new system is a file in systems/ plus one line in trainingSystems.
 */
import {
  adjointCompiledMatmul,
  externalMatmulWasm,
  handBlockedJsMatmul,
  jaxMatmul,
  type MatmulRow,
  type MatmulTiming,
  tfjsWasmMatmul,
  torchMatmulRow,
} from "./matmul";
import { handwrittenSystem } from "./systems/handwritten";
import { jaxSystem } from "./systems/jax-js";
import { onnxruntimeSystem } from "./systems/onnxruntime";
import type { createPytorchSystem } from "./systems/pytorch";
import { tfjsCpuSystem } from "./systems/tfjs-cpu";
import { tfjsWasmSystem } from "./systems/tfjs-wasm";
import { isSkip, type Skip, type System } from "./systems/types";
import type { Settings, Status } from "./types";

export type PytorchSystem = ReturnType<typeof createPytorchSystem>;

/** The workloads whose loss after `correctnessSteps` steps must agree across systems. */
export const CORRECTNESS_WORKLOADS: readonly string[] = ["W3", "W5"];

/** Workloads also timed forward-only (the inference table). */
export const INFERENCE_WORKLOADS: readonly string[] = ["W3", "W4", "W5"];

/** Every training system, in the order of the tables (also the order they run in, per workload). */
export function trainingSystems(
  adjoint: System,
  pytorch: PytorchSystem,
  twoThreads: { adjoint: System; pytorch: PytorchSystem },
): System[] {
  return [
    adjoint,
    twoThreads.adjoint,
    handwrittenSystem,
    tfjsCpuSystem,
    tfjsWasmSystem,
    jaxSystem,
    pytorch,
    twoThreads.pytorch,
  ];
}

/** Systems with a forward-only runner but no training step, timed after the training systems. */
export const INFERENCE_ONLY_SYSTEMS: readonly System[] = [onnxruntimeSystem];

/** The first of these that ran is the baseline of a table's ratios. */
const BASELINES = ["adjoint", "handwritten-js"];

export function baselineOf<C extends { system: string; status: Status }>(cases: C[]): C | undefined {
  for (const name of BASELINES) {
    const found = cases.find((c) => c.system === name && c.status === "ok");
    if (found) return found;
  }
  return undefined;
}

export type MatmulSource = [name: string, run: () => Promise<MatmulRow | MatmulRow[] | Skip>];

/** The rows of the matmul table; those named "adjoint…" run whatever --systems says. */
export function matmulSources(s: Settings, quick: boolean, pytorch: PytorchSystem): MatmulSource[] {
  const mt: MatmulTiming = { timeMs: s.matmulTimeMs, minSamples: s.matmulMinSamples };
  return [
    ["adjoint wasm matmul", () => externalMatmulWasm(s.matmulN, quick)],
    ["adjoint compile (wasm)", () => adjointCompiledMatmul(s.matmulN, mt, true)],
    ["adjoint compile (JS loops)", () => adjointCompiledMatmul(s.matmulN, mt, false)],
    ["hand-blocked JS", () => handBlockedJsMatmul(s.matmulN, mt)],
    ["tfjs-wasm", () => tfjsWasmMatmul(s.matmulN, mt)],
    ["jax-js", () => jaxMatmul(s.matmulN, mt)],
    [
      "pytorch",
      async () => {
        const ms = await pytorch.matmulMs(s.matmulN, s.matmulTimeMs);
        return isSkip(ms) ? ms : torchMatmulRow(s.matmulN, ms);
      },
    ],
  ];
}
