// EFLAGS with lazy arithmetic flags, since most flag results are never read: an arithmetic
// instruction records its kind, operands and result; CF/PF/AF/ZF/SF/OF are computed only when
// something reads them.

import * as cpu from "./cpu";
import { sizeMask, signBit, protectedMode } from "./cpu";
import { vmiActive, virtualIf, setVirtualIf } from "./vmi";

export const FLAG_CF: u32 = 0x1;
export const FLAG_PF: u32 = 0x4;
export const FLAG_AF: u32 = 0x10;
export const FLAG_ZF: u32 = 0x40;
export const FLAG_SF: u32 = 0x80;
export const FLAG_TF: u32 = 0x100;
export const FLAG_IF: u32 = 0x200;
export const FLAG_DF: u32 = 0x400;
export const FLAG_OF: u32 = 0x800;
export const FLAG_IOPL: u32 = 0x3000;
export const FLAG_NT: u32 = 0x4000;
export const FLAG_RF: u32 = 0x10000;
export const FLAG_VM: u32 = 0x20000;
export const FLAG_AC: u32 = 0x40000;
export const FLAG_VIF: u32 = 0x80000;
export const FLAG_VIP: u32 = 0x100000;
export const FLAG_ID: u32 = 0x200000;

/** Virtual-8086 mode (SDM Vol. 3 ch. 20): EFLAGS.VM. Only slow paths ask. */
@inline export function v86Mode(): bool {
  return (flags & FLAG_VM) != 0;
}
/** Segment registers load as in real mode: real mode, or virtual-8086 mode (SDM Vol. 3 §20.1.1). */
@inline export function realSegments(): bool {
  return !protectedMode() || v86Mode();
}
export const FLAGS_ARITH: u32 = FLAG_CF | FLAG_PF | FLAG_AF | FLAG_ZF | FLAG_SF | FLAG_OF;
/** Bit 1 always reads as one. */
export const FLAGS_FIXED: u32 = 0x2;

// Lazy kinds. The size index (0..2) is kept separately.
export const LAZY_NONE: i32 = 0;
export const LAZY_ADD: i32 = 1; // also ADC with carry-in 0
export const LAZY_ADC: i32 = 2; // ADC with carry-in 1
export const LAZY_SUB: i32 = 3; // also SBB with borrow-in 0, CMP, NEG (op1 = 0)
export const LAZY_SBB: i32 = 4; // SBB with borrow-in 1
export const LAZY_LOGIC: i32 = 5; // CF = OF = 0, AF = 0
export const LAZY_INC: i32 = 6; // ADD of 1, CF kept in `flags`
export const LAZY_DEC: i32 = 7; // SUB of 1, CF kept in `flags`
/** Shifts, SHLD/SHRD, MUL/IMUL: CF and OF are already in `flags`, ZF/SF/PF come from the result, AF = 0. */
export const LAZY_SZP: i32 = 8;

/** EFLAGS; while the lazy kind is not LAZY_NONE its arithmetic bits are stale (except CF for INC/DEC). */
export let flags: u32 = FLAGS_FIXED;
/**
 * The lazy record's kind and operand size in one value, kind << 2 | size: an arithmetic
 * instruction records both with one store, and a condition tests both with one compare.
 */
export let lazyKindSize: i32 = LAZY_NONE << 2;
/** The lazy record's kind (LAZY_*). */
@inline export function lazyKind(): i32 {
  return lazyKindSize >> 2;
}
/** The lazy record's operand size index. */
@inline export function lazySize(): i32 {
  return lazyKindSize & 3;
}
/** Forget the lazy record: `flags` holds every arithmetic flag. */
@inline export function clearLazy(): void {
  lazyKindSize = LAZY_NONE << 2;
}
export let lazyOp1: u32 = 0;
export let lazyOp2: u32 = 0;
export let lazyResult: u32 = 0;
/** CF as it was before an INC/DEC (which keep it). */
export let lazyCarry: bool = false;

@inline export function setLazy(kind: i32, sz: i32, op1: u32, op2: u32, result: u32): void {
  lazyKindSize = (kind << 2) | sz;
  lazyOp1 = op1;
  lazyOp2 = op2;
  lazyResult = result;
}

export function getCF(): bool {
  const k = lazyKind();
  if (k == LAZY_NONE || k == LAZY_SZP) return (flags & FLAG_CF) != 0;
  if (k == LAZY_INC || k == LAZY_DEC) return lazyCarry;
  const m = sizeMask(lazySize());
  const r = lazyResult & m;
  const a = lazyOp1 & m;
  switch (k) {
    case LAZY_ADD:
      return r < a;
    case LAZY_ADC:
      return r <= a;
    case LAZY_SUB:
      return a < (lazyOp2 & m);
    case LAZY_SBB:
      return a <= (lazyOp2 & m);
    default:
      return false;
  }
}

/** getCF with the commonest kinds tested inline: from the run loop a call costs more than this. */
@inline export function carry(): bool {
  const k = lazyKind();
  if (lazyKindSize == ((LAZY_SUB << 2) | 2)) return lazyOp1 < lazyOp2;
  if (k == LAZY_LOGIC) return false;
  if (k == LAZY_NONE || k == LAZY_SZP) return (flags & FLAG_CF) != 0;
  return getCF();
}

@inline export function getZF(): bool {
  if (lazyKindSize == LAZY_NONE << 2) return (flags & FLAG_ZF) != 0;
  return (lazyResult & sizeMask(lazySize())) == 0;
}

@inline export function getSF(): bool {
  if (lazyKindSize == LAZY_NONE << 2) return (flags & FLAG_SF) != 0;
  return (lazyResult & signBit(lazySize())) != 0;
}

@inline export function getPF(): bool {
  if (lazyKindSize == LAZY_NONE << 2) return (flags & FLAG_PF) != 0;
  return (popcnt<u32>(lazyResult & 0xff) & 1) == 0;
}

export function getOF(): bool {
  const k = lazyKind();
  if (k == LAZY_NONE || k == LAZY_SZP) return (flags & FLAG_OF) != 0;
  const s = signBit(lazySize());
  const a = lazyOp1;
  const b = lazyOp2;
  const r = lazyResult;
  switch (k) {
    case LAZY_ADD:
    case LAZY_ADC:
    case LAZY_INC:
      return ((a ^ r) & (b ^ r) & s) != 0;
    case LAZY_SUB:
    case LAZY_SBB:
    case LAZY_DEC:
      return ((a ^ b) & (a ^ r) & s) != 0;
    default:
      return false;
  }
}

export function getAF(): bool {
  const k = lazyKind();
  if (k == LAZY_NONE) return (flags & FLAG_AF) != 0;
  if (k == LAZY_LOGIC || k == LAZY_SZP) return false;
  return ((lazyOp1 ^ lazyOp2 ^ lazyResult) & 0x10) != 0;
}

/** Fold the lazy flags into `flags` and return the full EFLAGS value. */
export function readFlags(): u32 {
  syncVirtualIf();
  if (lazyKindSize != LAZY_NONE << 2) {
    let f = flags & ~FLAGS_ARITH;
    if (getCF()) f |= FLAG_CF;
    if (getPF()) f |= FLAG_PF;
    if (getAF()) f |= FLAG_AF;
    if (getZF()) f |= FLAG_ZF;
    if (getSF()) f |= FLAG_SF;
    if (getOF()) f |= FLAG_OF;
    flags = f;
    clearLazy();
  }
  return flags;
}

/** Replace EFLAGS bits under `mask` with `value` (mask says which bits this instruction may change). */
export function writeFlags(value: u32, mask: u32): void {
  const f = readFlags();
  flags = ((f & ~mask) | (value & mask) | FLAGS_FIXED) & ~0x8028;
  if (vmiActive()) setVirtualIf((flags & FLAG_IF) != 0);
  // IF, TF or RF becoming set changes what the run loop must do between instructions.
  if ((~f & flags & (FLAG_IF | FLAG_TF | FLAG_RF)) != 0) cpu.attention = true;
}

/**
 * While the VMI ROM is active the shared area's VIF byte is the interrupt flag: the ROM's calls
 * change it without an exit, so IF is brought up to date from it wherever IF is read.
 */
export function syncVirtualIf(): void {
  if (vmiActive()) flags = virtualIf() ? flags | FLAG_IF : flags & ~FLAG_IF;
}

/** Set or clear the arithmetic flags in `bits` (folding lazy state first). */
export function setFlagBits(bits: u32, on: bool): void {
  const f = readFlags();
  flags = on ? f | bits : f & ~bits;
}

/**
 * The flags of a shift or a multiply: CF and OF as computed, ZF/SF/PF left lazy on the result,
 * AF cleared (the SDM leaves AF undefined after a non-zero shift and after MUL/IMUL). All six
 * arithmetic flags are replaced, so the previous lazy state need not be folded.
 */
@inline export function setSzpFlags(sz: i32, result: u32, cf: bool, ovf: bool): void {
  flags = (flags & ~FLAGS_ARITH) | (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
  lazyKindSize = (LAZY_SZP << 2) | sz;
  lazyResult = result;
}

/** Materialize the flags an operation sets eagerly: all six arithmetic flags at once. */
@inline export function setArithFlags(value: u32): void {
  readFlags();
  flags = (flags & ~FLAGS_ARITH) | (value & FLAGS_ARITH);
}

/** PF|ZF|SF for a result of size sz, computed eagerly (shifts, BCD). */
export function szpFlags(result: u32, sz: i32): u32 {
  let f: u32 = 0;
  if ((result & sizeMask(sz)) == 0) f |= FLAG_ZF;
  if ((result & signBit(sz)) != 0) f |= FLAG_SF;
  if ((popcnt<u32>(result & 0xff) & 1) == 0) f |= FLAG_PF;
  return f;
}

/** Evaluate condition code cc (the low nibble of Jcc/SETcc/CMOVcc), SDM Appendix B. */
@inline export function testCondition(cc: i32): bool {
  // Most conditions follow a 32-bit CMP/SUB or a logic op/TEST: then each is one comparison of
  // the recorded operands or result, with no flag derived. (O and P take the general path.)
  const ks = lazyKindSize;
  if (ks == ((LAZY_SUB << 2) | 2) || ks == ((LAZY_LOGIC << 2) | 2)) {
    const t = cc >> 1;
    if (t != 0 && t != 5) {
      const a = lazyOp1;
      const b = lazyOp2;
      const res = lazyResult;
      let q: bool;
      if (ks == ((LAZY_SUB << 2) | 2)) {
        // r = a - b: CF is a < b unsigned, SF != OF is a < b signed.
        q = t == 1 ? a < b : t == 2 ? a == b : t == 3 ? a <= b : t == 4 ? <i32>res < 0 : t == 6 ? <i32>a < <i32>b : <i32>a <= <i32>b;
      } else {
        // CF = OF = 0: B never holds, BE is ZF, L is SF, LE is ZF or SF.
        q = t == 1 ? false : t == 2 || t == 3 ? res == 0 : t == 4 || t == 6 ? <i32>res < 0 : <i32>res <= 0;
      }
      return (cc & 1) != 0 ? !q : q;
    }
  }
  let r: bool;
  switch (cc >> 1) {
    case 0: r = getOF(); break;
    case 1: r = carry(); break;
    case 2: r = getZF(); break;
    case 3: r = carry() || getZF(); break;
    case 4: r = getSF(); break;
    case 5: r = getPF(); break;
    case 6: r = getSF() != getOF(); break;
    default: r = getZF() || getSF() != getOF(); break;
  }
  return (cc & 1) != 0 ? !r : r;
}
