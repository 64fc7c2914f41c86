/**
 * The set-up the in-page suites share: build the named test pages, serve them on 127.0.0.1 and start
 * Chromium before the suite's tests; close and remove everything after. Call inside a describe block.
 */
import { rmSync } from "node:fs";
import { afterAll, beforeAll } from "vitest";
import { buildPages } from "./build-pages";
import { type LaunchedBrowser, launchChromium, type StaticServer, serveStatic } from "./harness";

export interface PageSuite {
  readonly server: StaticServer;
  readonly chromium: LaunchedBrowser;
}

export function pagesInChromium(pages: string[]): PageSuite {
  let dir: string | undefined;
  let server: StaticServer | undefined;
  let chromium: LaunchedBrowser | undefined;
  beforeAll(async () => {
    dir = await buildPages(pages);
    server = await serveStatic(dir);
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
