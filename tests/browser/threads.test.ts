/**
 * Threads in Chromium: on a cross-origin isolated page (COOP/COEP), a small MLP and a tiny conv net trained
 * with threads 2 end with the same losses, outputs and parameters, bit for bit, as with threads 1, in a
 * dedicated worker (nested Web Workers, how the playground trains) and on the page's main thread (which may
 * not block in Atomics.wait: the runtime spins there). Without isolation, threads 2 falls back to one thread
 * and says why.
 */
import { describe, expect, it } from "vitest";
import { chromiumPath, warnNoChromium } from "./harness";
import { openPage, type PageSuite, pagesInChromium } from "./page-suite";
import type { ThreadCase } from "./pages/thread-cases";

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

async function runCases(
  suite: PageSuite,
  where: "worker" | "main",
): Promise<{ cases: ThreadCase[]; isolated: boolean; canBlock: boolean; errors: string[] }> {
  const { page, errors } = await openPage(suite, "threads.html", "adjointThreads");
  const result = await page.evaluate((w) => window.adjointThreads(w), where);
  await page.close();
  return { ...result, errors };
}

function expectBitIdentical(cases: ThreadCase[], where: string): void {
  expect(cases).toHaveLength(2);
  for (const c of cases) {
    const [one, two] = c.runs;
    console.log(
      `chromium, ${where}: ${c.name}: threads 2 used ${two.used}, ${two.workerSlices} slices by the worker, ${two.bits.length} values compared`,
    );
    expect(one.used).toBe(1);
    expect(two.used, `${c.name}: ${two.note}`).toBe(2);
    expect(two.workerSlices, c.name).toBeGreaterThan(0);
    expect(two.losses, c.name).toEqual(one.losses);
    expect(two.bits.length, c.name).toBe(one.bits.length);
    const differ = two.bits.findIndex((b, i) => b !== one.bits[i]);
    expect(differ, `${c.name}: first differing value`).toBe(-1);
    // The parameters did move: the comparison is not between untouched buffers.
    expect(one.losses[one.losses.length - 1], c.name).not.toBe(one.losses[0]);
  }
}

describe.skipIf(!haveChromium)("threads in Chromium, cross-origin isolated", () => {
  const suite = pagesInChromium(["threads"], ISOLATION);

  const where = [
    ["worker", "in a dedicated worker", true],
    ["main", "on the page's main thread (no Atomics.wait there, the runtime spins)", false],
  ] as const;
  for (const [place, title, blocks] of where) {
    it(`${title}: threads 2 equals threads 1 bit for bit (MLP and conv net, 4 Adam steps)`, async () => {
      const { cases, isolated, canBlock, errors } = await runCases(suite, place);
      expect(isolated).toBe(true);
      expect(canBlock).toBe(blocks);
      expectBitIdentical(cases, place);
      expect(errors).toEqual([]);
    });
  }
});

describe.skipIf(!haveChromium)("threads in Chromium: a failing worker", () => {
  const suite = pagesInChromium(["threads"], ISOLATION);

  it("a Web Worker that throws, or is terminated, makes the next run() throw a clear error", async () => {
    const { page, errors } = await openPage(suite, "threads.html", "adjointThreadFaults");
    const r = await page.evaluate(() => window.adjointThreadFaults());
    await page.close();
    expect(r.threw).toMatch(/^threads: worker 1 of 1 failed: Error: a fault injected by a test; /);
    expect(r.terminated).toMatch(
      /^threads: worker 1 of 1 exited \(terminated\) before it could take a job; /,
    );
    expect(errors).toEqual([]);
  });
});

describe.skipIf(!haveChromium)("threads in Chromium, not cross-origin isolated", () => {
  const suite = pagesInChromium(["threads"]);

  it("threads 2 runs on one thread, says why, and gives the one-thread results", async () => {
    const { cases, isolated, errors } = await runCases(suite, "worker");
    expect(isolated).toBe(false);
    for (const c of cases) {
      const [one, two] = c.runs;
      expect(two.used).toBe(1);
      expect(two.note).toMatch(
        /^threads: 2 requested, 1 used: SharedArrayBuffer is missing .*cross-origin isolation/,
      );
      expect(two.bits).toEqual(one.bits);
    }
    // compile() warns once about the fallback (console.warn), never an error.
    expect(errors).toEqual([]);
  });
});
