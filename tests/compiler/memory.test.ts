/**
 * Memory planning: the arena (intermediates and outputs, slots reused across lifetimes, elementwise
 * results written over operands read for the last time) against what an eager executor would allocate
 * (k.memory.naiveBytes: a buffer per computed node), and the plan's safety: two buffers alive at the same
 * time never share bytes.
 */
import { compile, type Kernel } from "adjoint";
import { describe, expect, it } from "vitest";
import { mlp, sgd } from "./models";

function breakdown(k: Kernel): string {
  const lines = k.memory.buffers
    .filter((b) => b.kind !== "input" && b.kind !== "const")
    .map((b) => `  ${b.kind} ${b.label}: ${b.floats * 4} B at ${b.byteOffset}, groups ${b.start}-${b.end}`);
  return `arena ${k.memory.arenaBytes} B, naive ${k.memory.naiveBytes} B (ratio ${(k.memory.arenaBytes / k.memory.naiveBytes).toFixed(3)}):\n${lines.join("\n")}`;
}

/** The kind of group ("elementwise", "matmul", ...) computing each program node, from k.programText. */
function groupKinds(k: Kernel): Map<number, string> {
  const kinds = new Map<number, string>();
  for (const line of k.programText.split("\n")) {
    const m = /^%(\d+) = .*# group \d+ (\w+)/.exec(line);
    if (m) kinds.set(Number(m[1]), m[2]);
  }
  return kinds;
}

/**
 * Arena buffers whose lifetimes (group positions, inclusive) overlap must not share bytes, except a slot
 * handed over in place: an elementwise group writing its value over an operand it reads for the last time
 * (element i is read before it is written, so the order is safe).
 */
function overlappingLiveBuffers(k: Kernel): string[] {
  const kinds = groupKinds(k);
  const arena = k.memory.buffers.filter((b) => b.kind === "arena" || b.kind === "update-in-place");
  const bad: string[] = [];
  for (let i = 0; i < arena.length; i++) {
    for (let j = i + 1; j < arena.length; j++) {
      const a = arena[i];
      const b = arena[j];
      const bytes = a.byteOffset < b.byteOffset + b.floats * 4 && b.byteOffset < a.byteOffset + a.floats * 4;
      const time = a.start <= b.end && b.start <= a.end;
      const [first, second] = a.start <= b.start ? [a, b] : [b, a];
      const handover = first.end === second.start && kinds.get(second.node) === "elementwise";
      if (bytes && time && !handover) bad.push(`${a.label} [${a.start}-${a.end}] and ${b.label} [${b.start}-${b.end}]`);
    }
  }
  return bad;
}

describe("memory planning", () => {
  it("784→128→10 MLP, batch 64, forward+backward (outputs: loss and all grads): arena <= 0.6 × naive", () => {
    const m = mlp([784, 128, 10], 64);
    const k = compile(m.outputs);
    console.log(breakdown(k));
    expect(k.memory.arenaBytes, breakdown(k)).toBeLessThanOrEqual(0.6 * k.memory.naiveBytes);
  });

  it("reuse shrinks the arena (the same MLP with reuse: false needs more)", () => {
    const m = mlp([784, 128, 10], 64);
    const reused = compile(m.outputs);
    const separate = compile(m.outputs, { reuse: false });
    expect(reused.memory.arenaBytes).toBeLessThan(separate.memory.arenaBytes);
    expect(separate.memory.arenaBytes).toBeLessThanOrEqual(separate.memory.naiveBytes);
    // The intermediates (everything but the gradient outputs) take less than half of their naive bytes.
    const outputBytes = Object.values(reused.outputs).reduce((n, o) => n + o.length * 4, 0);
    expect(reused.memory.arenaBytes - outputBytes).toBeLessThan(0.5 * (reused.memory.naiveBytes - outputBytes));
  });

  it("a training step (loss, SGD updates in place) needs a small fraction of the naive bytes", () => {
    const m = mlp([784, 128, 10], 64);
    const k = compile({ loss: m.loss }, { updates: sgd(m, 0.01) });
    console.log(`training step: ${breakdown(k).split("\n")[0]}`);
    expect(k.memory.arenaBytes).toBeLessThanOrEqual(0.6 * k.memory.naiveBytes);
  });

  it("the overlap check flags live buffers sharing bytes, and accepts an elementwise in-place handover", () => {
    const buf = (node: number, byteOffset: number, start: number, end: number) => ({
      node,
      label: `%${node}`,
      floats: 16,
      byteOffset,
      kind: "arena" as const,
      start,
      end,
    });
    const fake = (buffers: ReturnType<typeof buf>[], programText: string) =>
      ({ memory: { arenaBytes: 0, naiveBytes: 0, buffers }, programText }) as unknown as Kernel;
    const text = "%1 = exp %0 : f32[16]  # group 0 elementwise stored\n%2 = matmul %1, %1 : f32[4,4]  # group 1 matmul stored\n%3 = neg %2 : f32[16]  # group 2 elementwise stored\n";
    expect(overlappingLiveBuffers(fake([buf(1, 0, 0, 2), buf(2, 32, 1, 2)], text))).toHaveLength(1);
    expect(overlappingLiveBuffers(fake([buf(1, 0, 0, 1), buf(2, 0, 1, 2)], text))).toHaveLength(1); // a matmul may not
    expect(overlappingLiveBuffers(fake([buf(2, 0, 1, 2), buf(3, 0, 2, 3)], text))).toEqual([]); // elementwise may
    expect(overlappingLiveBuffers(fake([buf(1, 0, 0, 1), buf(3, 0, 2, 3)], text))).toEqual([]); // disjoint in time
  });

  it("buffers alive at the same time never share bytes (MLP gradients, training step, fusion off, checkFinite)", () => {
    const m = mlp([20, 16, 12, 5], 6);
    const updates = sgd(m, 0.1);
    const kernels = [
      compile(m.outputs),
      compile({ loss: m.loss }, { updates }),
      compile(m.outputs, { passes: { fusion: false } }),
      compile({ loss: m.loss, logits: m.logits }, { checkFinite: true, updates }),
    ];
    for (const k of kernels) {
      expect(k.memory.buffers.length).toBeGreaterThan(5);
      expect(overlappingLiveBuffers(k), breakdown(k)).toEqual([]);
    }
  });
});
