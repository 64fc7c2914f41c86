/**
 * Bad files: every fixture, with bytes flipped, truncated or spliced (seeded, 300 per fixture: 1,800 files), either
 * imports to a graph that evaluates or throws an Error whose message starts with "importOnnx:", and a
 * failed import leaves the caller's graph untouched. Plus one clear error per kind of bad input.
 */
import { evaluate, Graph, importOnnx } from "adjoint";
import { describe, expect, it } from "vitest";
import { encodeModel, type ModelProto } from "../../packages/nn/src/formats/onnx/schema";
import { decodeModel } from "../../packages/nn/src/formats/onnx/schema";
import { fixtures } from "./fixtures";

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % n;
  };
}

function mutate(bytes: Uint8Array, kind: number, r: (n: number) => number): Uint8Array {
  const b = Uint8Array.from(bytes);
  switch (kind) {
    case 0: // one flipped byte
      b[r(b.length)] ^= 1 + r(255);
      return b;
    case 1: // a few flipped bytes
      for (let k = 0, n = 2 + r(6); k < n; k++) b[r(b.length)] ^= 1 + r(255);
      return b;
    case 2: // truncated
      return b.slice(0, r(b.length));
    case 3: // a flipped bit (varints, lengths, tags)
      b[r(b.length)] ^= 1 << r(8);
      return b;
    default: {
      // a span replaced by another part of the file
      const at = r(b.length);
      const from = r(b.length);
      const n = 1 + r(16);
      for (let k = 0; k < n && at + k < b.length && from + k < b.length; k++) b[at + k] = bytes[from + k];
      return b;
    }
  }
}

const LIMITS = { maxElements: 1 << 20 };

describe("importOnnx on corrupted files", () => {
  it("each of 300 mutated files per fixture imports and evaluates, or throws an importOnnx: error", () => {
    const counts = { imported: 0, rejected: 0 };
    const reasons = new Map<string, number>();
    for (const [fi, f] of fixtures().entries()) {
      const r = rng(1000 + fi);
      for (let i = 0; i < 300; i++) {
        const bytes = mutate(f.bytes, i % 5, r);
        const g = new Graph();
        let m: ReturnType<typeof importOnnx>;
        try {
          m = importOnnx(bytes, g, { batch: 2, limits: LIMITS });
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          const msg = (e as Error).message;
          if (!msg.startsWith("importOnnx: ")) throw new Error(`${f.name} mutation ${i}: raw error ${msg}`);
          expect(g.nodes.length, `${f.name} mutation ${i} left nodes in the graph`).toBe(0);
          const reason = msg.slice(12, 40);
          reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          counts.rejected++;
          continue;
        }
        const feeds = Object.fromEntries(
          Object.values(m.inputs).map((t) => [
            t.name!,
            Float64Array.from({ length: t.size }, (_, k) => Math.sin(k)),
          ]),
        );
        const outs = Object.values(m.outputs);
        expect(outs.length).toBeGreaterThan(0);
        expect(() => evaluate(outs, feeds), `${f.name} mutation ${i}`).not.toThrow();
        counts.imported++;
      }
    }
    expect(counts.imported + counts.rejected).toBe(fixtures().length * 300);
    expect(counts.imported + counts.rejected).toBeGreaterThanOrEqual(1500);
    // Both outcomes occur: the mutations reach past the decoder into the checks and the builders.
    expect(counts.imported).toBeGreaterThan(50);
    expect(counts.rejected).toBeGreaterThan(500);
    if (process.env.FUZZ_LOG) console.log(counts, [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 25));
  });
});

describe("importOnnx: one clear error per kind of bad input", () => {
  const f = fixtures().find((x) => x.name === "mlp_relu")!;
  const message = (bytes: Uint8Array, options = {}) => {
    try {
      importOnnx(bytes, new Graph(), options);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("imported");
  };
  const edit = (change: (m: ModelProto) => void) => {
    const m = decodeModel(f.bytes);
    change(m);
    return encodeModel(m);
  };

  it("not ONNX, truncated, empty", () => {
    expect(message(new TextEncoder().encode("hello, this is not a model"))).toMatch(/^importOnnx: /);
    expect(message(f.bytes.slice(0, f.bytes.length - 40))).toMatch(
      /^importOnnx: not a valid ONNX file \(truncated or corrupted/,
    );
    expect(message(new Uint8Array())).toBe("importOnnx: the file is empty");
    expect(message(edit((m) => delete m.graph))).toMatch(/^importOnnx: not an ONNX model: no graph/);
  });

  it("an unsupported op (its name, node name and opset), attribute value, opset", () => {
    expect(message(edit((m) => (m.graph!.node![1].op_type = "Celu")))).toMatch(
      /^importOnnx: node "\/1\/Relu": op Celu \(opset 13\) is not supported; supported: .*Gemm/,
    );
    expect(message(edit((m) => (m.graph!.node![0].attribute!.find((a) => a.name === "transB")!.i = 3)))).toBe(
      'importOnnx: node "/0/Gemm" (Gemm, opset 13): attribute transB = 3 is not supported (supported: 0, 1)',
    );
    expect(message(edit((m) => (m.opset_import![0].version = 11)))).toMatch(
      /^importOnnx: opset 11 is not supported \(13 to 18/,
    );
  });

  it("shapes that cannot be inferred, an initializer whose data disagrees with its shape", () => {
    expect(
      message(edit((m) => (m.graph!.input![0].type!.tensor_type!.shape!.dim![1].dim_value = 7))),
    ).toMatch(
      /^importOnnx: node "\/0\/Gemm" \(Gemm, opset 13\): matmul: inner dimensions differ: \[3,7\] x \[6,16\]/,
    );
    expect(message(edit((m) => (m.graph!.initializer![1].dims = [15])))).toBe(
      'importOnnx: initializer "0.bias": 16 values in raw_data for dims [15] (expected 15)',
    );
    expect(message(edit((m) => (m.graph!.output![0].type!.tensor_type!.shape!.dim![1].dim_value = 5)))).toBe(
      'importOnnx: graph output "y": the file declares shape [3,5] but the nodes compute [3,4]',
    );
    expect(message(edit((m) => (m.graph!.node![1].input = ["nowhere"])))).toMatch(
      /reads "nowhere", which no earlier node, input or initializer produces/,
    );
  });

  it("limits: a tensor too large, a file too large", () => {
    expect(message(edit((m) => (m.graph!.initializer![0].dims = [1e6, 1e6])))).toMatch(
      /^importOnnx: initializer "0.weight": dims \[1000000,1000000\] exceed the limit/,
    );
    expect(message(f.bytes, { limits: { maxBytes: 100 } })).toMatch(
      /more than the limit of 100 \(maxBytes\)/,
    );
  });
});
