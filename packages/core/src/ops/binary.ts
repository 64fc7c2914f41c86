/** Binary elementwise ops (NumPy broadcasting). grad sums each cotangent back to its operand's shape. */
import { bin, cond, num } from "../estree";
import { step } from "./api";
import { defineBinary } from "./elementwise";

defineBinary({
  name: "add",
  scalar: (a, b) => a + b,
  js: (a, b) => bin("+", a, b),
  vjp: (g) => [g, g],
});

defineBinary({
  name: "sub",
  scalar: (a, b) => a - b,
  js: (a, b) => bin("-", a, b),
  vjp: (g) => [g, g.neg()],
});

defineBinary({
  name: "mul",
  scalar: (a, b) => a * b,
  js: (a, b) => bin("*", a, b),
  vjp: (g, a, b) => [a.requiresGrad ? g.mul(b) : null, b.requiresGrad ? g.mul(a) : null],
});

defineBinary({
  name: "div",
  scalar: (a, b) => a / b,
  js: (a, b) => bin("/", a, b),
  // d(a/b)/db = −a/b² = −z/b.
  vjp: (g, _a, b, z) => [g.div(b), b.requiresGrad ? g.mul(z).div(b).neg() : null],
});

// Ties split the gradient evenly, as torch.maximum does.
defineBinary({
  name: "maximum",
  scalar: (a, b) => Math.max(a, b),
  js: (a, b) => cond(bin(">=", a, b), a, b),
  vjp: (g, a, b) => [g.mul(step(a.sub(b), 0.5)), g.mul(step(b.sub(a), 0.5))],
});

defineBinary({
  name: "minimum",
  scalar: (a, b) => Math.min(a, b),
  js: (a, b) => cond(bin("<=", a, b), a, b),
  vjp: (g, a, b) => [g.mul(step(b.sub(a), 0.5)), g.mul(step(a.sub(b), 0.5))],
});

/** 1 where a === b, else 0: class-index masks (one-hot) and the argmax mask of max. Not differentiable. */
defineBinary({
  name: "equal",
  scalar: (a, b) => (a === b ? 1 : 0),
  js: (a, b) => cond(bin("===", a, b), num(1), num(0)),
});
