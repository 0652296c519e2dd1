// The WebAssembly each kind of x86 instruction becomes in a compiled unit (the emitters, through
// UnitBuilder's helpers), and the decoding the instruction table leaves to the JIT: ModRM and SIB
// operands. Which opcode is which emitter, with what arguments, how long it is and whether it
// ends a unit comes from the table (gen/x86-table.ts, the `jit` column) through the generated
// map in generated/decode.ts, so that the JIT cannot disagree with the interpreter about what
// an instruction is. Semantics follow the core's fast path and operation helpers
// (assembly/fastpath.ts, assembly/ops/alu.ts, assembly/flags.ts): the same lazy-flag records,
// the same TLB test, the same cases left to the interpreter. Everything here is 32-bit code
// with flat DS and SS (the core enters units only then), without prefixes except the
// operand-size prefix before the forms the table compiles with 16-bit operands (`jitArgs16`) and
// a DS or SS override, which changes nothing while both are flat. A form the map does not have
// runs through the core's interpreter from inside the unit (compile.ts).

import { OP } from "./wasm-encoder.js";
import {
  UnitBuilder, L_A, L_B, L_R, L_C, L_HOST, L_KIND, L_T, L_WIDE,
  LAZY_ADD, LAZY_ADC, LAZY_SUB, LAZY_SBB, LAZY_LOGIC, LAZY_INC, LAZY_DEC, FLAGS_ARITH, G_FLAGS, G_EIP_DELTA,
} from "./unit.js";
import { ALU_ADC, ALU_ADD, ALU_AND, ALU_CMP, ALU_OR, ALU_SBB, ALU_SUB, ALU_TEST, ALU_XOR, DEC, SCAN_REVERSE, SHIFT_ROL, SHIFT_ROR, SHIFT_SAR, SHIFT_SHL, SHIFT_SHR, SIZE_8, SIZE_16, SIZE_32 } from "./emitter-args.js";
import { JIT_NO_OP_PREFIXES, JIT_ONE_BYTE, JIT_ONE_BYTE_16, JIT_TWO_BYTE, OPERAND_SIZE_PREFIX, TWO_BYTE_ESCAPE, type JitEmitter, type JitForm, type JitOpcode } from "./generated/decode.js";

export interface Instruction {
  length: number;
  /** Host addresses of the instruction and of the one the unit runs next (set by decodeUnit). */
  at?: number;
  next?: number;
  /** Control never falls through to the next instruction (a row marked `jump` with no condition: JMP, CALL, RET). */
  ends: boolean;
  /** Run by the core's interpreter from inside the unit (compile.ts), not compiled. */
  interpreted?: boolean;
  /** A relative jump's host target (0 is left to the interpreter), else undefined. */
  target?: number;
  emit(u: UnitBuilder): void;
}

/** A decoded 32-bit memory operand: base + index << scale + disp (registers -1 when absent). */
interface Mem {
  base: number;
  index: number;
  scale: number;
  disp: number;
}

/** ModRM at `p`: mod 3 gives a register `rm`, else a memory operand; `length` covers ModRM, SIB, displacement. */
interface ModRM {
  reg: number;
  rm: number;
  mem: Mem | null;
  length: number;
}

/** The value mask of size index sz (0 byte, 1 word, 2 dword). */
function sizeMask(sz: number): number {
  return sz === 2 ? -1 : sz === 1 ? 0xffff : 0xff;
}

function i8(v: number): number {
  return (v << 24) >> 24;
}
function u32(mem: Uint8Array, p: number): number {
  return (mem[p] | (mem[p + 1] << 8) | (mem[p + 2] << 16) | (mem[p + 3] << 24)) | 0;
}

function modrm(mem: Uint8Array, p: number): ModRM {
  const m = mem[p];
  const mod = m >> 6;
  const reg = (m >> 3) & 7;
  const rm = m & 7;
  if (mod === 3) return { reg, rm, mem: null, length: 1 };
  let base = rm;
  let index = -1;
  let scale = 0;
  let disp = 0;
  let length = 1;
  if (rm === 4) {
    const sib = mem[p + 1];
    length = 2;
    base = sib & 7;
    index = (sib >> 3) & 7;
    if (index === 4) index = -1;
    scale = sib >> 6;
    if (base === 5 && mod === 0) {
      base = -1;
      disp = u32(mem, p + 2);
      length = 6;
    }
  } else if (rm === 5 && mod === 0) {
    base = -1;
    disp = u32(mem, p + 1);
    length = 5;
  }
  if (mod === 1) {
    disp = i8(mem[p + length]);
    length += 1;
  } else if (mod === 2) {
    disp = u32(mem, p + length);
    length += 4;
  }
  return { reg, rm, mem: { base, index, scale, disp }, length };
}

/** Push the operand's linear address (flat: the offset). */
function address(u: UnitBuilder, m: Mem): void {
  const c = u.c;
  let any = false;
  if (m.base >= 0) {
    u.reg(m.base);
    any = true;
  }
  if (m.index >= 0) {
    u.reg(m.index);
    if (m.scale) c.i32(m.scale).op(OP.i32Shl);
    if (any) c.op(OP.i32Add);
    any = true;
  }
  if (!any) c.i32(m.disp);
  else if (m.disp !== 0) c.i32(m.disp).op(OP.i32Add);
}

const LOAD = [OP.i32Load8u, OP.i32Load16u, OP.i32Load];
const STORE = [OP.i32Store8, OP.i32Store16, OP.i32Store];

/** Check the operand (size index sz) and leave its host address in L_HOST. */
function access(u: UnitBuilder, m: Mem, sz: number, write: boolean): void {
  address(u, m);
  u.access(1 << sz, write);
}
function loadHost(u: UnitBuilder, sz: number): void {
  u.c.get(L_HOST).mem(LOAD[sz], sz);
}
/** Store what `value` pushes at L_HOST. */
function storeHost(u: UnitBuilder, sz: number, value: () => void): void {
  u.c.get(L_HOST);
  value();
  u.c.mem(STORE[sz], sz);
}

/** What decodeInstruction read of an instruction, by the layout its form has in the table. */
export interface Operands {
  /** The ModRM operand (NO_MODRM when the form has none). */
  m: ModRM;
  /** The immediate: 1 byte sign-extended, 2 zero-extended, 4 as an i32; 0 when there is none. */
  imm: number;
  /** Host address of the next instruction. */
  next: number;
  /** A relative jump's host target, (next + imm) >>> 0; 0 when the form has none. */
  target: number;
}

/** The code an instruction becomes, emitted where the unit reaches it. */
type Emit = (u: UnitBuilder) => void;
/** An emitter: the code for one decoded instruction of its kind, with the form's constant arguments. */
type Emitter = (o: Operands, args: readonly number[]) => Emit;

const NO_MODRM: ModRM = { reg: 0, rm: 0, mem: null, length: 0 };

// ---- ALU ------------------------------------------------------------------------------------

/**
 * ALU operation `aop` of size sz on what `a` and `b` push; `store` writes the result (pushed by
 * its argument) unless the op is CMP or TEST. The lazy record is set after the store.
 */
function alu(u: UnitBuilder, aop: number, sz: number, a: () => void, b: () => void, store: (v: () => void) => void): void {
  const c = u.c;
  const mask = sizeMask(sz);
  if (aop === ALU_ADC || aop === ALU_SBB) {
    u.carry();
    c.set(L_C);
  }
  a();
  c.set(L_A);
  b();
  c.set(L_B);
  c.get(L_A).get(L_B);
  switch (aop) {
    case ALU_ADD: c.op(OP.i32Add); break;
    case ALU_OR: c.op(OP.i32Or); break;
    case ALU_ADC: c.op(OP.i32Add).get(L_C).op(OP.i32Add); break;
    case ALU_SBB: c.op(OP.i32Sub).get(L_C).op(OP.i32Sub); break;
    case ALU_AND: case ALU_TEST: c.op(OP.i32And); break;
    case ALU_XOR: c.op(OP.i32Xor); break;
    default: c.op(OP.i32Sub); break;
  }
  if (mask !== -1) c.i32(mask).op(OP.i32And);
  c.set(L_R);
  if (aop !== ALU_CMP && aop !== ALU_TEST) store(() => c.get(L_R));
  switch (aop) {
    case ALU_ADD: u.setLazy((LAZY_ADD << 2) | sz); break;
    case ALU_ADC: case ALU_SBB: {
      const [withCarry, without] = aop === ALU_ADC ? [LAZY_ADC, LAZY_ADD] : [LAZY_SBB, LAZY_SUB];
      c.i32((withCarry << 2) | sz).i32((without << 2) | sz).get(L_C).op(OP.select).set(L_KIND);
      u.setLazy(null);
      break;
    }
    case ALU_SUB: case ALU_CMP: u.setLazy((LAZY_SUB << 2) | sz); break;
    default: u.setLazy((LAZY_LOGIC << 2) | sz); break;
  }
}

/** ALU Ev,Gv / Eb,Gb (toE) or Gv,Ev / Gb,Eb, and TEST Ev,Gv / Eb,Gb, any operand form. */
function aluModrm(m: ModRM, aop: number, sz: number, toE: boolean): Emit {
  return (u) => {
    const g = () => u.regSized(sz, m.reg);
    if (m.mem === null) {
      const e = () => u.regSized(sz, m.rm);
      const dst = toE ? m.rm : m.reg;
      alu(u, aop, sz, toE ? e : g, toE ? g : e, (v) => u.setRegSized(sz, dst, v));
      return;
    }
    const writes = toE && aop !== ALU_CMP && aop !== ALU_TEST;
    access(u, m.mem, sz, writes);
    const e = () => loadHost(u, sz);
    if (toE) alu(u, aop, sz, e, g, (v) => storeHost(u, sz, v));
    else alu(u, aop, sz, g, e, (v) => u.setRegSized(sz, m.reg, v));
  };
}

/** Group 1: ALU Eb/Ev with an immediate (of the operand size, or a sign-extended byte); group 3's TEST. */
const aluEI: Emitter = ({ m, imm: raw }, [aop, sz]) => {
  const imm = sz === SIZE_8 ? raw & 0xff : raw;
  return (u) => {
    const b = () => u.c.i32(imm);
    if (m.mem === null) {
      alu(u, aop, sz, () => u.regSized(sz, m.rm), b, (v) => u.setRegSized(sz, m.rm, v));
      return;
    }
    access(u, m.mem, sz, aop !== ALU_CMP && aop !== ALU_TEST);
    alu(u, aop, sz, () => loadHost(u, sz), b, (v) => storeHost(u, sz, v));
  };
};

/** ALU (or TEST) AL, imm8 or EAX, imm32. */
const aluAI: Emitter = ({ imm: raw }, [aop, sz]) => {
  const imm = raw & sizeMask(sz);
  return (u) => alu(u, aop, sz, () => u.regSized(sz, 0), () => u.c.i32(imm), (v) => u.setRegSized(sz, 0, v));
};

// ---- moves ----------------------------------------------------------------------------------
/** MOV Ev,Gv / Eb,Gb (toE) or Gv,Ev / Gb,Eb. */
function mov(m: ModRM, sz: number, toE: boolean): Emit {
  return (u) => {
    if (m.mem === null) {
      const [dst, src] = toE ? [m.rm, m.reg] : [m.reg, m.rm];
      u.setRegSized(sz, dst, () => u.regSized(sz, src));
    } else if (toE) {
      access(u, m.mem, sz, true);
      storeHost(u, sz, () => u.regSized(sz, m.reg));
    } else {
      access(u, m.mem, sz, false);
      u.setRegSized(sz, m.reg, () => loadHost(u, sz));
    }
  };
}

/** MOV Eb,imm8 / Ev,imm32. */
const movEI: Emitter = ({ m, imm: raw }, [sz]) => {
  const imm = sz === SIZE_8 ? raw & 0xff : raw;
  return (u) => {
    if (m.mem === null) u.setRegSized(sz, m.rm, () => u.c.i32(imm));
    else {
      access(u, m.mem, sz, true);
      storeHost(u, sz, () => u.c.i32(imm));
    }
  };
};

/** MOVZX Gv, Eb / Ew. */
const movzx: Emitter = ({ m }, [sz]) => (u) => {
  if (m.mem === null) {
    if (sz === SIZE_8) u.reg8(m.rm);
    else u.reg(m.rm), u.c.i32(0xffff).op(OP.i32And);
  } else {
    access(u, m.mem, sz, false);
    loadHost(u, sz);
  }
  u.setReg(m.reg);
};

/** MOVSX Gv, Eb / Ew. */
const movsx: Emitter = ({ m }, [sz]) => (u) => {
  const shift = sz === SIZE_8 ? 24 : 16;
  if (m.mem === null) u.regSized(sz, m.rm);
  else {
    access(u, m.mem, sz, false);
    loadHost(u, sz);
  }
  u.c.i32(shift).op(OP.i32Shl).i32(shift).op(OP.i32ShrS);
  u.setReg(m.reg);
};

/**
 * CMOVcc Gv, Ev (32-bit): the source is read, and a memory source may leave before the
 * instruction, whether or not the condition holds (assembly/execute.ts cmov).
 */
const cmov: Emitter = ({ m }, [cc]) => (u) => {
  readE32(u, m);
  u.reg(m.reg);
  u.condition(cc);
  u.c.op(OP.select);
  u.setReg(m.reg);
};

/** SETcc Eb: 1 when condition cc holds, else 0. */
const setcc: Emitter = ({ m }, [cc]) => (u) => {
  if (m.mem === null) u.setReg8(m.rm, () => u.condition(cc));
  else {
    access(u, m.mem, SIZE_8, true);
    storeHost(u, SIZE_8, () => u.condition(cc));
  }
};

/** LEA Gv, M (the table gives it memory forms only: the register form is #UD, the interpreter's). */
const lea: Emitter = ({ m }) => {
  const ea = m.mem!;
  return (u) => {
    address(u, ea);
    u.setReg(m.reg);
  };
};

/** MOV EAX, moffs32 (load) or moffs32, EAX. */
function movMoffs(lin: number, load: boolean): Emit {
  const ea: Mem = { base: -1, index: -1, scale: 0, disp: lin };
  return (u) => {
    access(u, ea, 2, !load);
    if (load) {
      loadHost(u, 2);
      u.setReg(0);
    } else storeHost(u, 2, () => u.reg(0));
  };
}

// ---- stack ----------------------------------------------------------------------------------
const ESP = 4;
const EBP = 5;

/** Push what `value` pushes (read before ESP moves), or leave before the instruction. */
function push(u: UnitBuilder, value: () => void): void {
  u.reg(ESP);
  u.c.i32(4).op(OP.i32Sub);
  u.access(4, true);
  storeHost(u, 2, value);
  u.reg(ESP);
  u.c.i32(4).op(OP.i32Sub);
  u.setReg(ESP);
}

/** The value at [ESP] into L_T (no ESP change yet), or leave before the instruction. */
function peek(u: UnitBuilder): void {
  u.reg(ESP);
  u.access(4, false);
  loadHost(u, 2);
  u.c.set(L_T);
}
function dropSlot(u: UnitBuilder): void {
  u.reg(ESP);
  u.c.i32(4).op(OP.i32Add);
  u.setReg(ESP);
}
/** LEAVE: EBP = [EBP], ESP = EBP + 4 (a 32-bit stack, SS flat), or leave before the instruction. */
const leave: Emitter = () => (u) => {
  const c = u.c;
  u.reg(EBP);
  u.access(4, false);
  loadHost(u, 2);
  c.set(L_T);
  u.reg(EBP);
  c.i32(4).op(OP.i32Add);
  u.setReg(ESP);
  c.get(L_T);
  u.setReg(EBP);
};

// ---- strings --------------------------------------------------------------------------------
const ESI = 6;
const DF = 0x400;

/** LODS AL / EAX (no prefix): the value at DS:ESI, ESI moved by its size, backwards when DF is set. */
const lods: Emitter = (_, [sz]) => {
  const from: Mem = { base: ESI, index: -1, scale: 0, disp: 0 };
  const n = 1 << sz;
  return (u) => {
    const c = u.c;
    access(u, from, sz, false);
    u.setRegSized(sz, 0, () => loadHost(u, sz));
    u.reg(ESI);
    c.i32(-n).i32(n).gget(G_FLAGS).i32(DF).op(OP.i32And).op(OP.select).op(OP.i32Add);
    u.setReg(ESI);
  };
};

// ---- shifts ---------------------------------------------------------------------------------
/** Pushes `base + count` (or `base - count` with `minus`) for a shift's masked count. */
type ShiftCount = (base?: number, minus?: boolean) => void;

/**
 * Emit `body` for a shift by an immediate `count` or by CL (null), given its count masked to 5
 * bits. A masked count of 0 changes nothing, flags included: a constant one emits nothing, and a
 * CL count (in L_T) runs `body` only when it is not 0 (UnitBuilder.unlessZero).
 */
function withShiftCount(u: UnitBuilder, count: number | null, body: (n: ShiftCount) => void): void {
  const c = u.c;
  if (count !== null) {
    const n = count & 31;
    if (n !== 0) body((base = 0, minus = false) => c.i32(minus ? base - n : base + n));
    return;
  }
  u.reg(1);
  c.i32(31).op(OP.i32And).tee(L_T);
  u.unlessZero(() =>
    body((base = 0, minus = false) => {
      if (base !== 0 || minus) c.i32(base);
      c.get(L_T);
      if (minus) c.op(OP.i32Sub);
      else if (base !== 0) c.op(OP.i32Add);
    }),
  );
}

/**
 * SHL/SAL, SHR, SAR, ROL, ROR (`sub`: group 2's /digit) of a 32-bit register by an immediate
 * `count`, or by CL (count null).
 */
function shiftReg(m: ModRM, sub: number, count: number | null): Emit {
  return (u) => withShiftCount(u, count, (n) => {
    const c = u.c;
    u.reg(m.rm);
    u.c.set(L_A);
    if (sub === SHIFT_ROL || sub === SHIFT_ROR) {
      // ROL, ROR: CF and OF only (assembly/ops/shift.ts), the other flags stay.
      c.get(L_A); n(); c.op(sub === SHIFT_ROL ? OP.i32Rotl : OP.i32Rotr).tee(L_R);
      u.setReg(m.rm);
      rotateFlags(u, sub, 31);
      return;
    }
    // L_R = result, L_B = CF, L_C = OF (SDM Vol. 2B SAL/SAR/SHL/SHR).
    if (sub === SHIFT_SHR) {
      c.get(L_A); n(); c.op(OP.i32ShrU).set(L_R);
      c.get(L_A); n(-1); c.op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
      c.get(L_A).i32(31).op(OP.i32ShrU).set(L_C);
    } else if (sub === SHIFT_SAR) {
      c.get(L_A); n(); c.op(OP.i32ShrS).set(L_R);
      c.get(L_A); n(-1); c.op(OP.i32ShrS).i32(1).op(OP.i32And).set(L_B);
      c.i32(0).set(L_C);
    } else {
      c.get(L_A); n(); c.op(OP.i32Shl).set(L_R);
      c.get(L_A); n(32, true); c.op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
      c.get(L_R).i32(31).op(OP.i32ShrU).get(L_B).op(OP.i32Xor).set(L_C);
    }
    u.c.get(L_R);
    u.setReg(m.rm);
    szpFlags(u);
  });
}

/**
 * SHLD (`sub` SHIFT_SHL) or SHRD (SHIFT_SHR) Ev, Gv by an immediate `count` or by CL (null),
 * 32-bit (assembly/ops/shift.ts shiftDouble): E shifted by the masked count, the bits coming in
 * from G; CF is the last bit shifted out of E, OF is set when the result's sign differs from
 * E's (at every count: the interpreter's choice where the SDM leaves OF undefined), ZF SF PF come
 * from the result and AF is clear. A memory E is checked for writing before the count is looked
 * at, as the interpreter reads it for writing whatever the count.
 */
function shiftDouble(m: ModRM, sub: number, count: number | null): Emit {
  const left = sub === SHIFT_SHL;
  return (u) => {
    const c = u.c;
    if (m.mem !== null) access(u, m.mem, SIZE_32, true);
    withShiftCount(u, count, (n) => {
      if (m.mem === null) u.reg(m.rm);
      else loadHost(u, SIZE_32);
      c.set(L_A);
      // L_R = E shifted, with G's bits shifted the other way by 32 - count filling the space.
      c.get(L_A); n(); c.op(left ? OP.i32Shl : OP.i32ShrU);
      u.reg(m.reg); n(32, true); c.op(left ? OP.i32ShrU : OP.i32Shl);
      c.op(OP.i32Or).set(L_R);
      // L_B = CF: bit 32 - count of E (left) or bit count - 1 (right).
      c.get(L_A);
      if (left) n(32, true);
      else n(-1);
      c.op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
      c.get(L_R).get(L_A).op(OP.i32Xor).i32(31).op(OP.i32ShrU).set(L_C);
      if (m.mem === null) {
        c.get(L_R);
        u.setReg(m.rm);
      } else storeHost(u, SIZE_32, () => c.get(L_R));
      szpFlags(u);
    });
  };
}

/**
 * After ROL or ROR with the rotated value in L_R (its top bit at `top`): CF and OF replace their
 * EFLAGS bits (SDM Vol. 2B RCL/RCR/ROL/ROR: ROL's CF is the result's low bit, ROR's its top bit;
 * OF is CF XOR the top bit after ROL, the top two bits' XOR after ROR), the other flags stay.
 */
function rotateFlags(u: UnitBuilder, sub: number, top: number): void {
  const c = u.c;
  if (sub === SHIFT_ROL) {
    c.get(L_R).i32(1).op(OP.i32And).set(L_B);
    c.get(L_R).i32(top).op(OP.i32ShrU).get(L_B).op(OP.i32Xor).set(L_C);
  } else {
    c.get(L_R).i32(top).op(OP.i32ShrU).set(L_B);
    c.get(L_R).i32(top - 1).op(OP.i32ShrU).i32(1).op(OP.i32And).get(L_B).op(OP.i32Xor).set(L_C);
  }
  c.get(L_B).get(L_C).i32(11).op(OP.i32Shl).op(OP.i32Or);
  u.writeFlagBits(0x801);
}

/**
 * SHL/SAL, SHR, SAR, ROL, ROR of a 16-bit register by a constant `count` (assembly/ops/shift.ts
 * at size 16: the count masked to 5 bits, so SHL/SHR/SAR go past the width up to 31, and ROL/ROR
 * rotate by it modulo 16 yet set CF and OF whenever the masked count is not 0).
 */
function shiftReg16(m: ModRM, sub: number, count: number): Emit {
  const c5 = count & 31;
  return (u) => {
    if (c5 === 0) return;
    const c = u.c;
    u.reg16(m.rm);
    c.set(L_A);
    if (sub === SHIFT_ROL || sub === SHIFT_ROR) {
      const n = c5 & 15;
      c.get(L_A);
      if (n !== 0) {
        const [first, second] = sub === SHIFT_ROL ? [OP.i32Shl, OP.i32ShrU] : [OP.i32ShrU, OP.i32Shl];
        c.i32(n).op(first).get(L_A).i32(16 - n).op(second).op(OP.i32Or).i32(0xffff).op(OP.i32And);
      }
      c.set(L_R);
      u.setReg16(m.rm, () => c.get(L_R));
      rotateFlags(u, sub, 15);
      return;
    }
    // L_R = result, L_B = CF, L_C = OF.
    if (sub === SHIFT_SHR) {
      c.get(L_A).i32(c5).op(OP.i32ShrU).set(L_R);
      c.get(L_A).i32(c5 - 1).op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
      c.get(L_A).i32(15).op(OP.i32ShrU).set(L_C);
    } else if (sub === SHIFT_SAR) {
      const signed = () => c.get(L_A).i32(16).op(OP.i32Shl).i32(16).op(OP.i32ShrS);
      signed(); c.i32(c5).op(OP.i32ShrS).i32(0xffff).op(OP.i32And).set(L_R);
      signed(); c.i32(c5 - 1).op(OP.i32ShrS).i32(1).op(OP.i32And).set(L_B);
      c.i32(0).set(L_C);
    } else {
      c.get(L_A).i32(c5).op(OP.i32Shl).i32(0xffff).op(OP.i32And).set(L_R);
      // CF: the last bit shifted out, 0 once the count passes the width.
      if (c5 > 16) c.i32(0).set(L_B);
      else c.get(L_A).i32(16 - c5).op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
      c.get(L_R).i32(15).op(OP.i32ShrU).get(L_B).op(OP.i32Xor).set(L_C);
    }
    u.setReg16(m.rm, () => c.get(L_R));
    szpFlags(u, SIZE_16);
  };
}

/** A shift's or multiply's flags: CF = L_B, OF = L_C into EFLAGS, ZF SF PF lazy on L_R (of size index sz). */
function szpFlags(u: UnitBuilder, sz = SIZE_32): void {
  u.c.gget(G_FLAGS).i32(~FLAGS_ARITH).op(OP.i32And).get(L_B).op(OP.i32Or).get(L_C).i32(11).op(OP.i32Shl).op(OP.i32Or).gset(G_FLAGS);
  u.setSzp(sz);
}

/** Push the 32-bit register or memory operand of `m` (leaving before the instruction on a TLB miss). */
function readE32(u: UnitBuilder, m: ModRM): void {
  if (m.mem === null) u.reg(m.rm);
  else {
    access(u, m.mem, 2, false);
    loadHost(u, 2);
  }
}

/**
 * BSF or BSR (`scan`) Gv, Ev (assembly/ops/bits.ts bitScan): the index of the source's lowest or
 * highest set bit into G, ZF clear, CF OF SF AF clear and PF from the index (the interpreter's
 * choice for the flags the SDM leaves undefined). A zero source sets ZF alone and keeps G and the
 * other flags, which only the core can fold from a lazy record: the unit leaves before the
 * instruction then.
 */
const bitScan: Emitter = ({ m }, [scan]) => (u) => {
  const c = u.c;
  readE32(u, m);
  c.tee(L_A).op(OP.i32Eqz);
  u.ifTrue();
  u.exitBefore();
  u.endIf();
  if (scan === SCAN_REVERSE) c.i32(31).get(L_A).op(OP.i32Clz).op(OP.i32Sub);
  else c.get(L_A).op(OP.i32Ctz);
  c.tee(L_R);
  u.setReg(m.reg);
  // ZF SF PF go lazily on the index with bit 8 set: never zero, its sign clear, its low byte's parity.
  c.get(L_R).i32(0x100).op(OP.i32Or).set(L_R);
  c.i32(0).tee(L_B).set(L_C);
  szpFlags(u);
};

/** IMUL Gv, Ev (imm null) or Gv, Ev, imm: the low half, CF = OF = the product did not fit. */
function imul(m: ModRM, imm: number | null): Emit {
  return (u) => {
    const c = u.c;
    readE32(u, m);
    c.set(L_A);
    if (imm !== null) c.i32(imm);
    else u.reg(m.reg);
    c.set(L_B);
    const product = () => c.get(L_A).op(OP.i64ExtendI32S).get(L_B).op(OP.i64ExtendI32S).op(OP.i64Mul);
    product();
    c.op(OP.i32WrapI64).set(L_R);
    product();
    c.get(L_R).op(OP.i64ExtendI32S).op(OP.i64Ne).tee(L_B).set(L_C);
    c.get(L_R);
    u.setReg(m.reg);
    szpFlags(u);
  };
}

/** MUL Ev: EDX:EAX = EAX * Ev unsigned; CF = OF = EDX != 0, ZF SF PF lazy on EAX (assembly/ops/muldiv.ts). */
const mulE: Emitter = ({ m }) => (u) => {
  const c = u.c;
  readE32(u, m);
  c.set(L_B);
  const product = () => {
    u.reg(0);
    c.op(OP.i64ExtendI32U).get(L_B).op(OP.i64ExtendI32U).op(OP.i64Mul);
  };
  product();
  c.op(OP.i32WrapI64).set(L_R);
  product();
  c.byte(OP.i64Const).s32(32).op(OP.i64ShrU).op(OP.i32WrapI64).tee(L_C);
  u.setReg(2);
  c.get(L_R);
  u.setReg(0);
  c.get(L_C).i32(0).op(OP.i32Ne).tee(L_B).set(L_C);
  szpFlags(u);
};

/**
 * DIV (signed false) or IDIV Ev: EDX:EAX divided by Ev, the quotient to EAX and the remainder to
 * EDX; the flags stay, as the interpreter keeps them (assembly/ops/muldiv.ts divide; the SDM
 * leaves them all undefined). Where the SDM raises #DE, a zero divisor or a quotient that does
 * not fit, the unit leaves before the instruction and the interpreter raises it.
 */
function divide(m: ModRM, signed: boolean): Emit {
  return (u) => {
    const c = u.c;
    readE32(u, m);
    c.set(L_B);
    if (signed) {
      // A zero divisor, or EDX:EAX = INT64_MIN by -1, which traps in wasm (its quotient does not
      // fit anyway).
      c.get(L_B).op(OP.i32Eqz);
      c.get(L_B).i32(-1).op(OP.i32Eq);
      u.reg(2);
      c.i32(0x80000000 | 0).op(OP.i32Eq).op(OP.i32And);
      u.reg(0);
      c.op(OP.i32Eqz).op(OP.i32And).op(OP.i32Or);
    } else {
      // EDX >= the divisor: a zero divisor, or a quotient of more than 32 bits.
      u.reg(2);
      c.get(L_B).op(OP.i32GeU);
    }
    u.ifTrue();
    u.exitBefore();
    u.endIf();
    // EDX:EAX by the divisor.
    u.reg(2);
    c.op(OP.i64ExtendI32U).byte(OP.i64Const).s32(32).op(OP.i64Shl);
    u.reg(0);
    c.op(OP.i64ExtendI32U).op(OP.i64Or);
    c.get(L_B).op(signed ? OP.i64ExtendI32S : OP.i64ExtendI32U).op(signed ? OP.i64DivS : OP.i64DivU);
    if (signed) {
      // A quotient outside the i32 range.
      c.tee(L_WIDE).get(L_WIDE).op(OP.i32WrapI64).op(OP.i64ExtendI32S).op(OP.i64Ne);
      u.ifTrue();
      u.exitBefore();
      u.endIf();
      c.get(L_WIDE);
    }
    c.op(OP.i32WrapI64).set(L_R);
    // The remainder, dividend - quotient * divisor, fits in 32 bits: the low halves give it.
    u.reg(0);
    c.get(L_R).get(L_B).op(OP.i32Mul).op(OP.i32Sub);
    u.setReg(2);
    c.get(L_R);
    u.setReg(0);
  };
}

/** NOT Ev (neg false) or NEG Ev. */
function notNeg(m: ModRM, neg: boolean): Emit {
  return (u) => {
    const operand = () => (m.mem === null ? u.reg(m.rm) : loadHost(u, 2));
    const store = (v: () => void) => (m.mem === null ? (v(), u.setReg(m.rm)) : storeHost(u, 2, v));
    if (m.mem !== null) access(u, m.mem, 2, true);
    if (neg) alu(u, ALU_SUB, 2, () => u.c.i32(0), operand, store);
    else store(() => { operand(); u.c.i32(-1).op(OP.i32Xor); });
  };
}

/** INC/DEC of a 32-bit value on the stack into L_R, record set (CF kept). */
function incDec(u: UnitBuilder, dec: boolean): void {
  u.keepCarry();
  const c = u.c;
  c.set(L_A).i32(1).set(L_B).get(L_A).i32(1).op(dec ? OP.i32Sub : OP.i32Add).set(L_R);
}

/** INC/DEC r32 (`op`: the opcode, its low bits the register). */
const incDecReg: Emitter = (_, [op, kind]) => {
  const r = op & 7;
  const dec = kind === DEC;
  return (u) => {
    u.reg(r);
    incDec(u, dec);
    u.c.get(L_R);
    u.setReg(r);
    u.setLazy(((dec ? LAZY_DEC : LAZY_INC) << 2) | 2);
  };
};

/** INC/DEC Ev. */
const incDecE: Emitter = ({ m }, [kind]) => {
  const dec = kind === DEC;
  return (u) => {
    if (m.mem === null) {
      u.reg(m.rm);
      incDec(u, dec);
      u.c.get(L_R);
      u.setReg(m.rm);
    } else {
      access(u, m.mem, 2, true);
      loadHost(u, 2);
      incDec(u, dec);
      storeHost(u, 2, () => u.c.get(L_R));
    }
    u.setLazy(((dec ? LAZY_DEC : LAZY_INC) << 2) | 2);
  };
};

// ---- control transfers ----------------------------------------------------------------------
/** Jcc: the taken side jumps to the target (the unit's helpers decide: loop back, branch forward in the unit, or leave). */
const jcc: Emitter = ({ target }, [cc]) => (u) => {
  u.condition(cc);
  u.ifTrue();
  u.jumpTo(target);
  u.endIf();
};

/** JMP rel: to the target (inside the unit when it holds it, as every jump). */
const jmpRel: Emitter = ({ target }) => (u) => u.jumpTo(target);

/** CALL rel32: push the return address (guest EIP of the next instruction), then as JMP. */
const callRel: Emitter = ({ next, target }) => (u) => {
  push(u, () => u.c.i32(next).gget(G_EIP_DELTA).op(OP.i32Sub));
  u.jumpTo(target);
};

/** RET. */
const ret: Emitter = () => (u) => {
  peek(u);
  // The target's host address on this mapping; 0 is the interpreter's case (see fastpath's landAt).
  u.c.get(L_T).gget(G_EIP_DELTA).op(OP.i32Add).tee(L_T).op(OP.i32Eqz);
  u.ifTrue();
  u.exitBefore();
  u.endIf();
  dropSlot(u);
  u.exit(u.index + 1, () => u.c.get(L_T));
};

/** Every emitter the table may name in its `jit` column; the generated JitEmitter type lists those it does name. */
export const EMITTERS: Record<JitEmitter, Emitter> = {
  aluEG: ({ m }, [aop, sz]) => aluModrm(m, aop, sz, true),
  aluGE: ({ m }, [aop, sz]) => aluModrm(m, aop, sz, false),
  aluEI,
  aluAI,
  movEG: ({ m }, [sz]) => mov(m, sz, true),
  movGE: ({ m }, [sz]) => mov(m, sz, false),
  movEI,
  movRegImm: ({ imm }, [op, sz]) => (u) => u.setRegSized(sz, op & 7, () => u.c.i32(imm)),
  movAccMoffs: ({ imm }) => movMoffs(imm, true),
  movMoffsAcc: ({ imm }) => movMoffs(imm, false),
  movzx,
  movsx,
  cmov,
  setcc,
  lods,
  leave,
  lea,
  nop: () => () => {},
  pushReg: (_, [op]) => (u) => push(u, () => u.reg(op & 7)),
  popReg: (_, [op]) => (u) => {
    peek(u);
    dropSlot(u);
    u.c.get(L_T);
    u.setReg(op & 7); // POP ESP loads the popped value last
  },
  pushImm: ({ imm }) => (u) => push(u, () => u.c.i32(imm)),
  incDecReg,
  incDecE,
  notE: ({ m }) => notNeg(m, false),
  negE: ({ m }) => notNeg(m, true),
  mulE,
  divE: ({ m }) => divide(m, false),
  idivE: ({ m }) => divide(m, true),
  bitScan,
  imulGE: ({ m }) => imul(m, null),
  imulGEI: ({ m, imm }) => imul(m, imm),
  shiftImm: ({ m, imm }, [sub, sz]) => (sz === SIZE_16 ? shiftReg16(m, sub, imm) : shiftReg(m, sub, imm)),
  shiftOne: ({ m }, [sub, sz]) => (sz === SIZE_16 ? shiftReg16(m, sub, 1) : shiftReg(m, sub, 1)),
  shiftCl: ({ m }, [sub, sz]) => {
    if (sz !== SIZE_32) throw new Error("the JIT shifts a 16-bit register by constant counts only");
    return shiftReg(m, sub, null);
  },
  shiftDoubleImm: ({ m, imm }, [sub]) => shiftDouble(m, sub, imm),
  shiftDoubleCl: ({ m }, [sub]) => shiftDouble(m, sub, null),
  jcc,
  jmpRel,
  callRel,
  ret,
};

// ---- decoding through the table's map -------------------------------------------------------
/** A form of the generated map with its emitter resolved. */
interface CompiledForm extends JitForm {
  emit: Emitter;
}

/**
 * A map's forms flattened to one array indexed by opcode << 3 | ModRM.reg, so that a decode is
 * one lookup: a form that does not depend on ModRM.reg (or has no ModRM) fills all eight.
 */
function flatten(map: readonly JitOpcode[]): (CompiledForm | null)[] {
  const out: (CompiledForm | null)[] = new Array(256 * 8).fill(null);
  const compiled = (f: JitForm | null): CompiledForm | null => {
    if (f === null) return null;
    const emit = EMITTERS[f.emitter];
    if (emit === undefined) throw new Error(`the instruction table names the JIT emitter ${f.emitter}, which EMITTERS does not have`);
    return { ...f, emit };
  };
  map.forEach((entry, op) => {
    for (let digit = 0; digit < 8; digit++) {
      out[(op << 3) | digit] = compiled(entry === null || !Array.isArray(entry) ? (entry as JitForm | null) : entry[digit]);
    }
  });
  return out;
}
const ONE_BYTE = flatten(JIT_ONE_BYTE);
const TWO_BYTE = flatten(JIT_TWO_BYTE);
const ONE_BYTE_16 = flatten(JIT_ONE_BYTE_16);
const NO_OP_PREFIX = new Uint8Array(256);
for (const b of JIT_NO_OP_PREFIXES) NO_OP_PREFIX[b] = 1;

/** The instruction at host address `p` of `mem`, or null when the JIT leaves it to the interpreter. */
export function decodeInstruction(mem: Uint8Array, p: number): Instruction | null {
  let forms = ONE_BYTE;
  // A DS or SS override (GCC's padding: 3E 8D 74 26 00, LEA ESI, DS:[ESI]) selects the flat
  // segments the unit runs with anyway; one is decoded past.
  let q = NO_OP_PREFIX[mem[p]] ? p + 1 : p;
  let op = mem[q++];
  if (op === OPERAND_SIZE_PREFIX) {
    // 16-bit operands: the forms the table compiles after the prefix (a second prefix or the
    // 0F map has none there, so the interpreter takes it).
    forms = ONE_BYTE_16;
    op = mem[q++];
  } else if (op === TWO_BYTE_ESCAPE) {
    forms = TWO_BYTE;
    op = mem[q++];
  }
  // ModRM.reg picks the form of a group opcode; for any other the eight entries are the same.
  const form = forms[(op << 3) | ((mem[q] >> 3) & 7)];
  if (form === null) return null;
  let m = NO_MODRM;
  let at = q;
  if (form.modrm) {
    m = modrm(mem, q);
    if (m.mem === null ? !form.register : !form.memory) return null;
    at += m.length;
  }
  const size = form.imm;
  const imm = size === 4 ? u32(mem, at) : size === 1 ? i8(mem[at]) : size === 2 ? mem[at] | (mem[at + 1] << 8) : 0;
  const next = at + size;
  const target = form.relative ? (next + imm) >>> 0 : 0;
  return {
    length: next - p,
    ends: form.ends,
    target: form.relative ? target : undefined,
    emit: form.emit({ m, imm, next, target }, form.args),
  };
}
