import { Rng } from "../../../core/src/random";
import type { Dataset } from "./dataset";

/** Options of {@link makeSpiral}. */
export interface SpiralOptions {
  pointsPerClass?: number;
  classes?: number;
  /** Standard deviation of the angle noise, in radians. */
  noise?: number;
  seed?: number;
}

/**
 * The CS231n spiral: `classes` interleaved arms in the plane, a classic set that no linear model separates.
 * Arm j has points at radius r = i / (N - 1) and angle 4j + 4r plus Gaussian noise, at (r sin t, r cos t).
 * Samples are grouped by class (shuffle with `batches` or `trainValSplit`).
 */
export function makeSpiral(options: SpiralOptions = {}): Dataset {
  const { pointsPerClass = 100, classes = 3, noise = 0.2, seed = 0 } = options;
  if (!Number.isInteger(pointsPerClass) || pointsPerClass < 1) {
    throw new Error(`makeSpiral: pointsPerClass must be a whole number >= 1, got ${pointsPerClass}`);
  }
  if (!Number.isInteger(classes) || classes < 1) {
    throw new Error(`makeSpiral: classes must be a whole number >= 1, got ${classes}`);
  }
  const rng = new Rng(seed);
  const n = pointsPerClass * classes;
  const x = new Float32Array(n * 2);
  const y = new Float32Array(n);
  for (let j = 0; j < classes; j++) {
    for (let i = 0; i < pointsPerClass; i++) {
      // linspace(0, 1, N) and linspace(4j, 4(j+1), N), as in the original numpy code.
      const fraction = pointsPerClass === 1 ? 0 : i / (pointsPerClass - 1);
      const radius = fraction;
      const angle = 4 * j + 4 * fraction + rng.normal() * noise;
      const row = j * pointsPerClass + i;
      x[2 * row] = radius * Math.sin(angle);
      x[2 * row + 1] = radius * Math.cos(angle);
      y[row] = j;
    }
  }
  return { x, y, n, xShape: [2], yShape: [], classes };
}
