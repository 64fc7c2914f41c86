/**
 * The digits of scripts/mnist-asset.ts, decoded into the library's Dataset, and the CLI's split of them:
 * loadMnist({ train: 8000, seed }) then trainValSplit(valFraction 0.1, seed + 1), i.e. 7,200 digits to
 * train on, 800 for validation and the other 2,000 as the test set, the same samples `adjoint train` uses.
 */
import { type Dataset, MNIST_CLASSES, MNIST_PIXELS, shuffledIndices, takeRows, trainValSplit } from "adjoint";

export const MNIST_TRAIN = 8000;
export const VAL_FRACTION = 0.1;

export interface Splits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
}

const MAGIC = "ADJMNIST";
const HEADER = 16;

/** Grey level k -> the value the mnist package stores (k/255 rounded to 3 decimals). */
const LEVELS = Float32Array.from({ length: 256 }, (_, k) => Math.round((k / 255) * 1000) / 1000);

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  // A server may already have removed the gzip layer (Content-Encoding): then the magic is visible.
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export function decodeDigits(bytes: Uint8Array): Dataset {
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== MAGIC)
    throw new Error("The digits file is not an Adjoint MNIST asset (run the build again).");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(8, true);
  const pixels = view.getUint32(12, true);
  if (pixels !== MNIST_PIXELS || bytes.length !== HEADER + n * (pixels + 1)) {
    throw new Error(`The digits file is truncated or malformed (${bytes.length} bytes for ${n} digits).`);
  }
  const x = new Float32Array(n * pixels);
  for (let i = 0; i < x.length; i++) x[i] = LEVELS[bytes[HEADER + i]];
  const y = new Float32Array(n);
  const labels = HEADER + n * pixels;
  for (let i = 0; i < n; i++) {
    const label = bytes[labels + i];
    if (label >= MNIST_CLASSES) throw new Error(`The digits file has a label ${label} out of 0-9.`);
    y[i] = label;
  }
  return { x, y, n, xShape: [MNIST_PIXELS], yShape: [], classes: MNIST_CLASSES };
}

export function splitLikeCli(all: Dataset, seed: number): Splits {
  const order = shuffledIndices(all.n, seed);
  const trainAll = takeRows(all, order.subarray(0, MNIST_TRAIN));
  const test = takeRows(all, order.subarray(MNIST_TRAIN));
  const { train, val } = trainValSplit(trainAll, { valFraction: VAL_FRACTION, seed: seed + 1 });
  return { train, val, test };
}

export async function loadDigits(url: string): Promise<Dataset> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch {
    throw new Error(`The digits could not be downloaded from ${url} (is the page served over HTTP?).`);
  }
  if (!response.ok) throw new Error(`The digits could not be downloaded (${url}: HTTP ${response.status}).`);
  return decodeDigits(await inflate(new Uint8Array(await response.arrayBuffer())));
}
