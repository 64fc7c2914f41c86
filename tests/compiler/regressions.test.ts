/**
 * Minimal reproductions of compiler bugs the differential tests found, one per root cause, each checked
 * against values computed by hand (and the interpreter).
 */
import { assign, checkNoAllocation, compile, crossEntropy, evaluate, Graph, grad } from "adjoint";
import { describe, expect, it } from "vitest";

describe("compiler regressions (minimal repros)", () => {
  it("max over values that are all negative is the largest of them, not 0 (-Infinity must print as -Infinity)", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const rows = x.max(1);
    const all = x.max();
    const k = compile({ rows, all });
    expect(k.source).not.toContain("null");
    k.run({ x: [-3, -2, -1, -6, -5, -4] });
    expect(Array.from(k.outputs.rows)).toEqual([-1, -4]);
    expect(k.outputs.all[0]).toBe(-1);
  });

  it("logsumexp over values that are all negative (the softmax of a row of negative logits)", () => {
    const g = new Graph();
    const x = g.input("x", [3]);
    const y = x.logsumexp();
    const p = x.softmax();
    const k = compile({ y, p });
    const xs = [-1, -2, -3];
    k.run({ x: xs });
    const lse = Math.log(xs.reduce((s, v) => s + Math.exp(v), 0));
    expect(k.outputs.y[0]).toBeCloseTo(lse, 6);
    expect(Array.from(k.outputs.p).map((v, i) => v - Math.exp(xs[i] - lse))).toEqual([
      expect.closeTo(0, 6),
      expect.closeTo(0, 6),
      expect.closeTo(0, 6),
    ]);
  });

  it("grad of sum(x·W) compiles: a matmul whose operand is a broadcast constant (the cotangent 1)", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const W = g.param("W", [3, 4], { init: (v) => v.fill(0.5) });
    const loss = x.matmul(W).sum();
    const [dW] = grad(loss, [W]);
    const xs = [1, 2, 3, 4, 5, 6];
    const k = compile({ loss, dW });
    k.run({ x: xs });
    // dW[i][j] = Σ_b x[b][i]: column sums of x, the same for every j.
    expect(Array.from(k.outputs.dW)).toEqual([5, 5, 5, 5, 7, 7, 7, 7, 9, 9, 9, 9]);
    expect(k.outputs.loss[0]).toBe(21 * 0.5 * 4);
  });

  it("an output that is a scalar constant holds its value (its copy must not read itself)", () => {
    const g = new Graph();
    const k = compile({ two: g.scalar(2) });
    k.run();
    expect(k.outputs.two[0]).toBe(2);

    // The same after simplification: grad(p·0.6) w.r.t. p folds to the constant 0.6.
    const p = g.param("p", [], { init: (v) => v.set([3]) });
    const [dp] = grad(p.mul(0.6), [p]);
    const kp = compile({ dp });
    kp.run();
    expect(kp.outputs.dp[0]).toBeCloseTo(0.6, 6);
    expect(evaluate(dp)[0]).toBeCloseTo(0.6, 12);
  });

  it("logsumexp (and softmax) over a size-1 axis compiles (no duplicate declarations when the reduced loop vanishes)", () => {
    const g = new Graph();
    const x = g.input("x", [3, 1]);
    const y = x.logsumexp(1);
    const p = x.softmax(1);
    const k = compile({ y, p });
    k.run({ x: [-1.5, 0.5, 2] });
    expect(Array.from(k.outputs.y)).toEqual([-1.5, 0.5, 2]);
    expect(Array.from(k.outputs.p)).toEqual([1, 1, 1]);
  });

  it("a unary op of a scalar constant compiles (constant folding of an op with one operand)", () => {
    const g = new Graph();
    const x = g.input("x", []);
    const y = g.scalar(2).neg().add(x);
    const k = compile({ y });
    k.run({ x: [5] });
    expect(k.outputs.y[0]).toBe(3);

    // What grad makes of a scalar difference: d(a − b)/db = neg(1).
    const a = g.input("a", [], { requiresGrad: true });
    const b = g.input("b", [], { requiresGrad: true });
    const [db] = grad(a.sub(b), [b]);
    const kb = compile({ db });
    kb.run();
    expect(kb.outputs.db[0]).toBe(-1);
  });

  it("a waiting (leaf-only) node pulled into an earlier loop must not read a value computed after that loop", () => {
    const g = new Graph();
    const x = g.input("x", [2]);
    const p = g.param("p", [2], { init: (v) => v.set([1, 2]) });
    const e = x.sub(x.max()).exp(); // reads a reduction: has its loop early
    const a = p.mul(g.constant([3, 4], [2])); // reads only leaves: waits for a consumer
    const b = a.neg(); // reads only a waiting node: waits too
    const s = a.sum(); // a reduction needs a: a gets a loop now, after e's
    const y = e.add(b); // joins e's loop and pulls b in, but b reads a
    const k = compile({ y, s });
    k.run({ x: [0.5, 1.5] });
    const ey = [Math.exp(-1) - 3, 1 - 8];
    expect(k.outputs.s[0]).toBe(11);
    expect(Array.from(k.outputs.y)).toEqual([expect.closeTo(ey[0], 5), expect.closeTo(ey[1], 5)]);
  });

  it("a rejected feed changes no input: every feed is checked before any is copied", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3]);
    const y = g.input("y", [2]);
    const k = compile({ l: crossEntropy(x, y) });
    k.run({ x: [1, 2, 3, 4, 5, 6], y: [0, 1] });
    expect(() => k.run({ x: [9, 9, 9, 9, 9, 9], y: [0, 7] })).toThrow(/label 7 at \[1\] of input "y"/);
    expect(Array.from(k.inputs.x)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(k.inputs.y)).toEqual([0, 1]);
  });

  it("user text reaches the generated source only inside line comments it cannot leave", () => {
    const g = new Graph();
    const evil = 'w\nthrow new Error("injected") // \u2028 */';
    const w = g.param(evil, [2], { init: (v) => v.set([1, 2]) });
    const x = g.input("x\r\nglobalThis.pwned = 1", [2]);
    const y = g.scope("m\nod", () => x.mul(w)).sum();
    const k = compile({ y }, { updates: [assign(w, w.mul(0.5).add(x))] });
    // The text is there, folded onto its comment line.
    expect(k.source).toContain('update w throw new Error("injected")');
    expect(k.source).toContain("in m od");
    expect(k.source).not.toContain("\nthrow");
    expect(k.source).not.toContain("\u2028");
    expect(checkNoAllocation(k.source).ok).toBe(true);
    k.run({ ["x\r\nglobalThis.pwned = 1"]: [3, 4] });
    expect(k.outputs.y[0]).toBe(11);
    expect(Array.from(w.value)).toEqual([3.5, 5]);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });
});
