/**
 * Matmul throughput at n³ (default 512³) in three orientations: C = A·B, Aᵀ·B (A stored transposed) and
 * A·Bᵀ (B stored transposed). Peers: tfjs-wasm, jax-js, PyTorch (via its child process), and the generated
 * wasm kernels alone (`benchMatmulWasm` from ./matmul-wasm).
 */
import { benchMatmulWasm, type MatmulWasmResult, type Orientation as WasmOrientation } from "./matmul-wasm";
import { loadJax } from "./systems/jax-js";
import { loadTfjsWasm } from "./systems/tfjs-wasm";
import { errorMessage, isSkip, type Skip, skip } from "./systems/types";

export type Orientation = "AB" | "AtB" | "ABt";
export const ORIENTATIONS: readonly Orientation[] = ["AB", "AtB", "ABt"];

export interface MatmulRow {
  system: string;
  /** GFLOP/s (2·n³ / median time) per orientation; missing when that orientation was not measured. */
  gflops: Partial<Record<Orientation, number>>;
  /** Median ms per call. */
  ms: Partial<Record<Orientation, number>>;
  note?: string;
  /** What benchMatmulWasm returned, verbatim, when its shape was not understood. */
  raw?: unknown;
}

export interface MatmulTiming {
  timeMs: number;
  minSamples: number;
}

async function medianMs(fn: () => void | Promise<void>, t: MatmulTiming): Promise<number> {
  for (let i = 0; i < 2; i++) await fn();
  const samples: number[] = [];
  const start = performance.now();
  while (samples.length < t.minSamples || performance.now() - start < t.timeMs) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function row(system: string, n: number, ms: Partial<Record<Orientation, number>>, note?: string): MatmulRow {
  const gflops: Partial<Record<Orientation, number>> = {};
  for (const o of ORIENTATIONS) if (ms[o] !== undefined) gflops[o] = (2 * n ** 3) / (ms[o]! * 1e6);
  return { system, gflops, ms, note };
}

function randomData(n: number, seed: number): Float32Array {
  const a = new Float32Array(n * n);
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296;
  }
  return a;
}

/**
 * Adjoint's matmul as users get it: `compile` of C = op(A)·op(B), one run = one product. With wasm off it is
 * the generated register-blocked JS loop nest (the fallback when an engine has no wasm SIMD).
 */
export async function adjointCompiledMatmul(n: number, t: MatmulTiming, wasm: boolean): Promise<MatmulRow> {
  const { compile, Graph } = await import("adjoint");
  const ms: Partial<Record<Orientation, number>> = {};
  for (const o of ORIENTATIONS) {
    const g = new Graph();
    const a = g.input("a", [n, n]);
    const b = g.input("b", [n, n]);
    const c = (o === "AtB" ? a.transpose() : a).matmul(o === "ABt" ? b.transpose() : b);
    const k = compile({ c }, { wasm });
    k.inputs.a.set(randomData(n, 1));
    k.inputs.b.set(randomData(n, 2));
    ms[o] = await medianMs(() => k.run(), t);
  }
  return row(
    `adjoint compile (${wasm ? "wasm" : "JS loops"})`,
    n,
    ms,
    `compile({ c: op(A)·op(B) }, { wasm: ${wasm} })`,
  );
}

/**
 * The reference for the generated JS loops: a hand-written register-blocked kernel, as a careful user
 * writes it (B packed into 4-column k-major panels, a 4×4 tile of C in locals, A's four rows streamed;
 * either operand read through strides, so the three orientations cost the same).
 */
export async function handBlockedJsMatmul(n: number, t: MatmulTiming): Promise<MatmulRow> {
  const a = randomData(n, 1);
  const b = randomData(n, 2);
  const c = new Float32Array(n * n);
  const panel = new Float32Array(4 * n);
  const ms: Partial<Record<Orientation, number>> = {};
  for (const o of ORIENTATIONS) {
    // op(A)[i][k] = a[i*sai + k*sak]; op(B)[k][j] = b[k*sbk + j*sbj]
    const [sai, sak] = o === "AtB" ? [1, n] : [n, 1];
    const [sbk, sbj] = o === "ABt" ? [1, n] : [n, 1];
    ms[o] = await medianMs(() => {
      for (let j0 = 0; j0 < n; j0 += 4) {
        for (let k = 0; k < n; k++) {
          const s = k * sbk + j0 * sbj;
          panel[4 * k] = b[s];
          panel[4 * k + 1] = b[s + sbj];
          panel[4 * k + 2] = b[s + 2 * sbj];
          panel[4 * k + 3] = b[s + 3 * sbj];
        }
        for (let i0 = 0; i0 < n; i0 += 4) {
          let c00 = 0,
            c01 = 0,
            c02 = 0,
            c03 = 0,
            c10 = 0,
            c11 = 0,
            c12 = 0,
            c13 = 0;
          let c20 = 0,
            c21 = 0,
            c22 = 0,
            c23 = 0,
            c30 = 0,
            c31 = 0,
            c32 = 0,
            c33 = 0;
          let pa = i0 * sai;
          for (let k = 0; k < n; k++) {
            const a0 = a[pa],
              a1 = a[pa + sai],
              a2 = a[pa + 2 * sai],
              a3 = a[pa + 3 * sai];
            const p = 4 * k;
            const b0 = panel[p],
              b1 = panel[p + 1],
              b2 = panel[p + 2],
              b3 = panel[p + 3];
            c00 += a0 * b0;
            c01 += a0 * b1;
            c02 += a0 * b2;
            c03 += a0 * b3;
            c10 += a1 * b0;
            c11 += a1 * b1;
            c12 += a1 * b2;
            c13 += a1 * b3;
            c20 += a2 * b0;
            c21 += a2 * b1;
            c22 += a2 * b2;
            c23 += a2 * b3;
            c30 += a3 * b0;
            c31 += a3 * b1;
            c32 += a3 * b2;
            c33 += a3 * b3;
            pa += sak;
          }
          const o0 = i0 * n + j0;
          c[o0] = c00;
          c[o0 + 1] = c01;
          c[o0 + 2] = c02;
          c[o0 + 3] = c03;
          c[o0 + n] = c10;
          c[o0 + n + 1] = c11;
          c[o0 + n + 2] = c12;
          c[o0 + n + 3] = c13;
          c[o0 + 2 * n] = c20;
          c[o0 + 2 * n + 1] = c21;
          c[o0 + 2 * n + 2] = c22;
          c[o0 + 2 * n + 3] = c23;
          c[o0 + 3 * n] = c30;
          c[o0 + 3 * n + 1] = c31;
          c[o0 + 3 * n + 2] = c32;
          c[o0 + 3 * n + 3] = c33;
        }
      }
    }, t);
  }
  return row("hand-blocked JS (4×4 tile)", n, ms, "plain JS over Float32Arrays, n a multiple of 4");
}

export async function tfjsWasmMatmul(n: number, t: MatmulTiming): Promise<MatmulRow | Skip> {
  const tf = await loadTfjsWasm();
  if (isSkip(tf)) return tf;
  const a = tf.tensor2d(randomData(n, 1), [n, n]);
  const b = tf.tensor2d(randomData(n, 2), [n, n]);
  const ms: Partial<Record<Orientation, number>> = {};
  try {
    for (const o of ORIENTATIONS) {
      ms[o] = await medianMs(() => {
        tf.matMul(a, b, o === "AtB", o === "ABt").dispose();
      }, t);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return row("tfjs-wasm", n, ms, "tf.matMul(a, b, transposeA, transposeB)");
}

export async function jaxMatmul(n: number, t: MatmulTiming): Promise<MatmulRow | Skip> {
  const jax = await loadJax();
  if (isSkip(jax)) return jax;
  const np = jax.numpy;
  type Arr = typeof np.Array.prototype;
  const a = np.array(randomData(n, 1)).reshape([n, n]);
  const b = np.array(randomData(n, 2)).reshape([n, n]);
  const fns = {
    AB: jax.jit((x: Arr, y: Arr) => np.matmul(x, y)),
    AtB: jax.jit((x: Arr, y: Arr) => np.matmul(x.transpose(), y)),
    ABt: jax.jit((x: Arr, y: Arr) => np.matmul(x, y.transpose())),
  };
  const ms: Partial<Record<Orientation, number>> = {};
  try {
    for (const o of ORIENTATIONS) {
      ms[o] = await medianMs(async () => {
        const c = fns[o](a.ref, b.ref);
        await c.blockUntilReady();
        c.dispose();
      }, t);
    }
  } finally {
    a.dispose();
    b.dispose();
    for (const f of Object.values(fns)) f.dispose();
  }
  return row("jax-js", n, ms, "jit(np.matmul) with .transpose() inside the jit");
}

/** The wasm matmul's own orientation names in this table's. */
const WASM_ORIENTATION: Record<WasmOrientation, Orientation> = { A·B: "AB", Aᵀ·B: "AtB", A·Bᵀ: "ABt" };

/**
 * Adjoint's generated wasm matmul kernels alone (benchmarks/src/matmul-wasm.ts, at 512³ whatever n is): one
 * row per FMA mode, with the medians. A failure is reported as a skipped row, not a failed run.
 */
export async function externalMatmulWasm(_n: number, quick: boolean): Promise<MatmulRow[] | Skip> {
  let res: MatmulWasmResult[];
  try {
    res = await benchMatmulWasm({ quick });
  } catch (e) {
    return skip(`benchMatmulWasm threw: ${errorMessage(e)}`);
  }
  const byMode = new Map<string, MatmulRow>();
  for (const e of res) {
    const o = WASM_ORIENTATION[e.orientation];
    const mode = e.fma ? " (relaxed FMA)" : " (no FMA)";
    const row = byMode.get(mode) ?? {
      system: `adjoint wasm matmul${mode}`,
      gflops: {},
      ms: {},
      note: "benchMatmulWasm, 512³, median",
    };
    row.gflops[o] = e.medianGflops;
    row.ms[o] = (2 * 512 ** 3) / (e.medianGflops * 1e6);
    byMode.set(mode, row);
  }
  return [...byMode.values()];
}

export function torchMatmulRow(n: number, ms: Record<string, number>): MatmulRow {
  const m: Partial<Record<Orientation, number>> = {};
  for (const o of ORIENTATIONS) if (typeof ms[o] === "number") m[o] = ms[o];
  return row("pytorch", n, m, "a @ b, a.t() @ b, a @ b.t()");
}
