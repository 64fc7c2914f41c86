/**
 * The PyTorch system of the benchmark harness for a test: its workload data written to a temporary folder,
 * and the process shut down and the folder removed after the file's tests. `available` says whether
 * /usr/bin/python3 can import torch (CI has no Python: the PyTorch cases are then left out).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { createPytorchSystem } from "../../benchmarks/src/systems/pytorch";
import type { Workload } from "../../benchmarks/src/workloads";
import { writeWorkloadData } from "../../benchmarks/src/workloads";

function torchAvailable(): boolean {
  try {
    execFileSync("/usr/bin/python3", ["-c", "import torch"], { stdio: "ignore", timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

export function torchPeer(workloads: Workload[], name: string) {
  const dir = mkdtempSync(join(tmpdir(), `adjoint-${name}-test-`));
  const pytorch = createPytorchSystem({ manifestPath: writeWorkloadData(workloads, dir) });
  afterAll(async () => {
    await pytorch.shutdown?.();
    rmSync(dir, { recursive: true, force: true });
  });
  return { pytorch, available: torchAvailable() };
}
