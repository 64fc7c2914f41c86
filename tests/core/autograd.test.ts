/**
 * requiresGrad propagation (as PyTorch: a result requires grad iff an operand does, and the op is
 * differentiable; stopGradient/detach cut it), grad's argument checks, and backward()'s .grad.
 */
import {
  backward,
  concat,
  crossEntropy,
  equal,
  evaluate,
  Graph,
  grad,
  linear,
  matmul,
  mseLoss,
  sign,
  step,
  stopGradient,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";

function leaves() {
  const g = new Graph();
  return {
    g,
    x: g.input("x", [2, 3]), // data: no grad
    xr: g.input("xr", [2, 3], { requiresGrad: true }),
    W: g.param("W", [2, 3]),
    frozen: g.param("frozen", [2, 3], { requiresGrad: false }),
    buf: g.buffer("buf", [2, 3]),
    c: g.constant([1, 2, 3, 4, 5, 6], [2, 3]),
  };
}

describe("requiresGrad of leaves", () => {
  it("inputs default to false, params to true; frozen params, buffers and constants are false", () => {
    const { g, x, xr, W, frozen, buf, c } = leaves();
    expect(x.requiresGrad).toBe(false);
    expect(xr.requiresGrad).toBe(true);
    expect(W.requiresGrad).toBe(true);
    expect(frozen.requiresGrad).toBe(false);
    expect(buf.requiresGrad).toBe(false);
    expect(c.requiresGrad).toBe(false);
    expect(g.scalar(2).requiresGrad).toBe(false);
  });
});

describe("requiresGrad propagation", () => {
  const unaryOps: [string, (t: Tensor) => Tensor][] = [
    ["neg", (t) => t.neg()],
    ["exp", (t) => t.exp()],
    ["log", (t) => t.log()],
    ["sqrt", (t) => t.sqrt()],
    ["tanh", (t) => t.tanh()],
    ["sigmoid", (t) => t.sigmoid()],
    ["relu", (t) => t.relu()],
    ["abs", (t) => t.abs()],
    ["flushSubnormal", (t) => t.flushSubnormal()],
    ["square", (t) => t.square()],
    ["pow", (t) => t.pow(3)],
    ["sin", (t) => t.sin()],
    ["cos", (t) => t.cos()],
    ["reciprocal", (t) => t.reciprocal()],
    ["leakyRelu", (t) => t.leakyRelu(0.2)],
    ["softplus", (t) => t.softplus()],
    ["gelu", (t) => t.gelu()],
    ["sum", (t) => t.sum(0)],
    ["mean", (t) => t.mean(1, true)],
    ["max", (t) => t.max()],
    ["logsumexp", (t) => t.logsumexp(-1)],
    ["transpose", (t) => t.transpose()],
    ["permute", (t) => t.permute([1, 0])],
    ["reshape", (t) => t.reshape([-1])],
    ["broadcastTo", (t) => t.broadcastTo([4, 2, 3])],
    ["slice", (t) => t.slice(0, 1, 1)],
    ["softmax", (t) => t.softmax()],
    ["logSoftmax", (t) => t.logSoftmax(0)],
    ["norm", (t) => t.norm()],
  ];
  for (const [name, op] of unaryOps) {
    it(`${name}: requires grad iff its operand does`, () => {
      const { x, xr, W, frozen, buf } = leaves();
      expect(op(x).requiresGrad).toBe(false);
      expect(op(frozen).requiresGrad).toBe(false);
      expect(op(buf).requiresGrad).toBe(false);
      expect(op(xr).requiresGrad).toBe(true);
      expect(op(W).requiresGrad).toBe(true);
    });
  }

  const binaryOps: [string, (a: Tensor, b: Tensor) => Tensor][] = [
    ["add", (a, b) => a.add(b)],
    ["sub", (a, b) => a.sub(b)],
    ["mul", (a, b) => a.mul(b)],
    ["div", (a, b) => a.div(b)],
    ["maximum", (a, b) => a.maximum(b)],
    ["minimum", (a, b) => a.minimum(b)],
    ["matmul", (a, b) => matmul(a, b.transpose())],
    ["concat", (a, b) => concat([a, b], 0)],
    ["mseLoss", (a, b) => mseLoss(a, b)],
    ["linear", (a, b) => linear(a, b)],
    ["crossEntropy (probabilities)", (a, b) => crossEntropy(a, b.softmax())],
  ];
  for (const [name, op] of binaryOps) {
    it(`${name}: requires grad iff an operand does`, () => {
      const { x, xr, W, frozen, c } = leaves();
      expect(op(x, frozen).requiresGrad).toBe(false);
      expect(op(x, c).requiresGrad).toBe(false);
      expect(op(x, W).requiresGrad).toBe(true);
      expect(op(W, x).requiresGrad).toBe(true);
      expect(op(xr, frozen).requiresGrad).toBe(true);
      expect(op(W, xr).requiresGrad).toBe(true);
    });
  }

  it("with plain numbers as operands", () => {
    const { x, W } = leaves();
    expect(x.add(1).requiresGrad).toBe(false);
    expect(W.mul(2).requiresGrad).toBe(true);
    expect(W.sub(1).div(3).requiresGrad).toBe(true);
  });

  it("crossEntropy against class indices requires grad iff the logits do", () => {
    const g = new Graph();
    const labels = g.input("labels", [2]);
    const logits = g.input("logits", [2, 3]);
    const W = g.param("W", [2, 3]);
    expect(crossEntropy(logits, labels).requiresGrad).toBe(false);
    expect(crossEntropy(logits.add(W), labels).requiresGrad).toBe(true);
  });

  it("stopGradient and detach stop it, for the result and everything computed only from it", () => {
    const { x, W, xr } = leaves();
    expect(stopGradient(W).requiresGrad).toBe(false);
    expect(W.detach().requiresGrad).toBe(false);
    expect(xr.stopGradient().requiresGrad).toBe(false);
    expect(W.detach().exp().mul(x).sum().requiresGrad).toBe(false);
    expect(W.detach().mul(W).requiresGrad).toBe(true); // another path from W still requires grad
  });

  it("non-differentiable ops (equal, sign, step) do not require grad", () => {
    const { W, xr } = leaves();
    expect(equal(W, xr).requiresGrad).toBe(false);
    expect(sign(W).requiresGrad).toBe(false);
    expect(step(xr).requiresGrad).toBe(false);
    expect(W.mul(sign(W)).requiresGrad).toBe(true);
  });

  it("a chain through a frozen param requires grad only where a trainable leaf enters", () => {
    const { x, W, frozen } = leaves();
    const h = x.mul(frozen).tanh();
    expect(h.requiresGrad).toBe(false);
    const y = h.add(W).sum();
    expect(y.requiresGrad).toBe(true);
  });
});

describe("grad: argument checks", () => {
  it("a non-scalar output is a clear error naming its shape", () => {
    const g = new Graph();
    const x = g.input("x", [2, 3], { requiresGrad: true });
    const y = x.exp();
    expect(() => grad(y, [x])).toThrow(/output must be a scalar/);
    expect(() => grad(y, [x])).toThrow(/exp %\d+ \[2,3\]/);
    expect(() => grad(y, [x])).toThrow(/y\.sum\(\)/);
  });

  it("a one-element output of any rank is accepted (as torch's numel() == 1)", () => {
    const g = new Graph();
    const x = g.input("x", [1, 1], { requiresGrad: true });
    const [d] = grad(x.square(), [x]);
    expect(d.shape).toEqual([1, 1]);
    expect(Array.from(evaluate(d, { x: [3] }))).toEqual([6]);
  });

  it("an input without requiresGrad is a clear error naming it, with the fix", () => {
    const g = new Graph();
    const x = g.input("images", [2, 3]);
    const W = g.param("W", [2, 3]);
    const y = x.mul(W).sum();
    expect(() => grad(y, [x])).toThrow(/input "images" %0 \[2,3\] does not require grad/);
    expect(() => grad(y, [x])).toThrow(/\{ requiresGrad: true \}/);
  });

  it("a frozen param, or a detached tensor, is a clear error naming it", () => {
    const g = new Graph();
    const W = g.param("W", [3]);
    const F = g.param("frozen", [3], { requiresGrad: false });
    const d = W.detach();
    const y = W.mul(F).add(d).sum();
    expect(() => grad(y, [F])).toThrow(/param "frozen" %1 \[3\] does not require grad/);
    expect(() => grad(y, [d])).toThrow(/stopGradient %\d+ \[3\] does not require grad/);
  });

  it("a tensor of another graph is a clear error", () => {
    const g1 = new Graph();
    const g2 = new Graph();
    const a = g1.input("a", [2], { requiresGrad: true });
    const b = g2.input("b", [2], { requiresGrad: true });
    expect(() => grad(a.sum(), [b])).toThrow(/input "b" %0 \[2\] belongs to another graph/);
  });

  it("non-Tensor arguments are type errors", () => {
    const g = new Graph();
    const a = g.input("a", [2], { requiresGrad: true });
    expect(() => grad(3 as unknown as Tensor, [a])).toThrow(TypeError);
    expect(() => grad(a.sum(), a as unknown as Tensor[])).toThrow(TypeError);
    expect(() => grad(a.sum(), [2 as unknown as Tensor])).toThrow(TypeError);
  });

  it("a seed cotangent allows a non-scalar output (a vector-Jacobian product), and must match its shape", () => {
    const g = new Graph();
    const x = g.input("x", [3], { requiresGrad: true });
    const v = g.input("v", [3]);
    const [d] = grad(x.square(), [x], { seed: v });
    expect(Array.from(evaluate(d, { x: [1, 2, 3], v: [1, 10, 100] }))).toEqual([2, 40, 600]);
    const w = g.input("w", [2]);
    expect(() => grad(x.square(), [x], { seed: w })).toThrow(/seed \[2\] does not match the output \[3\]/);
  });

  it("marks the nodes it creates as gradient nodes and leaves the primal graph unchanged", () => {
    const g = new Graph();
    const x = g.input("x", [2], { requiresGrad: true });
    const y = x.tanh().mul(x).sum();
    const before = g.nodes.slice();
    const [d] = grad(y, [x]);
    expect(g.nodes.slice(0, before.length).every((n, i) => n === before[i])).toBe(true);
    expect(before.every((n) => !n.isGradient)).toBe(true);
    const created = g.nodes.slice(before.length).filter((n) => n.role === "op" && n.op !== "const");
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((n) => n.isGradient)).toBe(true);
    expect(d.isGradient).toBe(true);
  });
});

describe("backward", () => {
  function model() {
    const g = new Graph();
    const init = (v: Float32Array) => {
      for (let i = 0; i < v.length; i++) v[i] = 0.1 * (i + 1);
    };
    const W = g.param("W", [2, 3], { init });
    const b = g.param("b", [2], { init });
    const frozen = g.param("frozen", [2], { init, requiresGrad: false });
    const x = g.input("x", [4, 3]);
    const t = g.input("t", [4, 2]);
    const loss = mseLoss(linear(x, W, b).add(frozen).tanh(), t);
    const feeds = {
      x: Array.from({ length: 12 }, (_, i) => Math.sin(i)),
      t: Array.from({ length: 8 }, (_, i) => Math.cos(i)),
    };
    return { g, W, b, frozen, x, loss, feeds };
  }

  it("sets .grad on the params that require grad, to grad(loss, param)", () => {
    const { W, b, frozen, x, loss, feeds } = model();
    expect(W.grad).toBeNull();
    const params = backward(loss);
    expect(params.length).toBe(2);
    expect(params[0]).toBe(W);
    expect(params[1]).toBe(b);
    expect(W.grad).not.toBeNull();
    expect(b.grad).not.toBeNull();
    expect(frozen.grad).toBeNull();
    expect(x.grad).toBeNull();
    expect(W.grad!.shape).toEqual([2, 3]);
    const [dW, db] = grad(loss, [W, b]);
    const [gW, gb, eW, eb] = evaluate([W.grad!, b.grad!, dW, db], feeds);
    expect(Array.from(gW)).toEqual(Array.from(eW));
    expect(Array.from(gb)).toEqual(Array.from(eb));
    expect(Math.max(...Array.from(gW, Math.abs))).toBeGreaterThan(1e-3);
  });

  it("accumulates into .grad on a second call (as torch does without zero_grad)", () => {
    const { W, b, loss, feeds } = model();
    backward(loss);
    const [first, firstB] = evaluate([W.grad!, b.grad!], feeds);
    backward(loss);
    const [second, secondB] = evaluate([W.grad!, b.grad!], feeds);
    expect(Array.from(second)).toEqual(Array.from(first, (v) => expect.closeTo(2 * v, 14)));
    expect(Array.from(secondB)).toEqual(Array.from(firstB, (v) => expect.closeTo(2 * v, 14)));
  });

  it("accumulates the gradients of two different losses", () => {
    const { W, loss, feeds } = model();
    const l2 = W.square().sum();
    backward(loss);
    backward(l2);
    const [dW] = grad(loss, [W]);
    const [acc, d1] = evaluate([W.grad!, dW], feeds);
    const w = Array.from(W.value);
    expect(Array.from(acc)).toEqual(Array.from(d1, (v, i) => expect.closeTo(v + 2 * w[i], 12)));
  });

  it("leaves .grad of a param the loss does not depend on null (as torch does)", () => {
    const g = new Graph();
    const used = g.param("used", [2]);
    const unused = g.param("unused", [2]);
    const loss = used.square().sum();
    const params = backward(loss);
    expect(params.map((p) => p.name)).toEqual(["used"]);
    expect(used.grad).not.toBeNull();
    expect(unused.grad).toBeNull();
  });
});
