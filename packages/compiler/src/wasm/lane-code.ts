/**
 * The arithmetic of a fused elementwise loop in wasm SIMD, four lanes at a time: lane expressions (what
 * the codegen's laneSpec makes of the ops' JS formulas) emitted into a function, their constants and
 * broadcast operands in v128 locals of their own. Shared by the elementwise kernel (elementwise.ts), which
 * wraps it in loops over memory, and the matmul micro-kernel's fused epilogue (fused-epilogue.ts), which
 * feeds it the accumulators of a register tile.
 */
import { type FunctionBuilder, V128 } from "./encoder";

/** What a member computes, per lane: an expression over operands, earlier members and constants. */
export type LaneExpr =
  | { kind: "operand"; index: number }
  | { kind: "member"; index: number }
  | { kind: "const"; value: number }
  | { kind: "unary"; op: "neg" | "sqrt" | "abs"; x: LaneExpr }
  | { kind: "binary"; op: "add" | "sub" | "mul" | "div" | "min" | "max"; a: LaneExpr; b: LaneExpr }
  /** mask ? whenTrue : whenFalse, the mask a comparison of two values. */
  | { kind: "select"; test: LaneMask; whenTrue: LaneExpr; whenFalse: LaneExpr };

export interface LaneMask {
  op: "eq" | "ne" | "lt" | "le" | "gt" | "ge";
  a: LaneExpr;
  b: LaneExpr;
}

const BINARY = {
  add: "f32x4Add",
  sub: "f32x4Sub",
  mul: "f32x4Mul",
  div: "f32x4Div",
  min: "f32x4Min",
  max: "f32x4Max",
} as const;
const UNARY = { neg: "f32x4Neg", sqrt: "f32x4Sqrt", abs: "f32x4Abs" } as const;
const COMPARE = {
  eq: "f32x4Eq",
  ne: "f32x4Ne",
  lt: "f32x4Lt",
  le: "f32x4Le",
  gt: "f32x4Gt",
  ge: "f32x4Ge",
} as const;

const bitsOf = (value: number) => new Uint32Array(new Float32Array([value]).buffer)[0]!;
const floatOf = (bits: number) => new Float32Array(new Uint32Array([bits]).buffer)[0]!;

export interface LaneCode {
  /** v128 local of each broadcast operand (by operand index), for the caller to fill with its splat. */
  broadcast: Map<number, number>;
  /** v128 local of each per-element operand (by operand index), for the caller to load every pass. */
  loaded: Map<number, number>;
  /** v128 local of each member. */
  memberLocal: number[];
  /** Fills the constants' locals (once, before the members are first computed). */
  emitConstants(): void;
  /** Computes every member, in order, from the operands' locals. */
  emitMembers(): void;
}

/** Declares the locals of `members` over `operands` (broadcast or not) in fn and returns their emitters. */
export function laneCode(
  fn: FunctionBuilder,
  operands: ReadonlyArray<{ broadcast: boolean }>,
  members: readonly LaneExpr[],
): LaneCode {
  const constant = new Map<number, number>(); // by float32 bit pattern (so -0 is not +0)
  const broadcast = new Map<number, number>();
  const collect = (e: LaneExpr): void => {
    if (e.kind === "const" && !constant.has(bitsOf(e.value)))
      constant.set(bitsOf(e.value), fn.local(`c${constant.size}`, V128));
    if (e.kind === "operand" && operands[e.index]!.broadcast && !broadcast.has(e.index))
      broadcast.set(e.index, fn.local(`bcast${e.index}`, V128));
    if (e.kind === "unary") collect(e.x);
    if (e.kind === "binary") {
      collect(e.a);
      collect(e.b);
    }
    if (e.kind === "select") [e.test.a, e.test.b, e.whenTrue, e.whenFalse].forEach(collect);
  };
  members.forEach(collect);
  const memberLocal = members.map((_, i) => fn.local(`m${i}`, V128));
  const loaded = new Map<number, number>();
  operands.forEach((o, i) => {
    if (!o.broadcast) loaded.set(i, fn.local(`x${i}`, V128));
  });

  const push = (e: LaneExpr): void => {
    switch (e.kind) {
      case "operand":
        fn.get(broadcast.get(e.index) ?? loaded.get(e.index)!);
        return;
      case "member":
        fn.get(memberLocal[e.index]!);
        return;
      case "const":
        fn.get(constant.get(bitsOf(e.value))!);
        return;
      case "unary":
        push(e.x);
        fn[UNARY[e.op]]();
        return;
      case "binary":
        push(e.a);
        push(e.b);
        fn[BINARY[e.op]]();
        return;
      case "select":
        push(e.whenTrue);
        push(e.whenFalse);
        push(e.test.a);
        push(e.test.b);
        fn[COMPARE[e.test.op]]();
        fn.v128Bitselect();
        return;
    }
  };
  return {
    broadcast,
    loaded,
    memberLocal,
    emitConstants() {
      for (const [pattern, local] of constant) fn.f32Const(floatOf(pattern)).f32x4Splat().set(local);
    },
    emitMembers() {
      members.forEach((m, i) => {
        push(m);
        fn.set(memberLocal[i]!);
      });
    },
  };
}
