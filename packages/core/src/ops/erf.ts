/**
 * erf, the Gauss error function: exact GELU (torch's default nn.GELU, which torch.onnx.export writes as
 * 0.5·x·(1 + erf(x/√2))) is built from it. JavaScript has no Math.erf, so both the interpreter and the
 * generated code use the same formula: Numerical Recipes' Chebyshev fit of erfc (fractional error below
 * 1.2e-7 everywhere; float32 itself resolves 6e-8), erf(x) = 1 − erfc(x) for x ≥ 0 and erfc(−x) − 1 below.
 * Its derivative is the exact one, 2/√π·e^(−x²).
 */
import { bin, cond, type Expr, math, neg, num } from "../estree";
import type { Tensor } from "../tensor";
import { defineUnary } from "./elementwise";

const C = [
  -1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587,
  -0.82215223, 0.17087277,
];
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

function erfScalar(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  let p = C[9];
  for (let i = 8; i >= 0; i--) p = C[i] + t * p;
  const erfc = t * Math.exp(-x * x + p);
  return x >= 0 ? 1 - erfc : erfc - 1;
}

function erfExpr(x: Expr): Expr {
  const t = () => bin("/", num(1), bin("+", num(1), bin("*", num(0.5), math("abs", x))));
  let p: Expr = num(C[9]);
  for (let i = 8; i >= 0; i--) p = bin("+", num(C[i]), bin("*", t(), p));
  const erfc = bin("*", t(), math("exp", bin("+", neg(bin("*", x, x)), p)));
  return cond(bin(">=", x, num(0)), bin("-", num(1), erfc), bin("-", erfc, num(1)));
}

defineUnary({
  name: "erf",
  scalar: erfScalar,
  js: erfExpr,
  vjp: (g, x) => g.mul(x.square().neg().exp().mul(TWO_OVER_SQRT_PI)),
});

/** Elementwise error function erf(x) (its gradient is 2/√π · e^(−x²)). */
export function erf(x: Tensor): Tensor {
  return x.graph.addNode("erf", [x]);
}
