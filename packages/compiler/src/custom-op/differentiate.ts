/**
 * Symbolic differentiation of elementwise formulas (core `Expr` trees): d expr / d param, built with
 * lightly simplifying constructors (0·x → 0, 1·x → x, x + 0 → x, −−x → x, constant folding) so that
 * derivatives stay readable when printed. Comparisons, floor/ceil/round/sign/trunc are piecewise constant:
 * their derivative is 0 (as everywhere in autodiff, kinks take the branch the test picks).
 */
import { type BinaryOp, bin, cond, type Expr, math, num } from "@adjoint/core";
import { dependsOn, freeIdentifiers, negExpr as neg, printExpr } from "./expr";

const ZERO = num(0);
const ONE = num(1);

/** The partial derivative of `expr` with respect to the identifier `param`. */
export function differentiate(expr: Expr, param: string): Expr {
  return new Differentiator(param).d(expr);
}

/** The numeric value of a constant literal (`3`, `-3`, `+3`), else undefined. */
export function literalValue(e: Expr): number | undefined {
  if (e.type === "Literal") return e.value;
  if (e.type === "UnaryExpression" && e.operator !== "!") {
    const v = literalValue(e.argument);
    if (v === undefined) return undefined;
    return e.operator === "-" ? -v : v;
  }
  return undefined;
}

export function isZero(e: Expr): boolean {
  return literalValue(e) === 0;
}

/** Whether the expression reads no identifier at all (a constant, possibly unfolded). */
export function isConstant(e: Expr): boolean {
  return freeIdentifiers(e).size === 0;
}

function same(a: Expr, b: Expr): boolean {
  return a === b || printExpr(a) === printExpr(b);
}

/** A folded literal, if the value is finite (else undefined: keep the tree). */
function folded(v: number): Expr | undefined {
  return Number.isFinite(v) ? num(Object.is(v, -0) ? 0 : v) : undefined;
}

// Simplifying constructors.

export function add(a: Expr, b: Expr): Expr {
  const x = literalValue(a);
  const y = literalValue(b);
  if (x !== undefined && y !== undefined) return folded(x + y) ?? bin("+", a, b);
  if (x === 0) return b;
  if (y === 0) return a;
  if (y !== undefined && y < 0) return sub(a, num(-y));
  if (isNeg(b)) return sub(a, b.argument);
  if (isNeg(a)) return sub(b, a.argument);
  if (same(a, b)) return mul(num(2), a);
  return bin("+", a, b);
}

export function sub(a: Expr, b: Expr): Expr {
  const x = literalValue(a);
  const y = literalValue(b);
  if (x !== undefined && y !== undefined) return folded(x - y) ?? bin("-", a, b);
  if (y === 0) return a;
  if (x === 0) return negate(b);
  if (y !== undefined && y < 0) return add(a, num(-y));
  if (isNeg(b)) return add(a, b.argument);
  if (same(a, b)) return ZERO;
  // (p + q) − p = q, (p + q) − q = p, (p − q) − p = −q.
  if (a.type === "BinaryExpression" && (a.operator === "+" || a.operator === "-")) {
    if (same(a.left, b)) return a.operator === "+" ? a.right : negate(a.right);
    if (a.operator === "+" && same(a.right, b)) return a.left;
  }
  return bin("-", a, b);
}

export function mul(a: Expr, b: Expr): Expr {
  let x = literalValue(a);
  let y = literalValue(b);
  if (x !== undefined && y !== undefined) return folded(x * y) ?? bin("*", a, b);
  if (y !== undefined) {
    // Constants go first: 2 * x rather than x * 2.
    [a, b, x, y] = [b, a, y, x];
  }
  if (x === 0) return ZERO;
  if (x === 1) return b;
  if (x === -1) return negate(b);
  if (x !== undefined && x < 0) return negate(mul(num(-x), b));
  if (isNeg(a)) return negate(mul(a.argument, b));
  if (isNeg(b)) return negate(mul(a, b.argument));
  if (x !== undefined && b.type === "BinaryExpression" && b.operator === "*") {
    const z = literalValue(b.left);
    if (z !== undefined) return mul(num(x * z), b.right);
  }
  if (x === undefined && same(a, b)) return square(a);
  return bin("*", a, b);
}

export function div(a: Expr, b: Expr): Expr {
  const x = literalValue(a);
  const y = literalValue(b);
  if (x !== undefined && y !== undefined && y !== 0) return folded(x / y) ?? bin("/", a, b);
  if (x === 0 && y !== 0) return ZERO;
  if (y === 1) return a;
  if (y === -1) return negate(a);
  if (isNeg(a)) return negate(div(a.argument, b));
  if (isNeg(b)) return negate(div(a, b.argument));
  return bin("/", a, b);
}

export function pow(a: Expr, b: Expr): Expr {
  const x = literalValue(a);
  const y = literalValue(b);
  if (x !== undefined && y !== undefined) return folded(x ** y) ?? bin("**", a, b);
  if (y === 0) return ONE;
  if (y === 1) return a;
  // (a ** m) ** n = a ** (m·n) for whole m and n.
  if (y !== undefined && Number.isInteger(y) && a.type === "BinaryExpression" && a.operator === "**") {
    const m = literalValue(a.right);
    if (m !== undefined && Number.isInteger(m)) return pow(a.left, num(m * y));
  }
  return bin("**", a, b);
}

export function negate(a: Expr): Expr {
  const x = literalValue(a);
  if (x !== undefined) return folded(-x) ?? neg(a);
  if (isNeg(a)) return a.argument;
  return neg(a);
}

/** u², written u * u for a name (cheap and readable) and u ** 2 otherwise. */
export function square(u: Expr): Expr {
  const x = literalValue(u);
  if (x !== undefined) return folded(x * x) ?? bin("*", u, u);
  return u.type === "Identifier" ? bin("*", u, u) : pow(u, num(2));
}

/** Math.<fn>(...), folded when every argument is a literal and the result is a whole number. */
export function call(fn: string, ...args: Expr[]): Expr {
  const values = args.map(literalValue);
  if (values.every((v) => v !== undefined)) {
    const v = (Math as unknown as Record<string, (...xs: number[]) => number>)[fn](...(values as number[]));
    if (Number.isInteger(v)) return num(v);
  }
  return math(fn, ...args);
}

function choose(test: Expr, a: Expr, b: Expr): Expr {
  return same(a, b) ? a : cond(test, a, b);
}

function isNeg(e: Expr): e is Expr & { type: "UnaryExpression"; operator: "-" } {
  return e.type === "UnaryExpression" && e.operator === "-";
}

class Differentiator {
  constructor(private readonly param: string) {}

  d(e: Expr): Expr {
    if (!dependsOn(e, this.param)) return ZERO;
    switch (e.type) {
      case "Identifier":
        return ONE; // the parameter itself (anything else does not depend on it)
      case "Literal":
      case "MemberExpression":
        return ZERO;
      case "UnaryExpression":
        if (e.operator === "-") return negate(this.d(e.argument));
        if (e.operator === "+") return this.d(e.argument);
        return ZERO; // ! gives a boolean
      case "BinaryExpression":
        return this.binary(e.operator, e.left, e.right);
      case "LogicalExpression": {
        // a && b is b where a is truthy, else a; a || b is a where a is truthy, else b.
        const da = this.d(e.left);
        const db = this.d(e.right);
        if (isZero(da) && isZero(db)) return ZERO;
        return e.operator === "&&" ? choose(e.left, db, da) : choose(e.left, da, db);
      }
      case "ConditionalExpression": {
        const a = this.d(e.consequent);
        const b = this.d(e.alternate);
        return isZero(a) && isZero(b) ? ZERO : choose(e.test, a, b);
      }
      case "CallExpression": {
        const callee = e.callee.property;
        if (callee.type !== "Identifier") throw new Error(`differentiate: unexpected callee ${printExpr(e)}`);
        return this.call(callee.name, e.arguments);
      }
    }
  }

  private binary(op: BinaryOp, a: Expr, b: Expr): Expr {
    const da = this.d(a);
    const db = this.d(b);
    switch (op) {
      case "+":
        return add(da, db);
      case "-":
        return sub(da, db);
      case "*":
        return add(mul(da, b), mul(a, db));
      case "/":
        if (isZero(db)) return div(da, b);
        if (isZero(da)) return negate(div(mul(a, db), square(b)));
        return div(sub(mul(da, b), mul(a, db)), square(b));
      case "%":
        // a % b = a − b·trunc(a / b).
        return isZero(db) ? da : sub(da, mul(db, call("trunc", bin("/", a, b))));
      case "**":
        return this.power(a, b, da, db);
      default:
        return ZERO; // comparisons and bitwise operators: piecewise constant
    }
  }

  private power(a: Expr, b: Expr, da: Expr, db: Expr): Expr {
    if (isZero(db)) {
      // d a^c = c·a^(c−1)·da
      if (literalValue(b) === 0) return ZERO;
      return mul(mul(b, pow(a, sub(b, ONE))), da);
    }
    const ab = pow(a, b);
    // d c^b = c^b·ln c·db
    if (isZero(da)) return mul(mul(ab, call("log", a)), db);
    // d a^b = a^b·(db·ln a + b·da / a)
    return mul(ab, add(mul(db, call("log", a)), div(mul(b, da), a)));
  }

  private call(fn: string, args: readonly Expr[]): Expr {
    const [u, v] = args;
    // f(u)' = f'(u)·du, skipped when du = 0.
    const chain = (derivative: () => Expr) => {
      const du = this.d(u);
      return isZero(du) ? ZERO : mul(derivative(), du);
    };
    switch (fn) {
      case "exp":
      case "expm1":
        return chain(() => call("exp", u));
      case "log":
        return div(this.d(u), u);
      case "log1p":
        return div(this.d(u), add(ONE, u));
      case "log2":
        return div(this.d(u), mul(u, num(Math.LN2)));
      case "log10":
        return div(this.d(u), mul(u, num(Math.LN10)));
      case "sqrt":
        return div(this.d(u), mul(num(2), call("sqrt", u)));
      case "cbrt":
        return div(this.d(u), mul(num(3), square(call("cbrt", u))));
      case "sin":
        return chain(() => call("cos", u));
      case "cos":
        return negate(chain(() => call("sin", u)));
      case "tan":
        return div(this.d(u), square(call("cos", u)));
      case "sinh":
        return chain(() => call("cosh", u));
      case "cosh":
        return chain(() => call("sinh", u));
      case "tanh":
        return chain(() => sub(ONE, square(call("tanh", u))));
      case "asin":
        return div(this.d(u), call("sqrt", sub(ONE, square(u))));
      case "acos":
        return negate(div(this.d(u), call("sqrt", sub(ONE, square(u)))));
      case "atan":
        return div(this.d(u), add(ONE, square(u)));
      case "asinh":
        return div(this.d(u), call("sqrt", add(square(u), ONE)));
      case "acosh":
        return div(this.d(u), call("sqrt", sub(square(u), ONE)));
      case "atanh":
        return div(this.d(u), sub(ONE, square(u)));
      case "atan2": {
        // atan2(u, v): (v·du − u·dv) / (u² + v²)
        const du = this.d(u);
        const dv = this.d(v);
        return div(sub(mul(v, du), mul(u, dv)), add(square(u), square(v)));
      }
      case "pow":
        return this.power(u, v, this.d(u), this.d(v));
      case "abs":
        return chain(() => call("sign", u));
      case "hypot": {
        // (Σ uᵢ·duᵢ) / hypot(u…)
        const numerator = args.reduce<Expr>((s, ui) => add(s, mul(ui, this.d(ui))), ZERO);
        return div(numerator, call("hypot", ...args));
      }
      case "max":
      case "min":
        return this.extremum(fn, args);
      case "fround":
        return this.d(u);
      case "floor":
      case "ceil":
      case "round":
      case "sign":
      case "trunc":
        return ZERO;
      default:
        throw new Error(`differentiate: no derivative rule for Math.${fn}`);
    }
  }

  /** d max(a, rest…) = a >= max(rest…) ? da : d max(rest…) (the first maximum wins a tie). */
  private extremum(fn: "max" | "min", args: readonly Expr[]): Expr {
    const [first, ...rest] = args;
    if (rest.length === 0) return this.d(first);
    const others = rest.length === 1 ? rest[0] : math(fn, ...rest);
    const da = this.d(first);
    const dr = this.extremum(fn, rest);
    if (isZero(da) && isZero(dr)) return ZERO;
    return choose(bin(fn === "max" ? ">=" : "<=", first, others), da, dr);
  }
}
