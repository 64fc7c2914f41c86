/**
 * conv2d, the pools, pad and the norms against PyTorch (float64 fixtures made by
 * scripts/make_conv_fixtures.py): outputs, and the gradients of sum(y·C) for every input, evaluated by the
 * float64 interpreter. Max-pool inputs hold exact ties: the gradient must go to the first maximum.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  avgPool2d,
  batchNorm,
  conv2d,
  evaluate,
  Graph,
  grad,
  layerNorm,
  maxPool2d,
  type Tensor,
} from "adjoint";
import { describe, expect, it } from "vitest";

interface Case {
  op: string;
  attrs: Record<string, unknown>;
  inputs: Record<string, { shape: number[]; values: number[] }>;
  cot: number[];
  output: { shape: number[]; values: number[] };
  grads: Record<string, number[]>;
}

const fixture = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "conv", "cases.json"), "utf8")) as {
  torch: string;
  cases: Case[];
};

type Pair = [number, number];

function apply(c: Case, xs: Record<string, Tensor>): Tensor {
  const a = c.attrs;
  switch (c.op) {
    case "conv2d":
      return conv2d(xs.x, xs.w, xs.b, {
        stride: a.stride as Pair,
        padding: a.padding as Pair,
        dilation: a.dilation as Pair,
        groups: a.groups as number,
      });
    case "maxPool2d":
      return maxPool2d(xs.x, a.kernel as Pair, { stride: a.stride as Pair, padding: a.padding as Pair });
    case "avgPool2d":
      return avgPool2d(xs.x, a.kernel as Pair, { stride: a.stride as Pair, padding: a.padding as Pair });
    case "pad":
      return xs.x.pad(a.pads as [number, number, number, number], a.value as number);
    case "batchNorm":
      return batchNorm(xs.x, xs.weight, xs.bias, { eps: a.eps as number });
    case "layerNorm":
      return layerNorm(xs.x, a.normalizedShape as number[], xs.weight, xs.bias, { eps: a.eps as number });
  }
  throw new Error(`unknown op ${c.op}`);
}

function expectClose(actual: Float64Array, expected: number[], what: string, tol = 1e-10) {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  expect(worst, `${what}: largest relative error`).toBeLessThan(tol);
}

describe(`against PyTorch ${fixture.torch} (float64)`, () => {
  it("has cases for every op", () => {
    const ops = new Set(fixture.cases.map((c) => c.op));
    expect([...ops].sort()).toEqual(["avgPool2d", "batchNorm", "conv2d", "layerNorm", "maxPool2d", "pad"]);
  });

  for (const [i, c] of fixture.cases.entries()) {
    const shapes = Object.entries(c.inputs)
      .map(([k, v]) => `${k} [${v.shape}]`)
      .join(", ");
    it(`${i}: ${c.op} ${JSON.stringify(c.attrs)} on ${shapes}`, () => {
      const g = new Graph();
      const xs: Record<string, Tensor> = {};
      const feeds: Record<string, number[]> = {};
      for (const [name, v] of Object.entries(c.inputs)) {
        xs[name] = g.input(name, v.shape, { requiresGrad: true });
        feeds[name] = v.values;
      }
      const y = apply(c, xs);
      expect(y.shape).toEqual(c.output.shape);
      expect(y.composite?.op).toBe(c.op === "pad" ? "pad2d" : c.op);
      // The cotangent is fed (a constant would be rounded to float32).
      const loss = y.mul(g.input("cot", y.shape)).sum();
      feeds.cot = c.cot;
      const names = Object.keys(c.inputs);
      const grads = grad(
        loss,
        names.map((n) => xs[n]),
      );
      const values = evaluate([y, ...grads], feeds);
      expectClose(values[0], c.output.values, "output");
      for (const [k, n] of names.entries()) expectClose(values[k + 1], c.grads[n], `d/d${n}`);
    });
  }
});
