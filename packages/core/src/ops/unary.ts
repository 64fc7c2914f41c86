/**
 * Unary elementwise ops. Each states its value (a number function for the interpreter, an ESTree for
 * codegen) and its VJP in differentiable ops, next to each other.
 */
import { bin, cond, math, neg, num } from "../estree";
import { step, sub } from "./api";
import { defineUnary } from "./elementwise";

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

defineUnary({
  name: "neg",
  scalar: (x) => -x,
  js: (x) => neg(x),
  vjp: (g) => g.neg(),
});

defineUnary({
  name: "exp",
  scalar: Math.exp,
  js: (x) => math("exp", x),
  vjp: (g, _x, y) => g.mul(y),
});

defineUnary({
  name: "log",
  scalar: Math.log,
  js: (x) => math("log", x),
  vjp: (g, x) => g.div(x),
});

defineUnary({
  name: "sqrt",
  scalar: Math.sqrt,
  js: (x) => math("sqrt", x),
  vjp: (g, _x, y) => g.div(y.mul(2)),
});

defineUnary({
  name: "tanh",
  scalar: Math.tanh,
  js: (x) => math("tanh", x),
  // d tanh = 1 - tanh²: written with ops, so it differentiates again (tfjs's rule does not).
  vjp: (g, _x, y) => g.mul(sub(1, y.square())),
});

defineUnary({
  name: "sigmoid",
  scalar: (x) => 1 / (1 + Math.exp(-x)),
  js: (x) => bin("/", num(1), bin("+", num(1), math("exp", neg(x)))),
  vjp: (g, _x, y) => g.mul(y.mul(sub(1, y))),
});

defineUnary({
  name: "relu",
  scalar: (x) => (x > 0 ? x : 0),
  js: (x) => cond(bin(">", x, num(0)), x, num(0)),
  // step(y) equals step(x) everywhere (y > 0 exactly where x > 0; NaN gives 0 in both), but y is stored
  // anyway (the next layer's weight gradient or a pool's backward reads it): the backward recomputes the
  // mask from y inside its own loop instead of the forward storing a 0/1 mask the size of the activation.
  vjp: (g, _x, y) => g.mul(step(y)),
});

defineUnary({
  name: "abs",
  scalar: Math.abs,
  js: (x) => math("abs", x),
  vjp: (g, x) => g.mul(x.sign()),
});

/** 2⁻¹²⁶, the smallest normal float32: below it in magnitude a float32 is subnormal. */
export const FLOAT32_MIN_NORMAL = 2 ** -126;

defineUnary({
  name: "flushSubnormal",
  // x, or 0 where |x| is below float32's normal range (the FTZ that XLA and TensorFlow set on CPU, as an
  // op): an optimizer's decaying state (a dead unit's Adam moment) would otherwise sit at a subnormal fixed
  // point, 0.9 · 4·2⁻¹⁴⁹ rounding back to 4·2⁻¹⁴⁹, and every op on it take a microcode assist on Intel
  // cores (W3 ran 1.37 → 0.77 ms per step once they were zero).
  scalar: (x) => (Math.abs(x) < FLOAT32_MIN_NORMAL ? 0 : x),
  js: (x) => cond(bin("<", math("abs", x), num(FLOAT32_MIN_NORMAL)), num(0), x),
  // The identity's: the op moves a value by less than 2⁻¹²⁶, never more.
  vjp: (g) => g,
});

defineUnary({
  name: "square",
  scalar: (x) => x * x,
  js: (x) => bin("*", x, x),
  vjp: (g, x) => g.mul(x.mul(2)),
});

defineUnary({
  name: "pow",
  scalar: (x, a) => x ** (a.p as number),
  js: (x, a) => math("pow", x, num(a.p as number)),
  vjp: (g, x, _y, a) => {
    const p = a.p as number;
    if (p === 0) return null;
    if (p === 1) return g;
    return g.mul(x.pow(p - 1).mul(p));
  },
});

defineUnary({
  name: "sin",
  scalar: Math.sin,
  js: (x) => math("sin", x),
  vjp: (g, x) => g.mul(x.cos()),
});

defineUnary({
  name: "cos",
  scalar: Math.cos,
  js: (x) => math("cos", x),
  vjp: (g, x) => g.mul(x.sin()).neg(),
});

defineUnary({
  name: "reciprocal",
  scalar: (x) => 1 / x,
  js: (x) => bin("/", num(1), x),
  vjp: (g, _x, y) => g.mul(y.square()).neg(),
});

defineUnary({
  name: "leakyRelu",
  scalar: (x, a) => (x > 0 ? x : (a.alpha as number) * x),
  js: (x, a) => cond(bin(">", x, num(0)), x, bin("*", num(a.alpha as number), x)),
  // slope 1 where x > 0, alpha elsewhere: step(x)·(1 − alpha) + alpha.
  vjp: (g, x, _y, a) => {
    const alpha = a.alpha as number;
    return g.mul(
      step(x)
        .mul(1 - alpha)
        .add(alpha),
    );
  },
});

defineUnary({
  name: "softplus",
  // log(1 + e^x) without overflow: x + log1p(e^-x) for x > 0.
  scalar: (x) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x))),
  js: (x) =>
    cond(bin(">", x, num(0)), bin("+", x, math("log1p", math("exp", neg(x)))), math("log1p", math("exp", x))),
  vjp: (g, x) => g.mul(x.sigmoid()),
});

defineUnary({
  name: "gelu",
  // The tanh approximation (as torch's gelu(approximate="tanh")).
  scalar: (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + GELU_K * x * x * x))),
  js: (x) =>
    bin(
      "*",
      bin("*", num(0.5), x),
      bin(
        "+",
        num(1),
        math("tanh", bin("*", num(GELU_C), bin("+", x, bin("*", num(GELU_K), bin("*", x, bin("*", x, x)))))),
      ),
    ),
  vjp: (g, x) => {
    // d/dx = 0.5(1 + t) + 0.5·x·(1 − t²)·c·(1 + 3k·x²), t = tanh(c(x + k·x³)).
    const t = x.add(x.pow(3).mul(GELU_K)).mul(GELU_C).tanh();
    const inner = x
      .square()
      .mul(3 * GELU_K)
      .add(1)
      .mul(GELU_C);
    const d = t
      .add(1)
      .mul(0.5)
      .add(x.mul(0.5).mul(sub(1, t.square())).mul(inner));
    return g.mul(d);
  },
});

defineUnary({
  name: "sign",
  scalar: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  js: (x) => cond(bin(">", x, num(0)), num(1), cond(bin("<", x, num(0)), num(-1), num(0))),
});

/** Heaviside step, with the value at 0 as an attribute (0 for relu's derivative, 0.5 for ties in maximum). */
defineUnary({
  name: "step",
  scalar: (x, a) => (x > 0 ? 1 : x < 0 ? 0 : (a.at0 as number)),
  js: (x, a) => cond(bin(">", x, num(0)), num(1), cond(bin("<", x, num(0)), num(0), num(a.at0 as number))),
});

/** Identity whose gradient is zero (torch's detach, JAX's stop_gradient). */
defineUnary({
  name: "stopGradient",
  scalar: (x) => x,
  js: (x) => x,
});
