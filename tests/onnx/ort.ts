/** Runs ONNX bytes in ONNX Runtime (CPU, one thread) and compares with Adjoint's float64 interpreter. */
import * as ort from "onnxruntime-node";
import { expect } from "vitest";

export async function runOrt(
  bytes: Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  try {
    const inputs = Object.fromEntries(
      Object.entries(feeds).map(([k, v]) => [k, new ort.Tensor("float32", v.data, v.dims)]),
    );
    const out = await session.run(inputs);
    return Object.fromEntries(
      Object.entries(out).map(([k, t]) => [k, { data: t.data as Float32Array, dims: t.dims }]),
    );
  } finally {
    await session.release();
  }
}

/** max |a − b| / max |b|: the error relative to the output's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (scale || 1);
}

/** Deterministic test data in [-2, 2). */
export function data(n: number, seed = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 4 - 2;
  });
}
