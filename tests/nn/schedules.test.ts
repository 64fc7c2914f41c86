import { describe, expect, it } from "vitest";
import { optim } from "../../packages/nn/src";

const { schedules } = optim;

describe("learning-rate schedules follow their formulas", () => {
  it("timeBased: a_0 = lr0, a_k = a_{k-1}/(1 + tau k)", () => {
    const s = schedules.timeBased({ lr0: 0.5, tau: 0.1 });
    let a = 0.5;
    for (let k = 0; k < 50; k++) {
      if (k > 0) a /= 1 + 0.1 * k;
      expect(s(k)).toBe(a);
    }
    // Evaluated out of order, it recomputes the same values.
    expect(s(3)).toBe(0.5 / 1.1 / 1.2 / 1.3);
    expect(s(0)).toBe(0.5);
    expect(s(4)).toBe(0.5 / 1.1 / 1.2 / 1.3 / 1.4);
  });

  it("exponential: a_k = lr0 e^{-tau k}", () => {
    const s = schedules.exponential({ lr0: 0.2, tau: 0.3 });
    for (let k = 0; k < 30; k++) expect(s(k)).toBe(0.2 * Math.exp(-0.3 * k));
  });

  it("step: lr0 gamma^floor(k / stepSize)", () => {
    const s = schedules.step({ lr0: 1, stepSize: 3, gamma: 0.5 });
    expect([0, 1, 2, 3, 4, 5, 6, 9].map(s)).toEqual([1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.125]);
    expect(schedules.step({ lr0: 1, stepSize: 2 })(2)).toBeCloseTo(0.1, 15);
  });

  it("cosine: lrMin + (lr0 - lrMin)(1 + cos(pi k / tMax))/2", () => {
    const s = schedules.cosine({ lr0: 0.1, tMax: 10, lrMin: 0.001 });
    expect(s(0)).toBe(0.1);
    expect(s(10)).toBeCloseTo(0.001, 15);
    expect(s(5)).toBeCloseTo((0.1 + 0.001) / 2, 15);
    for (let k = 0; k <= 20; k++) {
      expect(s(k)).toBeCloseTo(0.001 + ((0.1 - 0.001) * (1 + Math.cos((Math.PI * k) / 10))) / 2, 15);
    }
  });

  it("rejects bad arguments, naming the schedule", () => {
    expect(() => schedules.timeBased({ lr0: -1, tau: 0 })).toThrow(
      "schedules.timeBased: lr0 must be a finite number >= 0",
    );
    expect(() => schedules.step({ lr0: 1, stepSize: 0 })).toThrow(
      "schedules.step: stepSize must be a whole number >= 1",
    );
    expect(() => schedules.cosine({ lr0: 1, tMax: 2.5 })).toThrow("schedules.cosine: tMax");
    expect(() => schedules.exponential({ lr0: 1, tau: 1 })(-1)).toThrow("k must be a whole number >= 0");
  });
});
