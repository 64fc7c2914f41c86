import type { FunctionBuilder } from "./encoder";

/** Small code-generation idioms shared by the kernel, packing and driver emitters. */

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}

/**
 * Runs `body` `count` times (a compile-time constant). One iteration needs no loop; more use `counter` as a
 * down-counting i32 local, so the body may advance its own pointer locals freely.
 */
export function countedLoop(fn: FunctionBuilder, counter: number, count: number, body: () => void): void {
  if (count <= 0) return;
  if (count === 1) {
    body();
    return;
  }
  fn.i32Const(count).set(counter);
  fn.loop();
  body();
  fn.get(counter).i32Const(1).i32Sub().tee(counter).brIf(0);
  fn.end();
}

/** local += constant (skipped when the constant is 0). */
export function advance(fn: FunctionBuilder, local: number, bytes: number): void {
  if (bytes !== 0) fn.get(local).i32Const(bytes).i32Add().set(local);
}

/** local = other + constant. */
export function setOffset(fn: FunctionBuilder, local: number, other: number, bytes: number): void {
  fn.get(other);
  if (bytes !== 0) fn.i32Const(bytes).i32Add();
  fn.set(local);
}

/**
 * Pushes a v128 holding `lanes` floats from pointer+offset (remaining lanes zero) without reading past them;
 * `scratch` is a v128 local used to reorder the stack for load32_lane.
 */
export function loadLanes(
  fn: FunctionBuilder,
  pointer: number,
  offset: number,
  lanes: number,
  scratch: number,
): void {
  if (lanes === 4) {
    fn.get(pointer).v128Load(offset);
    return;
  }
  fn.get(pointer).v128Load32Zero(offset);
  for (let lane = 1; lane < lanes; lane++) {
    fn.set(scratch)
      .get(pointer)
      .get(scratch)
      .v128Load32Lane(offset + lane * 4, lane);
  }
}

/** Stores the first `lanes` floats of a v128 local at pointer+offset. */
export function storeLanes(
  fn: FunctionBuilder,
  pointer: number,
  offset: number,
  lanes: number,
  vector: number,
): void {
  if (lanes === 4) {
    fn.get(pointer).get(vector).v128Store(offset);
    return;
  }
  for (let lane = 0; lane < lanes; lane++)
    fn.get(pointer)
      .get(vector)
      .v128Store32Lane(offset + lane * 4, lane);
}

/** Copies `count` contiguous floats from source+sourceOffset to destination+destinationOffset. */
export function copyFloats(
  fn: FunctionBuilder,
  destination: number,
  destinationOffset: number,
  source: number,
  sourceOffset: number,
  count: number,
): void {
  let done = 0;
  for (; count - done >= 4; done += 4) {
    fn.get(destination)
      .get(source)
      .v128Load(sourceOffset + done * 4)
      .v128Store(destinationOffset + done * 4);
  }
  for (; count - done >= 2; done += 2) {
    fn.get(destination)
      .get(source)
      .i64Load(sourceOffset + done * 4)
      .i64Store(destinationOffset + done * 4);
  }
  for (; done < count; done++) {
    fn.get(destination)
      .get(source)
      .f32Load(sourceOffset + done * 4)
      .f32Store(destinationOffset + done * 4);
  }
}

/** Writes `count` zero floats (count a multiple of 4) at pointer+offset. */
export function zeroFloats(fn: FunctionBuilder, pointer: number, offset: number, count: number): void {
  for (let done = 0; done < count; done += 4)
    fn.get(pointer)
      .v128Zero()
      .v128Store(offset + done * 4);
}
