import * as fs from "node:fs";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as zlib from "node:zlib";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { crc32, crc32Portable } from "../packages/nn/src/formats/crc32";
import {
  loadCheckpointInto,
  loadSafetensorsInto,
  readCheckpoint,
  readSafetensors,
  saveCheckpoint,
  saveSafetensors,
} from "../packages/nn/src/formats/fs";
import type { TensorRecord } from "../packages/nn/src/formats/tensors";

// Lets a test make the checkpoint module's writes fail midway, like a full disk, without touching the real fs.
const failWrites = vi.hoisted(() => ({ afterBytes: Number.POSITIVE_INFINITY, written: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const writeSync = (fd: number, buffer: Uint8Array, offset?: number, length?: number) => {
    const size = length ?? buffer.length;
    if (failWrites.written + size > failWrites.afterBytes) {
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    }
    failWrites.written += size;
    return real.writeSync(fd, buffer, offset, length);
  };
  return { ...real, default: { ...real, writeSync }, writeSync };
});

let folder: string;
beforeEach(() => {
  folder = mkdtempSync(join(tmpdir(), "adjoint-ckpt-"));
  failWrites.afterBytes = Number.POSITIVE_INFINITY;
  failWrites.written = 0;
});
afterEach(() => rmSync(folder, { recursive: true, force: true }));

/** A small model's worth of tensors with awkward values (signed zero, subnormal, infinities, a NaN payload). */
function modelTensors(seed = 1): TensorRecord[] {
  const weight = Float32Array.from({ length: 6 * 5 }, (_, i) => Math.sin(i * seed) * 3);
  weight.set([-0, 1e-45, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY], 0);
  new Uint32Array(weight.buffer)[4] = 0x7fc01234; // NaN with a payload: must survive bit for bit
  return [
    { name: "0.weight", shape: [6, 5], value: weight },
    { name: "0.bias", shape: [6], value: Float32Array.from({ length: 6 }, (_, i) => i / 7) },
    { name: "scalar", shape: [], value: Float32Array.of(seed) },
    { name: "empty", shape: [0, 3], value: new Float32Array(0) },
  ];
}

/** Targets with the same names and shapes as modelTensors, filled with a sentinel. */
function sentinelTargets(): TensorRecord[] {
  return modelTensors().map((t) => ({ ...t, value: new Float32Array(t.value.length).fill(123) }));
}

function bits(value: Float32Array): number[] {
  return [...new Uint32Array(value.buffer, value.byteOffset, value.length)];
}

function expectUntouched(targets: TensorRecord[]): void {
  for (const t of targets) expect(t.value.every((v) => v === 123)).toBe(true);
}

describe("checkpoint format", () => {
  it("round-trips tensors and meta bit for bit", () => {
    const path = join(folder, "runs", "a", "model.ckpt"); // parent folders do not exist yet
    const tensors = modelTensors();
    saveCheckpoint(path, { tensors, meta: { epoch: 3, loss: 0.25, config: { lr: 0.1 } } });
    const read = readCheckpoint(path);
    expect(read.meta).toEqual({ epoch: 3, loss: 0.25, config: { lr: 0.1 } });
    expect(read.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    read.tensors.forEach((t, i) => {
      expect(t.shape).toEqual(tensors[i].shape);
      expect(bits(t.value)).toEqual(bits(tensors[i].value));
    });

    const targets = sentinelTargets();
    const report = loadCheckpointInto(path, targets);
    expect(report.loaded).toEqual(tensors.map((t) => t.name));
    targets.forEach((t, i) => {
      expect(bits(t.value)).toEqual(bits(tensors[i].value));
    });
  });

  it("lays out magic, header length, an aligned JSON header and little-endian data", () => {
    const path = join(folder, "m.ckpt");
    saveCheckpoint(path, { tensors: [{ name: "w", shape: [2], value: Float32Array.of(1, -2) }] });
    const bytes = readFileSync(path);
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("ADJCKPT1");
    const headerLength = bytes.readUInt32LE(8);
    expect((12 + headerLength) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString("utf8"));
    expect(header).toEqual({
      version: 1,
      meta: {},
      tensors: [
        { name: "w", shape: [2], offset: 0, length: 8, crc32: crc32(bytes.subarray(12 + headerLength)) },
      ],
    });
    expect(bytes.readFloatLE(12 + headerLength)).toBe(1);
    expect(bytes.readFloatLE(16 + headerLength)).toBe(-2);
    expect(bytes.length).toBe(12 + headerLength + 8);
  });

  it("crc32 is the standard IEEE one: sliced, byte at a time and zlib's alike", () => {
    const check = new TextEncoder().encode("123456789");
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32Portable(check)).toBe(0xcbf43926);
    const random = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32Portable(random)).toBe(crc32(random));
    // Every length mod 8 and every start offset, so the eight-byte steps and the tail both count.
    for (let start = 0; start < 8; start++) {
      for (let length = 0; length < 40; length++) {
        const part = random.subarray(start, start + length);
        expect(crc32(part)).toBe(crc32Portable(part));
      }
    }
    const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
    if (typeof native === "function") expect(crc32(random)).toBe(native(random) >>> 0);
  });

  it("refuses a truncated file, naming the expected and found sizes", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors() });
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, full.length - 10));
    const targets = sentinelTargets();
    expect(() => loadCheckpointInto(path, targets)).toThrow(
      `checkpoint ${path} is truncated: expected ${full.length} bytes, found ${full.length - 10}`,
    );
    expectUntouched(targets);
    writeFileSync(path, full.subarray(0, 20));
    expect(() => readCheckpoint(path)).toThrow(/is truncated: header needs \d+ bytes, found 20/);
    writeFileSync(path, full.subarray(0, 5));
    expect(() => readCheckpoint(path)).toThrow(/is truncated: expected at least 12 bytes, found 5/);
  });

  it("refuses a flipped byte in the data (CRC) and leaves the targets untouched", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors() });
    const bytes = readFileSync(path);
    bytes[bytes.length - 30] ^= 0x01; // inside "0.bias" (24 bytes) or "0.weight"
    writeFileSync(path, bytes);
    const targets = sentinelTargets();
    expect(() => loadCheckpointInto(path, targets)).toThrow(
      /^checkpoint .*model\.ckpt: tensor "0\.weight" is corrupt \(CRC32 0x[0-9a-f]{8}, header says 0x[0-9a-f]{8}\)$/,
    );
    expectUntouched(targets);
  });

  it("refuses a wrong magic, a corrupt header and extra bytes", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors() });
    const good = readFileSync(path);
    const targets = sentinelTargets();

    writeFileSync(path, Buffer.concat([Buffer.from("PK\x03\x04XXXX"), good.subarray(8)]));
    expect(() => loadCheckpointInto(path, targets)).toThrow(
      `checkpoint ${path} is not an Adjoint checkpoint: starts with "PK\\u0003\\u0004XXXX", expected "ADJCKPT1"`,
    );

    const corrupt = Buffer.from(good);
    corrupt[12] = "[".charCodeAt(0);
    writeFileSync(path, corrupt);
    expect(() => loadCheckpointInto(path, targets)).toThrow(/^checkpoint .* has a corrupt header: /);

    writeFileSync(path, Buffer.concat([good, Buffer.alloc(4)]));
    expect(() => loadCheckpointInto(path, targets)).toThrow(/has 4 unexpected bytes after the data/);

    expect(() => readCheckpoint(join(folder, "nope.ckpt"))).toThrow(
      `checkpoint ${join(folder, "nope.ckpt")} does not exist`,
    );
    expectUntouched(targets);
  });

  it("names the file as given, relative paths included", () => {
    const path = relative(process.cwd(), join(folder, "rel.ckpt"));
    saveCheckpoint(path, { tensors: modelTensors() });
    const full = readFileSync(path);
    writeFileSync(path, full.subarray(0, full.length - 1));
    expect(() => readCheckpoint(path)).toThrow(
      new RegExp(`^checkpoint ${path.replace(/[.\\]/g, "\\$&")} is truncated`),
    );
  });

  it("refuses a wrong shape, listing each mismatch, with the targets untouched", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors() });
    const targets = sentinelTargets();
    targets[0] = { name: "0.weight", shape: [5, 6], value: new Float32Array(30).fill(123) };
    targets[1] = { name: "0.bias", shape: [7], value: new Float32Array(7).fill(123) };
    expect(() => loadCheckpointInto(path, targets)).toThrow(
      `checkpoint ${path}: tensor "0.weight" has shape [6,5], model expects [5,6]; ` +
        `tensor "0.bias" has shape [6], model expects [7]`,
    );
    expectUntouched(targets);
  });

  it("refuses missing and unexpected names when strict, skips and reports them otherwise", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors() });
    const targets = sentinelTargets().filter((t) => t.name !== "scalar");
    targets.push({ name: "head.weight", shape: [2], value: new Float32Array(2).fill(123) });
    expect(() => loadCheckpointInto(path, targets)).toThrow(
      `checkpoint ${path}: missing tensors "head.weight"; unexpected tensors "scalar"`,
    );
    expectUntouched(targets);

    const report = loadCheckpointInto(path, targets, { strict: false });
    expect(report.missing).toEqual(["head.weight"]);
    expect(report.unexpected).toEqual(["scalar"]);
    expect(report.loaded).toEqual(["0.weight", "0.bias", "empty"]);
    expect(bits(targets[0].value)).toEqual(bits(modelTensors()[0].value));
    expect([...targets[3].value]).toEqual([123, 123]);
  });

  it("refuses to save inconsistent tensors before writing anything", () => {
    const path = join(folder, "model.ckpt");
    expect(() =>
      saveCheckpoint(path, { tensors: [{ name: "w", shape: [3], value: new Float32Array(2) }] }),
    ).toThrow(`checkpoint ${path}: tensor "w" has 2 values but shape [3]`);
    const twice = [...modelTensors().slice(0, 1), ...modelTensors().slice(0, 1)];
    expect(() => saveCheckpoint(path, { tensors: twice })).toThrow(/duplicate tensor names "0.weight"/);
    expect(readdirSync(folder)).toEqual([]);
  });
});

describe("atomic save", () => {
  it("a save that fails midway leaves the previous checkpoint whole and no temp file", () => {
    const path = join(folder, "model.ckpt");
    saveCheckpoint(path, { tensors: modelTensors(1), meta: { epoch: 1 } });
    const previous = readFileSync(path);

    failWrites.written = 0;
    failWrites.afterBytes = 64; // the header goes through, the tensor data does not
    expect(() => saveCheckpoint(path, { tensors: modelTensors(2), meta: { epoch: 2 } })).toThrow(
      `saving ${path} failed, the file was not modified: ENOSPC: no space left on device, write`,
    );
    expect(readFileSync(path).equals(previous)).toBe(true);
    expect(readCheckpoint(path).meta).toEqual({ epoch: 1 });
    expect(readdirSync(folder)).toEqual(["model.ckpt"]);

    failWrites.afterBytes = Number.POSITIVE_INFINITY;
    saveCheckpoint(path, { tensors: modelTensors(2), meta: { epoch: 2 } });
    expect(readCheckpoint(path).meta).toEqual({ epoch: 2 });
  });

  it("a save whose rename fails (the target is a folder) cleans up its temp file", () => {
    const path = join(folder, "taken");
    fs.mkdirSync(join(path, "inside"), { recursive: true });
    expect(() => saveCheckpoint(path, { tensors: modelTensors() })).toThrow(/^saving .*taken failed/);
    expect(readdirSync(folder)).toEqual(["taken"]);
  });

  it("a save under a file (not a folder) fails clearly", () => {
    writeFileSync(join(folder, "file"), "x");
    expect(() => saveCheckpoint(join(folder, "file", "m.ckpt"), { tensors: modelTensors() })).toThrow(
      /cannot create folder .*file for .*m\.ckpt/,
    );
  });
});

describe("safetensors", () => {
  it("round-trips tensors and metadata bit for bit, in saved order", () => {
    const path = join(folder, "sub", "model.safetensors");
    // Integer-like names are reordered by JSON objects: the data order must still come back.
    const tensors = [...modelTensors(), { name: "1", shape: [2], value: Float32Array.of(5, 6) }];
    saveSafetensors(path, tensors, { format: "pt", epoch: "4" });
    const read = readSafetensors(path);
    expect(read.metadata).toEqual({ format: "pt", epoch: "4" });
    expect(read.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    read.tensors.forEach((t, i) => {
      expect(t.shape).toEqual(tensors[i].shape);
      expect(bits(t.value)).toEqual(bits(tensors[i].value));
    });
    const targets = sentinelTargets();
    loadSafetensorsInto(path, targets, { strict: false });
    targets.forEach((t, i) => {
      expect(bits(t.value)).toEqual(bits(tensors[i].value));
    });
  });

  it("writes the standard layout: u64 header size, F32 entries with data_offsets, aligned data", () => {
    const path = join(folder, "m.safetensors");
    saveSafetensors(path, [
      { name: "a", shape: [2], value: Float32Array.of(1, 2) },
      { name: "b", shape: [1, 1], value: Float32Array.of(3) },
    ]);
    const bytes = readFileSync(path);
    const size = Number(bytes.readBigUInt64LE(0));
    expect((8 + size) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + size).toString("utf8"))).toEqual({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1, 1], data_offsets: [8, 12] },
    });
    expect(bytes.readFloatLE(8 + size + 8)).toBe(3);
  });

  it("refuses truncation, other dtypes and a header size beyond the file", () => {
    const path = join(folder, "m.safetensors");
    saveSafetensors(path, modelTensors());
    const good = readFileSync(path);
    writeFileSync(path, good.subarray(0, good.length - 4));
    expect(() => readSafetensors(path)).toThrow(
      `safetensors ${path} is truncated: expected ${good.length} bytes, found ${good.length - 4}`,
    );
    const header = JSON.stringify({ x: { dtype: "F16", shape: [1], data_offsets: [0, 2] } });
    const f16 = Buffer.alloc(8 + header.length + 2);
    f16.writeBigUInt64LE(BigInt(header.length), 0);
    f16.write(header, 8);
    writeFileSync(path, f16);
    expect(() => readSafetensors(path)).toThrow(
      `safetensors ${path}: tensor "x" has dtype "F16", only "F32" is supported`,
    );
    const huge = Buffer.alloc(16);
    huge.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(path, huge);
    expect(() => readSafetensors(path)).toThrow(/header length 1099511627776 exceeds the 16-byte file/);
  });

  it("a failed safetensors save leaves the previous file intact", () => {
    const path = join(folder, "m.safetensors");
    saveSafetensors(path, modelTensors(1));
    const previous = readFileSync(path);
    failWrites.written = 0;
    failWrites.afterBytes = 100;
    expect(() => saveSafetensors(path, modelTensors(2))).toThrow(/failed, the file was not modified: ENOSPC/);
    expect(readFileSync(path).equals(previous)).toBe(true);
    expect(readdirSync(folder)).toEqual(["m.safetensors"]);
  });
});
