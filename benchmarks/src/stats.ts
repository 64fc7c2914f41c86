/** A sample's summary: the median (what the tables show) and the min–max range. */
import type { Stats } from "./types";

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function statsOf(samples: number[], stepsPerSample: number): Stats {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples: samples.length,
    stepsPerSample,
  };
}
