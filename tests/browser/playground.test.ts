/**
 * The built playground (packages/playground/dist) in Debian's Chromium, served from 127.0.0.1: trains the
 * default model (784→128→10, Adam, lr 1e-3, batch 64) in its worker, reaches ≥ 0.90 validation accuracy
 * after one epoch, predicts fixture digits drawn with the mouse, fills the graph and kernel panes, logs no
 * console error, and reports a bad learning rate and a diverging loss in one sentence. The screenshot goes
 * to test-results/browser/playground.png. That server sends no COOP/COEP headers: the page trains on one
 * thread and says why. Served by `vite preview` (whose config sends them), it is cross-origin isolated and
 * trains on 2 threads (nested Web Workers) to the one-thread run's numbers.
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { type PreviewServer, preview } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIGITS, drawDigit, drawDigitByTouch } from "./draw-fixture";
import {
  chromiumPath,
  type LaunchedBrowser,
  launchChromium,
  type StaticServer,
  serveStatic,
  warnNoChromium,
} from "./harness";
import { DIST, ensureBuilt } from "./playground-build";

const HERE_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE_DIR, "../..");
const OUT = join(ROOT, "test-results/browser");

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

describe.skipIf(!haveChromium)("the playground in Chromium", () => {
  let server: StaticServer;
  let chromium: LaunchedBrowser;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    server = await serveStatic(DIST);
    chromium = await launchChromium({ width: 1440, height: 1380 });
    page = await chromium.context.newPage();
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it("is not cross-origin isolated (a plain static server): one thread, and the page says why", async () => {
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    const message = page.getByTestId("threads-message");
    expect(await message.isVisible()).toBe(true);
    expect(await message.textContent()).toMatch(
      /^One thread: .*cross-origin isolated.*SharedArrayBuffer.*\.$/,
    );
    expect(await page.getByTestId("threads-select").inputValue()).toBe("1");
    expect(await page.getByTestId("threads-select").isDisabled()).toBe(true);
  });

  it("trains the default model for one epoch to at least 0.90 validation accuracy", async () => {
    const start = page.getByTestId("start");
    await expect.poll(() => start.isEnabled(), { timeout: 60_000 }).toBe(true);
    await start.click();
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="epoch"]')?.textContent) >= 1,
      null,
      { timeout: 120_000 },
    );
    const accuracy = Number(await page.getByTestId("val-accuracy").textContent());
    console.log(`playground: validation accuracy after epoch 1: ${accuracy}`);
    expect(accuracy).toBeGreaterThanOrEqual(0.9);
    expect(await page.locator("#engine").textContent()).toMatch(/ · one thread$/);
    expect(await page.locator("#steps").getAttribute("data-worker-slices")).toBe("0");
  });

  it("predicts fixture digits drawn with the mouse, while training goes on", async () => {
    for (const digit of DIGITS.filter((d) => d.label === 3 || d.label === 7)) {
      await page.locator("#clear").click();
      await expect.poll(() => page.getByTestId("prediction").textContent()).toBe("");
      await drawDigit(page, digit);
      await expect
        .poll(() => page.getByTestId("prediction").textContent(), { timeout: 10_000 })
        .toBe(String(digit.label));
    }
  });

  it("predicts a digit drawn with a finger (touch events)", async () => {
    await page.locator("#clear").click();
    await expect.poll(() => page.getByTestId("prediction").textContent()).toBe("");
    await drawDigitByTouch(chromium.context, page, DIGITS.find((d) => d.label === 3)!);
    await expect.poll(() => page.getByTestId("prediction").textContent(), { timeout: 10_000 }).toBe("3");
  });

  it("shows the training graph as SVG and the generated kernel source", async () => {
    await expect
      .poll(() => page.getByTestId("graph").locator("svg g.node").count(), { timeout: 30_000 })
      .toBeGreaterThan(5);
    const source = (await page.getByTestId("kernel-source").textContent()) ?? "";
    expect(source).toMatch(/return function step\(\)/);
    expect(source.split("\n").length).toBeGreaterThan(50);
    expect(await page.locator("#arena").textContent()).toMatch(/\d (kB|MB)$/);
    // The module-level view: a click opens a box into a cluster of its nodes, another click closes it.
    const graph = page.getByTestId("graph");
    expect(await graph.locator('g.node[id="box:m:0"]').count()).toBe(1);
    await graph.locator('g.node[id="box:m:0"]').click();
    await expect.poll(() => graph.locator('g.cluster[id="box:m:0"]').count(), { timeout: 30_000 }).toBe(1);
    await graph.locator('g.cluster[id="box:m:0"] > text').first().click();
    await expect.poll(() => graph.locator('g.node[id="box:m:0"]').count(), { timeout: 30_000 }).toBe(1);
  });

  it("after the last epoch, shows the test accuracy (the CLI's last line: about 0.94 for this model)", async () => {
    const test = page.getByTestId("test-accuracy");
    await expect.poll(() => test.textContent(), { timeout: 180_000 }).toMatch(/^0\.\d{4}$/);
    const accuracy = Number(await test.textContent());
    console.log(
      `playground: test accuracy after ${await page.getByTestId("epoch").textContent()} epochs: ${accuracy}`,
    );
    expect(accuracy).toBeGreaterThanOrEqual(0.93);
  });

  it("has logged no console error; screenshot saved", async () => {
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, "playground.png") });
    expect(problems).toEqual([]);
  });

  it("says in one sentence when the learning rate is bad, and when the loss diverges", async () => {
    await expect.poll(() => page.getByTestId("start").isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.locator("#lr").fill("-1");
    await page.getByTestId("start").click();
    expect(await page.getByTestId("error").textContent()).toBe(
      "The learning rate must be a number above 0 and at most 10, got -1.",
    );
    await page.locator("#layers").fill("16");
    await page.locator("#lr").fill("10");
    await page.getByTestId("start").click();
    await expect
      .poll(() => page.getByTestId("error").textContent(), { timeout: 60_000 })
      .toMatch(/^Training diverged: the (validation )?loss \S+ \S+ (at|after) epoch \d+.*smaller than 10\.$/);
    expect(problems).toEqual([]);
  });

  it("pauses at once and resumes where it stopped", async () => {
    const fresh = await chromium.context.newPage();
    await fresh.goto(server.url);
    const start = fresh.getByTestId("start");
    await expect.poll(() => start.isEnabled(), { timeout: 60_000 }).toBe(true);
    await start.click();
    await expect.poll(() => fresh.locator("#steps").textContent(), { timeout: 30_000 }).not.toBe("–");
    await fresh.locator("#pause").click();
    await expect.poll(() => fresh.locator("#state").textContent(), { timeout: 5_000 }).toBe("paused");
    const bar = () => fresh.locator("#epoch-bar").evaluate((el) => (el as HTMLElement).style.width);
    const at = await bar();
    await fresh.waitForTimeout(1000);
    expect(await bar()).toBe(at);
    expect(await start.textContent()).toBe("Resume");
    await start.click();
    await expect.poll(() => fresh.locator("#state").textContent()).toBe("running");
    await fresh.close();
  });
});

describe.skipIf(!haveChromium)("the playground in a browser without WebAssembly", () => {
  it("says so in one sentence instead of showing a blank page", async () => {
    const server = await serveStatic(DIST);
    const chromium = await launchChromium();
    try {
      const page = await chromium.context.newPage();
      await page.addInitScript(() => {
        // A browser where the global does not exist.
        delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
      });
      await page.goto(server.url);
      await expect.poll(() => page.getByTestId("error").count(), { timeout: 20_000 }).toBe(1);
      expect(await page.getByTestId("error").textContent()).toMatch(
        /^This browser has no WebAssembly, .*\.$/,
      );
      expect(await page.getByTestId("start").isVisible()).toBe(true);
    } finally {
      await chromium.close();
      await server.close();
    }
  });
});

describe.skipIf(!haveChromium)("the playground in Chromium, served by vite preview (COOP/COEP)", () => {
  let server: PreviewServer;
  let url: string;
  let chromium: LaunchedBrowser;

  beforeAll(async () => {
    ensureBuilt();
    // The page's own vite.config.ts sends the cross-origin isolation headers (as `pnpm playground` does).
    server = await preview({
      root: join(ROOT, "packages/playground"),
      logLevel: "warn",
      preview: { port: 0, open: false },
    });
    url = server.resolvedUrls?.local[0] ?? "";
    chromium = await launchChromium({ width: 1440, height: 1380 });
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.close();
  });

  it("offers the cores as threads, trains on 2 threads (nested workers really run slices) and predicts", async () => {
    const page = await chromium.context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(url);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    const threads = page.getByTestId("threads-select");
    expect(await threads.inputValue()).toBe(String(Math.min(8, cores)));
    expect(await page.getByTestId("threads-message").isVisible()).toBe(false);
    const start = page.getByTestId("start");
    await expect.poll(() => start.isEnabled(), { timeout: 60_000 }).toBe(true);
    await threads.selectOption("2");
    await page.locator("#epochs").fill("1");
    await start.click();
    const test = page.getByTestId("test-accuracy");
    await expect.poll(() => test.textContent(), { timeout: 120_000 }).toMatch(/^0\.\d{4}$/);
    const slices = Number(await page.locator("#steps").getAttribute("data-worker-slices"));
    const twoThreads = await results(page);
    console.log(
      `playground, 2 threads: ${JSON.stringify(twoThreads)}; ${slices} slices run by the other thread`,
    );
    expect(Number(twoThreads.valAccuracy)).toBeGreaterThanOrEqual(0.88);
    expect(await page.locator("#engine").textContent()).toMatch(/ · 2 threads$/);
    expect(slices).toBeGreaterThan(0);
    for (const digit of DIGITS.filter((d) => d.label === 3 || d.label === 7)) {
      await page.locator("#clear").click();
      await drawDigit(page, digit);
      await expect
        .poll(() => page.getByTestId("prediction").textContent(), { timeout: 10_000 })
        .toBe(String(digit.label));
    }
    // The same run on one thread ends with the same numbers (the steps are bit-identical).
    await threads.selectOption("1");
    await start.click();
    await expect
      .poll(() => page.locator("#engine").textContent(), { timeout: 60_000 })
      .toMatch(/ · one thread$/);
    await expect.poll(() => test.textContent(), { timeout: 120_000 }).toMatch(/^0\.\d{4}$/);
    expect(await results(page)).toEqual(twoThreads);
    expect(problems).toEqual([]);
    await page.close();
  });
});

/**
 * What a finished run shows: its validation and test numbers (four decimals; not the train loss, a mean over
 * the last slice of steps, whose length depends on timing).
 */
async function results(page: Page): Promise<Record<string, string | null>> {
  const text = (id: string) => page.getByTestId(id).textContent();
  return {
    valAccuracy: await text("val-accuracy"),
    valLoss: await page.locator("#val-loss").textContent(),
    testAccuracy: await text("test-accuracy"),
  };
}
