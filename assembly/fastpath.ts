// The hot path, inlined into the run loop: the unprefixed 32-bit instructions that make up
// most of compiled code (register ALU ops, MOV/MOVZX/LEA with a register or flat memory operand,
// MOV r32, imm32, CMP on bytes, INC/DEC, PUSH/POP, CALL/RET/JMP/Jcc, shifts by an immediate,
// SHLD/SHRD on registers, BSF/BSR, MUL/IMUL/DIV/IDIV). Measured in V8, the call into execute()
// costs more than one of these instructions' work, so they skip it: on the cpu-bound guest 37
// thousand of 331 million instructions leave the loop. Anything unusual (another form, a
// prefix, 16-bit code, a non-flat segment, a TLB miss, a #DE to raise) returns 0 before
// consuming a byte or changing state, and execute() does the full job.

import { SEG_DS, SEG_SS, TLB_BASE } from "./layout";
import * as cpu from "./cpu";
import { reg32, setReg32, reg16, setReg16, reg8, setReg8 } from "./cpu";
import { shift, shiftDouble, commitShiftFlags } from "./ops/shift";
import { bitScan } from "./ops/bits";
import { imulTrunc, mul, imul1 } from "./ops/muldiv";
import { testCondition, setSzpFlags } from "./flags";
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

/** The value read from a 32-bit r/m operand: fastReadE32 sets it. */
let fastVal: u32 = 0;

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

/**
 * Execute `op`, whose remaining bytes start at `p`, on the fast path. Returns the address of
 * the next instruction, or 0 if not handled (nothing consumed, nothing changed).
 */
@inline export function fastStep(op: u32, p: usize): usize {
  // Only called while cpu.fastDecode holds: no prefixes, 32-bit operand and address size.
  switch (op) {
    // ALU Ev,Gv / Gv,Ev: one case per operation, so that its switches fold away where inlined.
    case 0x01: return fastAlu32(p, ALU_ADD, true);
    case 0x03: return fastAlu32(p, ALU_ADD, false);
    case 0x09: return fastAlu32(p, ALU_OR, true);
    case 0x0b: return fastAlu32(p, ALU_OR, false);
    case 0x11: return fastAlu32(p, ALU_ADC, true);
    case 0x13: return fastAlu32(p, ALU_ADC, false);
    case 0x19: return fastAlu32(p, ALU_SBB, true);
    case 0x1b: return fastAlu32(p, ALU_SBB, false);
    case 0x21: return fastAlu32(p, ALU_AND, true);
    case 0x23: return fastAlu32(p, ALU_AND, false);
    case 0x29: return fastAlu32(p, ALU_SUB, true);
    case 0x2b: return fastAlu32(p, ALU_SUB, false);
    case 0x31: return fastAlu32(p, ALU_XOR, true);
    case 0x33: return fastAlu32(p, ALU_XOR, false);
    case 0x39: return fastAlu32(p, ALU_CMP, true);
    case 0x3b: return fastAlu32(p, ALU_CMP, false);
    case 0x89: { // MOV Ev, Gv
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
    case 0x8b: { // MOV Gv, Ev
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
    case 0x83: case 0x81: { // group 1 Ev, imm8 (sign-extended) / imm32, register form
      const m = <u32>load<u8>(p);
      if (m < 0xc0) return 0;
      const b = op == 0x83 ? <u32>(<i32>load<i8>(p + 1)) : load<u32>(p + 1);
      aluRegImm32(<i32>((m >> 3) & 7), <i32>(m & 7), b);
      return p + (op == 0x83 ? 2 : 5);
    }
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: // ALU eAX, imm32
      aluRegImm32(<i32>(op >> 3) & 7, 0, load<u32>(p));
      return p + 4;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57: { // PUSH r32
      const h = stackHost(<u32>-4, true);
      if (h == 0) return 0;
      store<u32>(h, reg32(<i32>op & 7));
      setReg32(4, reg32(4) - 4);
      return p;
    }
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: { // POP r32
      const h = stackHost(0, false);
      if (h == 0) return 0;
      setReg32(4, reg32(4) + 4);
      setReg32(<i32>op & 7, load<u32>(h)); // POP ESP loads the popped value last
      return p;
    }
    case 0xe8: { // CALL rel32
      const h = stackHost(<u32>-4, true);
      if (h == 0) return 0;
      store<u32>(h, eipAt(p + 4));
      setReg32(4, reg32(4) - 4);
      return jumpRel(p + 4, load<u32>(p));
    }
    case 0xc3: { // RET
      const h = stackHost(0, false);
      if (h == 0) return 0;
      setReg32(4, reg32(4) + 4);
      return jumpTo(load<u32>(h));
    }
    case 0x0f: return fastTwoByte(p);
    case 0x8d: { // LEA Gv, M: the offset, no access (the register form is #UD: execute() raises it)
      const m = <u32>load<u8>(p);
      if (m >= 0xc0 || !fastMemOperand(p, m, false)) return 0;
      setReg32(<i32>((m >> 3) & 7), fastLin);
      return p + fastLen;
    }
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf: // MOV r32, imm32
      setReg32(<i32>(op - 0xb8), load<u32>(p));
      return p + 4;
    case 0x90: // NOP
      return p;
    case 0xeb: // JMP rel8
      return jumpRel(p + 1, <u32>(<i32>load<i8>(p)));
    case 0xe9: // JMP rel32
      return jumpRel(p + 4, load<u32>(p));
    case 0x88: { // MOV Eb, Gb
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
    case 0x8a: { // MOV Gb, Eb
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
    case 0xc6: { // MOV Eb, imm8
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
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30:
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: { // ALU Eb,Gb / Gb,Eb, registers
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
    case 0x38: case 0x3a: { // CMP Eb,Gb / Gb,Eb
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
      aluSetFlags(ALU_CMP, 0, a, b, (a - b) & 0xff);
      return p + fastLen;
    }
    case 0x80: { // group 1 Eb, imm8: any op on a register, CMP on memory
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
      aluSetFlags(ALU_CMP, 0, a, b, (a - b) & 0xff);
      return p + fastLen + 1;
    }
    case 0xd1: case 0xd3: { // shift group Ev, 1 / CL, register form
      const m = <u32>load<u8>(p);
      if (m < 0xc0) return 0;
      shiftReg32(<i32>((m >> 3) & 7), <i32>(m & 7), op == 0xd1 ? 1 : reg8(1));
      return p + 1;
    }
    case 0x69: case 0x6b: { // IMUL Gv, Ev, imm32 / imm8
      const m = <u32>load<u8>(p);
      let a: u32;
      let len: u32 = 1;
      if (m >= 0xc0) a = reg32(<i32>(m & 7));
      else {
        if (!fastMemOperand(p, m, false)) return 0;
        const h = tlbHost32(fastLin, false);
        if (h == 0) return 0;
        a = load<u32>(h);
        len = fastLen;
      }
      const b = op == 0x6b ? <u32>(<i32>load<i8>(p + len)) : load<u32>(p + len);
      setReg32(<i32>((m >> 3) & 7), imulTrunc(2, a, b));
      return p + len + (op == 0x6b ? 1 : 4);
    }
    case 0xc1: { // shift group Ev, imm8, register form
      const m = <u32>load<u8>(p);
      if (m < 0xc0) return 0;
      shiftReg32(<i32>((m >> 3) & 7), <i32>(m & 7), <u32>load<u8>(p + 1));
      return p + 2;
    }
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const r = <i32>op & 7;
      setReg32(r, incDecNow(op >= 0x48, 2, reg32(r)));
      return p;
    }
    // Jcc rel8: one case per condition, so that testCondition folds to its one test.
    case 0x70: return jcc(p, 0, 1);
    case 0x71: return jcc(p, 1, 1);
    case 0x72: return jcc(p, 2, 1);
    case 0x73: return jcc(p, 3, 1);
    case 0x74: return jcc(p, 4, 1);
    case 0x75: return jcc(p, 5, 1);
    case 0x76: return jcc(p, 6, 1);
    case 0x77: return jcc(p, 7, 1);
    case 0x78: return jcc(p, 8, 1);
    case 0x79: return jcc(p, 9, 1);
    case 0x7a: return jcc(p, 10, 1);
    case 0x7b: return jcc(p, 11, 1);
    case 0x7c: return jcc(p, 12, 1);
    case 0x7d: return jcc(p, 13, 1);
    case 0x7e: return jcc(p, 14, 1);
    case 0x7f: return jcc(p, 15, 1);
    case 0x85: { // TEST Ev, Gv
      const m = <u32>load<u8>(p);
      if (!fastReadE32(p, m)) return 0;
      const a = fastVal;
      const b = reg32(<i32>((m >> 3) & 7));
      aluSetFlags(ALU_AND, 2, a, b, a & b);
      return p + fastLen;
    }
    case 0x84: { // TEST Eb, Gb
      const m = <u32>load<u8>(p);
      if (!fastReadE8(p, m)) return 0;
      const a = fastVal;
      const b = reg8(<i32>((m >> 3) & 7));
      aluSetFlags(ALU_AND, 0, a, b, a & b);
      return p + fastLen;
    }
    case 0xc7: { // MOV Ev, imm32
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
    case 0xf7: return fastGroup3(p);
    case 0xff: return fastGroup5(p);
    case 0x66: return fastOperandSize16(p);
    default:
      return 0;
  }
}

/** The two-byte opcodes (0F xx, `p` at the second byte) the fast path takes. */
@inline function fastTwoByte(p: usize): usize {
  const op2 = <u32>load<u8>(p);
  switch (op2) {
    // Jcc rel32: one case per condition, so that testCondition folds to its one test.
    case 0x80: return jcc(p + 1, 0, 4);
    case 0x81: return jcc(p + 1, 1, 4);
    case 0x82: return jcc(p + 1, 2, 4);
    case 0x83: return jcc(p + 1, 3, 4);
    case 0x84: return jcc(p + 1, 4, 4);
    case 0x85: return jcc(p + 1, 5, 4);
    case 0x86: return jcc(p + 1, 6, 4);
    case 0x87: return jcc(p + 1, 7, 4);
    case 0x88: return jcc(p + 1, 8, 4);
    case 0x89: return jcc(p + 1, 9, 4);
    case 0x8a: return jcc(p + 1, 10, 4);
    case 0x8b: return jcc(p + 1, 11, 4);
    case 0x8c: return jcc(p + 1, 12, 4);
    case 0x8d: return jcc(p + 1, 13, 4);
    case 0x8e: return jcc(p + 1, 14, 4);
    case 0x8f: return jcc(p + 1, 15, 4);
    case 0xaf: { // IMUL Gv, Ev
      const m = <u32>load<u8>(p + 1);
      let b: u32;
      let len: u32 = 1;
      if (m >= 0xc0) b = reg32(<i32>(m & 7));
      else {
        if (!fastMemOperand(p + 1, m, false)) return 0;
        const h = tlbHost32(fastLin, false);
        if (h == 0) return 0;
        b = load<u32>(h);
        len = fastLen;
      }
      const g = <i32>((m >> 3) & 7);
      setReg32(g, imulTrunc(2, reg32(g), b));
      return p + 1 + len;
    }
    case 0xa4: case 0xac: { // SHLD/SHRD Ev, Gv, imm8, register form
      const m = <u32>load<u8>(p + 1);
      if (m < 0xc0) return 0;
      const e = <i32>(m & 7);
      setReg32(e, shiftDouble(op2 == 0xa4, 2, reg32(e), reg32(<i32>((m >> 3) & 7)), <u32>load<u8>(p + 2)));
      commitShiftFlags();
      return p + 3;
    }
    case 0xbc: case 0xbd: { // BSF/BSR Gv, Ev
      const m = <u32>load<u8>(p + 1);
      if (!fastReadE32(p + 1, m)) return 0;
      bitScan(op2 == 0xbd, 2, fastVal, <i32>((m >> 3) & 7));
      return p + 1 + fastLen;
    }
    case 0xb7: { // MOVZX Gv, Ew
      const m = <u32>load<u8>(p + 1);
      const g = <i32>((m >> 3) & 7);
      if (m >= 0xc0) {
        setReg32(g, reg32(<i32>(m & 7)) & 0xffff);
        return p + 2;
      }
      if (!fastMemOperand(p + 1, m, false)) return 0;
      const h = tlbHost16(fastLin, false);
      if (h == 0) return 0;
      setReg32(g, <u32>load<u16>(h));
      return p + 1 + fastLen;
    }
    case 0xb6: { // MOVZX Gv, Eb
      const m = <u32>load<u8>(p + 1);
      const g = <i32>((m >> 3) & 7);
      if (m >= 0xc0) {
        setReg32(g, cpu.reg8(<i32>(m & 7)));
        return p + 2;
      }
      if (!fastMemOperand(p + 1, m, false)) return 0;
      const h = tlbHost8(fastLin, false);
      if (h == 0) return 0;
      setReg32(g, <u32>load<u8>(h));
      return p + 1 + fastLen;
    }
    default:
      return 0;
  }
}

/** Jcc with condition `cc` (a constant at each call) and a `size`-byte displacement at `p`. */
@inline function jcc(p: usize, cc: i32, size: u32): usize {
  const next = p + size;
  if (!testCondition(cc)) return next;
  const rel = size == 1 ? <u32>(<i32>load<i8>(p)) : load<u32>(p);
  return jumpRel(next, rel);
}

/**
 * Group-2 operation `sub` on 32-bit register `e` by `count`: SHL/SAL, SHR and SAR inline with
 * the flags shift() gives them; the rotates through shift() itself.
 */
@inline function shiftReg32(sub: i32, e: i32, count: u32): void {
  const c = count & 31;
  if (sub < 4) {
    setReg32(e, shift(sub, 2, reg32(e), c));
    commitShiftFlags();
    return;
  }
  if (c == 0) return; // nothing changes, flags included
  const a = reg32(e);
  let r: u32;
  let cf: bool;
  let ovf: bool;
  if (sub == 5) { // SHR: OF is the operand's sign
    r = a >>> c;
    cf = ((a >>> (c - 1)) & 1) != 0;
    ovf = <i32>a < 0;
  } else if (sub == 7) { // SAR: OF = 0
    r = <u32>(<i32>a >> c);
    cf = ((<i32>a >> (c - 1)) & 1) != 0;
    ovf = false;
  } else { // SHL/SAL: CF is the last bit out, OF is CF != the result's sign
    r = a << c;
    cf = ((a >>> (32 - c)) & 1) != 0;
    ovf = (<i32>r < 0) != cf;
  }
  setReg32(e, r);
  setSzpFlags(2, r, cf, ovf);
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
@inline function fastAlu32(p: usize, aop: i32, toE: bool): usize {
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
@inline function fastGroup3(p: usize): usize {
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
  else if (!fastDivide(sub == 7, src)) return 0;
  return p + fastLen;
}

/**
 * DIV / IDIV of EDX:EAX by `src`, unless it must raise #DE (then false, nothing changed). The
 * flags are kept: the SDM leaves them undefined, and execute()'s div() and idiv() keep them too.
 */
@inline function fastDivide(signed: bool, src: u32): bool {
  if (src == 0) return false;
  const hi = reg32(2);
  const n = (<u64>hi << 32) | <u64>reg32(0);
  if (!signed) {
    if (hi >= src) return false; // the quotient needs more than 32 bits
    setReg32(0, <u32>(n / <u64>src));
    setReg32(2, <u32>(n % <u64>src));
    return true;
  }
  const d = <i64>(<i32>src);
  const sn = <i64>n;
  if (sn == i64.MIN_VALUE && d == -1) return false; // would trap in wasm; #DE on x86
  const q = sn / d;
  if (q > <i64>i32.MAX_VALUE || q < <i64>i32.MIN_VALUE) return false;
  setReg32(0, <u32>q);
  setReg32(2, <u32>(sn % d));
  return true;
}

/** FF group 5, 32-bit: INC/DEC Ev, CALL and JMP near Ev, PUSH Ev (the far forms: not here). */
@inline function fastGroup5(p: usize): usize {
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

/**
 * An operand-size prefix (0x66, at p - 1) before MOV Ew, Gw / MOV Gw, Ew / MOV Ew, imm16 or a
 * register shift by an immediate: compiled code handling 16-bit values.
 */
@inline function fastOperandSize16(p: usize): usize {
  const op = <u32>load<u8>(p);
  const q = p + 1;
  const m = <u32>load<u8>(q);
  const g = <i32>((m >> 3) & 7);
  switch (op) {
    case 0x89: { // MOV Ew, Gw
      if (m >= 0xc0) {
        setReg16(<i32>(m & 7), reg16(g));
        return q + 1;
      }
      if (!fastMemOperand(q, m, true)) return 0;
      const h = tlbHost16(fastLin, true);
      if (h == 0) return 0;
      store<u16>(h, <u16>reg16(g));
      return q + fastLen;
    }
    case 0x8b: { // MOV Gw, Ew
      if (m >= 0xc0) {
        setReg16(g, reg16(<i32>(m & 7)));
        return q + 1;
      }
      if (!fastMemOperand(q, m, false)) return 0;
      const h = tlbHost16(fastLin, false);
      if (h == 0) return 0;
      setReg16(g, <u32>load<u16>(h));
      return q + fastLen;
    }
    case 0xc7: { // MOV Ew, imm16
      if (g != 0) return 0;
      if (m >= 0xc0) {
        setReg16(<i32>(m & 7), <u32>load<u16>(q + 1));
        return q + 3;
      }
      if (!fastMemOperand(q, m, true)) return 0;
      const h = tlbHost16(fastLin, true);
      if (h == 0) return 0;
      store<u16>(h, load<u16>(q + fastLen));
      return q + fastLen + 2;
    }
    case 0xc1: { // shift group Ew, imm8, register form
      if (m < 0xc0) return 0;
      const e = <i32>(m & 7);
      setReg16(e, shift(g, 1, reg16(e), <u32>load<u8>(q + 1)));
      commitShiftFlags();
      return q + 2;
    }
    default:
      return 0;
  }
}
