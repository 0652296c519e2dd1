// x87 FPU state (SDM Vol. 1 §8.1): the register stack, control/status/tag words, the last
// instruction and data pointers. It lives in the state block at FPU_BASE so the host sees it
// and a machine snapshot is a plain copy. The first 32 bytes follow the FXSAVE header layout
// (Vol. 2 FXSAVE, Table 3-53) so FXSAVE/FXRSTOR copy it; the registers are kept in physical
// order R0..R7 (ST(i) = R[(TOP + i) & 7]), 16 bytes apart: the 64-bit significand, then the
// sign and 15-bit exponent.
//
// Tags are kept abridged (one bit per physical register, 1 = not empty, as FXSAVE stores them);
// the full two-bit tag word is computed from the register contents when FSTENV/FSAVE store it,
// which is what the hardware does as well (§8.1.7: FLDENV/FRSTOR only honour "empty").

import { FPU_BASE } from "../layout";
import { EX_IE, EX_SF, INDEF_SIG, INDEF_SE, INT_BIT, signal, exc, roundedUp } from "./float80";

export const FPU_FCW = FPU_BASE + 0x00;
export const FPU_FSW = FPU_BASE + 0x02;
export const FPU_FTW = FPU_BASE + 0x04; // abridged, u8
export const FPU_FOP = FPU_BASE + 0x06;
export const FPU_FIP = FPU_BASE + 0x08;
export const FPU_FCS = FPU_BASE + 0x0c;
export const FPU_FDP = FPU_BASE + 0x10;
export const FPU_FDS = FPU_BASE + 0x14;
export const FPU_MXCSR = FPU_BASE + 0x18;
export const FPU_REGS = FPU_BASE + 0x20;
/** Scratch for FRSTOR/FLDENV/FXRSTOR: the whole image is read here before anything changes. */
export const FPU_SCRATCH = FPU_BASE + 0x100;
export const FPU_SCRATCH_SIZE = 0x100;

// Status word bits (§8.1.3).
export const SW_ES: u32 = 0x0080;
export const SW_C0: u32 = 0x0100;
export const SW_C1: u32 = 0x0200;
export const SW_C2: u32 = 0x0400;
export const SW_C3: u32 = 0x4000;
export const SW_B: u32 = 0x8000;
export const SW_CC: u32 = SW_C0 | SW_C1 | SW_C2 | SW_C3;

@inline export function fcw(): u32 {
  return load<u16>(FPU_FCW);
}
@inline export function fsw(): u32 {
  return load<u16>(FPU_FSW);
}
@inline export function setFsw(v: u32): void {
  store<u16>(FPU_FSW, <u16>v);
}
@inline export function top(): i32 {
  return <i32>((load<u16>(FPU_FSW) >> 11) & 7);
}
@inline export function setTop(t: i32): void {
  store<u16>(FPU_FSW, <u16>((load<u16>(FPU_FSW) & ~0x3800) | ((t & 7) << 11)));
}
/** Physical register number of ST(i). */
@inline export function phys(i: i32): i32 {
  return (top() + i) & 7;
}
@inline export function physEmpty(p: i32): bool {
  return ((load<u8>(FPU_FTW) >> p) & 1) == 0;
}
@inline export function stEmpty(i: i32): bool {
  return physEmpty(phys(i));
}
@inline export function physSig(p: i32): u64 {
  return load<u64>(FPU_REGS + (p << 4));
}
@inline export function physSE(p: i32): u32 {
  return load<u16>(FPU_REGS + (p << 4) + 8);
}
@inline export function stSig(i: i32): u64 {
  return physSig(phys(i));
}
@inline export function stSE(i: i32): u32 {
  return physSE(phys(i));
}
export function setPhys(p: i32, sig: u64, se: u32): void {
  store<u64>(FPU_REGS + (p << 4), sig);
  store<u16>(FPU_REGS + (p << 4) + 8, <u16>se);
  store<u8>(FPU_FTW, <u8>(<u32>load<u8>(FPU_FTW) | (<u32>1 << <u32>p)));
}
@inline export function setSt(i: i32, sig: u64, se: u32): void {
  setPhys(phys(i), sig, se);
}
export function freePhys(p: i32): void {
  store<u8>(FPU_FTW, <u8>(<u32>load<u8>(FPU_FTW) & ~(<u32>1 << <u32>p)));
}
/** Pop: mark ST(0) empty and increment TOP. */
export function pop(): void {
  freePhys(top());
  setTop(top() + 1);
}
/** Push (the caller has checked ST(7) is empty or handled the overflow). */
export function push(sig: u64, se: u32): void {
  const t = (top() - 1) & 7;
  setTop(t);
  setPhys(t, sig, se);
}

// ---- condition codes and exceptions -----------------------------------------------------------
/** Set C3..C0 bits under `mask` to `bits`. */
@inline export function setCC(mask: u32, bits: u32): void {
  setFsw((fsw() & ~mask) | (bits & mask));
}

/**
 * Stack underflow (§8.5.1.1): a source register is empty. IE + SF with C1 = 0. Returns true if
 * the masked response (the indefinite as the result) may go ahead.
 */
export function stackUnderflow(): bool {
  setCC(SW_C1, 0);
  return !signal(EX_IE | EX_SF);
}
/** Stack overflow: a push onto a non-empty ST(7). IE + SF with C1 = 1. */
export function stackOverflow(): bool {
  return !signal(EX_IE | EX_SF);
}

/**
 * End of an arithmetic instruction: fold the exceptions it detected into FSW, with ES and B
 * set when any of them is unmasked (§8.1.3.1, §8.5: the #MF then comes at the next waiting
 * x87 instruction). C1 reports the rounding direction unless a stack fault set it.
 */
export function commitExceptions(setC1FromRounding: bool): void {
  let sw = fsw() | exc;
  if ((exc & EX_SF) == 0 && setC1FromRounding) sw = roundedUp ? sw | SW_C1 : sw & ~SW_C1;
  else if ((exc & EX_SF) != 0) {
    // C1 already holds overflow (1) / underflow (0) from the stack fault.
  }
  if ((sw & ~fcw() & 0x3f) != 0) sw |= SW_ES | SW_B;
  setFsw(sw);
}
/** Recompute ES/B after the control word or status word was loaded (FLDCW, FLDENV, FRSTOR). */
export function recomputeES(): void {
  let sw = fsw() & ~(SW_ES | SW_B);
  if ((sw & ~fcw() & 0x3f) != 0) sw |= SW_ES | SW_B;
  setFsw(sw);
}

/** FNINIT (Vol. 2 FINIT): CW 037F, SW 0, all tags empty, pointers and opcode cleared. */
export function fpuInit(): void {
  store<u16>(FPU_FCW, 0x037f);
  store<u16>(FPU_FSW, 0);
  store<u8>(FPU_FTW, 0);
  store<u16>(FPU_FOP, 0);
  store<u32>(FPU_FIP, 0);
  store<u32>(FPU_FCS, 0);
  store<u32>(FPU_FDP, 0);
  store<u32>(FPU_FDS, 0);
  store<u32>(FPU_MXCSR, 0x1f80);
}

/** The full tag of physical register p (§8.1.7): 0 valid, 1 zero, 2 special, 3 empty. */
export function fullTag(p: i32): u32 {
  if (physEmpty(p)) return 3;
  const se = physSE(p) & 0x7fff;
  const sig = physSig(p);
  if (se == 0x7fff) return 2;
  if (se == 0) return sig == 0 ? 1 : 2;
  return (sig & INT_BIT) != 0 ? 0 : 2;
}
export function fullTagWord(): u32 {
  let tw: u32 = 0;
  for (let p = 0; p < 8; p++) tw |= fullTag(p) << (p << 1);
  return tw;
}
/** Load the abridged tags from a full tag word: only "empty" (11) is honoured. */
export function setTagWord(tw: u32): void {
  let t: u32 = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (p << 1)) & 3) != 3) t |= 1 << p;
  store<u8>(FPU_FTW, <u8>t);
}

@inline export function indefSig(): u64 {
  return INDEF_SIG;
}
@inline export function indefSE(): u32 {
  return INDEF_SE;
}
