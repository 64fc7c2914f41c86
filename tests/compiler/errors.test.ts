/**
 * Bad input gets a clear error, up front: forbidden custom-op source, wrong feeds, labels out of range,
 * outputs from two graphs. And debugging: a checkFinite kernel names the op, its line in graph.toText()
 * and its shape when a NaN or an infinity appears; the default kernel has no such checks in its source.
 */
import { assign, compile, crossEntropy, defineElementwise, Graph, grad, type Tensor } from "adjoint";
import { describe, expect, it } from "vitest";

let opCounter = 0;
const freshName = () => `compilerErrorsOp${opCounter++}`;

describe("bad input", () => {
  describe("a custom op with forbidden source: defineElementwise throws, naming the construct", () => {
    const cases: [string, string, RegExp][] = [
      ["new", "x => new Array(x)", /"new" expression "new Array\(x\)" is not allowed at 1:6/],
      ["a call of a global", "x => fetch(x)", /call of "fetch" is not allowed/],
      ["eval", "x => eval('x')", /call of "eval" is not allowed/],
      ["a loop", "x => { while (true) {} }", /statement "while \(true\) \{\}" in the function body is not allowed/],
      ["member access", "x => x.constructor", /member access "x.constructor" is not allowed/],
      ["a global object", "x => globalThis.x", /member access "globalThis.x" is not allowed/],
      ["assignment", "x => (x = 1)", /assignment "x = 1" is not allowed/],
      ["a string", "x => x + 'a'", /string literal 'a' is not allowed/],
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the source of a template literal, on purpose
      ["a template literal", "x => `${x}`", /template literal is not allowed/],
      ["a nested function", "(x) => { return () => x; }", /nested function is not allowed/],
      ["an impure Math function", "x => Math.random()", /call of "Math.random" is not allowed/],
      ["this", "x => this", /"this" is not allowed/],
    ];
    for (const [what, source, message] of cases) {
      it(what, () => {
        const name = freshName();
        expect(() => defineElementwise(name, source)).toThrow(message);
        expect(() => defineElementwise(name, source)).toThrow(`defineElementwise("${name}")`);
      });
    }
  });

  function classifier(): { k: ReturnType<typeof compile>; x: Tensor; labels: Tensor } {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const labels = g.input("labels", [2]);
    const k = compile({ loss: crossEntropy(x, labels) });
    return { k, x, labels };
  }
  const X = [1, 2, 3, 4, 5, 6];

  it("a feed of the wrong length: RangeError naming the input, its shape and the expected length", () => {
    const { k } = classifier();
    expect(() => k.run({ x: new Float32Array(3) })).toThrow(RangeError);
    expect(() => k.run({ x: new Float32Array(3) })).toThrow(
      'run: the feed for input "x" [2,3] has 3 values, expected 6',
    );
    expect(() => k.run({ x: new Array(7).fill(0) })).toThrow(/input "x" \[2,3\] has 7 values, expected 6/);
  });

  it("a feed of the wrong type: TypeError (a string, a number, an array holding a non-number)", () => {
    const { k } = classifier();
    expect(() => k.run({ x: "abcdef" as never })).toThrow(TypeError);
    expect(() => k.run({ x: "abcdef" as never })).toThrow(
      'run: the feed for input "x" [2,3] must be a Float32Array or an array of numbers, got string',
    );
    expect(() => k.run({ x: 6 as never })).toThrow(/must be a Float32Array or an array of numbers, got number/);
    expect(() => k.run({ x: [1, 2, 3, 4, 5, "6"] as never })).toThrow(/has a non-number at \[5\]: string/);
    expect(() => k.run(null as never)).toThrow(TypeError);
  });

  it("an unknown feed name: an error naming it and the kernel's inputs", () => {
    const { k } = classifier();
    expect(() => k.run({ y: X })).toThrow('run: unknown feed "y" (this kernel\'s inputs are: "x", "labels")');
  });

  it("a refused feed does not run the step", () => {
    const { k } = classifier();
    k.run({ x: X, labels: [0, 1] });
    const loss = k.outputs.loss[0];
    expect(() => k.run({ x: [9, 9, 9, 9, 9, 9], labels: [0, 3] })).toThrow(RangeError);
    expect(k.outputs.loss[0]).toBe(loss);
  });

  it("labels out of range for crossEntropy: run refuses, naming the label, its position and the classes", () => {
    const { k } = classifier();
    expect(() => k.run({ x: X, labels: [0, 3] })).toThrow(RangeError);
    expect(() => k.run({ x: X, labels: [0, 3] })).toThrow(
      /label 3 at \[1\] of input "labels" is not a class index \(a whole number in \[0, 3\)\)/,
    );
    expect(() => k.run({ labels: [-1, 0] })).toThrow(/label -1 at \[0\]/);
    expect(() => k.run({ labels: [0, 1.5] })).toThrow(/label 1.5 at \[1\]/);
    expect(() => k.run({ labels: [Number.NaN, 0] })).toThrow(/label NaN at \[0\]/);
    // Written straight into the input view (no feed check): run() still refuses.
    k.inputs.labels.set([0, 7]);
    expect(() => k.run()).toThrow(/label 7 at \[1\] of input "labels"/);
    k.inputs.labels.set([2, 0]);
    expect(() => k.run()).not.toThrow();
  });

  it("compiling outputs from two different graphs: a clear error", () => {
    const g1 = new Graph();
    const g2 = new Graph();
    const a = g1.input("a", [2]).sum();
    const b = g2.input("b", [2]).sum();
    expect(() => compile({ a, b })).toThrow(/compile: outputs from two different graphs/);
    expect(() => compile({ a, b })).toThrow(a.describe());
    // An update from another graph too.
    const p = g2.param("p", [2]);
    expect(() => compile({ a }, { updates: [assign(p, p.mul(2))] })).toThrow(/two different graphs/);
  });

  it("other misuse of compile: not a tensor, an update that is not an assign, nothing to compile", () => {
    const g = new Graph();
    const y = g.input("x", [2]).sum();
    expect(() => compile({ y: 3 as never })).toThrow('compile: output "y" is not a Tensor (got 3)');
    expect(() => compile({ y }, { updates: [y] })).toThrow(/updates must be assign nodes, got sum/);
    expect(() => compile({})).toThrow("compile: nothing to compile (no outputs and no updates)");
  });
});

describe("debugging with checkFinite", () => {
  /** The 1-based line of graph.toText() holding the node whose text contains `op`. */
  function lineOf(g: Graph, pattern: RegExp): number {
    const lines = g.toText().split("\n");
    const i = lines.findIndex((l) => pattern.test(l));
    if (i < 0) throw new Error(`no line matches ${pattern} in\n${g.toText()}`);
    return i + 1;
  }

  function logOfInput() {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const w = g.param("w", [3]);
    const y = x.add(w).log().mul(2).sum();
    return { g, y };
  }
  const NEGATIVE = [1, 2, -3, 4, 5, 6];

  it("log of a negative input: the error names the op, its line in graph.toText() and its shape", () => {
    const { g, y } = logOfInput();
    const k = compile({ y }, { checkFinite: true });
    expect(k.checksFinite).toBe(true);
    k.run({ x: [1, 2, 3, 4, 5, 6] }); // finite: no error
    const line = lineOf(g, /= log %/);
    let message = "";
    try {
      k.run({ x: NEGATIVE });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/^checkFinite: a non-finite value \(NaN or Infinity\)/);
    expect(message).toContain("log");
    expect(message).toContain(`line ${line} of graph.toText()`);
    expect(message).toContain("[2,3]");
    expect(message).not.toMatch(/= (add|mul|sum)\b/); // the first bad node, not what it flows into
  });

  it("sqrt(-1) and log(0) (an infinity) are caught too", () => {
    const g = new Graph();
    const x = g.input("x", [3]);
    const k = compile({ y: x.mul(0).add(-1).sqrt() }, { checkFinite: true });
    expect(() => k.run({ x: [1, 2, 3] })).toThrow(
      new RegExp(`sqrt : f32\\[3\\] \\(line ${lineOf(g, /= sqrt %/)} of graph\\.toText\\(\\)\\)`),
    );
    const h = g.input("h", [2, 2]);
    const k2 = compile({ y: h.log().exp() }, { checkFinite: true });
    expect(() => k2.run({ h: [1, 0, 2, 3] })).toThrow(/log : f32\[2,2\]/);
  });

  it("the default kernel has no finite checks: it does not throw, and its source lacks the check", () => {
    const { y } = logOfInput();
    const plain = compile({ y });
    const checked = compile({ y }, { checkFinite: true });
    expect(plain.checksFinite).toBe(false);
    expect(() => plain.run({ x: NEGATIVE })).not.toThrow();
    expect(plain.outputs.y[0]).toBeNaN();
    // The check is `x - x !== 0` (false for every finite x, true for NaN and ±Infinity).
    expect(checked.source).toContain("- x !== 0");
    expect(plain.source).not.toContain("- x !== 0");
    expect(plain.source).not.toMatch(/return [0-9]+;/);
    expect(checked.source.length).toBeGreaterThan(plain.source.length);
  });

  it("a checked training step stops at the forward NaN, before the update touches the params", () => {
    const g = new Graph();
    const x = g.input("x", [4]);
    const p = g.param("p", [4], { init: (v) => v.fill(1) });
    const loss = x.mul(p).sqrt().sum();
    const [dp] = grad(loss, [p]);
    const k = compile({ loss }, { checkFinite: true, updates: [assign(p, p.sub(dp.mul(0.1)))] });
    expect(() => k.run({ x: [1, 2, -3, 4] })).toThrow(/sqrt : f32\[4\]/);
    expect(Array.from(p.value)).toEqual([1, 1, 1, 1]);
    k.run({ x: [1, 2, 3, 4] });
    expect(p.value[0]).toBeCloseTo(1 - 0.1 * 0.5, 6); // d sqrt(x·p)/dp = x / (2 sqrt(x·p)) = 0.5 at x = p = 1
  });
});
