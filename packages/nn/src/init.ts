/**
 * Initializers: each function here is a factory that checks its options and returns an `Initializer`
 * (value, shape, rng) => void for `g.param(name, shape, { init })`. Draws come from the graph's seeded
 * generator, so a model is reproducible from its graph's seed.
 *
 * Fans are computed as torch's `_calculate_fan_in_and_fan_out`: for a weight [out, in, ...rest],
 * fan_in = in·∏rest and fan_out = out·∏rest (the receptive field); for a 1-D tensor [n], fan_in = fan_out
 * = n (torch refuses 1-D; we allow it so biases can use any initializer); for a scalar, both are 1.
 */
import type { Initializer, Rng, Shape } from "@adjoint/core";

export type { Initializer };

/** The fan-in and fan-out of a weight shape (torch's convention: [out, in, ...kernel]). */
export interface Fans {
  fanIn: number;
  fanOut: number;
}

/** The fans of a weight shape, as torch computes them (receptive field included). */
export function fans(shape: Shape): Fans {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function finite(where: string, name: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(`${where}: ${name} must be a finite number, got ${String(v)}`);
  }
  return v;
}

function positiveFan(where: string, what: string, fan: number, shape: Shape): number {
  if (!(fan > 0)) {
    throw new Error(`${where}: ${what} of shape [${shape.join(",")}] is ${fan}: cannot scale by it`);
  }
  return fan;
}

function fillNormal(value: Float32Array, rng: Rng, mean: number, std: number): void {
  for (let i = 0; i < value.length; i++) value[i] = mean + std * rng.normal();
}

function fillUniform(value: Float32Array, rng: Rng, low: number, high: number): void {
  for (let i = 0; i < value.length; i++) value[i] = rng.uniformRange(low, high);
}

/** N(0, 1/fan_in): the course's "Xavier" initialization (variance 1/fan_in). */
export function xavierNormal(): Initializer {
  return (value, shape, rng) => {
    const fanIn = positiveFan("init.xavierNormal", "fan_in", fans(shape).fanIn, shape);
    fillNormal(value, rng, 0, Math.sqrt(1 / fanIn));
  };
}

/** The gain of the Glorot initializers (default 1). */
export interface GainOptions {
  /** Multiplies the standard deviation (or bound); default 1. */
  gain?: number;
}

function gainOf(where: string, options: GainOptions): number {
  const gain = finite(where, "gain", options.gain ?? 1);
  if (gain < 0) throw new Error(`${where}: gain must be >= 0, got ${gain}`);
  return gain;
}

/** N(0, gain²·2/(fan_in + fan_out)): torch's xavier_normal_ (Glorot & Bengio 2010). */
export function glorotNormal(options: GainOptions = {}): Initializer {
  const gain = gainOf("init.glorotNormal", options);
  return (value, shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    const sum = positiveFan("init.glorotNormal", "fan_in + fan_out", fanIn + fanOut, shape);
    fillNormal(value, rng, 0, gain * Math.sqrt(2 / sum));
  };
}

/** U(−a, a) with a = gain·√(6/(fan_in + fan_out)): torch's xavier_uniform_. */
export function glorotUniform(options: GainOptions = {}): Initializer {
  const gain = gainOf("init.glorotUniform", options);
  return (value, shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    const sum = positiveFan("init.glorotUniform", "fan_in + fan_out", fanIn + fanOut, shape);
    const a = gain * Math.sqrt(6 / sum);
    fillUniform(value, rng, -a, a);
  };
}

/** Options of the He (Kaiming) initializers. */
export interface HeOptions {
  /** Which fan to preserve the variance of: "fan_in" (forward pass, default) or "fan_out" (backward). */
  mode?: "fan_in" | "fan_out";
  /** The nonlinearity that follows: default "leaky_relu" (as torch's kaiming_*_; with a = 0 it is relu). */
  nonlinearity?: "relu" | "leaky_relu";
  /** The negative slope of the leaky relu (default 0); only for nonlinearity "leaky_relu". */
  a?: number;
}

/** torch.nn.init.calculate_gain for relu (√2) and leaky_relu (√(2/(1 + a²))). */
export function gainFor(nonlinearity: "relu" | "leaky_relu", a = 0): number {
  if (nonlinearity === "relu") return Math.SQRT2;
  if (nonlinearity === "leaky_relu") return Math.sqrt(2 / (1 + a * a));
  throw new Error(
    `init.gainFor: nonlinearity must be "relu" or "leaky_relu", got ${JSON.stringify(nonlinearity)}`,
  );
}

function heStd(where: string, options: HeOptions): (shape: Shape) => number {
  const mode = options.mode ?? "fan_in";
  if (mode !== "fan_in" && mode !== "fan_out") {
    throw new Error(`${where}: mode must be "fan_in" or "fan_out", got ${JSON.stringify(mode)}`);
  }
  const nonlinearity = options.nonlinearity ?? "leaky_relu";
  if (nonlinearity !== "relu" && nonlinearity !== "leaky_relu") {
    throw new Error(
      `${where}: nonlinearity must be "relu" or "leaky_relu", got ${JSON.stringify(nonlinearity)}`,
    );
  }
  const a = finite(where, "a", options.a ?? 0);
  if (nonlinearity === "relu" && options.a !== undefined && options.a !== 0) {
    throw new Error(`${where}: a (the negative slope) is only for nonlinearity "leaky_relu", got a = ${a}`);
  }
  const gain = gainFor(nonlinearity, a);
  return (shape) => {
    const f = fans(shape);
    const fan = positiveFan(where, mode, mode === "fan_in" ? f.fanIn : f.fanOut, shape);
    return gain / Math.sqrt(fan);
  };
}

/** N(0, std²) with std = gain/√fan: torch's kaiming_normal_ (He et al. 2015). */
export function heNormal(options: HeOptions = {}): Initializer {
  const std = heStd("init.heNormal", options);
  return (value, shape, rng) => fillNormal(value, rng, 0, std(shape));
}

/** U(−b, b) with b = gain·√(3/fan): torch's kaiming_uniform_. */
export function heUniform(options: HeOptions = {}): Initializer {
  const std = heStd("init.heUniform", options);
  return (value, shape, rng) => {
    const b = Math.sqrt(3) * std(shape);
    fillUniform(value, rng, -b, b);
  };
}

/** N(mean, std²); defaults mean 0, std 1 (torch's normal_). */
export function normal(options: { mean?: number; std?: number } = {}): Initializer {
  const mean = finite("init.normal", "mean", options.mean ?? 0);
  const std = finite("init.normal", "std", options.std ?? 1);
  if (std < 0) throw new Error(`init.normal: std must be >= 0, got ${std}`);
  return (value, _shape, rng) => fillNormal(value, rng, mean, std);
}

/** U(low, high); defaults low 0, high 1 (torch's uniform_). */
export function uniform(options: { low?: number; high?: number } = {}): Initializer {
  const low = finite("init.uniform", "low", options.low ?? 0);
  const high = finite("init.uniform", "high", options.high ?? 1);
  if (!(low <= high)) throw new Error(`init.uniform: low must be <= high, got low ${low}, high ${high}`);
  return (value, _shape, rng) => fillUniform(value, rng, low, high);
}

/** Fills with zeros. */
export function zeros(): Initializer {
  return (value) => value.fill(0);
}

/** Fills with one value. */
export function constant(value: number): Initializer {
  const v = finite("init.constant", "value", value);
  return (out) => out.fill(v);
}

/**
 * torch.nn.Linear's default for its weight: kaiming_uniform_(a = √5), i.e. U(±1/√fan_in). (Its bias is
 * U(±1/√fan_in) of the weight's fan_in, which Linear sets up itself.)
 */
export function torchLinearDefault(): Initializer {
  return heUniform({ a: Math.sqrt(5) });
}
