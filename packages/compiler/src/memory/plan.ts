/**
 * Memory planning. Every stored intermediate gets a slot in one arena (a region of the graph's shared
 * memory); slots are reused when lifetimes (in group order) do not overlap, and an elementwise group may
 * write over an operand it reads for the last time at the same index (in place). An update whose new
 * value is computed by an elementwise group that last touches the target is written straight into the
 * target's storage: no copy at the end of the step.
 */
import { formatShape, type Shape, sameShape, sizeOf } from "@adjoint/core";
import type { Group, Schedule } from "../schedule/fuse";
import { matmulScratchFloats } from "../schedule/matmul-lowering";
import { isContiguous } from "../schedule/views";

export interface BufferInfo {
  node: number;
  label: string;
  floats: number;
  /** Byte offset in the graph's memory. */
  byteOffset: number;
  kind: "arena" | "input" | "output" | "const" | "storage" | "update-in-place";
  /** First and last group (by schedule position) that touch it. */
  start: number;
  end: number;
}

/**
 * Where every intermediate of a schedule lives: arena slots (reused when lifetimes do not overlap) and the
 * arena size.
 */
export interface MemoryPlan {
  /** Float index (into the heap Float32Array) of each node that owns memory. */
  readonly location: Map<number, number>;
  /** Updates whose value is written into the target directly, by node id of the value. */
  readonly inPlaceUpdates: Set<number>;
  readonly buffers: BufferInfo[];
  readonly arenaBytes: number;
  readonly naiveBytes: number;
  /** Float index of a 16-float scratch tile for matmuls. */
  readonly scratch: number;
}

const ALIGN_FLOATS = 16;

/**
 * Assigns every stored intermediate of a schedule a slot in one arena, reusing slots across non-overlapping
 * lifetimes unless `reuse` is false.
 */
export function planMemory(s: Schedule, options: { reuse?: boolean } = {}): MemoryPlan {
  const { program: p, views, groups } = s;
  const mem = p.graph.memory;
  const location = new Map<number, number>();
  const buffers: BufferInfo[] = [];
  const label = (id: number) => {
    const n = p.nodes[id];
    return `${n.leaf ? `${n.op} "${n.leaf.name}"` : n.op} %${n.origin} ${formatShape(n.shape)}`;
  };

  // Leaves: params and buffers own storage; inputs and constant data get slots of this kernel's own.
  for (const n of p.nodes) {
    if (n.leaf && n.leaf.storage) {
      location.set(n.id, n.leaf.storage.offset / 4);
    } else if (n.leaf || (n.op === "const" && n.attrs.data)) {
      const floats = sizeOf(n.shape);
      const byteOffset = mem.allocate(floats);
      if (n.attrs.data) mem.f32(byteOffset, floats).set(n.attrs.data as Float32Array);
      location.set(n.id, byteOffset / 4);
      buffers.push({
        node: n.id,
        label: label(n.id),
        floats,
        byteOffset,
        kind: n.leaf ? "input" : "const",
        start: 0,
        end: groups.length,
      });
    }
  }

  // Lifetimes of stored group outputs, in group positions.
  const position = new Map<Group, number>(groups.map((g, i) => [g, i]));
  const posOf = (id: number) => position.get(s.groupOf.get(id)!)!;
  const lastRead = new Map<number, number>();
  const endOfStep = groups.length;
  for (const g of groups) {
    for (const id of g.nodes) {
      for (const i of p.nodes[id].inputs) {
        const base = views.baseOf(i);
        if (base !== null) lastRead.set(base, Math.max(lastRead.get(base) ?? -1, position.get(g)!));
      }
    }
  }
  for (const [, id] of p.outputs) {
    const base = views.baseOf(id);
    if (base !== null) lastRead.set(base, endOfStep);
  }
  for (const u of p.updates) {
    const base = views.baseOf(u.value);
    if (base !== null) lastRead.set(base, endOfStep);
  }

  // Updates written in place.
  const inPlaceUpdates = new Set<number>();
  const writtenTargets = new Map<number, number>();
  for (const u of p.updates) writtenTargets.set(u.target, (writtenTargets.get(u.target) ?? 0) + 1);
  for (const u of p.updates) {
    const g = s.groupOf.get(u.value);
    if (!g || views.isView(u.value) || writtenTargets.get(u.target) !== 1) continue;
    if (g.kind !== "elementwise" && g.kind !== "matmul") continue;
    // A matmul epilogue may write the target only if the product itself does not read it.
    if (
      g.kind === "matmul" &&
      (g.root === u.value || p.nodes[g.root!].inputs.some((i) => views.baseOf(i) === u.target))
    )
      continue;
    if (p.outputs.some(([, id]) => id === u.value)) continue;
    const at = posOf(u.value);
    if ((lastRead.get(u.target) ?? -1) > at) continue;
    const shape = p.nodes[u.value].shape;
    const direct = readsElementAtElement(
      g.nodes.filter((id) => id !== g.root),
      u.target,
      shape,
    );
    // Later groups reading the value read the target (which then holds it).
    if (!direct) continue;
    inPlaceUpdates.add(u.value);
    location.set(u.value, location.get(u.target)!);
    buffers.push({
      node: u.value,
      label: label(u.value),
      floats: sizeOf(shape),
      byteOffset: location.get(u.target)! * 4,
      kind: "update-in-place",
      start: at,
      end: endOfStep,
    });
  }

  // Arena slots for every other stored output, first fit over lifetimes.
  type Slot = { node: number; floats: number; start: number; end: number; offset: number; group: Group };
  // Outputs are the kernel's results, live from their group to the end and read after the step: they get
  // buffers of their own, like inputs, and the arena is the reusable workspace of intermediates.
  for (const [, id] of p.outputs) {
    const base = views.baseOf(id);
    if (base === null || location.has(base) || !s.groupOf.has(base)) continue;
    const floats = sizeOf(p.nodes[base].shape);
    const byteOffset = mem.allocate(floats);
    location.set(base, byteOffset / 4);
    buffers.push({
      node: base,
      label: label(base),
      floats,
      byteOffset,
      kind: "output",
      start: posOf(base),
      end: endOfStep,
    });
  }
  const slots: Slot[] = [];
  for (const g of groups) {
    for (const id of g.outputs) {
      if (location.has(id)) continue;
      const floats = sizeOf(p.nodes[id].shape);
      slots.push({
        node: id,
        floats,
        start: position.get(g)!,
        end: lastRead.get(id) ?? position.get(g)!,
        offset: -1,
        group: g,
      });
    }
  }
  const placed: Slot[] = [];
  let arenaFloats = 0;
  for (const slot of slots) {
    const conflicts = placed.filter(
      (o) => options.reuse === false || (o.start <= slot.end && slot.start <= o.end),
    );
    const inPlace = options.reuse === false ? undefined : conflicts.find((o) => canShare(o, slot));
    let offset = 0;
    if (
      inPlace &&
      !conflicts.some((o) => o !== inPlace && overlaps(o.offset, o.floats, inPlace.offset, slot.floats))
    ) {
      offset = inPlace.offset;
    } else {
      const taken = conflicts
        .map((o) => [o.offset, o.offset + align(o.floats)] as const)
        .sort((a, b) => a[0] - b[0]);
      for (const [lo, hi] of taken) {
        if (offset + slot.floats <= lo) break;
        offset = Math.max(offset, hi);
      }
    }
    slot.offset = offset;
    placed.push(slot);
    arenaFloats = Math.max(arenaFloats, offset + align(slot.floats));
  }
  // Scratch after the arena, for JS matmuls: a C tile and packed panels of A and B.
  const scratchFloats = Math.max(
    16,
    ...groups
      .filter((g) => g.kind === "matmul")
      .map((g) => {
        const a = p.nodes[p.nodes[g.root!].inputs[0]].shape;
        return matmulScratchFloats(a[a.length - 2], a[a.length - 1]);
      }),
  );
  const arenaByteOffset = mem.allocate(arenaFloats + ALIGN_FLOATS + scratchFloats);
  const arenaBase = arenaByteOffset / 4;
  for (const slot of placed) {
    location.set(slot.node, arenaBase + slot.offset);
    buffers.push({
      node: slot.node,
      label: label(slot.node),
      floats: slot.floats,
      byteOffset: (arenaBase + slot.offset) * 4,
      kind: "arena",
      start: slot.start,
      end: slot.end,
    });
  }
  const scratch = arenaBase + arenaFloats;

  /** An elementwise group may overwrite a slot it reads for the last time, element by element. */
  function canShare(o: Slot, slot: Slot): boolean {
    if (slot.group.kind !== "elementwise" || o.end !== slot.start || o.floats !== slot.floats) return false;
    const g = slot.group;
    if (!g.nodes.some((id) => p.nodes[id].inputs.some((i) => views.baseOf(i) === o.node))) return false;
    return readsElementAtElement(g.nodes, o.node, p.nodes[slot.node].shape);
  }

  /**
   * Whether `members` read `base` only element for element over `shape` (contiguous, from its start): then
   * a loop may overwrite base with its own output, each element being read before it is written.
   */
  function readsElementAtElement(members: readonly number[], base: number, shape: Shape): boolean {
    return members.every((id) =>
      p.nodes[id].inputs.every((i) => {
        const a = views.access(i)!;
        if (a.kind !== "buffer" || a.base !== base) return true;
        return isContiguous(a) && a.offset === 0 && sameShape(a.shape, shape);
      }),
    );
  }

  return {
    location,
    inPlaceUpdates,
    buffers,
    arenaBytes: arenaFloats * 4,
    naiveBytes: naiveBytes(s),
    scratch,
  };
}

/**
 * What an eager executor (one op at a time, no fusion, no reuse, tfjs-style) would allocate for the
 * same program: a buffer for every computed node that is not a free view.
 */
function naiveBytes(s: Schedule): number {
  const p = s.program;
  const outputs = new Set(p.outputs.map(([, id]) => s.views.baseOf(id)));
  let bytes = 0;
  for (const n of p.nodes) {
    if (n.leaf || n.op === "const" || s.views.isView(n.id) || outputs.has(n.id)) continue;
    bytes += align(sizeOf(n.shape)) * 4;
  }
  return bytes;
}

function align(floats: number): number {
  return Math.ceil(floats / ALIGN_FLOATS) * ALIGN_FLOATS;
}

function overlaps(a: number, an: number, b: number, bn: number): boolean {
  return a < b + bn && b < a + an;
}
