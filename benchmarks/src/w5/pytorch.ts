/** PyTorch (eager, one thread) in a Python child process (lenet_bench.py), timing its own steps. */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { W5Data, W5Runner } from "./data";

export async function pytorchRunner(data: W5Data, python = "/usr/bin/python3"): Promise<W5Runner> {
  const file = join(tmpdir(), `adjoint-w5-${process.pid}.bin`);
  const parts = [...data.params, data.x, data.labels].map(
    (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
  );
  writeFileSync(file, Buffer.concat(parts));
  const script = join(dirname(fileURLToPath(import.meta.url)), "lenet_bench.py");
  const child = spawn(python, ["-u", script, file], {
    env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + String(d)).slice(-2000);
  });
  const lines: string[] = [];
  const waiting: ((l: string) => void)[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => {
    const w = waiting.shift();
    if (w) w(l);
    else lines.push(l);
  });
  child.on("exit", () => {
    for (const w of waiting.splice(0))
      w(JSON.stringify({ ok: false, error: `python exited: ${stderr.trim().split("\n").pop()}` }));
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve) => {
      const l = lines.shift();
      if (l !== undefined) resolve(JSON.parse(l));
      else waiting.push((x) => resolve(JSON.parse(x)));
    });
  const hello = await next();
  if (!hello.ok) throw new Error(String(hello.error));
  const ask = async (cmd: string) => {
    child.stdin.write(`${cmd}\n`);
    const r = await next();
    if (r.ok === false) throw new Error(String(r.error));
    return r;
  };
  let last = Number.NaN;
  return {
    name: "pytorch",
    describe: `PyTorch ${hello.torch}, eager, ${hello.threads} thread`,
    async step() {
      last = (await ask("step 1")).loss as number;
    },
    loss: () => last,
    async forward() {
      await ask("forward 1");
    },
    async time(what, n) {
      const r = await ask(`${what} ${n}`);
      if (what === "step") last = r.loss as number;
      return r.ms as number;
    },
    dispose() {
      child.stdin.write("quit\n");
    },
  };
}
