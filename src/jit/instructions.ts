// What the JIT knows about each x86 instruction it compiles, keyed by opcode: how long it is,
// whether it ends a unit, and the WebAssembly it becomes (through UnitBuilder's helpers).
// Semantics follow the core's fast path and operation helpers (assembly/fastpath.ts,
// assembly/ops/alu.ts, assembly/flags.ts): the same lazy-flag records, the same TLB test, the
// same cases left to the interpreter. Everything here is 32-bit code without prefixes, with flat
// DS and SS (the core enters units only then). An opcode missing here runs through the core's
// interpreter from inside the unit (compile.ts).

import { OP } from "./wasm-encoder.js";
import {
  UnitBuilder, L_A, L_B, L_R, L_C, L_HOST, L_KIND, L_T,
  LAZY_ADD, LAZY_ADC, LAZY_SUB, LAZY_SBB, LAZY_LOGIC, LAZY_INC, LAZY_DEC, FLAGS_ARITH, G_FLAGS, G_EIP_DELTA,
} from "./unit.js";

export interface Instruction {
  length: number;
  /** Host addresses of the instruction and of the one the unit runs next (set by decodeUnit). */
  at?: number;
  next?: number;
  /** A JMP or CALL whose target the unit goes on with (decodeUnit). */
  follow?: boolean;
  /** Control never falls through to the next instruction (JMP, CALL, RET). */
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

// ---- ALU ------------------------------------------------------------------------------------
const ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7;
/** TEST: AND without a result. */
const ALU_TEST = 8;

/**
 * ALU operation `aop` of size sz on what `a` and `b` push; `store` writes the result (pushed by
 * its argument) unless the op is CMP or TEST. The lazy record is set after the store.
 */
function alu(u: UnitBuilder, aop: number, sz: number, a: () => void, b: () => void, store: (v: () => void) => void): void {
  const c = u.c;
  const mask = sz === 2 ? -1 : 0xff;
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

/** ALU Ev,Gv / Gv,Ev / Eb,Gb / Gb,Eb (opcodes 00-3B, TEST 84/85), any operand form. */
function aluModrm(mem: Uint8Array, p: number, aop: number, sz: number, toE: boolean): Instruction {
  const m = modrm(mem, p);
  return {
    length: 1 + m.length,
    ends: false,
    emit(u) {
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
    },
  };
}

/** Group 1 (80, 81, 83): ALU Eb/Ev with an immediate. */
function aluImm(mem: Uint8Array, p: number, sz: number, immBytes: number): Instruction {
  const m = modrm(mem, p);
  const at = p + m.length;
  const imm = immBytes === 4 ? u32(mem, at) : sz === 0 ? mem[at] : i8(mem[at]);
  const aop = m.reg;
  return {
    length: 1 + m.length + immBytes,
    ends: false,
    emit(u) {
      const b = () => u.c.i32(imm);
      if (m.mem === null) {
        alu(u, aop, sz, () => u.regSized(sz, m.rm), b, (v) => u.setRegSized(sz, m.rm, v));
        return;
      }
      access(u, m.mem, sz, aop !== ALU_CMP);
      alu(u, aop, sz, () => loadHost(u, sz), b, (v) => storeHost(u, sz, v));
    },
  };
}

// ---- moves ----------------------------------------------------------------------------------
/** MOV Ev,Gv / Gv,Ev / Eb,Gb / Gb,Eb (88-8B). */
function mov(mem: Uint8Array, p: number, sz: number, toE: boolean): Instruction {
  const m = modrm(mem, p);
  return {
    length: 1 + m.length,
    ends: false,
    emit(u) {
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
    },
  };
}

/** MOV Eb,imm8 / Ev,imm32 (C6 /0, C7 /0). */
function movImm(mem: Uint8Array, p: number, sz: number): Instruction | null {
  const m = modrm(mem, p);
  if (m.reg !== 0) return null;
  const bytes = sz === 2 ? 4 : 1;
  const imm = sz === 2 ? u32(mem, p + m.length) : mem[p + m.length];
  return {
    length: 1 + m.length + bytes,
    ends: false,
    emit(u) {
      if (m.mem === null) u.setRegSized(sz, m.rm, () => u.c.i32(imm));
      else {
        access(u, m.mem, sz, true);
        storeHost(u, sz, () => u.c.i32(imm));
      }
    },
  };
}

/** MOVZX Gv, Eb / Ew (0F B6, 0F B7; `p` at the ModRM). */
function movzx(mem: Uint8Array, p: number, sz: number): Instruction {
  const m = modrm(mem, p);
  return {
    length: 2 + m.length,
    ends: false,
    emit(u) {
      if (m.mem === null) {
        if (sz === 0) u.reg8(m.rm);
        else u.reg(m.rm), u.c.i32(0xffff).op(OP.i32And);
      } else {
        access(u, m.mem, sz, false);
        loadHost(u, sz);
      }
      u.setReg(m.reg);
    },
  };
}

// ---- stack ----------------------------------------------------------------------------------
const ESP = 4;

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

// ---- shifts ---------------------------------------------------------------------------------
/**
 * SHL/SAL, SHR, SAR of a 32-bit register (C1, D1, D3; rotates are the interpreter's) by an
 * immediate `count`, or by CL (count null). A zero count changes nothing, flags included: for
 * CL the unit leaves before the instruction then, so its flag record stays what it knew.
 */
function shiftReg(mem: Uint8Array, p: number, immAt: number | null, count: number | null): Instruction | null {
  const m = modrm(mem, p);
  const sub = m.reg;
  if (m.mem !== null || sub === 2 || sub === 3) return null; // RCL, RCR: the interpreter's
  const imm = immAt === null ? (count ?? 0) & 31 : mem[immAt] & 31;
  const byCl = immAt === null && count === null;
  return {
    length: 1 + m.length + (immAt === null ? 0 : 1),
    ends: false,
    emit(u) {
      if (!byCl && imm === 0) return;
      const c = u.c;
      const n = () => (byCl ? c.get(L_T) : c.i32(imm));
      const nMinus1 = () => (byCl ? c.get(L_T).i32(1).op(OP.i32Sub) : c.i32(imm - 1));
      if (byCl) {
        u.reg(1);
        c.i32(31).op(OP.i32And).tee(L_T).op(OP.i32Eqz);
        u.ifTrue();
        u.exitBefore();
        u.endIf();
      }
      u.reg(m.rm);
      u.c.set(L_A);
      if (sub < 2) {
        // ROL, ROR: CF and OF only (assembly/ops/shift.ts), the other flags stay.
        c.get(L_A); n(); c.op(sub === 0 ? OP.i32Rotl : OP.i32Rotr).tee(L_R);
        u.setReg(m.rm);
        if (sub === 0) {
          c.get(L_R).i32(1).op(OP.i32And).set(L_B);
          c.get(L_R).i32(31).op(OP.i32ShrU).get(L_B).op(OP.i32Xor).set(L_C);
        } else {
          c.get(L_R).i32(31).op(OP.i32ShrU).set(L_B);
          c.get(L_R).i32(30).op(OP.i32ShrU).i32(1).op(OP.i32And).get(L_B).op(OP.i32Xor).set(L_C);
        }
        c.get(L_B).get(L_C).i32(11).op(OP.i32Shl).op(OP.i32Or);
        u.writeFlagBits(0x801);
        return;
      }
      // L_R = result, L_B = CF, L_C = OF (SDM Vol. 2B SAL/SAR/SHL/SHR).
      if (sub === 5) {
        c.get(L_A); n(); c.op(OP.i32ShrU).set(L_R);
        c.get(L_A); nMinus1(); c.op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
        c.get(L_A).i32(31).op(OP.i32ShrU).set(L_C);
      } else if (sub === 7) {
        c.get(L_A); n(); c.op(OP.i32ShrS).set(L_R);
        c.get(L_A); nMinus1(); c.op(OP.i32ShrS).i32(1).op(OP.i32And).set(L_B);
        c.i32(0).set(L_C);
      } else {
        c.get(L_A); n(); c.op(OP.i32Shl).set(L_R);
        c.get(L_A).i32(32); n(); c.op(OP.i32Sub).op(OP.i32ShrU).i32(1).op(OP.i32And).set(L_B);
        c.get(L_R).i32(31).op(OP.i32ShrU).get(L_B).op(OP.i32Xor).set(L_C);
      }
      u.c.get(L_R);
      u.setReg(m.rm);
      szpFlags(u);
    },
  };
}

/** A shift's or multiply's flags: CF = L_B, OF = L_C into EFLAGS, ZF SF PF lazy on L_R. */
function szpFlags(u: UnitBuilder): void {
  u.c.gget(G_FLAGS).i32(~FLAGS_ARITH).op(OP.i32And).get(L_B).op(OP.i32Or).get(L_C).i32(11).op(OP.i32Shl).op(OP.i32Or).gset(G_FLAGS);
  u.setSzp(2);
}

/** Push the 32-bit register or memory operand of `m` (leaving before the instruction on a TLB miss). */
function readE32(u: UnitBuilder, m: ModRM): void {
  if (m.mem === null) u.reg(m.rm);
  else {
    access(u, m.mem, 2, false);
    loadHost(u, 2);
  }
}

/** IMUL Gv, Ev (0F AF) and Gv, Ev, imm (69, 6B): the low half, CF = OF = the product did not fit. */
function imul(mem: Uint8Array, p: number, prefix: number, immBytes: number): Instruction {
  const m = modrm(mem, p);
  const at = p + m.length;
  const imm = immBytes === 4 ? u32(mem, at) : immBytes === 1 ? i8(mem[at]) : 0;
  return {
    length: prefix + m.length + immBytes,
    ends: false,
    emit(u) {
      const c = u.c;
      readE32(u, m);
      c.set(L_A);
      if (immBytes) c.i32(imm);
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
    },
  };
}

/** MUL Ev (F7 /4): EDX:EAX = EAX * Ev unsigned; CF = OF = EDX != 0, ZF SF PF lazy on EAX (assembly/ops/muldiv.ts). */
function mul32(m: ModRM): Instruction {
  return {
    length: 1 + m.length,
    ends: false,
    emit(u) {
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
    },
  };
}

// ---- control transfers ----------------------------------------------------------------------
function jcc(cc: number, next: number, rel: number): Instruction & { target: number } {
  const target = (next + rel) >>> 0;
  return {
    length: 0, // set by the caller
    ends: false,
    target,
    emit(u) {
      u.condition(cc);
      u.ifTrue();
      u.jumpTo(target);
      u.endIf();
    },
  };
}

function jmp(target: number): Instruction {
  return { length: 0, ends: true, target, emit: (u) => { if (!u.follow) u.jumpTo(target); } };
}

/** INC/DEC of a 32-bit value on the stack into L_R, record set (CF kept). */
function incDec(u: UnitBuilder, dec: boolean): void {
  u.keepCarry();
  const c = u.c;
  c.set(L_A).i32(1).set(L_B).get(L_A).i32(1).op(dec ? OP.i32Sub : OP.i32Add).set(L_R);
}

/** The instruction at host address `p` of `mem`, or null when the JIT leaves it to the interpreter. */
export function decodeInstruction(mem: Uint8Array, p: number): Instruction | null {
  const op = mem[p];
  const q = p + 1;
  const withLength = (insn: Instruction | null, length: number): Instruction | null => {
    if (insn) insn.length = length;
    return insn;
  };
  if (op < 0x40 && (op & 7) < 4) {
    // ALU Eb,Gb (0) / Ev,Gv (1) / Gb,Eb (2) / Gv,Ev (3)
    return aluModrm(mem, q, op >> 3, op & 1 ? 2 : 0, (op & 2) === 0);
  }
  if (op < 0x40 && (op & 7) === 5) {
    // ALU EAX, imm32
    const imm = u32(mem, q);
    const aop = op >> 3;
    return {
      length: 5,
      ends: false,
      emit: (u) => alu(u, aop, 2, () => u.reg(0), () => u.c.i32(imm), (v) => { v(); u.setReg(0); }),
    };
  }
  if (op >= 0x40 && op <= 0x4f) {
    const r = op & 7;
    const dec = op >= 0x48;
    return {
      length: 1,
      ends: false,
      emit(u) {
        u.reg(r);
        incDec(u, dec);
        u.c.get(L_R);
        u.setReg(r);
        u.setLazy(((dec ? LAZY_DEC : LAZY_INC) << 2) | 2);
      },
    };
  }
  if (op >= 0x50 && op <= 0x57) {
    const r = op & 7;
    return { length: 1, ends: false, emit: (u) => push(u, () => u.reg(r)) };
  }
  if (op >= 0x58 && op <= 0x5f) {
    const r = op & 7;
    return {
      length: 1,
      ends: false,
      emit(u) {
        peek(u);
        dropSlot(u);
        u.c.get(L_T);
        u.setReg(r); // POP ESP loads the popped value last
      },
    };
  }
  if (op >= 0xb8 && op <= 0xbf) {
    const r = op & 7;
    const imm = u32(mem, q);
    return { length: 5, ends: false, emit: (u) => { u.c.i32(imm); u.setReg(r); } };
  }
  if (op === 0x68 || op === 0x6a) {
    const imm = op === 0x68 ? u32(mem, q) : i8(mem[q]);
    return { length: op === 0x68 ? 5 : 2, ends: false, emit: (u) => push(u, () => u.c.i32(imm)) };
  }
  if (op >= 0x70 && op <= 0x7f) return withLength(jcc(op & 15, p + 2, i8(mem[q])), 2);
  switch (op) {
    case 0x80: return aluImm(mem, q, 0, 1);
    case 0x81: return aluImm(mem, q, 2, 4);
    case 0x83: return aluImm(mem, q, 2, 1);
    case 0x84: return aluModrm(mem, q, ALU_TEST, 0, true);
    case 0x85: return aluModrm(mem, q, ALU_TEST, 2, true);
    case 0x88: return mov(mem, q, 0, true);
    case 0x89: return mov(mem, q, 2, true);
    case 0x8a: return mov(mem, q, 0, false);
    case 0x8b: return mov(mem, q, 2, false);
    case 0x8d: { // LEA Gv, M (the register form is #UD: the interpreter's)
      const m = modrm(mem, q);
      if (m.mem === null) return null;
      const ea = m.mem;
      return { length: 1 + m.length, ends: false, emit: (u) => { address(u, ea); u.setReg(m.reg); } };
    }
    case 0x90: return { length: 1, ends: false, emit: () => {} };
    case 0xa9: { // TEST EAX, imm32
      const imm = u32(mem, q);
      return { length: 5, ends: false, emit: (u) => alu(u, ALU_TEST, 2, () => u.reg(0), () => u.c.i32(imm), () => {}) };
    }
    case 0xc1: return shiftReg(mem, q, q + modrm(mem, q).length, null);
    case 0xd1: return shiftReg(mem, q, null, 1);
    case 0xd3: return shiftReg(mem, q, null, null);
    case 0x69: return imul(mem, q, 1, 4);
    case 0x6b: return imul(mem, q, 1, 1);
    case 0xa1: case 0xa3: { // MOV EAX, moffs32 / moffs32, EAX
      const lin = u32(mem, q);
      const load = op === 0xa1;
      const ea: Mem = { base: -1, index: -1, scale: 0, disp: lin };
      return {
        length: 5,
        ends: false,
        emit(u) {
          access(u, ea, 2, !load);
          if (load) {
            loadHost(u, 2);
            u.setReg(0);
          } else storeHost(u, 2, () => u.reg(0));
        },
      };
    }
    case 0xf7: { // NOT, NEG, MUL Ev
      const m = modrm(mem, q);
      if (m.reg === 4) return mul32(m);
      if (m.reg !== 2 && m.reg !== 3) return null;
      const neg = m.reg === 3;
      return {
        length: 1 + m.length,
        ends: false,
        emit(u) {
          const operand = () => (m.mem === null ? u.reg(m.rm) : loadHost(u, 2));
          const store = (v: () => void) => (m.mem === null ? (v(), u.setReg(m.rm)) : storeHost(u, 2, v));
          if (m.mem !== null) access(u, m.mem, 2, true);
          if (neg) alu(u, ALU_SUB, 2, () => u.c.i32(0), operand, store);
          else store(() => { operand(); u.c.i32(-1).op(OP.i32Xor); });
        },
      };
    }
    case 0xc6: return movImm(mem, q, 0);
    case 0xc7: return movImm(mem, q, 2);
    case 0xc3: // RET
      return {
        length: 1,
        ends: true,
        emit(u) {
          peek(u);
          // The target's host address on this mapping; 0 is the interpreter's case (see fastpath's landAt).
          u.c.get(L_T).gget(G_EIP_DELTA).op(OP.i32Add).tee(L_T).op(OP.i32Eqz);
          u.ifTrue();
          u.exitBefore();
          u.endIf();
          dropSlot(u);
          u.exit(u.index + 1, () => u.c.get(L_T));
        },
      };
    case 0xe8: { // CALL rel32
      const next = p + 5;
      const target = (next + u32(mem, q)) >>> 0;
      return {
        length: 5,
        ends: true,
        target,
        emit(u) {
          push(u, () => u.c.i32(next).gget(G_EIP_DELTA).op(OP.i32Sub));
          if (!u.follow) u.jumpTo(target);
        },
      };
    }
    case 0xe9: return withLength(jmp((p + 5 + u32(mem, q)) >>> 0), 5);
    case 0xeb: return withLength(jmp((p + 2 + i8(mem[q])) >>> 0), 2);
    case 0xff: { // INC/DEC Ev
      const m = modrm(mem, q);
      if (m.reg > 1) return null;
      const dec = m.reg === 1;
      return {
        length: 1 + m.length,
        ends: false,
        emit(u) {
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
        },
      };
    }
    case 0x0f: {
      const op2 = mem[q];
      if (op2 >= 0x80 && op2 <= 0x8f) return withLength(jcc(op2 & 15, p + 6, u32(mem, q + 1)), 6);
      if (op2 === 0xaf) return imul(mem, q + 1, 2, 0);
      if (op2 === 0xb6) return movzx(mem, q + 1, 0);
      if (op2 === 0xb7) return movzx(mem, q + 1, 1);
      return null;
    }
    default:
      return null;
  }
}
