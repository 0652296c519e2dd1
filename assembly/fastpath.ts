// The fast path's handlers, inlined into the run loop through the generated dispatch
// (generated/fast-dispatch.ts, from the rows of gen/x86-table.ts that name a `fastHandler`):
// the unprefixed 32-bit instructions that make up most of compiled code (register ALU ops,
// MOV/LEA with a register or flat memory operand, MOV r32, imm32, CMP on bytes, INC/DEC,
// PUSH/POP, CALL/RET/JMP/Jcc, shifts by an immediate, SHLD/SHRD on registers,
// MUL/IMUL/DIV/IDIV); the forms whose rows give their `operation` (IMUL Gv,Ev, MOVZX, MOVSX,
// BSF, BSR)
// have generated handlers (generated/handlers.ts) built on fastMemHost. Measured in V8, the call into execute() costs more than one of these
// instructions' work, so they skip it: on the cpu-bound guest 37 thousand of 331 million
// instructions leave the loop. Each handler gets `p`, the host address of the byte after the
// opcode, and returns the next instruction's; anything unusual (another form, a prefix, 16-bit
// code, a non-flat segment, a TLB miss, a #DE to raise) returns 0 before consuming a byte or
// changing state, and execute() does the full job. Each operation's body is the one in ops/
// that execute.ts's handlers call too; these handlers only reach the operands, their own way
// (docs/instruction-table.md, "One body per instruction, two ways to reach its operands").

import { SEG_DS, SEG_SS, TLB_BASE } from "./layout";
import * as cpu from "./cpu";
import { reg32, setReg32, reg16, setReg16, reg8, setReg8 } from "./cpu";
import { shift, shiftArith, shiftDouble, commitShiftFlags } from "./ops/shift";
import { mul, imul1, divide } from "./ops/muldiv";
import { testCondition } from "./flags";
import {
  aluResult, aluSetFlags, incDecNow, neg, commitFlags,
  ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
} from "./ops/alu";
import { flatRead, flatWrite, flatDataRead, flatDataWrite } from "./segments";
import { readMask, writeMask } from "./mmu";
import { TLB_VALID } from "./tlb";

/** The operand fastMemOperand decoded: its linear address, and ModRM + displacement length. */
let fastLin: u32 = 0;
let fastLen: u32 = 0;

/**
 * Decode a 32-bit memory operand (ModRM at `p`, SIB and displacement after it) through a flat
 * segment: [reg], [reg+disp], [base+index*scale+disp], [disp32], [index*scale+disp32]. Sets
 * fastLin and fastLen (ModRM + SIB + displacement bytes) and returns true; false when the
 * segment (DS, or SS for an EBP/ESP base) is not flat for this access.
 */
@inline function fastMemOperand(p: usize, m: u32, write: bool): bool {
  const rm = m & 7;
  const mod = m >> 6;
  let off: u32;
  let len: u32 = 1;
  let stackBased = false;
  if (rm == 4) {
    const sib = <u32>load<u8>(p + 1);
    const base = sib & 7;
    const index = (sib >> 3) & 7;
    len = 2;
    if (base == 5 && mod == 0) {
      off = load<u32>(p + 2);
      len = 6;
    } else {
      off = reg32(<i32>base);
      stackBased = base == 4 || base == 5;
    }
    if (index != 4) off += reg32(<i32>index) << (sib >> 6);
  } else if (rm == 5 && mod == 0) {
    off = load<u32>(p + 1);
    len = 5;
  } else {
    off = reg32(<i32>rm);
    stackBased = rm == 5;
  }
  if (mod == 1) {
    off += <u32>(<i32>load<i8>(p + len));
    len += 1;
  } else if (mod == 2) {
    off += load<u32>(p + len);
    len += 4;
  }
  if (!(write ? flatDataWrite : flatDataRead)) {
    const seg = stackBased ? SEG_SS : SEG_DS;
    if (((write ? flatWrite : flatRead) & (1 << seg)) == 0) return false;
  }
  fastLin = off;
  fastLen = len;
  return true;
}

/** The host address of a 4-byte access at `lin` if the TLB allows it now, else 0. */
@inline function tlbHost32(lin: u32, write: bool): usize {
  const e = load<u32>(TLB_BASE + ((<usize>(lin >>> 12)) << 2));
  if ((e & (write ? writeMask : readMask)) != TLB_VALID || (lin & 0xfff) > 0xffc) return 0;
  return <usize>((e & ~0xfff) ^ lin);
}

/** The host address of a 2-byte access at `lin` if the TLB allows it now, else 0. */
@inline function tlbHost16(lin: u32, write: bool): usize {
  const e = load<u32>(TLB_BASE + ((<usize>(lin >>> 12)) << 2));
  if ((e & (write ? writeMask : readMask)) != TLB_VALID || (lin & 0xfff) > 0xffe) return 0;
  return <usize>((e & ~0xfff) ^ lin);
}

/** The host address of a byte access at `lin` if the TLB allows it now, else 0. */
@inline function tlbHost8(lin: u32, write: bool): usize {
  const e = load<u32>(TLB_BASE + ((<usize>(lin >>> 12)) << 2));
  if ((e & (write ? writeMask : readMask)) != TLB_VALID) return 0;
  return <usize>((e & ~0xfff) ^ lin);
}

/** The value read from an r/m operand: fastReadE32 (or fastReadE8) sets it. */
let fastVal: u32 = 0;

/**
 * The host address of the memory operand of ModRM `m` (at `p`, not a register form), of `bits`
 * bits, for a read or a write; 0 when the access needs the full path. fastOperandLength() then
 * gives its ModRM + SIB + displacement length. For the generated handlers (generated/handlers.ts).
 */
@inline export function fastMemHost(p: usize, m: u32, bits: i32, write: bool): usize {
  if (!fastMemOperand(p, m, write)) return 0;
  return bits == 8 ? tlbHost8(fastLin, write) : bits == 16 ? tlbHost16(fastLin, write) : tlbHost32(fastLin, write);
}

/** The ModRM + SIB + displacement length of the operand fastMemHost decoded. */
@inline export function fastOperandLength(): u32 {
  return fastLen;
}

/**
 * Read the 32-bit register or memory operand of ModRM `m` (at `p`) into fastVal, its ModRM +
 * SIB + displacement length into fastLen; false when the access needs the full path.
 */
@inline function fastReadE32(p: usize, m: u32): bool {
  if (m >= 0xc0) {
    fastVal = reg32(<i32>(m & 7));
    fastLen = 1;
    return true;
  }
  if (!fastMemOperand(p, m, false)) return false;
  const h = tlbHost32(fastLin, false);
  if (h == 0) return false;
  fastVal = load<u32>(h);
  return true;
}

/** fastReadE32 for a byte operand. */
@inline function fastReadE8(p: usize, m: u32): bool {
  if (m >= 0xc0) {
    fastVal = reg8(<i32>(m & 7));
    fastLen = 1;
    return true;
  }
  if (!fastMemOperand(p, m, false)) return false;
  const h = tlbHost8(fastLin, false);
  if (h == 0) return false;
  fastVal = <u32>load<u8>(h);
  return true;
}

/** The host address of the 4-byte stack slot at ESP + delta, if SS is flat, 32-bit and mapped. */
@inline function stackHost(delta: u32, write: bool): usize {
  if (!cpu.stack32 || ((write ? flatWrite : flatRead) & (1 << SEG_SS)) == 0) return 0;
  return tlbHost32(reg32(4) + delta, write);
}

/**
 * A near jump from the fast path to EIP `target`: its host address on the code page's mapping.
 * The fast path runs only with a code page (cpu.ipPage != 0, see the run loop), and EIP and
 * host addresses wrap alike, so this is exact wherever the target lies: one off the page fails
 * the loop's page check, and fetchSlow re-derives the same EIP from it.
 */
@inline function jumpTo(target: u32): usize {
  return landAt(<usize>(target + cpu.eipDelta));
}

/** A relative jump by `rel` from the instruction that ends at `next`: no EIP needed. */
@inline function jumpRel(next: usize, rel: u32): usize {
  return landAt(next + <usize>rel);
}

/**
 * A jump's host address, unless it is 0, which the run loop would take for "not handled" (and
 * execute the jump a second time): a target the guest can choose, so it goes through EIP.
 */
@inline function landAt(host: usize): usize {
  if (host != 0) return host;
  cpu.setEip(eipAt(0));
  return cpu.IP_NOWHERE;
}

/** EIP of the instruction that starts at host address `p`. */
@inline function eipAt(p: usize): u32 {
  return <u32>p - cpu.eipDelta;
}

/** MOV Ev, Gv. */
@inline export function fastMovEvGv(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m >= 0xc0) {
    setReg32(<i32>(m & 7), reg32(<i32>((m >> 3) & 7)));
    return p + 1;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost32(fastLin, true);
  if (h == 0) return 0;
  store<u32>(h, reg32(<i32>((m >> 3) & 7)));
  return p + fastLen;
}

/** MOV Gv, Ev. */
@inline export function fastMovGvEv(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m >= 0xc0) {
    setReg32(<i32>((m >> 3) & 7), reg32(<i32>(m & 7)));
    return p + 1;
  }
  if (!fastMemOperand(p, m, false)) return 0;
  const h = tlbHost32(fastLin, false);
  if (h == 0) return 0;
  setReg32(<i32>((m >> 3) & 7), load<u32>(h));
  return p + fastLen;
}

/** Group 1 Ev, Ib (0x83, sign-extended) / Iz (0x81), register form. */
@inline export function fastAluEvImmReg(p: usize, op: u32): usize {
  const m = <u32>load<u8>(p);
  if (m < 0xc0) return 0;
  const b = op == 0x83 ? <u32>(<i32>load<i8>(p + 1)) : load<u32>(p + 1);
  aluRegImm32(<i32>((m >> 3) & 7), <i32>(m & 7), b);
  return p + (op == 0x83 ? 2 : 5);
}

/** ALU eAX, imm32. */
@inline export function fastAluEaxImm(p: usize, op: u32): usize {
  aluRegImm32(<i32>(op >> 3) & 7, 0, load<u32>(p));
  return p + 4;
}

/** PUSH r32. */
@inline export function fastPushReg(p: usize, op: u32): usize {
  const h = stackHost(<u32>-4, true);
  if (h == 0) return 0;
  store<u32>(h, reg32(<i32>op & 7));
  setReg32(4, reg32(4) - 4);
  return p;
}

/** POP r32. */
@inline export function fastPopReg(p: usize, op: u32): usize {
  const h = stackHost(0, false);
  if (h == 0) return 0;
  setReg32(4, reg32(4) + 4);
  setReg32(<i32>op & 7, load<u32>(h)); // POP ESP loads the popped value last
  return p;
}

/** CALL rel32. */
@inline export function fastCallRel(p: usize): usize {
  const h = stackHost(<u32>-4, true);
  if (h == 0) return 0;
  store<u32>(h, eipAt(p + 4));
  setReg32(4, reg32(4) - 4);
  return jumpRel(p + 4, load<u32>(p));
}

/** RET. */
@inline export function fastRet(p: usize): usize {
  const h = stackHost(0, false);
  if (h == 0) return 0;
  setReg32(4, reg32(4) + 4);
  return jumpTo(load<u32>(h));
}

/** LEA Gv, M: the offset, no access (the register form is #UD: execute() raises it). */
@inline export function fastLea(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m >= 0xc0 || !fastMemOperand(p, m, false)) return 0;
  setReg32(<i32>((m >> 3) & 7), fastLin);
  return p + fastLen;
}

/** MOV r32, imm32. */
@inline export function fastMovRegImm(p: usize, op: u32): usize {
  setReg32(<i32>(op - 0xb8), load<u32>(p));
  return p + 4;
}

/** NOP. */
@inline export function fastNop(p: usize): usize {
  return p;
}

/** JMP rel8. */
@inline export function fastJmpRel8(p: usize): usize {
  return jumpRel(p + 1, <u32>(<i32>load<i8>(p)));
}

/** JMP rel32. */
@inline export function fastJmpRel(p: usize): usize {
  return jumpRel(p + 4, load<u32>(p));
}

/** MOV Eb, Gb. */
@inline export function fastMovEbGb(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m >= 0xc0) {
    setReg8(<i32>(m & 7), reg8(<i32>((m >> 3) & 7)));
    return p + 1;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost8(fastLin, true);
  if (h == 0) return 0;
  store<u8>(h, <u8>reg8(<i32>((m >> 3) & 7)));
  return p + fastLen;
}

/** MOV Gb, Eb. */
@inline export function fastMovGbEb(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m >= 0xc0) {
    setReg8(<i32>((m >> 3) & 7), reg8(<i32>(m & 7)));
    return p + 1;
  }
  if (!fastMemOperand(p, m, false)) return 0;
  const h = tlbHost8(fastLin, false);
  if (h == 0) return 0;
  setReg8(<i32>((m >> 3) & 7), <u32>load<u8>(h));
  return p + fastLen;
}

/** MOV Eb, imm8. */
@inline export function fastMovEbIb(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (((m >> 3) & 7) != 0) return 0;
  if (m >= 0xc0) {
    setReg8(<i32>(m & 7), <u32>load<u8>(p + 1));
    return p + 2;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost8(fastLin, true);
  if (h == 0) return 0;
  store<u8>(h, load<u8>(p + fastLen));
  return p + fastLen + 1;
}

/** ALU Eb,Gb / Gb,Eb (not CMP), register form. */
@inline export function fastAlu8Reg(p: usize, op: u32): usize {
  const m = <u32>load<u8>(p);
  if (m < 0xc0) return 0;
  const aop = <i32>(op >> 3) & 7;
  const g = <i32>((m >> 3) & 7);
  const e = <i32>(m & 7);
  const toE = (op & 2) == 0;
  const a = reg8(toE ? e : g);
  const b = reg8(toE ? g : e);
  const r = aluResult(aop, 0, a, b);
  setReg8(toE ? e : g, r);
  aluSetFlags(aop, 0, a, b, r);
  return p + 1;
}

/** CMP Eb,Gb / Gb,Eb. */
@inline export function fastCmp8(p: usize, op: u32): usize {
  const m = <u32>load<u8>(p);
  let e: u32;
  if (m >= 0xc0) {
    e = reg8(<i32>(m & 7));
    fastLen = 1;
  } else {
    if (!fastMemOperand(p, m, false)) return 0;
    const h = tlbHost8(fastLin, false);
    if (h == 0) return 0;
    e = <u32>load<u8>(h);
  }
  const g = reg8(<i32>((m >> 3) & 7));
  const a = op == 0x38 ? e : g;
  const b = op == 0x38 ? g : e;
  aluSetFlags(ALU_CMP, 0, a, b, aluResult(ALU_CMP, 0, a, b));
  return p + fastLen;
}

/** Group 1 Eb, imm8: any operation on a register, CMP on memory. */
@inline export function fastGroup1Eb(p: usize): usize {
  const m = <u32>load<u8>(p);
  const aop = <i32>((m >> 3) & 7);
  if (m >= 0xc0) {
    const e = <i32>(m & 7);
    const a = reg8(e);
    const b = <u32>load<u8>(p + 1);
    const r = aluResult(aop, 0, a, b);
    if (aop != ALU_CMP) setReg8(e, r);
    aluSetFlags(aop, 0, a, b, r);
    return p + 2;
  }
  if (aop != ALU_CMP || !fastMemOperand(p, m, false)) return 0;
  const h = tlbHost8(fastLin, false);
  if (h == 0) return 0;
  const a = <u32>load<u8>(h);
  const b = <u32>load<u8>(p + fastLen);
  aluSetFlags(ALU_CMP, 0, a, b, aluResult(ALU_CMP, 0, a, b));
  return p + fastLen + 1;
}

/** Shift group Ev, 1 (0xd1) / CL (0xd3), register form. */
@inline export function fastShiftReg(p: usize, op: u32): usize {
  const m = <u32>load<u8>(p);
  if (m < 0xc0) return 0;
  shiftReg32(<i32>((m >> 3) & 7), <i32>(m & 7), op == 0xd1 ? 1 : reg8(1));
  return p + 1;
}

/** Shift group Ev, imm8, register form. */
@inline export function fastShiftRegImm(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m < 0xc0) return 0;
  shiftReg32(<i32>((m >> 3) & 7), <i32>(m & 7), <u32>load<u8>(p + 1));
  return p + 2;
}

/** INC / DEC r32. */
@inline export function fastIncDecReg(p: usize, op: u32): usize {
  const r = <i32>op & 7;
  setReg32(r, incDecNow(op >= 0x48, 2, reg32(r)));
  return p;
}

/** TEST Ev, Gv. */
@inline export function fastTestEvGv(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (!fastReadE32(p, m)) return 0;
  const a = fastVal;
  const b = reg32(<i32>((m >> 3) & 7));
  aluSetFlags(ALU_AND, 2, a, b, a & b);
  return p + fastLen;
}

/** TEST Eb, Gb. */
@inline export function fastTestEbGb(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (!fastReadE8(p, m)) return 0;
  const a = fastVal;
  const b = reg8(<i32>((m >> 3) & 7));
  aluSetFlags(ALU_AND, 0, a, b, a & b);
  return p + fastLen;
}

/** MOV Ev, imm32. */
@inline export function fastMovEvIz(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (((m >> 3) & 7) != 0) return 0;
  if (m >= 0xc0) {
    setReg32(<i32>(m & 7), load<u32>(p + 1));
    return p + 5;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost32(fastLin, true);
  if (h == 0) return 0;
  store<u32>(h, load<u32>(p + fastLen));
  return p + fastLen + 4;
}

// The two-byte opcodes: `p` at the second byte (the one after 0x0f), as the dispatch reads it.

/** SHLD (0xa4) / SHRD (0xac) Ev, Gv, imm8, register form. */
@inline export function fastShiftDouble(p: usize, op: u32): usize {
  const m = <u32>load<u8>(p + 1);
  if (m < 0xc0) return 0;
  const e = <i32>(m & 7);
  setReg32(e, shiftDouble(op == 0xa4, 2, reg32(e), reg32(<i32>((m >> 3) & 7)), <u32>load<u8>(p + 2)));
  commitShiftFlags();
  return p + 3;
}

/** Jcc rel8 (0x70 + cc). */
@inline export function fastJccRel8(p: usize, cc: i32): usize {
  return jcc(p, cc, 1);
}

/** Jcc rel32 (0F 80 + cc). */
@inline export function fastJccRel32(p: usize, cc: i32): usize {
  return jcc(p + 1, cc, 4);
}

/** Jcc with condition `cc` (a constant at each call) and a `size`-byte displacement at `p`. */
@inline function jcc(p: usize, cc: i32, size: u32): usize {
  const next = p + size;
  if (!testCondition(cc)) return next;
  const rel = size == 1 ? <u32>(<i32>load<i8>(p)) : load<u32>(p);
  return jumpRel(next, rel);
}

/**
 * Group-2 operation `sub` on 32-bit register `e` by `count`: the rotates through shift(), SHL/SAL,
 * SHR and SAR through their body shiftArith(), inlined, with the flags set at once.
 */
@inline function shiftReg32(sub: i32, e: i32, count: u32): void {
  const c = count & 31;
  if (sub < 4) {
    setReg32(e, shift(sub, 2, reg32(e), c));
    commitShiftFlags();
    return;
  }
  if (c == 0) return; // nothing changes, flags included
  setReg32(e, shiftArith(sub, 2, reg32(e), c, true));
}

/** ALU operation `aop` on register `e` and `b`, one case per operation so each folds. */
@inline function aluRegImm32(aop: i32, e: i32, b: u32): void {
  switch (aop) {
    case ALU_ADD: aluReg32(ALU_ADD, e, b); break;
    case ALU_OR: aluReg32(ALU_OR, e, b); break;
    case ALU_ADC: aluReg32(ALU_ADC, e, b); break;
    case ALU_SBB: aluReg32(ALU_SBB, e, b); break;
    case ALU_AND: aluReg32(ALU_AND, e, b); break;
    case ALU_SUB: aluReg32(ALU_SUB, e, b); break;
    case ALU_XOR: aluReg32(ALU_XOR, e, b); break;
    default: aluReg32(ALU_CMP, e, b); break;
  }
}

/** Register `e` = e `aop` b, with its flags (CMP only sets the flags). */
@inline function aluReg32(aop: i32, e: i32, b: u32): void {
  const a = reg32(e);
  const r = aluResult(aop, 2, a, b);
  if (aop != ALU_CMP) setReg32(e, r);
  aluSetFlags(aop, 2, a, b, r);
}

/** ALU Ev,Gv (`toE`) or Gv,Ev with operation `aop` (a constant at each call). */
@inline export function fastAlu32(p: usize, aop: i32, toE: bool): usize {
  const m = <u32>load<u8>(p);
  const g = <i32>((m >> 3) & 7);
  if (m >= 0xc0) {
    const e = <i32>(m & 7);
    const a = reg32(toE ? e : g);
    const b = reg32(toE ? g : e);
    const r = aluResult(aop, 2, a, b);
    if (aop != ALU_CMP) setReg32(toE ? e : g, r);
    aluSetFlags(aop, 2, a, b, r);
    return p + 1;
  }
  // A memory destination is written (and must be writable) unless the op is CMP.
  const writes = toE && aop != ALU_CMP;
  if (!fastMemOperand(p, m, writes)) return 0;
  const h = tlbHost32(fastLin, writes);
  if (h == 0) return 0;
  const mem = load<u32>(h);
  const a = toE ? mem : reg32(g);
  const b = toE ? reg32(g) : mem;
  const r = aluResult(aop, 2, a, b);
  if (aop != ALU_CMP) {
    if (toE) store<u32>(h, r);
    else setReg32(g, r);
  }
  aluSetFlags(aop, 2, a, b, r);
  return p + fastLen;
}

/**
 * F7 group 3, 32-bit: TEST Ev, imm32, NOT, NEG, MUL, IMUL, DIV, IDIV (a DIV or IDIV that raises
 * #DE, by a zero divisor or a quotient too wide, is left to execute()).
 */
@inline export function fastGroup3(p: usize): usize {
  const m = <u32>load<u8>(p);
  const sub = (m >> 3) & 7;
  if (sub == 2 || sub == 3) { // NOT / NEG: read-modify-write
    let h: usize = 0;
    let a: u32;
    if (m >= 0xc0) {
      a = reg32(<i32>(m & 7));
      fastLen = 1;
    } else {
      if (!fastMemOperand(p, m, true)) return 0;
      h = tlbHost32(fastLin, true);
      if (h == 0) return 0;
      a = load<u32>(h);
    }
    const r = sub == 2 ? ~a : neg(2, a);
    if (h != 0) store<u32>(h, r);
    else setReg32(<i32>(m & 7), r);
    if (sub == 3) commitFlags();
    return p + fastLen;
  }
  if (!fastReadE32(p, m)) return 0;
  const src = fastVal;
  if (sub < 2) { // TEST Ev, imm32 (/1 is an alias of /0)
    const imm = load<u32>(p + fastLen);
    aluSetFlags(ALU_AND, 2, src, imm, src & imm);
    return p + fastLen + 4;
  }
  if (sub == 4) mul(2, src);
  else if (sub == 5) imul1(2, src);
  else if (!divide(sub == 7, 2, src)) return 0;
  return p + fastLen;
}

/** FF group 5, 32-bit: INC/DEC Ev, CALL and JMP near Ev, PUSH Ev (the far forms: not here). */
@inline export function fastGroup5(p: usize): usize {
  const m = <u32>load<u8>(p);
  const sub = (m >> 3) & 7;
  if (sub < 2) { // INC / DEC: read-modify-write
    if (m >= 0xc0) {
      const e = <i32>(m & 7);
      setReg32(e, incDecNow(sub == 1, 2, reg32(e)));
      return p + 1;
    }
    if (!fastMemOperand(p, m, true)) return 0;
    const h = tlbHost32(fastLin, true);
    if (h == 0) return 0;
    store<u32>(h, incDecNow(sub == 1, 2, load<u32>(h)));
    return p + fastLen;
  }
  if (sub == 3 || sub == 5 || sub == 7) return 0;
  if (!fastReadE32(p, m)) return 0;
  const v = fastVal;
  if (sub == 4) return jumpTo(v); // JMP near Ev
  // CALL near Ev pushes the return address, PUSH Ev the operand (read before ESP moves).
  const h = stackHost(<u32>-4, true);
  if (h == 0) return 0;
  const next = p + fastLen;
  store<u32>(h, sub == 2 ? eipAt(next) : v);
  setReg32(4, reg32(4) - 4);
  return sub == 2 ? jumpTo(v) : next;
}

/** MOV Ew, Gw after an operand-size prefix (`p` at the ModRM byte). */
@inline export function fastMovEwGw(p: usize): usize {
  const m = <u32>load<u8>(p);
  const g = <i32>((m >> 3) & 7);
  if (m >= 0xc0) {
    setReg16(<i32>(m & 7), reg16(g));
    return p + 1;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost16(fastLin, true);
  if (h == 0) return 0;
  store<u16>(h, <u16>reg16(g));
  return p + fastLen;
}

/** MOV Gw, Ew after an operand-size prefix. */
@inline export function fastMovGwEw(p: usize): usize {
  const m = <u32>load<u8>(p);
  const g = <i32>((m >> 3) & 7);
  if (m >= 0xc0) {
    setReg16(g, reg16(<i32>(m & 7)));
    return p + 1;
  }
  if (!fastMemOperand(p, m, false)) return 0;
  const h = tlbHost16(fastLin, false);
  if (h == 0) return 0;
  setReg16(g, <u32>load<u16>(h));
  return p + fastLen;
}

/** MOV Ew, imm16 after an operand-size prefix. */
@inline export function fastMovEwIw(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (((m >> 3) & 7) != 0) return 0;
  if (m >= 0xc0) {
    setReg16(<i32>(m & 7), <u32>load<u16>(p + 1));
    return p + 3;
  }
  if (!fastMemOperand(p, m, true)) return 0;
  const h = tlbHost16(fastLin, true);
  if (h == 0) return 0;
  store<u16>(h, load<u16>(p + fastLen));
  return p + fastLen + 2;
}

/** Shift group Ew, imm8, register form, after an operand-size prefix. */
@inline export function fastShiftReg16Imm(p: usize): usize {
  const m = <u32>load<u8>(p);
  if (m < 0xc0) return 0;
  const e = <i32>(m & 7);
  setReg16(e, shift(<i32>((m >> 3) & 7), 1, reg16(e), <u32>load<u8>(p + 1)));
  commitShiftFlags();
  return p + 2;
}
