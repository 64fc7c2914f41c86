/**
 * The playground's Threads setting: the choices the page offers (the cores when cross-origin isolated, else
 * one with the reason), the check of a bad value, and a Session on 2 threads (Node's worker_threads here,
 * nested Web Workers in the page) that trains to the one-thread session's numbers and weights, bit for bit,
 * including the remainder batch's step, and ends its workers on dispose().
 */
import { loadAllMnist } from "adjoint/node";
import { describe, expect, it } from "vitest";
import {
  availableThreads,
  checkConfig,
  DEFAULT_CONFIG,
  MAX_THREADS,
  type TrainConfig,
} from "../../packages/playground/src/config";
import { splitLikeCli } from "../../packages/playground/src/data";
import { Session } from "../../packages/playground/src/session";

describe("playground threads", () => {
  it("offers the cores (at most MAX_THREADS) only to a cross-origin isolated page, else says why", () => {
    const isolated = { crossOriginIsolated: true, SharedArrayBuffer, navigator: { hardwareConcurrency: 64 } };
    expect(availableThreads(isolated)).toEqual({ cores: MAX_THREADS, isolated: true, reason: "" });
    expect(availableThreads({ ...isolated, navigator: { hardwareConcurrency: 2 } }).cores).toBe(2);
    const plain = availableThreads({ crossOriginIsolated: false, navigator: { hardwareConcurrency: 4 } });
    expect(plain.isolated).toBe(false);
    expect(plain.reason).toMatch(
      /^One thread: .*SharedArrayBuffer.*Cross-Origin-Embedder-Policy: require-corp\)\.$/,
    );
    // Isolated but without SharedArrayBuffer (an engine that lacks it): one thread too.
    expect(availableThreads({ crossOriginIsolated: true }).isolated).toBe(false);
  });

  it("refuses a number of threads that is not a whole number from 1 to MAX_THREADS", () => {
    for (const threads of [0, 1.5, MAX_THREADS + 1, Number.NaN]) {
      expect(() => checkConfig({ ...DEFAULT_CONFIG, threads })).toThrow(
        new RegExp(`^The number of threads must be a whole number from 1 to ${MAX_THREADS}, got `),
      );
    }
  });

  it("a session on 2 threads trains to the one-thread session's numbers and weights, bit for bit", async () => {
    const splits = splitLikeCli(loadAllMnist(), 0);
    // batch 128: 56 steps of 128 rows, then the remainder step of 32 rows (its own kernel, threads too).
    const config: TrainConfig = { ...DEFAULT_CONFIG, layers: [64], batch: 128, epochs: 1, optimizer: "adam" };
    const sessions = [1, 2].map((threads) => new Session(splits, { ...config, threads }));
    expect(sessions.map((s) => s.threads.used)).toEqual([1, 2]);
    for (const s of sessions) {
      while (!s.runFor(1000).epochDone) {}
      s.endEpoch();
    }
    const [one, two] = sessions;
    const metrics = (s: Session) => s.history.map(({ seconds, ...rest }) => rest);
    expect(metrics(two)).toEqual(metrics(one));
    const weights = (s: Session) => s.model.parameters().map((p) => Array.from(p.value));
    expect(weights(two)).toEqual(weights(one));
    expect(two.kernel.pool!.forks).toBeGreaterThan(0);
    await Promise.all(sessions.map((s) => s.dispose()));
    expect(() => two.runFor(0)).toThrow(/disposed/);
  });
});
