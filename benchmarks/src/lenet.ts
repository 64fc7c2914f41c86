/**
 * W5's network, LeNet-5 as issue #11 defines it (conv 1→6 5×5 pad 2, ReLU, max pool 2, conv 6→16 5×5, ReLU,
 * max pool 2, flatten, 400→120→84→10), described once for every system: its parameters in torch's layouts
 * (conv [O, C, kh, kw], linear [out, in]) initialized as torch's defaults (U(±1/√fan_in)), and its FLOPs.
 */
import type { Rng } from "../../packages/core/src/random";

/** [name, shape, fan_in] of every parameter, in the order every system takes them (torch's parameters()). */
export const LENET_PARAMS: readonly [name: string, shape: number[], fanIn: number][] = [
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

/** The input image of one example: [channels, height, width]. */
export const LENET_IMAGE = [1, 28, 28] as const;

/** Torch's default init of every parameter, drawn in LENET_PARAMS order from rng. */
export function lenetParams(rng: Rng): Float32Array[] {
  return LENET_PARAMS.map(([, shape, fanIn]) => {
    const bound = 1 / Math.sqrt(fanIn);
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
      rng.uniformRange(-bound, bound),
    );
  });
}

/** FLOPs of one forward pass (multiply-add = 2) of the convolutions and the dense layers. */
export function lenetForwardFlops(batch: number): number {
  const conv1 = 2 * batch * 6 * 28 * 28 * 25;
  const conv2 = 2 * batch * 16 * 10 * 10 * 150;
  const fc = 2 * batch * (400 * 120 + 120 * 84 + 84 * 10);
  return conv1 + conv2 + fc;
}
