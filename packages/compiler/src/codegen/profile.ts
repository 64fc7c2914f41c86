/**
 * A per-group timer of the step (compile's `profile` option, kernel.profile()): the step calls
 * `wasm.tick(g)` where group g starts and `wasm.tick(-1)` where it ends, and each call adds the time since
 * the previous one to the group that was running. The timer keeps its state in Float64Arrays, but
 * performance.now() returns a fresh heap number in Node, so a profiled step allocates about 16 bytes per
 * group and step (tests/nn/zero-alloc.test.ts bounds it): a profile is for measuring, not for production
 * runs. With threads, a group's time is the main thread's wall time, waiting for the workers included.
 */

export interface GroupTime {
  /** The group's index in the step (its `// group N` comment), or the updates copied at the end. */
  group: number | "updates";
  /** The group's comment line: kind, module scope, ops and what it stores. */
  header: string;
  /** Mean wall time per step, ms. */
  ms: number;
}

export interface GroupTimer {
  tick: (group: number) => void;
  /** Mean times per step since the start or the last reset, one entry per group (then the updates). */
  read: (headers: readonly string[]) => GroupTime[];
  reset: () => void;
}

export function groupTimer(groups: number): GroupTimer {
  // totals[g] for the groups, totals[groups] for the updates; state: [last tick's time, running group, steps].
  const totals = new Float64Array(groups + 1);
  const state = Float64Array.of(0, -1, 0);
  return {
    tick(group: number) {
      const now = performance.now();
      if (state[1] >= 0) totals[state[1]] += now - state[0];
      state[0] = now;
      state[1] = group;
      if (group < 0) state[2] += 1;
    },
    read(headers) {
      const steps = Math.max(1, state[2]);
      return Array.from(totals, (total, g) => ({
        group: g < groups ? g : ("updates" as const),
        header: headers[g] ?? "",
        ms: total / steps,
      }));
    },
    reset() {
      totals.fill(0);
      state[2] = 0;
    },
  };
}
