/**
 * The dot-product kernel (packages/compiler/src/wasm/matmul-dot.ts) against the register-tile kernel on
 * products C = Σ_b A_b·B_bᵀ (A_b [m, k], B_b [n, k]): LeNet-5's conv weight gradients and a sweep of output
 * sizes, to set DOT_MAX_OUTPUTS. Both kernels are timed interleaved in one run (ratios, not absolute
 * times, carry over), and each result is checked against a float64 sum.
 *
 *   npx tsx benchmarks/src/matmul-dot.ts [seconds per shape, default 2]
 */
import { cpus } from "node:os";
import { relaxedSimdAvailable } from "../../packages/compiler/src/wasm/features";
import { type WasmMemory, wasmApi } from "../../packages/compiler/src/wasm/js-api";
import { instantiateMatmul, type MatmulSpec, packBytes } from "../../packages/compiler/src/wasm/matmul";
import { median } from "./stats";

type Shape = { name: string; m: number; n: number; k: number; batch: number };
const shapes: Shape[] = [
  { name: "W5 conv1 dW", m: 6, n: 25, k: 784, batch: 64 },
  { name: "W5 conv2 dW", m: 16, n: 150, k: 100, batch: 64 },
  { name: "32×32, k 1024", m: 32, n: 32, k: 1024, batch: 1 },
  { name: "64×64, k 256", m: 64, n: 64, k: 256, batch: 1 },
  { name: "64×64, k 64 ×16", m: 64, n: 64, k: 64, batch: 16 },
  { name: "64×120, k 84", m: 64, n: 120, k: 84, batch: 1 },
  { name: "96×96, k 256", m: 96, n: 96, k: 256, batch: 1 },
  { name: "128×128, k 128", m: 128, n: 128, k: 128, batch: 1 },
];

function kernels(shape: Shape, fma: boolean) {
  const { m, n, k, batch } = shape;
  const align = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const aOffset = 64;
  const bOffset = align(aOffset + batch * m * k * 4);
  const cOffset = align(bOffset + batch * n * k * 4);
  const packOffset = align(cOffset + m * n * 4);
  const base: MatmulSpec = {
    ...{
      m,
      n,
      k,
      transA: false,
      transB: true,
      aOffset,
      bOffset,
      cOffset,
      packOffset,
      accumulate: false,
      fma,
    },
    batch: batch > 1 ? { count: batch, aStride: m * k * 4, bStride: n * k * 4, cStride: 0 } : undefined,
  };
  const pages = Math.ceil((packOffset + packBytes(base)) / 65536) + 1;
  const memory: WasmMemory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  const f = new Float32Array(memory.buffer);
  for (let i = aOffset / 4; i < cOffset / 4; i++) f[i] = Math.sin(i * 0.37) * 2;
  const reference = new Float64Array(m * n);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++)
          s += f[aOffset / 4 + (b * m + i) * k + p]! * f[bOffset / 4 + (b * n + j) * k + p]!;
        reference[i * n + j]! += s;
      }
  const error = () => {
    let worst = 0;
    for (let i = 0; i < m * n; i++)
      worst = Math.max(worst, Math.abs(f[cOffset / 4 + i]! - reference[i]!) / (Math.abs(reference[i]!) + 1));
    return worst;
  };
  return {
    tiles: instantiateMatmul(base, memory),
    dot: instantiateMatmul({ ...base, dot: true }, memory),
    error,
  };
}

function main(): void {
  const seconds = Number(process.argv[2] ?? 2);
  const fma = relaxedSimdAvailable();
  console.log(`processor: ${cpus()[0]?.model ?? "?"}; ${fma ? "relaxed_madd" : "mul+add"}; one thread`);
  console.log(
    "shape (m×n, k, batch): GFLOP/s tiles | dot, median; dot/tiles = median of per-round ratios; max rel error vs float64",
  );
  for (const shape of shapes) {
    const { tiles, dot, error } = kernels(shape, fma);
    const flops = 2 * shape.m * shape.n * shape.k * shape.batch;
    const calls = Math.max(1, Math.round(2e7 / flops));
    const time = (run: () => void) => {
      const start = performance.now();
      for (let c = 0; c < calls; c++) run();
      return (flops * calls) / ((performance.now() - start) * 1e6);
    };
    for (let i = 0; i < 50; i++) tiles(), dot();
    tiles();
    const tilesError = error();
    dot();
    const dotError = error();
    const [t, d, ratio]: number[][] = [[], [], []];
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end || t.length < 5) {
      const a = time(tiles);
      const b = time(dot);
      t.push(a);
      d.push(b);
      ratio.push(b / a);
    }
    console.log(
      `${shape.name.padEnd(18)} (${shape.m}×${shape.n}, k ${shape.k}, batch ${shape.batch}): ${median(t).toFixed(1)} | ${median(d).toFixed(1)} GFLOP/s, dot/tiles ${median(ratio).toFixed(2)}×; error ${tilesError.toExponential(1)} | ${dotError.toExponential(1)}`,
    );
  }
}

main();
