import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { type Dataset, shuffledIndices, takeRows } from "./dataset";

import { MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE } from "./mnist-shape";

export { MNIST_CLASSES, MNIST_PIXELS, MNIST_SIDE };

/** Options of {@link loadMnist}. */
export interface MnistOptions {
  /** Number of training samples; the rest (of about 10k) form the test set. */
  train?: number;
  /** Seed of the permutation that decides which samples are training and which are test. */
  seed?: number;
}

/**
 * The `mnist` package's digits as a seeded train/test split. The package's own set() shuffles with
 * Math.random, so it cannot be repeated: its digit files are read directly here instead, and every sample
 * lands in train or test according to the seed alone. The returned datasets are copies: scaling them in
 * place does not touch the cached data.
 */
export function loadMnist(options: MnistOptions = {}): { train: Dataset; test: Dataset } {
  const { train = 8000, seed = 0 } = options;
  const all = loadAllMnist();
  if (!Number.isInteger(train) || train < 1 || train > all.n) {
    throw new Error(`loadMnist: train must be a whole number in [1, ${all.n}], got ${train}`);
  }
  const order = shuffledIndices(all.n, seed);
  return { train: takeRows(all, order.subarray(0, train)), test: takeRows(all, order.subarray(train)) };
}

let cached: Dataset | undefined;

/**
 * All digits in file order (every 0, then every 1, ...), parsed once per process. Shared: never modify it;
 * use loadMnist or takeRows for arrays of your own.
 */
export function loadAllMnist(): Dataset {
  if (cached) return cached;
  const digitsFolder = join(
    dirname(createRequire(import.meta.url).resolve("mnist/package.json")),
    "src",
    "digits",
  );
  const perDigit: Float32Array[] = [];
  let n = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = join(digitsFolder, `${digit}.json`);
    const pixels = parseDigitFile(readFileSync(file), file);
    perDigit.push(pixels);
    n += pixels.length / MNIST_PIXELS;
  }
  const x = new Float32Array(n * MNIST_PIXELS);
  const y = new Float32Array(n);
  let row = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    x.set(perDigit[digit], row * MNIST_PIXELS);
    const count = perDigit[digit].length / MNIST_PIXELS;
    y.fill(digit, row, row + count);
    row += count;
  }
  cached = { x, y, n, xShape: [MNIST_PIXELS], yShape: [], classes: MNIST_CLASSES };
  return cached;
}

/**
 * Reads `{ "data": [0, 0.2, 0.624, ...] }` straight from the bytes into a Float32Array. JSON.parse would
 * build a boxed array of ~800k numbers per file and takes about ten times as long. Each number is
 * mantissa / 10^k, both exact in a double, so the one rounding division gives the same double JSON.parse
 * would (then rounded once to float32, as Float32Array assignment does). Anything unexpected (sign,
 * exponent, stray text) is an error rather than a guess.
 */
export function parseDigitFile(bytes: Uint8Array, file: string): Float32Array {
  const fail = (at: number, what: string): never => {
    throw new Error(`mnist digit file ${file}: ${what} at byte ${at}`);
  };
  const open = indexOfAscii(bytes, '"data"');
  if (open < 0) fail(0, 'no "data" field');
  let i = bytes.indexOf(0x5b /* [ */, open);
  if (i < 0) fail(open, "no array after data");
  i++;
  let out = new Float32Array(1 << 20);
  let count = 0;
  for (;;) {
    while (isSpace(bytes[i])) i++;
    if (bytes[i] === 0x5d /* ] */ && count === 0) break;
    let mantissa = 0;
    let digits = 0;
    let fractionDigits = 0;
    while (bytes[i] >= 0x30 && bytes[i] <= 0x39) {
      mantissa = mantissa * 10 + (bytes[i++] - 0x30);
      digits++;
    }
    if (bytes[i] === 0x2e /* . */) {
      i++;
      while (bytes[i] >= 0x30 && bytes[i] <= 0x39) {
        mantissa = mantissa * 10 + (bytes[i++] - 0x30);
        digits++;
        fractionDigits++;
      }
    }
    if (digits === 0 || digits > 15) fail(i, "unexpected number syntax");
    if (count === out.length) {
      const grown = new Float32Array(out.length * 2);
      grown.set(out);
      out = grown;
    }
    out[count++] = fractionDigits === 0 ? mantissa : mantissa / POWERS_OF_TEN[fractionDigits];
    while (isSpace(bytes[i])) i++;
    if (bytes[i] === 0x2c /* , */) {
      i++;
      continue;
    }
    if (bytes[i] === 0x5d /* ] */) break;
    fail(i, `unexpected character ${JSON.stringify(String.fromCharCode(bytes[i] ?? 0))}`);
  }
  if (count % MNIST_PIXELS !== 0)
    fail(i, `${count} values is not a whole number of ${MNIST_PIXELS}-pixel images`);
  return out.slice(0, count);
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, k) => 10 ** k);

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function indexOfAscii(bytes: Uint8Array, text: string): number {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(text, 0, "latin1");
}
