// The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP), INC/DEC, NEG/NOT, TEST:
// one generic body per operation, parameterized by operand size. Flags are recorded lazily,
// and only after the destination has been written, so a faulting write leaves EFLAGS as it was.

import { sizeMask } from "../cpu";
import * as fl from "../flags";
import { getCF, carry, setLazy, LAZY_ADD, LAZY_ADC, LAZY_SUB, LAZY_SBB, LAZY_LOGIC, LAZY_INC, LAZY_DEC, FLAG_CF } from "../flags";

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;

// The lazy-flag record of the operation just computed, committed by commitFlags().
let pKind: i32 = 0;
let pSize: i32 = 0;
let pOp1: u32 = 0;
let pOp2: u32 = 0;
let pResult: u32 = 0;

@inline function pend(kind: i32, sz: i32, a: u32, b: u32, r: u32): void {
  pKind = kind;
  pSize = sz;
  pOp1 = a;
  pOp2 = b;
  pResult = r;
}

/** Record the flags of the last computed operation (call once its result is stored). */
@inline export function commitFlags(): void {
  setLazy(pKind, pSize, pOp1, pOp2, pResult);
}

/**
 * The result of ALU operation `op` (a compile-time constant where this is inlined), with no
 * side effects: ADC/SBB read CF, which stays unchanged until aluSetFlags.
 */
@inline export function aluResult(op: i32, sz: i32, a: u32, b: u32): u32 {
  const m = sizeMask(sz);
  switch (op) {
    case ALU_ADD: return (a + b) & m;
    case ALU_OR: return (a | b) & m;
    case ALU_ADC: return (a + b + (carry() ? 1 : 0)) & m;
    case ALU_SBB: return (a - b - (carry() ? 1 : 0)) & m;
    case ALU_AND: return (a & b) & m;
    case ALU_XOR: return (a ^ b) & m;
    default: return (a - b) & m;
  }
}

/** Record the flags of `r = a op b` (after the destination has been written). */
@inline export function aluSetFlags(op: i32, sz: i32, a: u32, b: u32, r: u32): void {
  switch (op) {
    case ALU_ADD: setLazy(LAZY_ADD, sz, a, b, r); break;
    case ALU_ADC: setLazy(carry() ? LAZY_ADC : LAZY_ADD, sz, a, b, r); break;
    case ALU_SBB: setLazy(carry() ? LAZY_SBB : LAZY_SUB, sz, a, b, r); break;
    case ALU_SUB: case ALU_CMP: setLazy(LAZY_SUB, sz, a, b, r); break;
    default: setLazy(LAZY_LOGIC, sz, a, b, r); break;
  }
}

/** Compute ALU operation `op` (0–7, the opcode's reg field) on operands of size sz. */
export function alu(op: i32, sz: i32, a: u32, b: u32): u32 {
  const m = sizeMask(sz);
  a &= m;
  b &= m;
  let r: u32;
  switch (op) {
    case ALU_ADD:
      r = (a + b) & m;
      pend(LAZY_ADD, sz, a, b, r);
      break;
    case ALU_OR:
      r = a | b;
      pend(LAZY_LOGIC, sz, a, b, r);
      break;
    case ALU_ADC: {
      const c: u32 = getCF() ? 1 : 0;
      r = (a + b + c) & m;
      pend(c ? LAZY_ADC : LAZY_ADD, sz, a, b, r);
      break;
    }
    case ALU_SBB: {
      const c: u32 = getCF() ? 1 : 0;
      r = (a - b - c) & m;
      pend(c ? LAZY_SBB : LAZY_SUB, sz, a, b, r);
      break;
    }
    case ALU_AND:
      r = a & b;
      pend(LAZY_LOGIC, sz, a, b, r);
      break;
    case ALU_XOR:
      r = a ^ b;
      pend(LAZY_LOGIC, sz, a, b, r);
      break;
    default: // SUB, CMP
      r = (a - b) & m;
      pend(LAZY_SUB, sz, a, b, r);
      break;
  }
  return r;
}

/** INC and DEC keep CF: fold it into EFLAGS before the lazy record replaces the rest. */
@inline export function incDec(dec: bool, sz: i32, a: u32): u32 {
  const m = sizeMask(sz);
  a &= m;
  const r = (dec ? a - 1 : a + 1) & m;
  pend(dec ? LAZY_DEC : LAZY_INC, sz, a, 1, r);
  return r;
}

/** Commit INC/DEC flags: CF comes from before the instruction. */
@inline export function commitIncDecFlags(): void {
  keepCarryForIncDec();
  commitFlags();
}

/**
 * INC/DEC with its flags recorded at once, for a destination whose write cannot fault (a
 * register, or memory the fast path has already checked): no pending record in between.
 */
@inline export function incDecNow(dec: bool, sz: i32, a: u32): u32 {
  const m = sizeMask(sz);
  a &= m;
  const r = (dec ? a - 1 : a + 1) & m;
  keepCarryForIncDec();
  setLazy(dec ? LAZY_DEC : LAZY_INC, sz, a, 1, r);
  return r;
}

/** INC/DEC keep CF: save it before their lazy record replaces the one it derives from. */
@inline function keepCarryForIncDec(): void {
  // Back-to-back INC/DEC (loop counters) already hold the carry to keep.
  const k = fl.lazyKind();
  if (k != LAZY_INC && k != LAZY_DEC) fl.lazyCarry = carry();
}

export function neg(sz: i32, a: u32): u32 {
  const m = sizeMask(sz);
  a &= m;
  const r = (0 - a) & m;
  pend(LAZY_SUB, sz, 0, a, r);
  return r;
}
