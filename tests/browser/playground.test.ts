/**
 * The built playground (packages/playground/dist) in Debian's Chromium, served from 127.0.0.1: trains the
 * default model (784→128→10, Adam, lr 1e-3, batch 64) in its worker, reaches ≥ 0.90 validation accuracy
 * after one epoch, predicts fixture digits drawn with the mouse, fills the graph and kernel panes, logs no
 * console error, and reports a bad learning rate and a diverging loss in one sentence. The screenshot goes
 * to test-results/browser/playground.png.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
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

const HERE_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE_DIR, "../..");
const DIST = join(ROOT, "packages/playground/dist");
const OUT = join(ROOT, "test-results/browser");

const haveChromium = chromiumPath() !== null;
if (!haveChromium) warnNoChromium();

/** The newest modification time of a file or of the files below a folder (0 when it does not exist). */
function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The page as built by `pnpm run build`; built here when a test run comes first, and rebuilt when a source
 * of the page or of the library is newer than the build (a stale page would test old code).
 */
function ensureBuilt(): void {
  const built = join(DIST, "index.html");
  if (existsSync(built) && existsSync(join(DIST, "mnist-digits.bin"))) {
    const sources = [
      "playground/src",
      "playground/index.html",
      "core/src",
      "compiler/src",
      "nn/src",
      "adjoint/src",
    ];
    const newest = Math.max(...sources.map((s) => newestMtime(join(ROOT, "packages", s))));
    if (newest <= statSync(built).mtimeMs) return;
  }
  execFileSync("npx", ["-y", "pnpm@12.4.2", "run", "build:playground"], { cwd: ROOT, stdio: "inherit" });
}

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
