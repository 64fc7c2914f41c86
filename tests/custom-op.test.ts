import { evaluate, Graph, getOp, grad, id, isElementwise, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";
import { defineElementwise, parseElementwise, printExpr } from "../packages/compiler/src/custom-op";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const swishRef = (x: number) => x * sigmoid(x);
const swishD1 = (x: number) => sigmoid(x) * (1 + x * (1 - sigmoid(x)));
const swishD2 = (x: number) => {
  const s = sigmoid(x);
  return s * (1 - s) * (2 + x * (1 - 2 * s));
};

const swish = defineElementwise("swish", "x => x / (1 + Math.exp(-x))");
const XS = [-6, -2.5, -1, -0.3, 0, 0.4, 1, 2.2, 7];

function closeTo(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const scale = Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol * scale)) {
      throw new Error(`[${i}]: ${actual[i]} vs ${expected[i]} (tolerance ${tol})`);
    }
  }
}

/** Central differences of an elementwise function given as a map over arrays. */
function centralDiff(f: (xs: number[]) => ArrayLike<number>, xs: number[], h = 1e-5): number[] {
  const up = f(xs.map((x) => x + h));
  const down = f(xs.map((x) => x - h));
  return xs.map((_, i) => (up[i] - down[i]) / (2 * h));
}

describe("defineElementwise: values", () => {
  it("swish matches the hand formula in the interpreter, in scalar() and in evaluateScalar()", () => {
    const g = new Graph();
    const x = g.input("x", [XS.length]);
    const y = swish(x);
    expect(y.op).toBe("swish");
    expect(y.shape).toEqual([XS.length]);
    closeTo(evaluate(y, { x: XS }), XS.map(swishRef), 1e-15);
    const def = getOp("swish");
    expect(isElementwise(def)).toBe(true);
    if (!isElementwise(def)) return;
    expect(def.arity).toBe(1);
    for (const v of XS) {
      expect(def.scalar(v, 0, {})).toBe(v / (1 + Math.exp(-v)));
      expect(swish.evaluateScalar(v)).toBe(v / (1 + Math.exp(-v)));
    }
  });

  it("js() inlines the checked formula with the operands substituted", () => {
    const def = swish.def;
    expect(printExpr(def.js([id("a")], {}))).toBe("a / (1 + Math.exp(-a))");
    expect(swish.toSource()).toBe("x => x / (1 + Math.exp(-x))");
    expect(swish.describe()).toBe("swish(x) = x / (1 + Math.exp(-x))");
  });

  it("accepts function objects (arrow and function expression) through their source", () => {
    const softsign = defineElementwise("softsign", (x: number) => x / (1 + Math.abs(x)));
    // biome-ignore lint/complexity/useArrowFunction: the test is about function expressions
    const cube = defineElementwise("cubeFn", function (x: number) {
      return x * x * x;
    });
    const g = new Graph();
    const x = g.input("x", [XS.length]);
    const [a, b] = evaluate([softsign(x), cube(x)], { x: XS });
    closeTo(
      a,
      XS.map((v) => v / (1 + Math.abs(v))),
      1e-15,
    );
    closeTo(
      b,
      XS.map((v) => v * v * v),
      1e-15,
    );
    expect(cube.params).toEqual(["x"]);
  });

  it("two operands broadcast as in NumPy ([3,1] with [4] gives [3,4]); numbers are lifted to constants", () => {
    const f = defineElementwise("mix2", "(x, y) => x * Math.sin(y) + x ** 2 / (1 + y * y)");
    const ref = (x: number, y: number) => x * Math.sin(y) + x ** 2 / (1 + y * y);
    const g = new Graph();
    const a = g.input("a", [3, 1]);
    const b = g.input("b", [4]);
    const z = f(a, b);
    expect(z.shape).toEqual([3, 4]);
    const av = [0.5, -1.25, 2];
    const bv = [-1, 0, 0.75, 3];
    const expected = av.flatMap((x) => bv.map((y) => ref(x, y)));
    closeTo(evaluate(z, { a: av, b: bv }), expected, 1e-14);
    closeTo(
      evaluate(f(a, 2), { a: av }),
      av.map((x) => ref(x, 2)),
      1e-14,
    );
    expect(f.def.scalar(1.5, -0.5, {})).toBeCloseTo(ref(1.5, -0.5), 15);
    expect(() => f(a)).toThrow(/mix2: expected 2 operands \(x, y\), got 1/);
    expect(() => f(1, 2)).toThrow(/at least one operand must be a Tensor/);
    expect(() => f(g.input("c", [2]), b)).toThrow(/cannot be broadcast/);
  });

  it("takes three or more operands", () => {
    const fma = defineElementwise("fma3", "(a, b, c) => a * b + c");
    const g = new Graph();
    const a = g.input("a", [2, 1, 1]);
    const b = g.input("b", [3, 1]);
    const c = g.input("c", [4]);
    const y = fma(a, b, c);
    expect(y.shape).toEqual([2, 3, 4]);
    const [av, bv, cv] = [
      [1, 2],
      [3, 4, 5],
      [0.5, 0.25, -1, 10],
    ];
    const expected = av.flatMap((p) => bv.flatMap((q) => cv.map((r) => p * q + r)));
    closeTo(evaluate(y, { a: av, b: bv, c: cv }), expected, 0);
    expect(fma.evaluateScalar(2, 3, 4)).toBe(10);
    // The two-operand scalar() of ElementwiseDef cannot see a third operand: NaN, never a wrong number.
    expect(fma.def.scalar(1, 2, {})).toBeNaN();
  });

  it("logical operators, comparisons and ternaries follow JS semantics exactly", () => {
    // The function objects are both the source and the oracle.
    const fns: Array<(x: number) => number> = [
      (x) => (x > 0 && x < 1 ? x : 0),
      (x) => +(x < -1 || x > 1) * x,
      (x) => (x && 1 / x) || 5,
      (x) => (x === 0 ? 3 : x !== 1 ? -x : 7),
      (x) => +(x > 0) + +(x >= 1) + +(x === 2) + +(x !== 2) * 10,
      (x) => +!(x > 0) * 2 + +!x,
      (x) => x % 1.5,
    ];
    fns.forEach((fn, k) => {
      const op = defineElementwise(`logic${k}`, fn);
      for (const v of [-2, -1, -0.5, 0, 0.5, 1, 2, 3.7]) {
        expect(op.evaluateScalar(v), `${op.toSource()} at ${v}`).toBe(fn(v));
      }
    });
    // Booleans stay booleans until the end, as in JS: arithmetic on them counts 1 and 0, === tells them apart.
    const bools = defineElementwise(
      "bools",
      "x => (x > 0) + (x >= 1) * 2 + ((x > 0) === 1) * 100 + (x == 2) * 10 + ((x > 0) == 1) * 1000 + (x != 2) / 4",
    );
    expect([-1, 0.5, 2].map((v) => bools.evaluateScalar(v))).toEqual([0.25, 1001.25, 1013]);
    expect(defineElementwise("boolOut", "x => x > 0").evaluateScalar(3)).toBe(1);
    expect(printExpr(parseElementwise("(x, y) => x > 0 && y || x").body)).toBe("x > 0 && y || x");
  });

  it("folds Math constants to numbers", () => {
    const { body } = parseElementwise("x => Math.PI * x + Math.E");
    expect(printExpr(body)).toBe(`${Math.PI} * x + ${Math.E}`);
  });
});

describe("defineElementwise: derivatives", () => {
  it("swish: gradient and second derivative (grad of grad) match central differences", () => {
    const g = new Graph();
    const x = g.input("x", [XS.length], { requiresGrad: true });
    const y = swish(x);
    const [gx] = grad(y.sum(), [x]);
    const [gxx] = grad(gx.sum(), [x]);
    const run = (t: Tensor) => (xs: number[]) => evaluate(t, { x: xs });

    const d1 = evaluate(gx, { x: XS });
    closeTo(d1, centralDiff(run(y), XS), 1e-8);
    closeTo(d1, XS.map(swishD1), 1e-14);

    const d2 = evaluate(gxx, { x: XS });
    closeTo(d2, centralDiff(run(gx), XS), 1e-8);
    closeTo(d2, XS.map(swishD2), 1e-13);

    // Third derivative too, since each derivative is a custom op that differentiates again.
    const [gxxx] = grad(gxx.sum(), [x]);
    closeTo(evaluate(gxxx, { x: XS }), centralDiff(run(gxx), XS), 1e-7);
  });

  it("the derived ops appear in the graph with readable formulas, and are cached", () => {
    const d = swish.derivative(0);
    expect(d.opName).toBe("swish'0");
    expect(d.describe()).toBe("swish'0(x) = (1 + Math.exp(-x) + x * Math.exp(-x)) / (1 + Math.exp(-x)) ** 2");
    expect(swish.derivative(0)).toBe(d);
    expect(d.derivative(0).opName).toBe("swish'0'0");
    const huber = defineElementwise(
      "huber",
      "(x, d) => Math.abs(x) <= d ? 0.5 * x * x : d * (Math.abs(x) - 0.5 * d)",
    );
    expect(huber.derivative(0).describe()).toBe("huber'0(x, d) = Math.abs(x) <= d ? x : d * Math.sign(x)");
    expect(defineElementwise("cube3", "x => x ** 3").derivative(0).derivative(0).describe()).toBe(
      "cube3'0'0(x) = 6 * x",
    );
    // The printed derivative reads back as the same formula.
    expect(printExpr(parseElementwise(d.toSource()).body)).toBe(printExpr(d.body));

    const g = new Graph();
    const x = g.input("x", [2], { requiresGrad: true });
    const [gx] = grad(swish(x).sum(), [x]);
    expect(gx.inputs.map((t) => t.op)).toContain("swish'0");
    expect(g.toText()).toMatch(/swish'0 %0/);
  });

  it("two operands: gradients of both (summed over the broadcast) match central differences", () => {
    const f = defineElementwise("mix2b", "(x, y) => x * Math.sin(y) + x ** 2 / (1 + y * y)");
    const g = new Graph();
    const a = g.input("a", [3, 1], { requiresGrad: true });
    const b = g.input("b", [4], { requiresGrad: true });
    const w = g.constant([1, -2, 0.5, 3, 0.25, -1, 2, 1.5, -0.75, 1, 0.1, -3], [3, 4]);
    const loss = f(a, b).mul(w).sum();
    const [ga, gb] = grad(loss, [a, b]);
    expect(ga.shape).toEqual([3, 1]);
    expect(gb.shape).toEqual([4]);
    const av = [0.5, -1.25, 2];
    const bv = [-1, 0, 0.75, 3];
    const lossAt = (ax: number[], bx: number[]) => evaluate(loss, { a: ax, b: bx })[0];
    const h = 1e-6;
    const fdA = av.map((_, i) => {
      const up = av.map((v, j) => (j === i ? v + h : v));
      const down = av.map((v, j) => (j === i ? v - h : v));
      return (lossAt(up, bv) - lossAt(down, bv)) / (2 * h);
    });
    const fdB = bv.map((_, i) => {
      const up = bv.map((v, j) => (j === i ? v + h : v));
      const down = bv.map((v, j) => (j === i ? v - h : v));
      return (lossAt(av, up) - lossAt(av, down)) / (2 * h);
    });
    const [gav, gbv] = evaluate([ga, gb], { a: av, b: bv });
    closeTo(gav, fdA, 1e-7);
    closeTo(gbv, fdB, 1e-7);
    expect(f.partial(0)).toBeDefined();
    expect(printExpr(f.partial(0))).toBe("Math.sin(y) + 2 * x / (1 + y * y)");
    expect(printExpr(f.partial(1))).toBe("x * Math.cos(y) - x ** 2 * (2 * y) / (1 + y * y) ** 2");
  });

  it("a constant partial derivative needs no derived op; an operand without grad gets none", () => {
    const lin = defineElementwise("lin2", "(x, y) => 2 * x - y");
    const g = new Graph();
    const a = g.input("a", [3], { requiresGrad: true });
    const b = g.input("b", [3], { requiresGrad: true });
    const c = g.input("c", [3]);
    const [ga, gb] = grad(lin(a, b).sum(), [a, b]);
    expect(g.nodes.some((n) => n.op.startsWith("lin2'"))).toBe(false);
    const [gav, gbv] = evaluate([ga, gb], { a: [1, 2, 3], b: [4, 5, 6] });
    expect([...gav]).toEqual([2, 2, 2]);
    expect([...gbv]).toEqual([-1, -1, -1]);
    const [ga2] = grad(swish(a).mul(swish(c)).sum(), [a]);
    expect(ga2.graph.nodes.filter((n) => n.op === "swish'0").map((n) => n.inputs[0])).toEqual([a]);
  });

  // Every differentiation rule, checked against central differences of the op itself.
  const RULES: Array<[string, number[]]> = [
    ["x => Math.exp(2 * x) - Math.expm1(-x)", [-1, 0, 0.7]],
    ["x => Math.log(x) + Math.log1p(x) + Math.log2(x) + Math.log10(x)", [0.3, 1, 4]],
    ["x => Math.sqrt(x) * Math.cbrt(x)", [0.2, 1, 5]],
    ["x => Math.sin(x) + Math.cos(3 * x) - Math.tan(x / 2)", [-1, 0.1, 1.2]],
    ["x => Math.sinh(x) - Math.cosh(x / 2) + Math.tanh(2 * x)", [-1.5, 0, 0.8]],
    ["x => Math.asin(x / 2) + Math.acos(x / 3) + Math.atan(x)", [-0.9, 0.1, 1.1]],
    ["x => Math.asinh(x) + Math.acosh(x + 2) + Math.atanh(x / 2)", [-0.9, 0.1, 1.1]],
    ["x => Math.atan2(x, 2 - x) + Math.hypot(x, 3, 2 * x)", [-0.9, 0.1, 1.1]],
    ["x => Math.abs(x - 0.5) * Math.max(x, 1 - x, 0.25) - Math.min(x * x, 0.5)", [-0.9, 0.2, 0.9]],
    ["x => x ** 3 + 2 ** x + x ** (x / 2) + Math.pow(x, 1.5) + Math.pow(3, x)", [0.4, 1.3, 2]],
    ["x => -x / (1 + x * x) + +x - x % 0.75", [-1.3, 0.2, 1.1]],
    ["x => x > 0 ? x * x : Math.sin(x)", [-1, 0.5, 2]],
    ["x => (x > 0 && x * x) || Math.exp(x)", [-1, 0.5, 2]],
  ];
  RULES.forEach(([source, points], k) => {
    it(`derivative rules: ${source}`, () => {
      const op = defineElementwise(`rule${k}`, source);
      const d1 = op.derivative(0);
      const d2 = d1.derivative(0);
      const fd = (f: (v: number) => number, v: number, h = 1e-6) => (f(v + h) - f(v - h)) / (2 * h);
      for (const v of points) {
        const exact = d1.evaluateScalar(v);
        expect(Number.isFinite(exact), `${d1.describe()} at ${v}`).toBe(true);
        expect(exact).toBeCloseTo(
          fd((u) => op.evaluateScalar(u), v),
          5,
        );
        expect(d2.evaluateScalar(v)).toBeCloseTo(
          fd((u) => d1.evaluateScalar(u), v, 1e-5),
          4,
        );
      }
    });
  });

  it("piecewise-constant functions and comparisons have a zero derivative", () => {
    const op = defineElementwise(
      "steps",
      "x => Math.floor(x) + Math.ceil(x) + Math.round(x) + Math.sign(x) + Math.trunc(x) + (x > 1) * 3 + !x",
    );
    expect(printExpr(op.partial(0))).toBe("0");
    expect(printExpr(parseElementwise("x => Math.fround(x) + Math.floor(x)").body)).toContain("fround");
    expect(printExpr(defineElementwise("fround1", "x => Math.fround(x) + Math.floor(x)").partial(0))).toBe(
      "1",
    );
  });
});

describe("defineElementwise: refused sources", () => {
  const REFUSED: Array<[string, string]> = [
    [
      "x => foo.bar",
      'member access "foo.bar" is not allowed at 1:6 (only Math.<function> and Math.<constant>)',
    ],
    [
      "(x, y) => x + process",
      'identifier "process" is not allowed at 1:15 (only the parameters x, y and Math)',
    ],
    ["x =>\n  x * y", 'identifier "y" is not allowed at 2:7 (only the parameter x and Math)'],
    ["x => Math.exp", 'member access "Math.exp" is not allowed at 1:6 (Math.exp must be called)'],
    ["x => Math.LN", 'member access "Math.LN" is not allowed at 1:6'],
    ["x => Math", 'identifier "Math" on its own is not allowed at 1:6'],
    ["x => eval(x)", 'call of "eval" is not allowed at 1:6 (only Math.<function>(...))'],
    ["x => globalThis.fetch(x)", 'call of "globalThis.fetch" is not allowed at 1:6'],
    [
      "x => Math.random()",
      'call of "Math.random" is not allowed at 1:6 (Math.random is not one of the allowed Math functions)',
    ],
    ['x => Math["exp"](x)', 'call of "Math["exp"]" is not allowed at 1:6'],
    ["x => Math.exp?.(x)", 'optional chaining "Math.exp?.(x)" is not allowed at 1:6'],
    ["x => x?.y", 'optional chaining "x?.y" is not allowed at 1:6'],
    ["x => x = 1", 'assignment "x = 1" is not allowed at 1:6'],
    ["x => x += 1", 'assignment "x += 1" is not allowed at 1:6'],
    ["function (x) { return this; }", '"this" is not allowed at 1:23'],
    ["function (x) { return this.y * x; }", '"this" is not allowed at 1:23'],
    ["x => 'a'", "string literal 'a' is not allowed at 1:6 (only number literals)"],
    ["x => x + `a`", "a template literal is not allowed at 1:10"],
    ["x => String.raw`a`", "a tagged template is not allowed at 1:6"],
    ["x => true", "boolean literal true is not allowed at 1:6"],
    ["x => null", "null is not allowed at 1:6"],
    ["x => 1n", "BigInt literal 1n is not allowed at 1:6"],
    ["x => /a/", "regular expression /a/ is not allowed at 1:6"],
    ["x => new Float64Array(x)", '"new" expression "new Float64Array(x)" is not allowed at 1:6'],
    ["function (x) { return new.target; }", '"new.target" is not allowed at 1:23'],
    ["x => [x]", "an array literal is not allowed at 1:6"],
    ["x => ({ x })", "an object literal is not allowed at 1:7"],
    ["x => Math.max(...[x])", 'spread "...[x]" is not allowed at 1:15'],
    ["x => (x, 2)", "a sequence expression (comma operator) is not allowed at 1:7"],
    ["x => x++", 'update expression "x++" is not allowed at 1:6'],
    ["x => --x", 'update expression "--x" is not allowed at 1:6'],
    ["x => typeof x", 'unary operator "typeof" is not allowed at 1:6'],
    ["x => void x", 'unary operator "void" is not allowed at 1:6'],
    ["x => ~x", 'unary operator "~" is not allowed at 1:6'],
    ["x => x & 1", 'operator "&" is not allowed at 1:6'],
    ["x => x << 1", 'operator "<<" is not allowed at 1:6'],
    ["x => x in Math", 'operator "in" is not allowed at 1:6'],
    ["x => x ?? 1", 'operator "??" is not allowed at 1:6'],
    ["x => () => x", "a nested function is not allowed at 1:6"],
    ["x => class {}", "a class is not allowed at 1:6"],
    ['x => import("fs")', "a dynamic import is not allowed at 1:6"],
    ["(x = 1) => x", 'default parameter "x = 1" is not allowed at 1:2'],
    ["({ a }) => a", 'destructured parameter "{ a }" is not allowed at 1:2'],
    ["([a]) => a", 'destructured parameter "[a]" is not allowed at 1:2'],
    ["(x, ...ys) => x", 'rest parameter "...ys" is not allowed at 1:5'],
    ["(x, Math) => x", 'parameter "Math" is not allowed at 1:5'],
    ["function (x, x) { return x; }", 'duplicate parameter "x" is not allowed at 1:14'],
    ["async x => x", "an async function is not allowed at 1:1"],
    ["async function (x) { return x; }", "an async function is not allowed at 1:1"],
    ["function* (x) { return x; }", "a generator function is not allowed at 1:1"],
    [
      "function (x) { const y = 2 * x; return y; }",
      'statement "const y = 2 * x;" in the function body is not allowed at 1:16 (the body must be an expression or a single return statement)',
    ],
    ["function (x) { return x; x; }", 'statement "x;" in the function body is not allowed at 1:26'],
    [
      "function (x) { if (x) return 1; return 0; }",
      'statement "if (x) return 1;" in the function body is not allowed at 1:16',
    ],
    ["function (x) { return; }", "a return without a value is not allowed at 1:16"],
    ["function (x) {}", "an empty function body is not allowed at 1:14"],
    // Allowed (message ""): a block with a single return, comments, a trailing semicolon.
    ["x => { return x; }", ""],
    ["/* lead */ x => x * 2; // trailing comment", ""],
    ["42", "expected an arrow function"],
    ["() => 1", "the function must take at least one parameter"],
    ["x => x; process.exit()", 'unexpected "process.exit()" after the function at 1:9'],
    ["x => x +", "syntax error: Unexpected token at 1:9"],
    ["x => Math.pow(x)", "Math.pow takes 2 arguments, got 1 at 1:6"],
    ["x => Math.max()", "Math.max takes at least 1 argument, got 0 at 1:6"],
    ["x => Math.exp(x, 1)", "Math.exp takes 1 argument, got 2 at 1:6"],
  ];

  REFUSED.forEach(([source, message], k) => {
    it(`refuses ${JSON.stringify(source)}`, () => {
      if (message === "") {
        expect(() => parseElementwise(source)).not.toThrow();
        return;
      }
      expect(() => defineElementwise(`bad${k}`, source)).toThrow(`defineElementwise("bad${k}"): ${message}`);
      // Nothing is registered by a refused definition.
      expect(() => getOp(`bad${k}`)).toThrow(/unknown op/);
    });
  });

  it("refuses native functions, which have no readable source", () => {
    expect(() => defineElementwise("nativeExp", Math.exp)).toThrow(/native or bound function/);
  });

  it("refuses a name clash and names that are not identifiers", () => {
    expect(() => defineElementwise("add", "x => x")).toThrow(
      'defineElementwise("add"): an op named "add" already exists',
    );
    expect(() => defineElementwise("swish", "x => x")).toThrow(/an op named "swish" already exists/);
    defineElementwise("once", "x => x");
    expect(() => defineElementwise("once", "x => x")).toThrow(/already exists/);
    for (const name of ["", "2x", "a-b", "swish'0", "has space"]) {
      expect(() => defineElementwise(name, "x => x")).toThrow(/the name must be an identifier/);
    }
  });
});
