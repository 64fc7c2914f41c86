/**
 * onnxruntime-node: forward pass only (ONNX Runtime does not train). The model bytes are written here by a
 * tiny protobuf encoder: Gemm(transB=1) + Relu/Tanh layers with the workload's weights as initializers.
 * Runs with one intra-op and one inter-op thread.
 */
import type { Workload } from "../workloads";
import { errorMessage, type InferenceRunner, type Runner, type Skip, type System, skip } from "./types";

// ---- a minimal protobuf writer (varints and length-delimited fields are all ONNX needs) ----

class Pb {
  private parts: Uint8Array[] = [];
  private cur: number[] = [];
  private flush(): void {
    if (this.cur.length) {
      this.parts.push(Uint8Array.from(this.cur));
      this.cur = [];
    }
  }
  private varint(v: number): void {
    let n = BigInt(v);
    if (n < 0n) n += 1n << 64n;
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n > 0n) b |= 0x80;
      this.cur.push(b);
    } while (n > 0n);
  }
  private key(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }
  bytes(field: number, b: Uint8Array): this {
    this.key(field, 2);
    this.varint(b.length);
    this.flush();
    this.parts.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Pb): this {
    return this.bytes(field, m.finish());
  }
  finish(): Uint8Array {
    this.flush();
    const n = this.parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INT = 2; // AttributeProto.AttributeType.INT

function tensorProto(name: string, dims: number[], data: Float32Array): Pb {
  const t = new Pb();
  for (const d of dims) t.int(1, d);
  t.int(2, FLOAT).str(8, name);
  return t.bytes(9, new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
}

function valueInfo(name: string, dims: number[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.msg(1, new Pb().int(1, d));
  const tensorType = new Pb().int(1, FLOAT).msg(2, shape);
  return new Pb().str(1, name).msg(2, new Pb().msg(1, tensorType));
}

function node(
  op: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: [string, number][] = [],
): Pb {
  const n = new Pb();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, name).str(4, op);
  for (const [k, v] of attrs) n.msg(5, new Pb().str(1, k).int(3, v).int(20, ATTR_INT));
  return n;
}

/** ONNX model bytes (IR 8, opset 17) of the workload's MLP: input "x" [batch, in] → output "logits". */
export function mlpOnnxModel(w: Workload): Uint8Array {
  const L = w.sizes.length - 1;
  const g = new Pb();
  let h = "x";
  for (let l = 0; l < L; l++) {
    const z = l === L - 1 ? "logits" : `z${l}`;
    g.msg(1, node("Gemm", [h, `W${l}`, `b${l}`], [z], `gemm${l}`, [["transB", 1]]));
    h = z;
    if (l < L - 1) {
      const a = `a${l}`;
      g.msg(1, node(w.activation === "relu" ? "Relu" : "Tanh", [z], [a], `act${l}`));
      h = a;
    }
  }
  g.str(2, `${w.id}-mlp`);
  for (let l = 0; l < L; l++) {
    g.msg(5, tensorProto(`W${l}`, [w.sizes[l + 1], w.sizes[l]], w.weights[l]));
    g.msg(5, tensorProto(`b${l}`, [w.sizes[l + 1]], w.biases[l]));
  }
  g.msg(11, valueInfo("x", [w.batch, w.sizes[0]]));
  g.msg(12, valueInfo("logits", [w.batch, w.sizes[L]]));
  return new Pb().int(1, 8).str(2, "adjoint-benchmarks").msg(7, g).msg(8, new Pb().int(2, 17)).finish();
}

type Ort = typeof import("onnxruntime-node");
let ortPromise: Promise<Ort | Skip> | null = null;

function loadOrt(): Promise<Ort | Skip> {
  ortPromise ??= (async () => {
    try {
      const mod = (await import("onnxruntime-node")) as Ort & { default?: Ort };
      return mod.InferenceSession ? mod : mod.default!;
    } catch (e) {
      return skip(`cannot load onnxruntime-node: ${errorMessage(e)}`);
    }
  })();
  return ortPromise;
}

export const onnxruntimeSystem: System = {
  name: "onnxruntime-node",
  async describe() {
    const ort = await loadOrt();
    return "skipped" in ort
      ? ort.reason
      : `onnxruntime-node ${ort.env.versions.node ?? "?"}, CPU EP, 1 thread`;
  },
  async setup(_w: Workload): Promise<Runner | Skip> {
    return skip("inference only (no training API)");
  },
  async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
    const ort = await loadOrt();
    if ("skipped" in ort) return ort;
    let session: import("onnxruntime-node").InferenceSession;
    try {
      session = await ort.InferenceSession.create(mlpOnnxModel(w), {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: "sequential",
        graphOptimizationLevel: "all",
      });
    } catch (e) {
      return skip(`onnxruntime rejected the model: ${errorMessage(e)}`);
    }
    const x = new ort.Tensor("float32", w.x.slice(), [w.batch, w.sizes[0]]);
    let out: Float32Array | null = null;
    return {
      async run() {
        const r = await session.run({ x });
        out = r.logits.data as Float32Array;
      },
      output: () => out!,
      async dispose() {
        await session.release();
      },
    };
  },
};

export default onnxruntimeSystem;
