/**
 * W5's starting point, shared by every system: LeNet-5's weights in torch's layout (conv [O, C, kh, kw],
 * linear [out, in]), initialized as torch's defaults (U(±1/√fan_in)) from a seeded generator, and one fixed
 * batch (x uniform in [0, 1), labels 0..9), so that all systems train on exactly the same numbers.
 */
import { Rng } from "adjoint";

export const BATCH = 64;
export const LR = 1e-3;

/** [name, shape, fan_in] of every parameter, in the order the systems take them. */
export const PARAMS: readonly [string, number[], number][] = [
  ["c1.w", [6, 1, 5, 5], 25],
  ["c1.b", [6], 25],
  ["c2.w", [16, 6, 5, 5], 150],
  ["c2.b", [16], 150],
  ["f1.w", [120, 400], 400],
  ["f1.b", [120], 400],
  ["f2.w", [84, 120], 120],
  ["f2.b", [84], 120],
  ["f3.w", [10, 84], 84],
  ["f3.b", [10], 84],
];

export interface W5Data {
  params: Float32Array[];
  x: Float32Array;
  labels: Int32Array;
}

export function w5Data(seed = 5): W5Data {
  const rng = new Rng(seed);
  const params = PARAMS.map(([, shape, fanIn]) => {
    const bound = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
      rng.uniformRange(-bound, bound),
    );
  });
  const x = Float32Array.from({ length: BATCH * 28 * 28 }, () => rng.uniformRange(0, 1));
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniformRange(0, 10)));
  return { params, x, labels };
}

/** conv + 2·(bias) FLOPs of the forward pass, per batch (multiply-adds count 2). */
export function forwardFlops(): number {
  const conv1 = 2 * BATCH * 6 * 28 * 28 * 25;
  const conv2 = 2 * BATCH * 16 * 10 * 10 * 150;
  const fc = 2 * BATCH * (400 * 120 + 120 * 84 + 84 * 10);
  return conv1 + conv2 + fc;
}

/** A system under test: a fresh copy of the weights and Adam state, one step at a time. */
export interface W5Runner {
  name: string;
  describe: string;
  /** One training step (forward, backward, Adam); resolves when the new weights are computed. */
  step(): void | Promise<void>;
  /** The loss of the last step. */
  loss(): number | Promise<number>;
  /** One forward pass (the inference table). */
  forward(): void | Promise<void>;
  /** Called before each timed round, untimed (tfjs: its backend is process-wide; switch to this one's). */
  prepare?(): Promise<void>;
  /** Times n steps (or forwards) itself when it lives in another process; else undefined. */
  time?(what: "step" | "forward", n: number): Promise<number>;
  dispose(): void | Promise<void>;
}
