/**
 * A counter-based random number generator as an elementwise op, so that random masks (dropout) are made
 * inside the generated code, fuse with their consumers and need no state but a step counter.
 *
 *   hashUniform(counter, index, { seed }) = a pure integer hash of (seed, counter, index), in [0, 1)
 *
 * `counter` is typically a scalar buffer that an assign increments every step, and `index` a constant
 * 0..n−1 of the output's shape: each element of each step gets its own number. Both are read as int32
 * (whole numbers stored in float32 are exact up to 2^24). The result is a multiple of 2^−24, exactly
 * representable in float32, so the float64 interpreter and float32 kernels agree bit for bit.
 *
 * The hash is MurmurHash3's fmix32 finalizer applied to imul(index ^ s1, A) + imul(counter ^ s2, B).
 * Every 32-bit multiply is written as two exact float64 multiplies by factors below 2^21, each wrapped to
 * int32 with `| 0` (an int32 times a factor < 2^21 is < 2^52, so exact): the formula needs only + * and
 * bitwise operators, no Math.imul. `scalar` and `js` are the same formula, operation for operation.
 */
import { bin, type Expr, num } from "../estree";
import type { Tensor } from "../tensor";
import { defineBinary } from "./elementwise";

// 32-bit odd multipliers, each the product (mod 2^32) of two factors below 2^21.
const A: readonly [number, number] = [0x1a7b9d, 0x0f3c6b];
const B: readonly [number, number] = [0x12d687, 0x1c8e35];
const C: readonly [number, number] = [0x1b873f, 0x16a09f];
const D: readonly [number, number] = [0x0e6547, 0x14c3b1];

/** The two per-seed xor keys (splitmix32 of the seed), int32. */
export function seedKeys(seed: number): [number, number] {
  const mix = (z: number) => {
    z = (z + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return z ^ (z >>> 15);
  };
  const s1 = mix(seed | 0);
  return [s1, mix(s1 ^ 0x5bd1e995)];
}

function mul32(h: number, [k1, k2]: readonly [number, number]): number {
  return (((h * k1) | 0) * k2) | 0;
}

/** The hash as a number function (the interpreter's semantics; the same steps as the ESTree below). */
export function hashUniformScalar(seed: number, counter: number, index: number): number {
  const [s1, s2] = seedKeys(seed);
  let h = (mul32((index | 0) ^ s1, A) + mul32((counter | 0) ^ s2, B)) | 0;
  h = h ^ (h >>> 16);
  h = mul32(h, C);
  h = h ^ (h >>> 13);
  h = mul32(h, D);
  h = h ^ (h >>> 16);
  return (h >>> 8) / 16777216;
}

function mul32Expr(h: Expr, [k1, k2]: readonly [number, number]): Expr {
  return bin("|", bin("*", bin("|", bin("*", h, num(k1)), num(0)), num(k2)), num(0));
}

function int32Literal(v: number): Expr {
  return num(v | 0);
}

function hashExpr(seed: number, counter: Expr, index: Expr): Expr {
  const [s1, s2] = seedKeys(seed);
  const xi = bin("^", bin("|", index, num(0)), int32Literal(s1));
  const xc = bin("^", bin("|", counter, num(0)), int32Literal(s2));
  let h = bin("|", bin("+", mul32Expr(xi, A), mul32Expr(xc, B)), num(0));
  h = bin("^", h, bin(">>>", h, num(16)));
  h = mul32Expr(h, C);
  h = bin("^", h, bin(">>>", h, num(13)));
  h = mul32Expr(h, D);
  h = bin("^", h, bin(">>>", h, num(16)));
  return bin("/", bin(">>>", h, num(8)), num(16777216));
}

defineBinary({
  name: "hashUniform",
  scalar: (counter, index, attrs) => hashUniformScalar(attrs.seed as number, counter, index),
  js: (counter, index, attrs) => hashExpr(attrs.seed as number, counter, index),
  // Not differentiable: random numbers do not depend on their inputs in any smooth way.
});

/**
 * Uniform numbers in [0, 1) (multiples of 2^−24), one per element of the broadcast shape of `counter` and
 * `index`, a pure function of (seed, counter, index). Not differentiable.
 */
export function hashUniform(counter: Tensor, index: Tensor, seed: number): Tensor {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new Error(`hashUniform: seed must be a whole number in [0, 2^32), got ${seed}`);
  }
  if (counter.graph !== index.graph) {
    throw new Error(`hashUniform: counter and index belong to different graphs`);
  }
  return counter.graph.addNode("hashUniform", [counter, index], { seed });
}
