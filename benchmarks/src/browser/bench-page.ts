/**
 * What the browser benchmarks (bench:browser, bench:browser-threads) share: build a page of theirs, serve
 * it, open it in Debian's Chromium, hand it to the benchmark, tear everything down; then write the
 * results as JSON and markdown. Each benchmark keeps only its own measuring loop and table.
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { buildPages } from "../../../tests/browser/build-pages";
import { CHROMIUM, chromiumPath, launchChromium, serveStatic } from "../../../tests/browser/harness";

/** benchmarks/results, where every benchmark writes its report. */
export const RESULTS = resolve(dirname(fileURLToPath(import.meta.url)), "../../results");

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The machine as the reports name it. */
export const processorName = () => `${cpus()[0]?.model ?? "unknown"}, ${cpus().length} cores`;

/** `Chromium 156.0.…` as the binary prints it (undefined if it prints no such line). */
export function chromiumVersion(): string | undefined {
  return execFileSync(CHROMIUM, ["--version"], { encoding: "utf8" })
    .split("\n")
    .find((l) => l.startsWith("Chromium"))
    ?.trim();
}

/**
 * Builds `name`.html (and the `extraPages` it loads, e.g. frames) from the pages in `pagesDir`, serves it (with `headers`), opens it in Chromium,
 * waits until `ready` holds in the page, runs `bench` on it, and tears the server and browser down.
 */
export async function withBenchPage<T>(
  name: string,
  pagesDir: string,
  options: { headers?: Record<string, string>; ready: () => boolean; extraPages?: string[] },
  bench: (page: Page) => Promise<T>,
): Promise<T> {
  if (!chromiumPath()) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  const dir = await buildPages([name, ...(options.extraPages ?? [])], pagesDir);
  const server = await serveStatic(dir, options.headers ? { headers: options.headers } : undefined);
  const chromium = await launchChromium();
  try {
    const page = await chromium.context.newPage();
    await page.goto(`${server.url}${name}.html`);
    await page.waitForFunction(options.ready);
    return await bench(page);
  } finally {
    await chromium.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes results/`name`.json (`about` and `rows`) and results/`name`.md, and prints the markdown. */
export function writeReport(name: string, about: object, rows: object[], markdown: string): void {
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify({ ...about, rows }, null, 2)}\n`);
  writeFileSync(join(RESULTS, `${name}.md`), markdown);
  console.log(markdown);
}
