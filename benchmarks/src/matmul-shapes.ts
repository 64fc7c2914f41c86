/**
 * The single-thread wasm matmul at 512³ and at the workloads' own shapes (W3, W4: forward products and their
 * transposed gradient products), against the 128-bit FMA ceiling, all in one run:
 *
 *   npx tsx benchmarks/src/matmul-shapes.ts [seconds per shape, default 8]
 *
 * Each round times, back to back: the register-only relaxed_madd loop of fma-ceiling.ts (the ceiling), the
 * 512³ kernel, and every tuning variant of the shape. Ratios are taken within a round (same moment of the
 * host's noise) and their medians reported, next to the median GFLOP/s and the interquartile range.
 * "before" turns off the packing choices of an earlier tuning round (B packed a whole block ahead, row-major A
 * read in place) and "4×8" is the register tile used before 3×12, so each gain is measured in the same run
 * rather than against old figures.
 */
import { cpus } from "node:os";
import { relaxedSimdAvailable } from "../../packages/compiler/src/wasm/features";
import type { MatmulTuning } from "../../packages/compiler/src/wasm/matmul";
import { CEILING_CHAINS, fmaModule } from "./fma-ceiling";
import { makeKernel } from "./matmul-wasm";

/** m, k, n (the m×k×n naming), A stored transposed, B stored transposed. */
type Shape = { name: string; m: number; k: number; n: number; transA?: boolean; transB?: boolean };
const shapes: Shape[] = [
  { name: "W3 fwd 64×784×128", m: 64, k: 784, n: 128 },
  { name: "W3 dW 784×64×128 Aᵀ·B", m: 784, k: 64, n: 128, transA: true },
  { name: "W4 fwd 128×784×1024", m: 128, k: 784, n: 1024 },
  { name: "W4 fwd 128×1024×1024", m: 128, k: 1024, n: 1024 },
  { name: "W4 dW 784×128×1024 Aᵀ·B", m: 784, k: 128, n: 1024, transA: true },
  { name: "W4 dW 1024×128×1024 Aᵀ·B", m: 1024, k: 128, n: 1024, transA: true },
  { name: "W4 dX 128×1024×1024 A·Bᵀ", m: 128, k: 1024, n: 1024, transB: true },
  { name: "W4 dX 128×1024×784 A·Bᵀ", m: 128, k: 1024, n: 784, transB: true },
];
const variants: Record<string, Partial<MatmulTuning>> = {
  before: { packBPerPanel: false, packRowMajorA: false },
  "4×8": { tileRows: 4, tileCols: 8 },
  now: {},
};

const kernelFor = (shape: Shape, tuning: Partial<MatmulTuning>) =>
  makeKernel(
    shape.m,
    shape.n,
    shape.k,
    { transA: shape.transA, transB: shape.transB, fma: relaxedSimdAvailable() },
    tuning,
  ).kernel;

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.round(q * (s.length - 1))]!;
};

/** GFLOP/s of `calls` back-to-back calls of run (flops per call). */
function sample(run: () => void, calls: number, flops: number): number {
  const start = performance.now();
  for (let c = 0; c < calls; c++) run();
  return (flops * calls) / ((performance.now() - start) * 1e6);
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 8);
  const fma = relaxedSimdAvailable();
  console.log(
    `processor: ${cpus()[0]?.model ?? "?"}; ${fma ? "relaxed_madd (FMA)" : "mul+add"} kernels; one thread`,
  );
  const ceilingRun = fmaModule(CEILING_CHAINS)();
  const ceilingIterations = 1_000_000;
  const ceilingFlops = ceilingIterations * CEILING_CHAINS * 8;
  const big = kernelFor({ name: "512³", m: 512, k: 512, n: 512 }, {});
  const bigFlops = 2 * 512 ** 3;
  console.log("median GFLOP/s [q25–q75]; % = median of per-round ratios (to the ceiling; to 512³ now)");
  for (const shape of shapes) {
    const flops = 2 * shape.m * shape.n * shape.k;
    const calls = Math.max(1, Math.round(bigFlops / flops));
    const names = Object.keys(variants);
    const runs = names.map((name) => kernelFor(shape, variants[name]!));
    for (const run of [big, ...runs]) for (let i = 0; i < 20; i++) run();
    const ceiling: number[] = [];
    const at512: number[] = [];
    const gflops: number[][] = runs.map(() => []);
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || ceiling.length < 5) {
      ceiling.push(sample(() => ceilingRun(ceilingIterations), 1, ceilingFlops));
      at512.push(sample(big, 1, bigFlops));
      runs.forEach((run, i) => {
        gflops[i]!.push(sample(run, calls, flops));
      });
    }
    const describe = (xs: number[]) =>
      `${quantile(xs, 0.5).toFixed(1)} [${quantile(xs, 0.25).toFixed(1)}–${quantile(xs, 0.75).toFixed(1)}]`;
    const ratio = (xs: number[], ys: number[]) =>
      `${(
        100 *
          quantile(
            xs.map((x, i) => x / ys[i]!),
            0.5,
          )
      ).toFixed(0)}%`;
    const cells = names.map(
      (name, i) =>
        `${name} ${describe(gflops[i]!)} ${ratio(gflops[i]!, ceiling)}; ${ratio(gflops[i]!, at512)}`,
    );
    console.log(
      `${shape.name.padEnd(27)} ceiling ${describe(ceiling)} | 512³ ${describe(at512)} ${ratio(at512, ceiling)}` +
        ` | ${cells.join(" | ")}   (${ceiling.length} rounds)`,
    );
  }
}

main();
