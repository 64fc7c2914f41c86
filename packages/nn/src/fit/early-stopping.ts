/**
 * Early stopping: watch one number of the epoch log, stop after `patience` epochs without an improvement
 * of more than `minDelta`, and keep the weights of the best epoch to restore at the end.
 */
import type { EarlyStoppingOptions, EpochLog, Monitor } from "./options";
import { wholeAtLeast } from "./options";

export class EarlyStopping {
  readonly monitor: Monitor;
  readonly restoreBest: boolean;
  private readonly patience: number;
  private readonly minDelta: number;
  private readonly maximize: boolean;
  private best: number | null = null;
  private sinceBest = 0;
  bestEpoch: number | null = null;
  bestWeights: Float64Array[] | null = null;

  /** Checks the options (throwing a one-line error) before anything is built. */
  constructor(options: EarlyStoppingOptions, hasValidation: boolean) {
    const monitor = options.monitor ?? (hasValidation ? "valLoss" : "loss");
    if (!["loss", "acc", "valLoss", "valAcc"].includes(monitor)) {
      throw new Error(
        `fit: earlyStopping.monitor must be loss, acc, valLoss or valAcc, got ${JSON.stringify(monitor)}`,
      );
    }
    if (monitor.startsWith("val") && !hasValidation) {
      throw new Error(`fit: earlyStopping.monitor "${monitor}" needs validation data`);
    }
    this.monitor = monitor;
    this.patience = wholeAtLeast("earlyStopping.patience", options.patience ?? 5, 1);
    const minDelta = options.minDelta ?? 0;
    if (typeof minDelta !== "number" || !(minDelta >= 0)) {
      throw new Error(`fit: earlyStopping.minDelta must be a number >= 0, got ${String(minDelta)}`);
    }
    this.minDelta = minDelta;
    this.restoreBest = options.restoreBest ?? true;
    this.maximize = monitor === "acc" || monitor === "valAcc";
  }

  /** Records the epoch; true when patience has run out. `snapshot` is called only for a new best. */
  shouldStop(log: EpochLog, snapshot: () => Float64Array[]): boolean {
    const value = log[this.monitor];
    if (value === null)
      throw new Error(`fit: earlyStopping.monitor "${this.monitor}" has no value (no accuracy here)`);
    const best = this.best;
    const improved =
      best === null || (this.maximize ? value > best + this.minDelta : value < best - this.minDelta);
    if (improved) {
      this.best = value;
      this.bestEpoch = log.epoch;
      this.sinceBest = 0;
      if (this.restoreBest) this.bestWeights = snapshot();
      return false;
    }
    return ++this.sinceBest >= this.patience;
  }
}
