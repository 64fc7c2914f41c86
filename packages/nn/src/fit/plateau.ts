/**
 * The plateau rule: stop when the monitored loss dropped by less than `percent` % over the last `window`
 * epochs (compared with the epoch `window` before this one).
 */
import type { EpochLog, PlateauOptions } from "./options";
import { wholeAtLeast } from "./options";

export class PlateauRule {
  private readonly key: "loss" | "valLoss";
  private readonly window: number;
  private readonly percent: number;

  /** Checks the options (throwing a one-line error) before anything is built. */
  constructor(options: PlateauOptions, hasValidation: boolean) {
    if (typeof options.percent !== "number" || !Number.isFinite(options.percent) || options.percent < 0) {
      throw new Error(`fit: plateau.percent must be a finite number >= 0, got ${String(options.percent)}`);
    }
    this.percent = options.percent;
    this.window = wholeAtLeast("plateau.window", options.window ?? 10, 1);
    const m = options.monitor ?? "loss";
    if (m !== "loss" && m !== "valLoss")
      throw new Error(`fit: plateau.monitor must be "loss" or "valLoss", got ${JSON.stringify(m)}`);
    if (m === "valLoss" && !hasValidation)
      throw new Error(`fit: plateau.monitor "valLoss" needs validation data`);
    this.key = m;
  }

  /** True when the history (its last entry the epoch just done) has flattened out. */
  reached(history: EpochLog[]): boolean {
    const epoch = history.length - 1;
    if (epoch < this.window) return false;
    const before = history[epoch - this.window][this.key]!;
    const now = history[epoch][this.key]!;
    const dropPercent = ((before - now) / Math.abs(before)) * 100;
    return dropPercent < this.percent;
  }
}
