/**
 * What the browser tests share: a static file server on 127.0.0.1 (node:http, a few lines: the built page
 * needs nothing more) and Debian's Chromium driven by playwright-core (no browser download: the executable
 * is the system's). `chromiumPath()` is null when there is no Chromium; the tests then skip, loudly.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize, resolve, sep } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export function chromiumPath(): string | null {
  return existsSync(CHROMIUM) ? CHROMIUM : null;
}

/**
 * Prints why the browser tests do not run, where vitest's summary cannot hide it. In CI
 * (ADJOINT_REQUIRE_BROWSER=1, set by .ci/run after installing chromium) a missing browser is an error.
 */
export function warnNoChromium(): void {
  if (process.env.ADJOINT_REQUIRE_BROWSER === "1") {
    throw new Error(
      `ADJOINT_REQUIRE_BROWSER=1 but there is no Chromium at ${CHROMIUM} (apt-get install -y chromium)`,
    );
  }
  const line = "=".repeat(100);
  console.warn(
    `\n${line}\nBROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)\n${line}\n`,
  );
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".wasm": "application/wasm",
  ".bin": "application/octet-stream",
};

export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `root` (GET only, no directory listing) plus optional extra routes, on a free port of 127.0.0.1. */
export async function serveStatic(
  root: string,
  options: {
    headers?: Record<string, string>;
    routes?: Record<string, () => { type: string; body: string | Uint8Array }>;
  } = {},
): Promise<StaticServer> {
  const base = resolve(root);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    const route = options.routes?.[path];
    const headers = { "Cache-Control": "no-store", ...(options.headers ?? {}) };
    if (route) {
      const { type, body } = route();
      res.writeHead(200, { ...headers, "Content-Type": type });
      res.end(body);
      return;
    }
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, "index.html");
    if (!existsSync(file)) {
      res.writeHead(404, headers).end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("static server: no port");
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}

export interface LaunchedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Chromium, headless, with nothing that reaches for the network on its own, in a fresh profile (a new
 * --user-data-dir, which playwright takes as launchPersistentContext's first argument).
 */
export async function launchChromium(viewport = { width: 1440, height: 1000 }): Promise<LaunchedBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "adjoint-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
