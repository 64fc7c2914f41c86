/**
 * Generated WebAssembly matmul kernels: GFLOP/s at 512³ for A·B, Aᵀ·B, A·Bᵀ with and without relaxed FMA,
 * against a register-blocked plain-JS kernel, plus per-call times at small sizes against a simple JS loop
 * (the basis of WASM_MATMUL_MIN_FLOPS). Run with `npx tsx benchmarks/src/matmul-wasm.ts [--quick]`.
 *
 * Single-threaded. Kernels are warmed up first (V8 compiles wasm with its baseline compiler and swaps in
 * optimized code after a few calls), then sampled round-robin; the headline figure is the best sample, the
 * median is printed alongside because this machine's noise (hypervisor steal time) is large.
 */
import { pathToFileURL } from "node:url";
import { relaxedSimdAvailable } from "../../packages/compiler/src/wasm/features";
import { type WasmMemory, wasmApi } from "../../packages/compiler/src/wasm/js-api";
import {
  generateMatmul,
  instantiateMatmul,
  type MatmulSpec,
  type MatmulTuning,
  packBytes,
} from "../../packages/compiler/src/wasm/matmul";
import { Rng } from "../../packages/core/src/random";

export type Orientation = "A·B" | "Aᵀ·B" | "A·Bᵀ";
export interface MatmulWasmResult {
  orientation: Orientation;
  fma: boolean;
  /** Best sample. */
  gflops: number;
  medianGflops: number;
}

const orientations: Array<{ orientation: Orientation; transA: boolean; transB: boolean }> = [
  { orientation: "A·B", transA: false, transB: false },
  { orientation: "Aᵀ·B", transA: true, transB: false },
  { orientation: "A·Bᵀ", transA: false, transB: true },
];

/**
 * A, B, C and the pack scratch (64-byte aligned) in a fresh shared memory, A and B filled with normals; the
 * kernel is compiled by `compile`, whose duration is reported in compileMicroseconds.
 */
export function makeKernel(
  m: number,
  n: number,
  k: number,
  options: Partial<MatmulSpec>,
  tuning?: Partial<MatmulTuning>,
) {
  const align = (bytes: number) => Math.ceil(bytes / 64) * 64;
  const aOffset = 64;
  const bOffset = align(aOffset + m * k * 4);
  const cOffset = align(bOffset + k * n * 4);
  const packOffset = align(cOffset + m * n * 4);
  const spec: MatmulSpec = {
    ...{ m, n, k, transA: false, transB: false, aOffset, bOffset, cOffset, packOffset },
    ...{ accumulate: false, fma: false, ...options },
  };
  const pages = Math.ceil((packOffset + packBytes(spec, tuning)) / 65536);
  const memory: WasmMemory = new wasmApi.Memory({ initial: pages, maximum: pages, shared: true });
  const floats = new Float32Array(memory.buffer);
  const rng = new Rng(7);
  for (let i = 0; i < cOffset / 4; i++) floats[i] = rng.normal();
  const compileStart = process.hrtime.bigint();
  const kernel = instantiateMatmul(spec, memory, tuning);
  return { kernel, compileMicroseconds: Number(process.hrtime.bigint() - compileStart) / 1e3 };
}

interface Timing {
  best: number;
  median: number;
}

/** Runs `run` for `seconds` (V8 tiers hot wasm and JS functions up within the first calls). */
function warmUp(run: () => void, seconds: number): void {
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  do run();
  while (process.hrtime.bigint() < end);
}

/**
 * Seconds per call of each run, sampled round-robin for `seconds` so that every run sees the same share of
 * the host's noise. Each sample times `callsPerSample[i]` back-to-back calls.
 */
function timeInterleaved(runs: Array<() => void>, seconds: number, callsPerSample: number[]): Timing[] {
  const samples: number[][] = runs.map(() => []);
  const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  do {
    runs.forEach((run, i) => {
      const calls = callsPerSample[i]!;
      const start = process.hrtime.bigint();
      for (let c = 0; c < calls; c++) run();
      samples[i]!.push(Number(process.hrtime.bigint() - start) / 1e9 / calls);
    });
  } while (process.hrtime.bigint() < end || samples[0]!.length < 3);
  return samples.map((times) => {
    times.sort((x, y) => x - y);
    return { best: times[0]!, median: times[Math.floor(times.length / 2)]! };
  });
}

/** GFLOP/s at 512³ per orientation, with FMA (when the engine has relaxed SIMD) and without. */
export async function benchMatmulWasm(opts: { quick?: boolean } = {}): Promise<MatmulWasmResult[]> {
  const size = 512;
  const configs = (relaxedSimdAvailable() ? [true, false] : [false]).flatMap((fma) =>
    orientations.map(({ orientation, transA, transB }) => ({
      orientation,
      fma,
      kernel: makeKernel(size, size, size, { transA, transB, fma }).kernel,
    })),
  );
  for (const { kernel } of configs) warmUp(kernel, opts.quick ? 0.1 : 0.3);
  const kernels = configs.map((config) => config.kernel);
  const timings = timeInterleaved(
    kernels,
    opts.quick ? 3 : 30,
    kernels.map(() => 1),
  );
  const flops = 2 * size ** 3;
  return configs.map(({ orientation, fma }, i) => ({
    orientation,
    fma,
    gflops: flops / timings[i]!.best / 1e9,
    medianGflops: flops / timings[i]!.median / 1e9,
  }));
}

/** C = A·B in plain JS with a 4×4 register block (16 scalar accumulators); m, n multiples of 4. */
// biome-ignore format: the 4×4 register tile reads best as a grid
function jsBlockedMatmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number) {
  for (let i = 0; i < m; i += 4) {
    for (let j = 0; j < n; j += 4) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
      let c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
      for (let p = 0; p < k; p++) {
        const a0 = a[i * k + p]!, a1 = a[(i + 1) * k + p]!, a2 = a[(i + 2) * k + p]!, a3 = a[(i + 3) * k + p]!;
        const row = p * n + j;
        const b0 = b[row]!, b1 = b[row + 1]!, b2 = b[row + 2]!, b3 = b[row + 3]!;
        c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
        c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
        c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
        c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
      }
      const store = (r: number, v0: number, v1: number, v2: number, v3: number) => {
        const o = (i + r) * n + j;
        c[o] = v0;
        c[o + 1] = v1;
        c[o + 2] = v2;
        c[o + 3] = v3;
      };
      store(0, c00, c01, c02, c03);
      store(1, c10, c11, c12, c13);
      store(2, c20, c21, c22, c23);
      store(3, c30, c31, c32, c33);
    }
  }
}

/** The simplest reasonable JS matmul (i-p-j order, so the inner loop is contiguous). */
function jsSimpleMatmul(a: Float32Array, b: Float32Array, c: Float32Array, m: number, n: number, k: number) {
  c.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      const row = p * n;
      const out = i * n;
      for (let j = 0; j < n; j++) c[out + j]! += aip * b[row + j]!;
    }
  }
}

function jsOperands(m: number, n: number, k: number) {
  const rng = new Rng(3);
  const fill = (length: number) => Float32Array.from({ length }, () => rng.normal());
  return { a: fill(m * k), b: fill(k * n), c: new Float32Array(m * n) };
}

export function benchJsBlocked(size: number, seconds: number): number {
  const { a, b, c } = jsOperands(size, size, size);
  const run = () => jsBlockedMatmul(a, b, c, size, size, size);
  warmUp(run, Math.min(seconds, 0.5));
  return (2 * size ** 3) / timeInterleaved([run], seconds, [1])[0]!.best / 1e9;
}

export interface SmallSizeTiming {
  m: number;
  n: number;
  k: number;
  flops: number;
  wasmMicroseconds: number;
  jsMicroseconds: number;
  /** generateMatmul + WebAssembly.Module + Instance, once per kernel. */
  compileMicroseconds: number;
}

/** Best per-call time of the wasm kernel (FMA when available) and the simple JS loop, sampled alternately. */
export function benchSmall(m: number, n: number, k: number, seconds: number): SmallSizeTiming {
  const flops = 2 * m * n * k;
  const fma = relaxedSimdAvailable();
  const { kernel, compileMicroseconds } = makeKernel(m, n, k, { fma });
  const { a, b, c } = jsOperands(m, n, k);
  const js = () => jsSimpleMatmul(a, b, c, m, n, k);
  warmUp(kernel, 0.1);
  warmUp(js, 0.1);
  const calls = Math.max(1, Math.round(2e5 / flops));
  const [wasm, jsTime] = timeInterleaved([kernel, js], seconds, [calls, Math.max(1, Math.round(calls / 8))]);
  return {
    m,
    n,
    k,
    flops,
    wasmMicroseconds: wasm!.best * 1e6,
    jsMicroseconds: jsTime!.best * 1e6,
    compileMicroseconds,
  };
}

export const smallSizes: Array<[number, number, number]> = [
  [1, 1, 1],
  [2, 2, 2],
  [1, 4, 4],
  [4, 4, 4],
  [4, 8, 8],
  [8, 16, 16],
  [16, 16, 16],
  [32, 32, 32],
  [64, 128, 784],
];

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  console.log(`relaxed SIMD (FMA) available: ${relaxedSimdAvailable()}`);
  console.log("512×512×512, GFLOP/s, best sample (median):");
  const results = await benchMatmulWasm({ quick });
  const jsGflops = benchJsBlocked(512, quick ? 1 : 4);
  for (const r of results) {
    const ratio = (r.gflops / jsGflops).toFixed(1);
    console.log(
      `  ${r.orientation.padEnd(5)} ${r.fma ? "fma    " : "mul+add"}  ${r.gflops.toFixed(1).padStart(5)}` +
        ` (${r.medianGflops.toFixed(1)})  ${ratio}× plain JS`,
    );
  }
  // Long JS calls rarely fit in a quiet window of a busy host, so this reference is the noisiest number here.
  console.log(`  plain JS, 4×4 register block: ${jsGflops.toFixed(2)} GFLOP/s`);
  console.log("small sizes m×n×k, best per-call time (wasm kernel vs simple JS loop), one-time compile:");
  for (const [m, n, k] of smallSizes) {
    const t = benchSmall(m, n, k, quick ? 0.3 : 1.5);
    console.log(
      `  ${`${m}×${n}×${k}`.padEnd(11)} ${String(t.flops).padStart(8)} flops` +
        `  wasm ${t.wasmMicroseconds.toFixed(3).padStart(8)} µs  js ${t.jsMicroseconds.toFixed(3).padStart(9)} µs` +
        `  (${(t.jsMicroseconds / t.wasmMicroseconds).toFixed(1)}×)  compile ${t.compileMicroseconds.toFixed(0)} µs`,
    );
  }
  console.log(`  module size for 512³ A·B: ${generateMatmul(spec512).length} bytes`);
}

const spec512: MatmulSpec = {
  ...{ m: 512, n: 512, k: 512, transA: false, transB: false, aOffset: 0, bOffset: 1 << 20 },
  ...{ cOffset: 2 << 20, packOffset: 3 << 20, accumulate: false, fma: false },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
