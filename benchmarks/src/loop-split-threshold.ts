/**
 * Where splitting one loop over 2 threads starts to pay: for three loops typical of a training step and a
 * sweep of element counts, the same loop compiled with threads 1 and 2 (every loop split:
 * threadMinElements 0), timed interleaved in one run; the ratio t(1)/t(2) > 1 means the split pays. The
 * loops: bias + ReLU (elementwise, [n/64, 64] + [64]), a bias-gradient sum over the batch ([64, n/64] →
 * [n/64], strided reads) and a 2×2-like max (max over the last axis of [n/4, 4]), and a copy (a transpose of [64, n/64], as a window copy is a strided view copied). The smallest count from
 * which every larger one pays (median ratio ≥ 1.05) is what THREAD_MIN_ELEMENTS is set from
 * (codegen/parallel.ts).
 *
 *   npx tsx benchmarks/src/loop-split-threshold.ts [--rounds 7] [--kinds "bias+relu,max of 4"]
 */
import { cpus, loadavg } from "node:os";
import { compile, Graph, type Kernel, type Tensor } from "../../packages/adjoint/src/index";
import { timeRuns } from "./kernel-timing";
import { median } from "./stats";

type LoopKind = "bias+relu" | "sum over batch" | "max of 4" | "transpose copy";

function loopKernel(kind: LoopKind, elements: number, threads: number): Kernel {
  const g = new Graph({ seed: 1 });
  let out: Tensor;
  if (kind === "bias+relu") {
    const x = g.input("x", [elements / 64, 64]);
    const b = g.input("b", [64]);
    out = x.mul(1.7).add(b).relu();
  } else if (kind === "sum over batch") {
    out = g.input("x", [64, elements / 64]).sum(0);
  } else if (kind === "max of 4") {
    out = g.input("x", [elements / 4, 4]).max(1);
  } else {
    out = g.input("x", [64, elements / 64]).transpose();
  }
  const kernel = compile({ out }, { threads, threadMinElements: 0, cache: false });
  for (const x of Object.values(kernel.inputs)) for (let i = 0; i < x.length; i++) x[i] = (i % 7) * 0.1 - 0.3;
  return kernel;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

async function main() {
  const roundsArg = process.argv.indexOf("--rounds");
  const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;
  console.log(`${cpus()[0]?.model} ×${cpus().length}; load ${load()}`);
  const kindsArg = process.argv.indexOf("--kinds");
  const kinds = (
    kindsArg > 0
      ? process.argv[kindsArg + 1].split(",")
      : ["bias+relu", "sum over batch", "max of 4", "transpose copy"]
  ) as LoopKind[];
  for (const kind of kinds) {
    console.log(`\n${kind}: elements, µs at 1 thread, µs at 2, ratio median [min–max] over ${rounds} rounds`);
    for (let log = 10; log <= 20; log++) {
      const elements = 1 << log;
      const kernels = [loopKernel(kind, elements, 1), loopKernel(kind, elements, 2)];
      await kernels[1].whenReady();
      // About 2 ms of runs per sample.
      const runs = Math.max(4, Math.round(2e6 / elements));
      for (const k of kernels) timeRuns(k, runs * 4); // warm up
      const ratios: number[] = [];
      const one: number[] = [];
      const two: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Interleaved, the order alternating, so a burst of load hits both.
        const order = r & 1 ? [1, 0] : [0, 1];
        const t = [0, 0];
        for (const i of order) t[i] = timeRuns(kernels[i], runs);
        one.push(t[0]);
        two.push(t[1]);
        ratios.push(t[0] / t[1]);
      }
      const sorted = [...ratios].sort((a, b) => a - b);
      console.log(
        `2^${String(log).padEnd(3)} ${String(elements).padStart(8)} ${median(one).toFixed(1).padStart(8)} ${median(two).toFixed(1).padStart(8)}  ${median(ratios).toFixed(2)}× [${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)}]`,
      );
      for (const k of kernels) await k.dispose();
    }
  }
  console.log(`\nload after: ${load()}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
