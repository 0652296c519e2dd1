// The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP), INC/DEC, NEG/NOT, TEST:
// one generic body per operation, parameterized by operand size. Flags are recorded lazily,
// and only after the destination has been written, so a faulting write leaves EFLAGS as it was.

import { sizeMask } from "../cpu";
import * as fl from "../flags";
import { carry, setLazy, LAZY_ADD, LAZY_ADC, LAZY_SUB, LAZY_SBB, LAZY_LOGIC, LAZY_INC, LAZY_DEC } from "../flags";

import { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP } from "./alu-numbers";
export { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

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

/**
 * The lazy-flag kind of `r = a op b`: ADC and SBB read CF, which is still the one before the
 * operation (a carry-in of 0 makes them ADD and SUB).
 */
@inline function aluKind(op: i32): i32 {
  switch (op) {
    case ALU_ADD: return LAZY_ADD;
    case ALU_ADC: return carry() ? LAZY_ADC : LAZY_ADD;
    case ALU_SBB: return carry() ? LAZY_SBB : LAZY_SUB;
    case ALU_SUB: case ALU_CMP: return LAZY_SUB;
    default: return LAZY_LOGIC;
  }
}

/** Record the flags of `r = a op b` (after the destination has been written). */
@inline export function aluSetFlags(op: i32, sz: i32, a: u32, b: u32, r: u32): void {
  setLazy(aluKind(op), sz, a, b, r);
}

/**
 * ALU operation `op` (0–7, the opcode's reg field) on operands of size sz: aluResult, with the
 * flags pending until commitFlags() (for a destination whose write may still fault).
 */
export function alu(op: i32, sz: i32, a: u32, b: u32): u32 {
  const m = sizeMask(sz);
  a &= m;
  b &= m;
  const r = aluResult(op, sz, a, b);
  pend(aluKind(op), sz, a, b, r);
  return r;
}

/** INC and DEC keep CF: fold it into EFLAGS before the lazy record replaces the rest. */
@inline export function incDec(dec: bool, sz: i32, a: u32): u32 {
  a &= sizeMask(sz);
  const r = incDecResult(dec, sz, a);
  pend(dec ? LAZY_DEC : LAZY_INC, sz, a, 1, r);
  return r;
}

/** The one body of INC and DEC: a ± 1 within the operand size. */
@inline function incDecResult(dec: bool, sz: i32, a: u32): u32 {
  return (dec ? a - 1 : a + 1) & sizeMask(sz);
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
  a &= sizeMask(sz);
  const r = incDecResult(dec, sz, a);
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
