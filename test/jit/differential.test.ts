// The JIT against the interpreter: random instruction streams, made mostly of the instructions
// the JIT compiles (in every operand form, with random bytes mixed in), run as a loop on two
// cores, one interpreting and one compiling every block start at once (threshold 1). After the
// same budget both must agree on everything a guest can see: registers, EFLAGS, EIP, the exit
// reason, the exception, the retired-instruction count and memory. The streams also hold
// instructions a unit hands to the interpreter (string instructions with REP, 16-bit operands,
// segment loads, POPF and STI changing IF and TF, RDTSC reading the retired count, LOOP) and
// ones it leaves before (DIV and IDIV that raise #DE, BSF and BSR of zero),
// between compiled ones, so that a lost fault, a wrong count, or a register or flag the unit did
// not write back or reload shows.

import { describe, it, expect, beforeAll } from "vitest";
import { createHash } from "node:crypto";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";
import { rng } from "../support/rng.js";

const RAM = 4 << 20;
const CODE = 0x100000;
const DATA = 0x200000;
const STACK = 0x280000;
/** A GDT with the flat code (0x08) and data (0x10) descriptors the cores start with, for segment loads. */
const GDT = 0x300000;
const RUNS = Number(process.env.VMI386_JIT_FUZZ_RUNS ?? 2000);

/** One random instruction the JIT compiles (or, now and then, one it does not). */
function randomInstruction(r: () => number): number[] {
  const pick = (n: number) => r() % n;
  const modrm = (): number[] => {
    const mod = pick(4);
    const rm = pick(8);
    const out = [(mod << 6) | (pick(8) << 3) | rm];
    if (mod !== 3 && rm === 4) out.push(pick(256));
    if (mod === 1) out.push(pick(256));
    else if (mod === 2 || (mod === 0 && (rm === 5 || (rm === 4 && (out[1] & 7) === 5)))) {
      const d = DATA + pick(0x10000);
      out.push(d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24);
    }
    return out;
  };
  const imm32 = () => {
    const v = pick(4) === 0 ? r() : pick(64) - 32;
    return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
  };
  const imm = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
  // What a flag-setting instruction's flags become where they are looked at: nothing (the
  // comparison at the end), PUSHF (the core folds the unit's record) or SETcc (the unit tests it).
  const observe = () => [[], [0x9c], [0x0f, 0x90 + pick(16), 0xc0 | pick(8)]][pick(3)];
  // Values a divisor, a scanned source or a count register takes: zero, edges, random.
  const edge = () => [0, 1, -1, 3, 0x80000000, 0x7fffffff, 1 << pick(32), r()][pick(8)];
  switch (pick(62)) {
    case 54: case 55: case 56: case 57: return carryChain(r, modrm);
    case 58: case 59: case 60: case 61: return shiftByCl(r, modrm);
    case 0: case 1: case 2: return [(pick(8) << 3) | pick(4), ...modrm()]; // ALU E,G / G,E
    case 3: return [(pick(8) << 3) | 5, ...imm32()]; // ALU EAX, imm32
    case 4: { const m = modrm(); const op = [0x80, 0x81, 0x83][pick(3)]; return [op, ...m, ...(op === 0x81 ? imm32() : [pick(256)])]; }
    case 5: return [0x84 + pick(2), ...modrm()]; // TEST
    case 6: case 7: return [0x88 + pick(4), ...modrm()]; // MOV
    case 8: { const m = modrm(); if (m[0] >= 0xc0) m[0] &= 0x3f; return [0x8d, ...m]; } // LEA
    case 9: { const sz = pick(2); const m = modrm(); m[0] &= 0xc7; return [0xc6 + sz, ...m, ...(sz ? imm32() : [pick(256)])]; }
    case 10: return [0x40 + pick(16)]; // INC/DEC r32
    case 11: return [0x50 + pick(16)]; // PUSH/POP r32
    case 12: return pick(2) ? [0x68, ...imm32()] : [0x6a, pick(256)];
    case 13: { const m = modrm(); return pick(2) ? [0xc1, ...m, pick(40)] : [0xd1, ...m]; } // shifts, rotates
    case 14: return [0x70 + pick(16), pick(8)]; // Jcc forward
    case 15: return [0x0f, 0x80 + pick(16), pick(8), 0, 0, 0];
    case 16: return [0x0f, 0xb6 + pick(2), ...modrm()]; // MOVZX
    case 17: { const m = modrm(); m[0] &= 0xcf; return [0xff, ...m]; } // INC/DEC Ev
    case 18: return [[0x90, 0xf5, 0xf8, 0xf9, 0x9c, 0x9d, 0x99, 0x98][pick(8)]]; // NOP, CMC, CLC, STC, PUSHF, POPF, CDQ, CWDE
    case 19: return [pick(256), pick(256), pick(256)]; // anything
    case 20: return [0xb8 + pick(8), ...imm32()]; // MOV r32, imm32
    case 21: { const d = DATA + pick(0x10000); return [0xa1 + 2 * pick(2), d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24]; } // MOV EAX, moffs
    case 22: { const m = modrm(); m[0] = (m[0] & 0xc7) | ((2 + pick(3)) << 3); return [0xf7, ...m]; } // NOT, NEG, MUL
    case 23: { const m = modrm(); return [0xd3, ...m]; } // shifts by CL
    case 24: { const m = modrm(); const k = pick(3); return k === 0 ? [0x0f, 0xaf, ...m] : k === 1 ? [0x69, ...m, ...imm32()] : [0x6b, ...m, pick(256)]; } // IMUL
    case 25: return [0xeb, pick(6)]; // JMP forward
    case 26: return [0xe8, pick(6), 0, 0, 0]; // CALL forward (what it pushes stays)
    case 27: {
      // A string instruction, maybe with REP or REPNE or an operand-size prefix, on a few elements.
      const op = [0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf][pick(10)];
      const prefix = [[], [0xf3], [0xf3], [0xf2], [0x66], [0xf3, 0x66]][pick(6)];
      return [0xb9, ...imm(pick(9)), 0xbe, ...imm(DATA + pick(0x10000)), 0xbf, ...imm(DATA + pick(0x10000)), ...prefix, op];
    }
    case 28: {
      // 16-bit operands.
      const k = pick(5);
      if (k === 0) return [0x66, (pick(8) << 3) | pick(4), ...modrm()];
      if (k === 1) return [0x66, 0x50 + pick(16)];
      if (k === 2) return [0x66, 0xb8 + pick(8), pick(256), pick(256)];
      if (k === 3) return [0x66, 0x81, ...modrm(), pick(256), pick(256)];
      return [0x66, [0x98, 0x99][pick(2)]];
    }
    case 29: // DIV by a register after EDX = 0: #DE when it is EDX; now and then an IDIV that may overflow.
      return pick(4) ? [0x31, 0xd2, 0xf7, 0xf0 | pick(8)] : [0xf7, 0xf8 | pick(8)];
    case 30: // Segment loads: DS, ES, FS and SS reloaded flat, MOV SS's shadow, now and then a null DS.
      return [
        [0x8c, 0xd8, 0x8e, 0xd8], [0x1e, 0x1f], [0x06, 0x07], [0x0f, 0xa0, 0x0f, 0xa1], [0x16, 0x17],
        [0x8c, 0xd0, 0x8e, 0xd0], [0x6a, 0x10, 0x07], [0x6a, 0x00, 0x1f],
      ][pick(8)];
    case 31: {
      // POPF of the pushed EFLAGS with a bit flipped (CF, IF, DF, TF), STI, CLI, CLD, STD, SAHF, LAHF.
      const k = pick(8);
      if (k < 3) return [0x9c, 0x81, 0x34, 0x24, ...imm([0x1, 0x200, 0x400, 0x100, 0x200][pick(5)]), 0x9d];
      return [[0xfb], [0xfa], [0xfc], [0xfd], [0x9e, 0x9f]][k - 3];
    }
    case 32: {
      // Two-byte forms: CMOVcc, SETcc, MOVSX, BSF/BSR and SHLD/SHRD (compiled), and ones the JIT
      // leaves to the interpreter: BT on a register, XADD, CMPXCHG, RDTSC (which reads the retired count).
      const k = pick(10);
      const reg = () => 0xc0 | pick(64);
      if (k === 0) return [0x0f, 0x40 + pick(16), ...modrm()];
      if (k === 1) return [0x0f, 0x90 + pick(16), ...modrm()];
      if (k === 2) return [0x0f, 0xbe + pick(2), ...modrm()];
      if (k === 3) return [0x0f, 0xbc + pick(2), ...modrm()];
      if (k === 4) return [0x0f, [0xa3, 0xab, 0xb3, 0xbb][pick(4)], reg()];
      if (k === 5) return [0x0f, 0xa4 + 8 * pick(2), ...modrm(), pick(40)];
      if (k === 6) return [0x0f, 0xc0 + pick(2), ...modrm()];
      if (k === 7) return [0x0f, 0xb0 + pick(2), ...modrm()];
      return [0x0f, 0x31];
    }
    case 33: // XCHG, XLAT, a segment override, LOCK on a memory operand.
      return [[0x87, ...modrm()], [0x90 + pick(8)], [0xd7], [0x64, 0x8b, ...modrm()], [0xf0, 0x01, ...modrm()]][pick(5)];
    case 34: return [0xe0 + pick(4), pick(6)]; // LOOPNE, LOOPE, LOOP, JECXZ forward
    case 35: return [0x0f, 0x31]; // RDTSC
    case 36: case 37: case 38: {
      // 16-bit MOV and shifts (shift counts past 16 included), compiled after the operand-size
      // prefix; a PUSHF after a shift now and then keeps its flags for the comparison.
      const m = modrm();
      const reg = [0xc0 | pick(64)];
      const flags = pick(2) ? [0x9c] : [];
      const k = pick(6);
      if (k < 2) return [0x66, 0x89 + 2 * k, ...m];
      if (k === 2) return [0x66, 0xc1, ...(pick(4) ? reg : m), pick(40), ...flags];
      if (k === 3) return [0x66, 0xd1, ...(pick(4) ? reg : m), ...flags];
      if (k === 4) return [0x66, 0xd3, ...m];
      return [0x66, 0x88 + pick(4), ...m]; // the prefix on a byte MOV changes nothing
    }
    case 39: { // ALU AL, imm8; TEST AL, imm8
      const flags = pick(2) ? [0x9c] : [];
      return pick(9) ? [(pick(8) << 3) | 4, pick(256), ...flags] : [0xa8, pick(256), ...flags];
    }
    case 40: return [0xb0 + pick(8), pick(256)]; // MOV r8, imm8
    case 46: return [...[[], [0xfc], [0xfd]][pick(3)], 0xac + pick(2)]; // LODS, after CLD or STD now and then
    case 47: return pick(4) ? [0x0f, 0x90 + pick(16), ...modrm()] : [0xc9]; // SETcc; LEAVE
    case 44: case 45: { // CMOVcc after a flag-setting ALU operation or with the flags as they are; MOVSX
      const alu = pick(2) ? [(pick(8) << 3) | 1, 0xc0 | pick(64)] : [];
      return pick(3) ? [...alu, 0x0f, 0x40 + pick(16), ...modrm()] : [0x0f, 0xbe + pick(2), ...modrm()];
    }
    case 42: case 43: return [[0x3e, 0x36][pick(2)], ...randomInstruction(r)]; // a DS or SS override (no-ops while flat)
    case 41: { const m = modrm(); m[0] &= 0xc7; return pick(2) ? [0xf6, ...m, pick(256)] : [0xf7, ...m, ...imm32()]; } // TEST E, imm
    case 48: {
      // DIV or IDIV Ev, with EDX and the divisor set up so that some quotients fit and some do
      // not (#DE), a zero divisor and INT_MIN / -1 included; the flags they keep observed.
      if (pick(24) === 0) {
        // IDIV of EDX:EAX = INT64_MIN by -1 (a register other than EAX, EDX, ESP): #DE, and the one
        // quotient that traps in wasm's own division.
        const d = [1, 3, 5, 6, 7][pick(5)];
        return [0x31, 0xc0, 0xba, ...imm(0x80000000), 0xb8 + d, ...imm(-1), 0xf7, 0xf8 | d];
      }
      const m = modrm();
      m[0] = (m[0] & 0xc7) | ((6 + pick(2)) << 3);
      // Mostly an EDX that lets the quotient fit (a faulting one ends the loop).
      const fits = [[0x31, 0xd2], [0x99], [0xba, pick(4), 0, 0, 0]];
      const faults = [[0xba, ...imm32()], [0xba, ...imm(edge())], [0x31, 0xc0, 0xba, 0, 0, 0, 0x80], []];
      const dividend = pick(6) ? fits[pick(3)] : faults[pick(4)];
      const rm = m[0] & 7;
      const divisor = pick(2) === 0 ? [] : m[0] >= 0xc0 ? (rm === 4 ? [] : [0xb8 + rm, ...imm(edge())]) : [0xc7, m[0] & 0xc7, ...m.slice(1), ...imm(edge())];
      return [...divisor, ...dividend, 0xf7, ...m, ...observe()];
    }
    case 49: case 50: case 51: {
      // BSF or BSR Gv, Ev of a zero or nonzero source.
      const m = modrm();
      const rm = m[0] & 7;
      const source = pick(2) === 0 ? [] : m[0] >= 0xc0 ? (rm === 4 ? [] : [0xb8 + rm, ...imm(edge())]) : [0xc7, m[0] & 0xc7, ...m.slice(1), ...imm(edge())];
      return [...source, 0x0f, 0xbc + pick(2), ...m, ...observe()];
    }
    case 52: case 53: {
      // SHLD or SHRD Ev, Gv by an immediate or by CL, counts 0 to 40 (masked to 5 bits).
      const m = modrm();
      const op = 0xa4 + 8 * pick(2);
      const shift = pick(2) ? [0x0f, op, ...m, pick(41)] : [...(pick(4) ? [0xb1, pick(41)] : []), 0x0f, op + 1, ...m];
      return [...shift, ...observe()];
    }
    default: return [(pick(8) << 3) | pick(4), 0xc0 | pick(64)]; // ALU on registers
  }
}

/**
 * INC/DEC, which keep CF, and then a reader of that CF: ADC/SBB, a Jcc, SETcc or CMOVcc on CF,
 * PUSHF, or nothing (the loop's next pass or an exit sees it). Between them, now and then, memory
 * accesses (a TLB miss leaves the unit there, and the interpreter goes on with the record the
 * unit wrote back), forward jumps, other INC/DECs, instructions that leave the flags alone and
 * ones that replace CF (jumped over or not).
 * Before the INC/DEC, something that sets CF (STC half the time), so that a CF the unit failed
 * to keep shows. A CF the JIT wrongly thinks nobody sees fails here.
 */
function carryChain(r: () => number, modrm: () => number[]): number[] {
  const pick = (n: number) => r() % n;
  const memory = () => {
    const m = modrm();
    return m[0] >= 0xc0 ? [(m[0] & 0x38) | 0x05, ...imm(DATA + pick(0x10000))] : m;
  };
  const setters = [[0xf9], [0xf9], [0xf5], [0x39, 0xc0 | pick(64)], [0x29, 0xc0 | pick(64)], [0xd1, 0xe8 | pick(8)], []];
  const incDec = () => (pick(3) ? [0x40 + pick(16)] : [0xff, ...modrm().map((b, i) => (i === 0 ? b & 0xcf : b))]);
  const between = (): number[] => {
    switch (pick(8)) {
      case 6: return [[0x39, 0x01, 0x85, 0x29][pick(4)], 0xc0 | pick(64)]; // CMP, ADD, TEST, SUB: CF replaced
      case 7: return [0xd1, 0xe0 | pick(16)]; // SHL/SHR r32, 1: CF replaced
      case 0: return [0x8b, ...memory()]; // MOV r32, [mem]
      case 1: return [0x89, ...memory()]; // MOV [mem], r32
      case 2: return [0x8d, ...memory()]; // LEA
      case 3: return incDec();
      case 4: return [0xb8 + pick(8), ...imm(r())];
      default: return [0x0f, 0xb6, ...memory()]; // MOVZX r32, byte [mem]
    }
  };
  const readers = [
    () => [0x11 + 8 * pick(2), 0xc0 | pick(64)], // ADC/SBB r32, r32
    () => [0x13 + 8 * pick(2), ...memory()], // ADC/SBB r32, [mem]
    () => [0x83, 0xd0 | (pick(2) << 3) | pick(8), pick(256)], // ADC/SBB r32, imm8
    () => [0x72 + pick(2), pick(4)], // JB/JAE
    () => [0x76 + pick(2), pick(4)], // JBE/JA
    () => [0x0f, 0x92 + pick(2), 0xc0 | pick(8)], // SETB/SETAE r8
    () => [0x0f, 0x96, ...memory()], // SETBE [mem]
    () => [0x0f, 0x42 + pick(2), 0xc0 | pick(64)], // CMOVB/CMOVAE
    () => [0x0f, 0x46 + pick(2), ...memory()], // CMOVBE/CMOVA from [mem]
    () => [0x9c], // PUSHF
    () => [0xd1, 0xd0 | pick(16)], // RCL/RCR r32, 1 (the interpreter's)
    () => [],
  ];
  const out = [...setters[pick(setters.length)], ...incDec()];
  for (let n = pick(4); n > 0; n--) {
    const step = between();
    // A forward Jcc over it now and then: when it replaces CF, only the taken path sees the
    // INC/DEC's.
    if (pick(3) === 0) out.push(0x70 + pick(16), step.length);
    out.push(...step);
  }
  out.push(...readers[pick(readers.length)]());
  return out;
}

/**
 * A shift or rotate by CL (SHL SHR SAR ROL ROR, SHLD/SHRD now and then) with CL masking to 0 or
 * not, after each kind of record (logic, ADD/SUB, INC/DEC, a shift, a multiply, or none new),
 * then a reader of the flags it leaves: PUSHF, SETcc, Jcc, ADC/SBB, LAHF, another one by CL or
 * nothing. A count of 0 keeps every flag of the record before (the unit skips the instruction
 * and joins both paths), ROL/ROR keep all but CF and OF (which the unit does inline after a
 * logic or shift record): a wrong AF, CF, OF or record after either fails here.
 */
function shiftByCl(r: () => number, modrm: () => number[]): number[] {
  const pick = (n: number) => r() % n;
  const reg = () => 0xc0 | pick(64);
  const setters = [
    () => [[0x21, 0x09, 0x31, 0x85][pick(4)], reg()], // AND OR XOR TEST
    () => [0x24 + 8 * pick(4), pick(256)], // AND/OR/XOR/SUB AL, imm8: a byte record
    () => [[0x01, 0x29, 0x39][pick(3)], reg()], // ADD SUB CMP
    () => [0x40 + pick(16)], // INC/DEC
    () => [[0xc1, reg(), pick(40)], [0xd1, reg()], [0xd3, reg()]][pick(3)], // shifts, rotates
    () => [[0x0f, 0xaf, reg()], [0xf7, 0xe0 | pick(16)]][pick(2)], // IMUL, MUL/IMUL EDX:EAX
    () => [[0xf8], [0xf5], []][pick(3)], // CLC, CMC (flags folded), none
  ];
  // CL: 0, 32 (masks to 0), a count, or whatever ECX holds.
  const count = () => [[0xb1, 0], [0xb1, 32], [0xb1, 1 + pick(31)], [0xb1, pick(256)], []][pick(5)];
  const shift = () => (pick(6) ? [0xd3, 0xc0 | ([0, 1, 4, 5, 7][pick(5)] << 3) | pick(8)] : [0x0f, 0xa5 + 8 * pick(2), reg()]);
  const readers = [
    () => [0x9c], // PUSHF
    () => [0x0f, 0x90 + pick(16), 0xc0 | pick(8)], // SETcc r8
    () => [0x70 + pick(16), pick(4)], // Jcc
    () => [0x11 + 8 * pick(2), reg()], // ADC/SBB
    () => [0x9f], // LAHF
    () => [0x31, reg(), ...count(), ...shift(), 0x9c], // another (after XOR), then PUSHF
    () => [],
  ];
  const memory = pick(8) === 0 ? [0xd3, (pick(8) << 3) | 0x05, ...imm(DATA + pick(0x10000))] : [];
  return [...count(), ...setters[pick(setters.length)](), ...(memory.length ? memory : shift()), ...readers[pick(readers.length)]()];
}

function imm(v: number): number[] {
  return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
}

/** A loop body of random instructions; the loop jumps back to its start until the budget ends. */
function randomProgram(r: () => number): Uint8Array {
  const bytes: number[] = [];
  const n = 4 + (r() % 20);
  const list = Array.from({ length: n }, () => randomInstruction(r));
  for (let i = 0; i < n; i++) {
    // Now and then a Jcc over the next one to three instructions: a forward jump to an
    // instruction boundary (one the unit may take without leaving).
    if (r() % 4 === 0) {
      const over = list.slice(i, i + 1 + (r() % 3)).reduce((s, insn) => s + insn.length, 0);
      if (over < 128) bytes.push(0x70 + (r() % 16), over);
    }
    bytes.push(...list[i]);
  }
  if (r() % 4 === 0) {
    // A call to a two-instruction function that returns.
    bytes.push(0xe8, 1, 0, 0, 0, 0xeb, 2, 0x40, 0xc3);
  }
  const back = -(bytes.length + 5);
  bytes.push(0xe9, back & 0xff, (back >> 8) & 0xff, (back >> 16) & 0xff, (back >>> 24) & 0xff);
  return Uint8Array.from(bytes);
}

function state(core: Core, reason: number): string {
  const regs = Array.from({ length: 8 }, (_, i) => core.reg(i).toString(16));
  const mem = createHash("sha256")
    .update(core.ram.subarray(CODE, CODE + 0x1000))
    .update(core.ram.subarray(DATA, DATA + 0x11000))
    .update(core.ram.subarray(STACK - 0x1000, STACK + 0x100))
    .digest("hex")
    .slice(0, 16);
  const exc = core.lastException;
  return `exit ${reason} eip ${core.eip.toString(16)} eflags ${core.eflags.toString(16)} regs ${regs.join(" ")} ` +
    `instructions ${core.instructions} exception ${exc.vector}/${exc.error} memory ${mem}`;
}

describe("JIT against the interpreter", () => {
  let interp: Core;
  let jit: Core;
  beforeAll(async () => {
    // Interpreting whatever VMI386_JIT says: the suite's JIT-forced pass must still compare
    // compiled code with the interpreter, not with itself.
    interp = await Core.load({ ramSize: RAM, imports: nullImports, jit: false });
    jit = await Core.load({ ramSize: RAM, imports: nullImports, jit: { threshold: 1, maxUnits: 64 } });
  });

  it(`agrees on ${RUNS} random loops`, async () => {
    expect(interp.jit).toBeUndefined();
    const next = rng(0x717);
    let compiled = 0;
    const exits: Record<number, number> = {};
    for (let run = 0; run < RUNS; run++) {
      // A long synchronous test starves vitest's worker RPC (it timed out after 60 s).
      if (run % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      const seed = next();
      const out: string[] = [];
      for (const core of [interp, jit]) {
        const r = rng(seed);
        const program = randomProgram(r);
        core.reset();
        core.trapExceptions = true;
        core.enterFlatProtectedMode(CODE);
        core.ram.fill(0, GDT, GDT + 0x18);
        core.ram.set([0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0], GDT + 8);
        core.u32[L.STATE_GDTR_BASE >> 2] = GDT;
        core.u32[L.STATE_GDTR_LIMIT >> 2] = 0x17;
        for (let i = 0; i < 8; i++) core.setReg(i, DATA + (r() & 0xfffc));
        core.setReg(4, STACK);
        core.eflags = r() & 0xcd5;
        core.ram.fill(0, CODE, CODE + 0x1000);
        core.ram.set(program, CODE);
        for (let i = 0; i < 0x11000; i += 4) core.ram[DATA + i] = (i * 0x9e3779b1) >>> 24;
        core.ram.fill(0, STACK - 0x1000, STACK + 0x100);
        const budget = 50 + (r() % 400);
        const reason = core.run(budget);
        out.push(state(core, reason));
        if (core === jit) exits[reason] = (exits[reason] ?? 0) + 1;
      }
      if (out[0] !== out[1]) throw new Error(`seed ${seed}:\n  interpreter ${out[0]}\n  JIT         ${out[1]}`);
    }
    compiled = jit.jit!.stats.unitsCompiled;
    // The streams must exercise the JIT, loops and evictions included.
    expect(compiled).toBeGreaterThan(RUNS);
    expect(jit.jit!.stats.evictions).toBeGreaterThan(0);
    expect(jit.jit!.lastError).toBeUndefined();
    // And the units must hand instructions to the interpreter.
    expect(jit.jit!.stats.interpreted).toBeGreaterThan(RUNS);
    // Most loops must run out their budget rather than stop at a fault.
    console.log("exits", JSON.stringify(exits));
    expect(exits[L.EXIT_BUDGET], JSON.stringify(exits)).toBeGreaterThan(RUNS / 2);
  }, 600_000);

  it("recompiles a hot loop whose code the loop's own program rewrites", async () => {
    // The loop adds 5 to EAX a thousand times, then its own code patches the immediate to 7
    // and runs the loop again: EAX = 1000 * 5 + 1000 * 7 (SDM semantics, nothing cached).
    const a = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
    const program = [
      0xb9, ...a(1000), // +0  mov ecx, 1000
      0x05, ...a(5), // +5  add eax, 5 (the immediate at +6)
      0x49, // +10 dec ecx
      0x75, 0xf8, // +11 jnz +5
      0x43, // +13 inc ebx
      0x83, 0xfb, 0x02, // +14 cmp ebx, 2
      0x74, 0x0c, // +17 je +31
      0xc7, 0x05, ...a(CODE + 6), ...a(7), // +19 mov dword [CODE + 6], 7
      0xeb, 0xe1, // +29 jmp +0
      0xf4, // +31 hlt
    ];
    const results: string[] = [];
    for (const core of [interp, jit]) {
      core.reset();
      core.trapExceptions = true;
      core.enterFlatProtectedMode(CODE);
      core.ram.fill(0, CODE, CODE + 0x1000);
      core.ram.set(program, CODE);
      core.setReg(0, 0);
      core.setReg(3, 0);
      core.setReg(4, STACK);
      const before = jit.jit!.stats.unitsCompiled;
      const reason = core.run(100_000);
      expect(reason).toBe(L.EXIT_HLT_DISABLED);
      expect(core.reg(0)).toBe(12000);
      if (core === jit) expect(jit.jit!.stats.unitsCompiled - before).toBeGreaterThanOrEqual(2);
      results.push(`${core.instructions} ${core.counters().codeInvalidations ?? "?"}`);
    }
    expect(results[1]).toBe(results[0]);
  });
});
