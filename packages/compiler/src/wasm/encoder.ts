/**
 * A minimal WebAssembly binary encoder: just what the generated kernels need (i32/f32/i64 scalars, SIMD,
 * relaxed_madd, structured control flow, one imported shared memory). Every emitted instruction is also
 * recorded as a line of WAT-like text, so listings show exactly the code that was encoded.
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

const typeNames: Record<ValueType, string> = {
  [I32]: "i32",
  [I64]: "i64",
  [F32]: "f32",
  [F64]: "f64",
  [V128]: "v128",
};

export function unsignedLeb(value: number): number[] {
  const out: number[] = [];
  value >>>= 0;
  do {
    const byte = value & 0x7f;
    value >>>= 7;
    out.push(value === 0 ? byte : byte | 0x80);
  } while (value !== 0);
  return out;
}

/** Signed LEB128 of a 32-bit integer (values >= 2^31 are taken as their two's-complement bit pattern). */
export function signedLeb(value: number): number[] {
  const out: number[] = [];
  value |= 0;
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    const done = (value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsignedLeb(items.length), ...items.flat()];
}

function section(id: number, contents: number[]): number[] {
  return [id, ...unsignedLeb(contents.length), ...contents];
}

/** Builds one function body; params are locals 0..params.length-1. */
export class FunctionBuilder {
  readonly bytes: number[] = [];
  readonly text: string[] = [];
  private readonly localTypes: ValueType[] = [];
  private readonly localNames: string[];
  private depth = 1;

  constructor(
    readonly name: string,
    readonly params: Array<[string, ValueType]>,
    readonly results: ValueType[] = [],
  ) {
    this.localNames = params.map(([paramName]) => paramName);
  }

  local(name: string, type: ValueType): number {
    this.localTypes.push(type);
    this.localNames.push(name);
    return this.localNames.length - 1;
  }

  /** Header line, local declarations and body, for listings. */
  listing(): string {
    const params = this.params.map(([n, t]) => `(param $${n} ${typeNames[t]})`).join(" ");
    const firstLocal = this.params.length;
    const locals = this.localTypes.map(
      (t, i) => `  (local $${this.localNames[firstLocal + i]} ${typeNames[t]})`,
    );
    return [`(func $${this.name} ${params}`, ...locals, ...this.text, ")"].join("\n");
  }

  /** The code-section entry: size, run-length-encoded locals, body, end. */
  encodeBody(): number[] {
    const groups: number[][] = [];
    for (let i = 0; i < this.localTypes.length; ) {
      let run = 1;
      while (this.localTypes[i + run] === this.localTypes[i]) run++;
      groups.push([...unsignedLeb(run), this.localTypes[i]]);
      i += run;
    }
    const body = [...vector(groups), ...this.bytes, 0x0b];
    return [...unsignedLeb(body.length), ...body];
  }

  private emit(text: string, bytes: number[]): this {
    this.text.push("  ".repeat(this.depth) + text);
    this.bytes.push(...bytes);
    return this;
  }

  private simd(text: string, opcode: number, ...immediates: number[]): this {
    return this.emit(text, [0xfd, ...unsignedLeb(opcode), ...immediates]);
  }

  private memarg(alignLog2: number, offset: number): number[] {
    return [...unsignedLeb(alignLog2), ...unsignedLeb(offset)];
  }

  // Control flow. Blocks are untyped (0x40): all values live in locals.
  block(): this {
    this.emit("block", [0x02, 0x40]);
    this.depth++;
    return this;
  }
  loop(): this {
    this.emit("loop", [0x03, 0x40]);
    this.depth++;
    return this;
  }
  if(): this {
    this.emit("if", [0x04, 0x40]);
    this.depth++;
    return this;
  }
  /** The else branch of the innermost if. */
  else(): this {
    this.depth--;
    this.emit("else", [0x05]);
    this.depth++;
    return this;
  }
  end(): this {
    this.depth--;
    return this.emit("end", [0x0b]);
  }
  brIf(labelDepth: number): this {
    return this.emit(`br_if ${labelDepth}`, [0x0d, ...unsignedLeb(labelDepth)]);
  }
  call(functionIndex: number, calleeName: string): this {
    return this.emit(`call $${calleeName}`, [0x10, ...unsignedLeb(functionIndex)]);
  }

  // Locals.
  get(local: number): this {
    return this.emit(`local.get $${this.localNames[local]}`, [0x20, ...unsignedLeb(local)]);
  }
  set(local: number): this {
    return this.emit(`local.set $${this.localNames[local]}`, [0x21, ...unsignedLeb(local)]);
  }
  tee(local: number): this {
    return this.emit(`local.tee $${this.localNames[local]}`, [0x22, ...unsignedLeb(local)]);
  }

  // Scalars.
  i32Const(value: number): this {
    return this.emit(`i32.const ${value | 0}`, [0x41, ...signedLeb(value)]);
  }
  f32Const(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return this.emit(`f32.const ${value}`, [0x43, ...bytes]);
  }
  f64Const(value: number): this {
    const bytes = new Uint8Array(new Float64Array([value]).buffer);
    return this.emit(`f64.const ${value}`, [0x44, ...bytes]);
  }
  i32Add = () => this.emit("i32.add", [0x6a]);
  i32Sub = () => this.emit("i32.sub", [0x6b]);
  i32Mul = () => this.emit("i32.mul", [0x6c]);
  i32And = () => this.emit("i32.and", [0x71]);
  i32Shl = () => this.emit("i32.shl", [0x74]);
  i32DivU = () => this.emit("i32.div_u", [0x6e]);
  i32RemU = () => this.emit("i32.rem_u", [0x70]);
  i32Ne = () => this.emit("i32.ne", [0x47]);
  i32Eq = () => this.emit("i32.eq", [0x46]);
  /** Unsigned a < b: for a signed a, 0 <= a < b in one test. */
  i32LtU = () => this.emit("i32.lt_u", [0x49]);
  f64Add = () => this.emit("f64.add", [0xa0]);
  f64PromoteF32 = () => this.emit("f64.promote_f32", [0xbb]);
  f32DemoteF64 = () => this.emit("f32.demote_f64", [0xb6]);
  f32Load = (offset: number) => this.emit(`f32.load offset=${offset}`, [0x2a, ...this.memarg(2, offset)]);
  f32Store = (offset: number) => this.emit(`f32.store offset=${offset}`, [0x38, ...this.memarg(2, offset)]);
  i64Load = (offset: number) => this.emit(`i64.load offset=${offset}`, [0x29, ...this.memarg(2, offset)]);
  i64Store = (offset: number) => this.emit(`i64.store offset=${offset}`, [0x37, ...this.memarg(2, offset)]);

  // SIMD (0xfd prefix). Alignment hints are 4 bytes: offsets are only guaranteed to be float-aligned.
  v128Load = (offset: number) => this.simd(`v128.load offset=${offset}`, 0x00, ...this.memarg(2, offset));
  v128Store = (offset: number) => this.simd(`v128.store offset=${offset}`, 0x0b, ...this.memarg(2, offset));
  v128Load32Splat = (offset: number) =>
    this.simd(`v128.load32_splat offset=${offset}`, 0x09, ...this.memarg(2, offset));
  v128Load32Zero = (offset: number) =>
    this.simd(`v128.load32_zero offset=${offset}`, 0x5c, ...this.memarg(2, offset));
  v128Load32Lane = (offset: number, lane: number) =>
    this.simd(`v128.load32_lane offset=${offset} ${lane}`, 0x56, ...this.memarg(2, offset), lane);
  v128Store32Lane = (offset: number, lane: number) =>
    this.simd(`v128.store32_lane offset=${offset} ${lane}`, 0x5a, ...this.memarg(2, offset), lane);
  v128Zero = () => this.simd("v128.const i32x4 0 0 0 0", 0x0c, ...new Array<number>(16).fill(0));
  /** i8x16.shuffle, given as four f32 lane picks (0-3 from the first operand, 4-7 from the second). */
  f32x4Shuffle(lanes: [number, number, number, number]): this {
    const byteLanes = lanes.flatMap((lane) => [lane * 4, lane * 4 + 1, lane * 4 + 2, lane * 4 + 3]);
    return this.simd(`i8x16.shuffle ${byteLanes.join(" ")}`, 0x0d, ...byteLanes);
  }
  f32x4Splat = () => this.simd("f32x4.splat", 0x13);
  f32x4Abs = () => this.simd("f32x4.abs", 0xe0);
  f32x4Neg = () => this.simd("f32x4.neg", 0xe1);
  f32x4Sqrt = () => this.simd("f32x4.sqrt", 0xe3);
  f32x4Add = () => this.simd("f32x4.add", 0xe4);
  f32x4Sub = () => this.simd("f32x4.sub", 0xe5);
  f32x4Mul = () => this.simd("f32x4.mul", 0xe6);
  f32x4Div = () => this.simd("f32x4.div", 0xe7);
  f32x4Min = () => this.simd("f32x4.min", 0xe8);
  f32x4Max = () => this.simd("f32x4.max", 0xe9);
  f32x4Eq = () => this.simd("f32x4.eq", 0x41);
  f32x4Ne = () => this.simd("f32x4.ne", 0x42);
  f32x4Lt = () => this.simd("f32x4.lt", 0x43);
  f32x4Gt = () => this.simd("f32x4.gt", 0x44);
  f32x4Le = () => this.simd("f32x4.le", 0x45);
  f32x4Ge = () => this.simd("f32x4.ge", 0x46);
  v128Not = () => this.simd("v128.not", 0x4d);
  v128And = () => this.simd("v128.and", 0x4e);
  /** a & ~b. */
  v128AndNot = () => this.simd("v128.andnot", 0x4f);
  v128Or = () => this.simd("v128.or", 0x50);
  /** (a & c) | (b & ~c), for the stack a, b, c. */
  v128Bitselect = () => this.simd("v128.bitselect", 0x52);
  /** Pseudo-max a < b ? b : a (a NaN in b gives a, unlike f32x4.max, which propagates it). */
  f32x4Pmax = () => this.simd("f32x4.pmax", 0xeb);
  f64x2Add = () => this.simd("f64x2.add", 0xf0);
  /** The two low float32 lanes as float64 (exact). */
  f64x2PromoteLowF32x4 = () => this.simd("f64x2.promote_low_f32x4", 0x5f);
  f64x2ExtractLane = (lane: number) => this.simd(`f64x2.extract_lane ${lane}`, 0x21, lane);
  /** Relaxed SIMD: a*b + c, fused or not at the engine's choice (fused on x64 with FMA3). */
  f32x4RelaxedMadd = () => this.simd("f32x4.relaxed_madd", 0x105);
}

/** A module of functions sharing one imported memory: (import "env" "memory" (memory min max shared)). */
export class ModuleBuilder {
  private readonly functions: FunctionBuilder[] = [];
  private readonly exports: Array<[string, number]> = [];

  constructor(
    private readonly memoryMinPages: number,
    private readonly memoryMaxPages = 65536,
  ) {}

  /** Returns the function index, to be used by `call` in functions added later. */
  add(fn: FunctionBuilder, exportName?: string): number {
    const index = this.functions.push(fn) - 1;
    if (exportName !== undefined) this.exports.push([exportName, index]);
    return index;
  }

  listing(): string {
    return this.functions.map((fn) => fn.listing()).join("\n\n");
  }

  encode(): Uint8Array {
    const signatures: string[] = [];
    const types: number[][] = [];
    const typeIndexOf = this.functions.map((fn) => {
      const type = [0x60, ...vector(fn.params.map(([, t]) => [t])), ...vector(fn.results.map((t) => [t]))];
      const key = type.join(",");
      if (!signatures.includes(key)) {
        signatures.push(key);
        types.push(type);
      }
      return signatures.indexOf(key);
    });
    const sharedWithMax = 0x03;
    const memoryImport = [
      ...utf8Name("env"),
      ...utf8Name("memory"),
      0x02,
      sharedWithMax,
      ...unsignedLeb(this.memoryMinPages),
      ...unsignedLeb(this.memoryMaxPages),
    ];
    const exports = this.exports.map(([name, index]) => [...utf8Name(name), 0x00, ...unsignedLeb(index)]);
    return new Uint8Array([
      ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
      ...section(1, vector(types)),
      ...section(2, vector([memoryImport])),
      ...section(3, vector(typeIndexOf.map((i) => unsignedLeb(i)))),
      ...section(7, vector(exports)),
      ...section(10, vector(this.functions.map((fn) => fn.encodeBody()))),
    ]);
  }
}
