/**
 * Where splitting one product over 2 threads starts to pay: for each orientation (A·B, Aᵀ·B, A·Bᵀ) and a
 * sweep of m×k×n, the same product compiled with threads 1 and 2 (every split allowed: threadMinMacs 0),
 * timed interleaved in one run; the ratio t(1)/t(2) > 1 means the split pays. The smallest product from
 * which every larger one in the sweep pays (median ratio ≥ 1.05) is what THREAD_MIN_MACS is set from
 * (codegen/parallel.ts).
 *
 *   npx tsx benchmarks/src/split-threshold.ts [--rounds 7]
 */
import { cpus, loadavg } from "node:os";
import { compile, Graph, type Kernel } from "../../packages/adjoint/src/index";
import { timeRuns } from "./kernel-timing";
import { median } from "./stats";

interface Case {
  label: string;
  macs: number;
  kernels: [Kernel, Kernel];
}

function productKernel(m: number, k: number, n: number, transA: boolean, transB: boolean, threads: number) {
  const g = new Graph({ seed: 1 });
  const a = g.input("a", transA ? [k, m] : [m, k]);
  const b = g.input("b", transB ? [n, k] : [k, n]);
  const c = (transA ? a.transpose() : a).matmul(transB ? b.transpose() : b);
  const kernel = compile({ c }, { threads, threadMinMacs: 0, cache: false });

  for (const x of [kernel.inputs.a, kernel.inputs.b]) for (let i = 0; i < x.length; i++) x[i] = (i % 7) * 0.1;
  return kernel;
}

async function main() {
  const roundsArg = process.argv.indexOf("--rounds");
  const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 7;
  const shapes: Array<[number, number, number]> = [];
  for (const m of [16, 32, 64, 128]) for (const kn of [32, 64, 128, 256, 512]) shapes.push([m, kn, kn]);
  shapes.sort((x, y) => x[0] * x[1] * x[2] - y[0] * y[1] * y[2]);
  const orientations: Array<[string, boolean, boolean]> = [
    ["A·B", false, false],
    ["Aᵀ·B", true, false],
    ["A·Bᵀ", false, true],
  ];
  console.log(
    `${cpus()[0]?.model} ×${cpus().length}; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
  for (const [name, transA, transB] of orientations) {
    const cases: Case[] = [];
    for (const [m, k, n] of shapes) {
      const kernels: [Kernel, Kernel] = [
        productKernel(m, k, n, transA, transB, 1),
        productKernel(m, k, n, transA, transB, 2),
      ];
      await kernels[1].whenReady();
      cases.push({ label: `${m}×${k}×${n}`, macs: m * k * n, kernels });
    }
    console.log(
      `\n${name}: m×k×n, MACs, µs at 1 thread, µs at 2, ratio median [min–max] over ${rounds} rounds`,
    );
    for (const c of cases) {
      const runs = Math.max(4, Math.round(4e6 / c.macs) * 8);
      for (const k of c.kernels) timeRuns(k, runs); // warm up
      const ratios: number[] = [];
      const one: number[] = [];
      const two: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Interleaved, the order alternating, so a burst of load hits both.
        const order = r & 1 ? [1, 0] : [0, 1];
        const t: number[] = [0, 0];
        for (const i of order) t[i] = timeRuns(c.kernels[i], runs);
        one.push(t[0]);
        two.push(t[1]);
        ratios.push(t[0] / t[1]);
      }
      const sorted = [...ratios].sort((a, b) => a - b);
      console.log(
        `${c.label.padEnd(14)} ${String(c.macs).padStart(9)} ${median(one).toFixed(1).padStart(8)} ${median(two).toFixed(1).padStart(8)}  ${median(ratios).toFixed(2)}× [${sorted[0].toFixed(2)}–${sorted[sorted.length - 1].toFixed(2)}]`,
      );
      for (const k of c.kernels) await k.dispose();
    }
  }
  console.log(
    `\nload after: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(" ")}`,
  );
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
