/** The course's worked examples, exactly. */
import { evaluate, exp, Graph, grad, matmul, norm, slice, square, sum } from "adjoint";
import { describe, expect, it } from "vitest";
import { assertGradients } from "../helpers/finite-diff";

describe("worked examples", () => {
  it("y = exp(w·x + b) at (w, x, b) = (2, 3, −4): ∂y/∂w = 22.17, ∂y/∂x = 14.78, ∂y/∂b = 7.39", () => {
    const g = new Graph();
    const w = g.input("w", [], { requiresGrad: true });
    const x = g.input("x", [], { requiresGrad: true });
    const b = g.input("b", [], { requiresGrad: true });
    const y = exp(w.mul(x).add(b));
    const [dw, dx, db] = grad(y, [w, x, b]);
    const feeds = { w: [2], x: [3], b: [-4] };
    const [vy, vw, vx, vb] = evaluate([y, dw, dx, db], feeds).map((a) => a[0]);
    // w·x + b = 2, so y = e² and ∂y/∂w = x·e², ∂y/∂x = w·e², ∂y/∂b = e².
    expect(vy).toBeCloseTo(7.389056, 6);
    expect(vw).toBeCloseTo(22.17, 2);
    expect(vx).toBeCloseTo(14.78, 2);
    expect(vb).toBeCloseTo(7.39, 2);
    expect(vw).toBeCloseTo(3 * Math.exp(2), 12);
    expect(vx).toBeCloseTo(2 * Math.exp(2), 12);
    expect(vb).toBeCloseTo(Math.exp(2), 12);
  });

  it("f = ‖Wx‖²: ∇W = 2Wxxᵀ and ∇x = 2WᵀWx", () => {
    const Wv = [
      [1, 2, 0],
      [0, 1, -1],
    ];
    const xv = [1, -1, 2];
    const g = new Graph();
    const W = g.input("W", [2, 3], { requiresGrad: true });
    const x = g.input("x", [3, 1], { requiresGrad: true });
    const f = sum(square(matmul(W, x)));
    const [dW, dx] = grad(f, [W, x]);
    const feeds = { W: Wv.flat(), x: xv };
    const [vf, vdW, vdx] = evaluate([f, dW, dx], feeds);

    // The formulas, by hand: Wx = (−1, −3), so f = 10, 2(Wx)xᵀ and 2Wᵀ(Wx).
    const Wx = Wv.map((row) => row.reduce((s, wij, j) => s + wij * xv[j], 0));
    expect(Wx).toEqual([-1, -3]);
    const expectedW = Wx.map((wxi) => xv.map((xj) => 2 * wxi * xj));
    const expectedX = xv.map((_, j) => 2 * Wv.reduce((s, row, i) => s + row[j] * Wx[i], 0));
    expect(expectedW).toEqual([
      [-2, 2, -4],
      [-6, 6, -12],
    ]);
    expect(expectedX).toEqual([-2, -10, 6]);

    expect(vf[0]).toBe(10);
    expect(dW.shape).toEqual([2, 3]);
    expect(dx.shape).toEqual([3, 1]);
    expect(Array.from(vdW)).toEqual(expectedW.flat());
    expect(Array.from(vdx)).toEqual(expectedX);
    assertGradients(f, [W, x], feeds, { grads: [dW, dx] });
  });

  it("ℓ = ‖x‖ at (1, 2, 2) is 3, with gradient (1/3, 2/3, 2/3)", () => {
    const g = new Graph();
    const x = g.input("x", [3], { requiresGrad: true });
    const l = norm(x);
    const [dx] = grad(l, [x]);
    const [vl, vdx] = evaluate([l, dx], { x: [1, 2, 2] });
    expect(vl[0]).toBe(3);
    expect(Array.from(vdx)).toEqual([1 / 3, 2 / 3, 2 / 3].map((v) => expect.closeTo(v, 15)));
  });

  it("x = (1,2,3), φ = Σx², g1 = ∇φ, ψ = exp(g1[0]) − exp(g1[2]): ∇ψ = (14.7781, 0, −806.8576)", () => {
    const g = new Graph();
    const x = g.input("x", [3], { requiresGrad: true });
    const phi = sum(square(x));
    const [g1] = grad(phi, [x]);
    const psi = sum(exp(slice(g1, 0, 1)).sub(exp(slice(g1, 2, 3))));
    const [dpsi] = grad(psi, [x]);
    const feeds = { x: [1, 2, 3] };
    const [vg1, vpsi, vd] = evaluate([g1, psi, dpsi], feeds);
    expect(Array.from(vg1)).toEqual([2, 4, 6]);
    expect(vpsi[0]).toBeCloseTo(Math.exp(2) - Math.exp(6), 10);
    // ∇ψ = (2e², 0, −2e⁶).
    expect(vd[0]).toBeCloseTo(14.7781, 4);
    expect(vd[1]).toBe(0);
    expect(vd[2]).toBeCloseTo(-806.8576, 4);
    expect(Array.from(vd)).toEqual([2 * Math.exp(2), 0, -2 * Math.exp(6)].map((v) => expect.closeTo(v, 10)));
    assertGradients(psi, [x], feeds, { grads: [dpsi] });
  });
});
