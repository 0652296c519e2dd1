// A minimal WebAssembly binary writer for the JIT's units: the few opcodes they use, written
// straight into a growing byte buffer. Written by hand because binaryen.js costs about a second
// to load and a couple of milliseconds per unit, where this writes a unit in microseconds.

/** Opcodes the units use (WebAssembly core spec, binary format). */
export const OP = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, return: 0x0f,
  call: 0x10, drop: 0x1a, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, globalGet: 0x23, globalSet: 0x24,
  i32Load: 0x28, i32Load8u: 0x2d, i32Load16u: 0x2f, i32Store: 0x36, i32Store8: 0x3a, i32Store16: 0x3b,
  i32Const: 0x41,
  i32Eqz: 0x45, i32Eq: 0x46, i32Ne: 0x47, i32LtS: 0x48, i32LtU: 0x49, i32GtS: 0x4a, i32GtU: 0x4b,
  i32LeS: 0x4c, i32LeU: 0x4d, i32GeS: 0x4e, i32GeU: 0x4f,
  i32Clz: 0x67, i32Ctz: 0x68, i32Popcnt: 0x69, i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32And: 0x71, i32Or: 0x72, i32Xor: 0x73,
  i32Shl: 0x74, i32ShrS: 0x75, i32ShrU: 0x76,
  i32Rotl: 0x77, i32Rotr: 0x78,
  i64Const: 0x42, i64Eq: 0x51, i64Ne: 0x52, i64Mul: 0x7e, i64DivS: 0x7f, i64DivU: 0x80, i64Or: 0x84, i64Shl: 0x86,
  i64ShrU: 0x88, i32WrapI64: 0xa7, i64ExtendI32S: 0xac, i64ExtendI32U: 0xad,
} as const;

export const I32 = 0x7f;
export const I64 = 0x7e;
export const VOID = 0x40;

/** A growing byte buffer with LEB128 writers. */
export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
  }

  byte(b: number): this {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(b: ArrayLike<number>): this {
    if (b instanceof Uint8Array) {
      this.reserve(b.length);
      this.buf.set(b, this.length);
      this.length += b.length;
      return this;
    }
    for (let i = 0; i < b.length; i++) this.byte(b[i]);
    return this;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const bigger = new Uint8Array(size);
    bigger.set(this.buf.subarray(0, this.length));
    this.buf = bigger;
  }

  u32(v: number): this {
    v >>>= 0;
    do {
      const b = v & 0x7f;
      v >>>= 7;
      this.byte(v !== 0 ? b | 0x80 : b);
    } while (v !== 0);
    return this;
  }

  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      const done = (v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0);
      this.byte(done ? b : b | 0x80);
      if (done) return this;
    }
  }

  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A function body being written: instructions with their immediates. */
export class CodeWriter extends ByteWriter {
  op(code: number): this {
    return this.byte(code);
  }
  i32(v: number): this {
    return this.byte(OP.i32Const).s32(v);
  }
  get(local: number): this {
    return this.byte(OP.localGet).u32(local);
  }
  set(local: number): this {
    return this.byte(OP.localSet).u32(local);
  }
  tee(local: number): this {
    return this.byte(OP.localTee).u32(local);
  }
  gget(global: number): this {
    return this.byte(OP.globalGet).u32(global);
  }
  gset(global: number): this {
    return this.byte(OP.globalSet).u32(global);
  }
  /** A memory access with alignment hint `align` (log2) and constant offset. */
  mem(code: number, align: number, offset = 0): this {
    return this.byte(code).u32(align).u32(offset);
  }
  call(func: number): this {
    return this.byte(OP.call).u32(func);
  }
  if(): this {
    return this.byte(OP.if).byte(VOID);
  }
  block(): this {
    return this.byte(OP.block).byte(VOID);
  }
  loop(): this {
    return this.byte(OP.loop).byte(VOID);
  }
  end(): this {
    return this.byte(OP.end);
  }
}

/** One import of a module being assembled. */
export type Import =
  | { module: string; name: string; kind: "func"; type: number }
  | { module: string; name: string; kind: "memory"; minPages: number }
  | { module: string; name: string; kind: "global"; mutable: boolean };

function section(out: ByteWriter, id: number, body: ByteWriter): void {
  out.byte(id).u32(body.length).bytes(body.finish());
}

/**
 * A module of one exported function: `types` are (params, results) pairs of i32 counts, the
 * function has type `funcType`, `locals` extra i32 locals followed by `locals64` i64 locals, and
 * body `code` (ending in `end`).
 */
export function assembleModule(
  types: [number, number][], imports: Import[], funcType: number, locals: number, code: CodeWriter, exportName: string,
  locals64 = 0,
): Uint8Array {
  const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const t = new ByteWriter().u32(types.length);
  for (const [params, results] of types) {
    t.byte(0x60).u32(params);
    for (let i = 0; i < params; i++) t.byte(I32);
    t.u32(results);
    for (let i = 0; i < results; i++) t.byte(I32);
  }
  section(out, 1, t);
  const im = new ByteWriter().u32(imports.length);
  let funcImports = 0;
  for (const i of imports) {
    im.name(i.module).name(i.name);
    if (i.kind === "func") {
      im.byte(0).u32(i.type);
      funcImports++;
    } else if (i.kind === "memory") im.byte(2).byte(0).u32(i.minPages);
    else im.byte(3).byte(I32).byte(i.mutable ? 1 : 0);
  }
  section(out, 2, im);
  section(out, 3, new ByteWriter().u32(1).u32(funcType));
  section(out, 7, new ByteWriter().u32(1).name(exportName).byte(0).u32(funcImports));
  const body = new ByteWriter();
  const groups: [number, number][] = [[locals, I32], [locals64, I64]].filter(([n]) => n > 0) as [number, number][];
  body.u32(groups.length);
  for (const [n, type] of groups) body.u32(n).byte(type);
  body.bytes(code.finish());
  const codeSec = new ByteWriter().u32(1).u32(body.length).bytes(body.finish());
  section(out, 10, codeSec);
  return out.finish();
}
