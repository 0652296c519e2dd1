// Raising exceptions: a flag plus an early return, never `throw`, which would abort the module.
// The raised exception waits here until the run loop delivers it (delivery.ts). Everything that
// can fault imports this file, so it imports nothing that does.

import { STATE_CR2 } from "./layout";
import * as cpu from "./cpu";
import { vmiActive, vmiShadowControlRegisters } from "./vmi";

export const EXC_DE = 0;
export const EXC_DB = 1;
export const EXC_NMI = 2;
export const EXC_BP = 3;
export const EXC_OF = 4;
export const EXC_BR = 5;
export const EXC_UD = 6;
export const EXC_NM = 7;
export const EXC_DF = 8;
export const EXC_TS = 10;
export const EXC_NP = 11;
export const EXC_SS = 12;
export const EXC_GP = 13;
export const EXC_PF = 14;
export const EXC_MF = 16;
export const EXC_MC = 18;

/** The exception raised by the current instruction. */
export let excVector: i32 = -1;
export let excError: u32 = 0;
export let excHasError: bool = false;

/** Raise an exception with an error code (pushed for 8, 10–14, 17). The first raise wins. */
export function raise(vector: i32, error: u32): void {
  if (cpu.faulted) return;
  cpu.faulted = true;
  cpu.attention = true;
  excVector = vector;
  excError = error;
  excHasError = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
}

@inline export function raiseUD(): void {
  raise(EXC_UD, 0);
}
@inline export function raiseGP(error: u32): void {
  raise(EXC_GP, error);
}

export function raisePageFault(lin: u32, error: u32): void {
  if (cpu.faulted) return;
  store<u32>(STATE_CR2, lin);
  if (vmiActive()) vmiShadowControlRegisters();
  raise(EXC_PF, error);
}

/**
 * A REP string instruction stopped between iterations to let interrupts in (ops/string.ts's
 * chunks), at this EIP. An interrupt taken there pushes RF = 1 (SDM Vol. 3 §17.3.1.1: "for any
 * interrupt arriving after any iteration of a repeated string instruction but the last"), as
 * the instruction is part done. Any event delivered, or the instruction finishing, ends it.
 */
let repeatPaused: bool = false;
let repeatPausedEip: u32 = 0;

export function pauseRepeat(eip: u32): void {
  repeatPaused = true;
  repeatPausedEip = eip;
}
@inline export function endRepeat(): void {
  repeatPaused = false;
}
/** Whether an interrupt returning to `eip` arrives mid-instruction, after a pauseRepeat there. */
@inline export function repeatPausedAt(eip: u32): bool {
  return repeatPaused && eip == repeatPausedEip;
}

