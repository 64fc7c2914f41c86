/**
 * Learning-rate schedules: functions k ↦ a_k (k = 0, 1, 2, ... the step or epoch index). Pass one as an
 * optimizer's `lr`: trainStep then sets the learning-rate buffer to a_k before its k-th run (no
 * recompilation: the lr is a buffer the kernel reads).
 */
export type Schedule = ((k: number) => number) & { readonly description: string };

function make(description: string, f: (k: number) => number): Schedule {
  const schedule = (k: number) => {
    if (!Number.isInteger(k) || k < 0)
      throw new Error(`${description}: k must be a whole number >= 0, got ${k}`);
    return f(k);
  };
  return Object.assign(schedule, { description });
}

function check(where: string, name: string, v: unknown, min: number, minInclusive = true): number {
  if (typeof v !== "number" || !Number.isFinite(v) || (minInclusive ? v < min : v <= min)) {
    throw new Error(
      `${where}: ${name} must be a finite number ${minInclusive ? ">=" : ">"} ${min}, got ${String(v)}`,
    );
  }
  return v;
}

/** a_0 = lr0, a_k = a_{k−1}/(1 + τ·k) (time-based decay, as in the course). */
export function timeBased(options: { lr0: number; tau: number }): Schedule {
  const lr0 = check("schedules.timeBased", "lr0", options.lr0, 0);
  const tau = check("schedules.timeBased", "tau", options.tau, 0);
  // The recurrence, remembered where it was last evaluated: k, k+1, ... cost O(1) each.
  let lastK = 0;
  let lastA = lr0;
  return make(`schedules.timeBased({ lr0: ${lr0}, tau: ${tau} })`, (k) => {
    if (k < lastK) {
      lastK = 0;
      lastA = lr0;
    }
    for (let j = lastK + 1; j <= k; j++) lastA /= 1 + tau * j;
    lastK = k;
    return lastA;
  });
}

/** a_k = lr0·e^{−τk}. */
export function exponential(options: { lr0: number; tau: number }): Schedule {
  const lr0 = check("schedules.exponential", "lr0", options.lr0, 0);
  const tau = check("schedules.exponential", "tau", options.tau, 0);
  return make(`schedules.exponential({ lr0: ${lr0}, tau: ${tau} })`, (k) => lr0 * Math.exp(-tau * k));
}

/** a_k = lr0·γ^⌊k/stepSize⌋ (torch's StepLR). */
export function step(options: { lr0: number; stepSize: number; gamma?: number }): Schedule {
  const lr0 = check("schedules.step", "lr0", options.lr0, 0);
  const stepSize = options.stepSize;
  if (!Number.isInteger(stepSize) || stepSize < 1) {
    throw new Error(`schedules.step: stepSize must be a whole number >= 1, got ${stepSize}`);
  }
  const gamma = check("schedules.step", "gamma", options.gamma ?? 0.1, 0);
  return make(
    `schedules.step({ lr0: ${lr0}, stepSize: ${stepSize}, gamma: ${gamma} })`,
    (k) => lr0 * gamma ** Math.floor(k / stepSize),
  );
}

/**
 * a_k = lrMin + (lr0 − lrMin)·(1 + cos(πk/tMax))/2: torch's CosineAnnealingLR in closed form (from lr0 at
 * k = 0 down to lrMin at k = tMax; past tMax the cosine goes on, back up, as torch's closed form does).
 */
export function cosine(options: { lr0: number; tMax: number; lrMin?: number }): Schedule {
  const lr0 = check("schedules.cosine", "lr0", options.lr0, 0);
  const tMax = options.tMax;
  if (!Number.isInteger(tMax) || tMax < 1) {
    throw new Error(`schedules.cosine: tMax must be a whole number >= 1, got ${tMax}`);
  }
  const lrMin = check("schedules.cosine", "lrMin", options.lrMin ?? 0, 0);
  return make(
    `schedules.cosine({ lr0: ${lr0}, tMax: ${tMax}, lrMin: ${lrMin} })`,
    (k) => lrMin + ((lr0 - lrMin) * (1 + Math.cos((Math.PI * k) / tMax))) / 2,
  );
}

/** A constant rate, as a schedule. */
export function constant(lr: number): Schedule {
  const a = check("schedules.constant", "lr", lr, 0);
  return make(`schedules.constant(${a})`, () => a);
}
