/**
 * The compiled-vs-interpreter differential cases, run by the browser's engine: a matmul large enough for
 * the generated wasm SIMD kernel (and its JS loops with wasm off), an MLP's forward and gradients under
 * every compile configuration of tests/compiler/differential.ts, and three Adam training steps of an MLP
 * compiled with wasm on and off against the float64 interpreter engine. The page exposes
 * `adjointDifferential()`; tests/browser/differential.test.ts calls it in Chromium.
 */
import {
  compile,
  crossEntropy,
  Graph,
  Linear,
  optim,
  ReLU,
  Sequential,
  Tanh,
  trainStep,
  wasmStatus,
} from "adjoint";
import { CaseBuilder, compareArray, differential } from "../../compiler/differential";

export interface CaseResult {
  name: string;
  failures: number;
  worst: number;
  compared: number;
  message: string;
  /** Whether a generated WebAssembly kernel ran in the case's wasm-on kernel. */
  wasmUsed: boolean;
}

function matmulCase(): CaseResult {
  const c = new CaseBuilder(1);
  const a = c.x("a", [64, 96]);
  const b = c.param("b", [96, 80]);
  const r = differential(c, a.matmul(b));
  return summarize("matmul 64×96 · 96×80 (forward and both gradients)", r);
}

function mlpCase(): CaseResult {
  const c = new CaseBuilder(2);
  const x = c.data("x", [32, 50]);
  const w1 = c.param("w1", [50, 64], { low: -0.3, high: 0.3 });
  const b1 = c.param("b1", [64]);
  const w2 = c.param("w2", [64, 10], { low: -0.3, high: 0.3 });
  const y = x.matmul(w1).add(b1).tanh().matmul(w2);
  return summarize("MLP 50→64→10 tanh (forward and gradients)", differential(c, y));
}

function summarize(name: string, r: ReturnType<typeof differential>): CaseResult {
  return {
    name,
    failures: r.failures.length,
    worst: r.worst,
    compared: r.compared,
    message: r.failures.length > 0 ? r.message : "",
    wasmUsed: r.kernels[0].wasmListing !== "",
  };
}

/** Three Adam steps of a 40→48→10 MLP: compiled (wasm on or off) vs the interpreter engine, same start. */
function trainingCase(wasm: boolean): CaseResult {
  const build = () => {
    const g = new Graph({ seed: 7 });
    const net = new Sequential(
      new Linear(40, 48),
      new Tanh(),
      new Linear(48, 32),
      new ReLU(),
      new Linear(32, 10),
    );
    const x = g.input("x", [24, 40]);
    const t = g.input("t", [24]);
    const loss = crossEntropy(net.build(x), t);
    return { g, net, loss };
  };
  const compiled = build();
  const update = optim.adam({ lr: 0.01 }).minimize(compiled.loss);
  const kernel = compile({ loss: update.loss! }, { updates: update.updates, wasm, cache: false });
  const reference = build();
  const refStep = trainStep(reference.loss, optim.adam({ lr: 0.01 }), { engine: "interpreter" });
  const c = new CaseBuilder(11);
  let worst = 0;
  let compared = 0;
  const failures: string[] = [];
  for (let step = 0; step < 3; step++) {
    const x = c.values(24 * 40);
    const t = Float32Array.from({ length: 24 }, (_, i) => (i * 7 + step) % 10);
    kernel.run({ x, t });
    const refLoss = refStep.run({ x, t });
    const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
      [`loss (step ${step + 1})`, kernel.outputs.loss, [refLoss]],
      ...compiled.net
        .namedParameters()
        .map(
          ([name, p], i) =>
            [`${name} after step ${step + 1}`, p.value, reference.net.parameters()[i].value] as [
              string,
              Float32Array,
              Float32Array,
            ],
        ),
    ];
    for (const [what, mine, ref] of pairs) {
      worst = Math.max(
        worst,
        compareArray(mine, ref, 1e-4, (index, got, want) =>
          failures.push(`${what}[${index}]: ${got} vs ${want}`),
        ),
      );
      compared += ref.length;
    }
  }
  return {
    name: `3 Adam steps of a 40→48→32→10 MLP, wasm ${wasm ? "on" : "off"}`,
    failures: failures.length,
    worst,
    compared,
    message: failures.slice(0, 5).join("; "),
    wasmUsed: kernel.wasmListing !== "",
  };
}

declare global {
  interface Window {
    adjointDifferential: () => { engine: string; crossOriginIsolated: boolean; cases: CaseResult[] };
  }
}

window.adjointDifferential = () => ({
  engine: wasmStatus(),
  crossOriginIsolated: self.crossOriginIsolated,
  cases: [matmulCase(), mlpCase(), trainingCase(true), trainingCase(false)],
});
