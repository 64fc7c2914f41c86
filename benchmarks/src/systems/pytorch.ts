/**
 * pytorch: PyTorch eager mode, one thread, in a Python child process (torch_bench.py beside this file) that
 * reads the same starting data and times its own steps (the harness's timer would only see the pipe).
 * If python3 or torch is missing the system is reported skipped, never failed.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Workload } from "../workloads";
import {
  errorMessage,
  type InferenceRunner,
  type Runner,
  type Skip,
  type System,
  skip,
  type TimingPlan,
} from "./types";

export interface PytorchOptions {
  /** The workloads.json written by writeWorkloadData(). */
  manifestPath: string;
  /** Default /usr/bin/python3 (Debian's python3-torch). */
  python?: string;
  /** When set, the system reports itself skipped with this reason (e.g. --quick). */
  skipReason?: string;
  /** torch.set_num_threads (and the BLAS thread count); default 1. The system is named pytorch-<n>t for n > 1. */
  threads?: number;
}

interface Hello {
  ok: boolean;
  error?: string;
  torch?: string;
  threads?: number;
  blas?: { loaded: string[]; config: string };
}

class TorchProcess {
  private waiting: ((line: string) => void)[] = [];
  private buffered: string[] = [];
  private exited = false;
  private stderr = "";

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on("line", (line) => {
      const w = this.waiting.shift();
      if (w) w(line);
      else this.buffered.push(line);
    });
    child.stderr.on("data", (d) => {
      this.stderr = (this.stderr + String(d)).slice(-2000);
    });
    child.on("exit", () => {
      this.exited = true;
      for (const w of this.waiting.splice(0))
        w(JSON.stringify({ ok: false, error: `python exited: ${this.lastError()}` }));
    });
    child.on("error", () => {
      this.exited = true;
    });
  }

  lastError(): string {
    return this.stderr.trim().split("\n").slice(-1)[0] ?? "";
  }

  static start(python: string, script: string, manifest: string, threads: number): TorchProcess {
    const n = String(threads);
    const child = spawn(python, ["-u", script, manifest, n], {
      env: { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n },
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new TorchProcess(child);
  }

  private nextLine(timeoutMs: number): Promise<string> {
    const b = this.buffered.shift();
    if (b !== undefined) return Promise.resolve(b);
    if (this.exited)
      return Promise.resolve(JSON.stringify({ ok: false, error: `python exited: ${this.lastError()}` }));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(done);
        if (i >= 0) this.waiting.splice(i, 1);
        resolve(JSON.stringify({ ok: false, error: `no answer from python within ${timeoutMs} ms` }));
      }, timeoutMs);
      const done = (line: string) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiting.push(done);
    });
  }

  async hello(): Promise<Hello> {
    return JSON.parse(await this.nextLine(120_000)) as Hello;
  }

  async request<T = any>(req: object, timeoutMs = 600_000): Promise<T> {
    if (this.exited) throw new Error(`python exited: ${this.lastError()}`);
    this.child.stdin.write(`${JSON.stringify(req)}\n`);
    const res = JSON.parse(await this.nextLine(timeoutMs));
    if (!res.ok) throw new Error(res.error ?? "python request failed");
    return res as T;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    try {
      await this.request({ op: "quit" }, 5000);
    } catch {
      this.child.kill();
    }
  }
}

/** The PyTorch system. Also exposes the raw process for the matmul table. */
export function createPytorchSystem(opts: PytorchOptions): System & {
  matmulMs(n: number, timeMs: number): Promise<Record<string, number> | Skip>;
} {
  const python = opts.python ?? "/usr/bin/python3";
  const threads = opts.threads ?? 1;
  const script = join(dirname(fileURLToPath(import.meta.url)), "torch_bench.py");
  let proc: Promise<TorchProcess | Skip> | null = null;
  let hello: Hello | null = null;

  const get = (): Promise<TorchProcess | Skip> => {
    if (opts.skipReason) return Promise.resolve(skip(opts.skipReason));
    proc ??= (async () => {
      if (!existsSync(python)) return skip(`${python} not found`);
      try {
        const p = TorchProcess.start(python, script, opts.manifestPath, threads);
        hello = await p.hello();
        if (!hello.ok) {
          await p.stop();
          return skip(hello.error ?? "python3 -c 'import torch' failed");
        }
        return p;
      } catch (e) {
        return skip(`cannot start ${python}: ${errorMessage(e)}`);
      }
    })();
    return proc;
  };

  const wrapTime = async (p: TorchProcess, op: string, plan: TimingPlan): Promise<number[]> => {
    const r = await p.request<{ samples: number[] }>({ op, plan });
    return r.samples;
  };

  return {
    name: threads === 1 ? "pytorch" : `pytorch-${threads}t`,
    async describe() {
      const p = await get();
      if ("skipped" in p) return p.reason;
      const loaded = hello?.blas?.loaded ?? [];
      const blas = loaded.length ? loaded.map((l) => l.split("/").slice(-2).join("/")).join(", ") : "unknown";
      return `torch ${hello?.torch}, eager, ${hello?.threads} thread${hello?.threads === 1 ? "" : "s"}; ${hello?.blas?.config ?? ""}; BLAS loaded: ${blas}`;
    },
    async setup(w: Workload): Promise<Runner | Skip> {
      const p = await get();
      if ("skipped" in p) return p;
      await p.request({ op: "setup", id: w.id });
      let last = Number.NaN;
      return {
        inProcess: false,
        async step() {
          last = (await p.request<{ loss: number }>({ op: "steps", n: 1 })).loss;
        },
        async streamSteps(from: number, n: number) {
          last = (await p.request<{ loss: number }>({ op: "stream_steps", from, n })).loss;
        },
        loss: () => last,
        selfTime: (plan) => wrapTime(p, "time", plan),
        dispose() {},
      };
    },
    async setupInference(w: Workload): Promise<InferenceRunner | Skip> {
      const p = await get();
      if ("skipped" in p) return p;
      await p.request({ op: "setup_infer", id: w.id });
      return {
        inProcess: false,
        async run() {
          await p.request({ op: "infer_output" });
        },
        async output() {
          return Float32Array.from((await p.request<{ logits: number[] }>({ op: "infer_output" })).logits);
        },
        selfTime: (plan) => wrapTime(p, "infer_time", plan),
        dispose() {},
      };
    },
    async matmulMs(n: number, timeMs: number) {
      const p = await get();
      if ("skipped" in p) return p;
      return (await p.request<{ ms: Record<string, number> }>({ op: "matmul", n, timeMs })).ms;
    },
    async shutdown() {
      if (!proc) return;
      const p = await proc;
      if (!("skipped" in p)) await p.stop();
    },
  };
}
