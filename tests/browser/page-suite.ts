/**
 * The set-up the in-page suites share: build the named test pages, serve them on 127.0.0.1 and start
 * Chromium before the suite's tests; close and remove everything after. Call inside a describe block.
 */
import { rmSync } from "node:fs";
import type { Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { buildPages } from "./build-pages";
import { type LaunchedBrowser, launchChromium, type StaticServer, serveStatic } from "./harness";

export interface PageSuite {
  readonly server: StaticServer;
  readonly chromium: LaunchedBrowser;
}

/** `headers`: sent with every file (e.g. COOP/COEP for a cross-origin isolated page). */
export function pagesInChromium(pages: string[], headers?: Record<string, string>): PageSuite {
  let dir: string | undefined;
  let server: StaticServer | undefined;
  let chromium: LaunchedBrowser | undefined;
  beforeAll(async () => {
    dir = await buildPages(pages);
    server = await serveStatic(dir, { headers });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get server() {
      if (!server) throw new Error("pagesInChromium: the server is read before the suite started");
      return server;
    },
    get chromium() {
      if (!chromium) throw new Error("pagesInChromium: Chromium is read before the suite started");
      return chromium;
    },
  };
}

/**
 * Opens one of the suite's pages and waits for its entry point (a function on window); `errors` collects
 * the page's uncaught errors and console errors, which a test expects to stay empty.
 */
export async function openPage(
  suite: PageSuite,
  file: string,
  entry: string,
): Promise<{ page: Page; errors: string[] }> {
  const page = await suite.chromium.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  await page.goto(`${suite.server.url}${file}`);
  await page.waitForFunction(
    (name) => typeof (window as unknown as Record<string, unknown>)[name] === "function",
    entry,
  );
  return { page, errors };
}
