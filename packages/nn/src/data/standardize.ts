/**
 * Per-feature scaling of row-major data (n rows of `features` values). Fit on the training split only, then
 * apply the same fitted scaler to validation and test data: statistics taken from the whole dataset would
 * leak test information into training.
 */
export interface FeatureScaler {
  features: number;
  /** A scaled copy; the input is untouched. */
  apply(x: Float32Array): Float32Array;
  /** Scales x in place and returns it. */
  applyInPlace(x: Float32Array): Float32Array;
}

export interface Standardizer extends FeatureScaler {
  /** Per-feature mean (float32, so it can be saved in a checkpoint and reloaded bit for bit). */
  mean: Float32Array;
  /** Per-feature population standard deviation; 1 for a constant feature so scaling never divides by 0. */
  std: Float32Array;
}

export interface MinMaxScaler extends FeatureScaler {
  min: Float32Array;
  /** max - min, or 1 for a constant feature. */
  range: Float32Array;
  /** Target interval, [0, 1] by default. */
  low: number;
  high: number;
}

/** Fits mean and standard deviation per feature: x -> (x - mean) / std. */
export function fitStandardizer(x: Float32Array, n: number, features: number): Standardizer {
  checkMatrix("fitStandardizer", x, n, features);
  const sum = new Float64Array(features);
  const min = new Float64Array(features).fill(Number.POSITIVE_INFINITY);
  const max = new Float64Array(features).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) {
      const v = x[i * features + f];
      sum[f] += v;
      if (v < min[f]) min[f] = v;
      if (v > max[f]) max[f] = v;
    }
  }
  const mean = new Float64Array(features);
  for (let f = 0; f < features; f++) mean[f] = sum[f] / n;
  // Two passes (sum of squared deviations from the mean) rather than E[x^2] - E[x]^2, which cancels badly.
  const squares = new Float64Array(features);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) {
      const d = x[i * features + f] - mean[f];
      squares[f] += d * d;
    }
  }
  const mean32 = new Float32Array(features);
  const std32 = new Float32Array(features);
  for (let f = 0; f < features; f++) {
    // A constant feature is detected exactly (min === max) instead of by a variance threshold: rounding in
    // the mean can leave a tiny nonzero variance whose reciprocal would blow the feature up.
    if (min[f] === max[f]) {
      mean32[f] = min[f];
      std32[f] = 1;
    } else {
      mean32[f] = mean[f];
      std32[f] = Math.sqrt(squares[f] / n);
      if (std32[f] === 0) std32[f] = 1; // spread below float32 resolution
    }
  }
  return standardizerFrom(mean32, std32);
}

/** Rebuilds a standardizer from saved statistics (e.g. read back from a checkpoint). */
export function standardizerFrom(mean: Float32Array, std: Float32Array): Standardizer {
  if (mean.length !== std.length) {
    throw new Error(`standardizerFrom: mean has ${mean.length} features, std has ${std.length}`);
  }
  const features = mean.length;
  const applyInPlace = (x: Float32Array): Float32Array => {
    checkRows("Standardizer.apply", x, features);
    for (let i = 0; i < x.length; i += features) {
      for (let f = 0; f < features; f++) x[i + f] = (x[i + f] - mean[f]) / std[f];
    }
    return x;
  };
  return { features, mean, std, applyInPlace, apply: (x) => applyInPlace(x.slice()) };
}

/** Fits per-feature min and max: x -> low + (x - min) / (max - min) * (high - low). */
export function fitMinMaxScaler(
  x: Float32Array,
  n: number,
  features: number,
  options: { low?: number; high?: number } = {},
): MinMaxScaler {
  const { low = 0, high = 1 } = options;
  if (!(high > low)) throw new Error(`fitMinMaxScaler: high (${high}) must be greater than low (${low})`);
  checkMatrix("fitMinMaxScaler", x, n, features);
  const min = new Float32Array(features).fill(Number.POSITIVE_INFINITY);
  const max = new Float32Array(features).fill(Number.NEGATIVE_INFINITY);
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < features; f++) {
      const v = x[i * features + f];
      if (v < min[f]) min[f] = v;
      if (v > max[f]) max[f] = v;
    }
  }
  const range = new Float32Array(features);
  for (let f = 0; f < features; f++) range[f] = max[f] > min[f] ? max[f] - min[f] : 1;
  return minMaxScalerFrom(min, range, low, high);
}

/** Rebuilds a min-max scaler from saved statistics. */
export function minMaxScalerFrom(min: Float32Array, range: Float32Array, low = 0, high = 1): MinMaxScaler {
  if (min.length !== range.length) {
    throw new Error(`minMaxScalerFrom: min has ${min.length} features, range has ${range.length}`);
  }
  const features = min.length;
  const span = high - low;
  const applyInPlace = (x: Float32Array): Float32Array => {
    checkRows("MinMaxScaler.apply", x, features);
    for (let i = 0; i < x.length; i += features) {
      for (let f = 0; f < features; f++) x[i + f] = low + ((x[i + f] - min[f]) / range[f]) * span;
    }
    return x;
  };
  return { features, min, range, low, high, applyInPlace, apply: (x) => applyInPlace(x.slice()) };
}

function checkMatrix(what: string, x: Float32Array, n: number, features: number): void {
  if (!Number.isInteger(features) || features < 1) {
    throw new Error(`${what}: features must be a whole number >= 1, got ${features}`);
  }
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: needs at least one sample, got n = ${n}`);
  if (x.length !== n * features) {
    throw new Error(`${what}: x has ${x.length} values, expected n * features = ${n} * ${features}`);
  }
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new Error(`${what}: feature ${i % features} of sample ${Math.floor(i / features)} is ${x[i]}`);
    }
  }
}

function checkRows(what: string, x: Float32Array, features: number): void {
  if (x.length % features !== 0) {
    throw new Error(`${what}: x has ${x.length} values, not a whole number of rows of ${features} features`);
  }
}
