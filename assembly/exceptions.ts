// Raising exceptions (a flag plus an early return, never `throw`, which would abort the module) and delivering
// exceptions and interrupts through the IVT (real mode) or the IDT (SDM Vol. 3 §6.12).

import {
  STATE_CR2, STATE_IDTR_BASE, STATE_IDTR_LIMIT, STATE_TRAP_EXCEPTIONS, STATE_EXC_VECTOR, STATE_EXC_ERROR,
  COUNTER_EXCEPTIONS, SEG_CS, SEG_SS, SEG_TR, SEG_DS, SEG_ES, SEG_FS, SEG_GS,
} from "./layout";
import * as cpu from "./cpu";
import { protectedMode, reg32, setReg32, segBase, segSelector, segLimit, segAttr, sizeMask } from "./cpu";
import { vmiActive, vmiShadowControlRegisters, vmiEventDelivered } from "./vmi";
import { readFlags, writeFlags, flags, FLAG_IF, FLAG_TF, FLAG_NT, FLAG_RF, FLAG_AC, FLAG_VM } from "./flags";
import { readLin16, readLin32, writeLin16, writeLin32, enterSupervisorAccess, leaveSupervisorAccess } from "./mmu";
import { deliverThroughTaskGate } from "./ops/task";
import { nullV86DataSegments } from "./ops/v86";
import { readDescriptor, descLo, descHi, loadCsCache, loadSsCache, descBase, descLimit, descAttr, readInnerStack, innerSs, innerSsLo, innerSsHi, innerEsp, baseOf } from "./segments";

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
/** Set when the machine must stop: a triple fault (shutdown). */
export let tripleFault: bool = false;

export function clearTripleFault(): void {
  tripleFault = false;
}

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
 * Exceptions whose pushed EFLAGS image has RF set (SDM Vol. 3 §17.3.1.1: "for any fault-class
 * exception except a debug exception generated in response to an instruction breakpoint, the
 * value pushed for RF is 1"), so that IRET back to the faulting instruction does not hit its
 * instruction breakpoint again. Not the traps #DB (single step), #BP and #OF, nor the aborts
 * #DF and #MC (Table 6-1); software and external interrupts push RF as it is (but see
 * repeatPaused).
 */
@inline function faultClass(v: i32): bool {
  return v != EXC_DB && v != EXC_BP && v != EXC_OF && v != EXC_DF && v != EXC_MC;
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

/** SDM Vol. 3 Table 6-4: contributory exceptions. */
@inline function contributory(v: i32): bool {
  return v == 0 || (v >= 10 && v <= 13);
}

/**
 * Deliver the exception the current instruction raised: restart at the faulting instruction
 * (all our exceptions are faults except the ones instructions deliver themselves, like INT n).
 * Returns false if the core must stop (trapped for a test, or a triple fault).
 */
export function deliverPendingException(): bool {
  cpu.faulted = false;
  const at = cpu.eipAuthoritative ? cpu.eip : cpu.instrEip();
  cpu.setEip(at);
  cpu.instrStart = at;
  const vector = excVector;
  store<i32>(STATE_EXC_VECTOR, vector);
  store<u32>(STATE_EXC_ERROR, excError);
  if (load<u32>(STATE_TRAP_EXCEPTIONS) != 0) return false;
  store<u64>(COUNTER_EXCEPTIONS, load<u64>(COUNTER_EXCEPTIONS) + 1);
  return deliverEvent(vector, excError, excHasError, EVENT_EXCEPTION, at);
}

/**
 * Deliver a trap-class exception raised between instructions (single-step #DB): the pushed
 * EIP is the next instruction's. Returns false if the core must stop.
 */
export function deliverTrap(vector: i32): bool {
  const at = cpu.getEip();
  store<i32>(STATE_EXC_VECTOR, vector);
  store<u32>(STATE_EXC_ERROR, 0);
  if (load<u32>(STATE_TRAP_EXCEPTIONS) != 0) return false;
  store<u64>(COUNTER_EXCEPTIONS, load<u64>(COUNTER_EXCEPTIONS) + 1);
  cpu.instrStart = at;
  return deliverEvent(vector, 0, false, EVENT_EXCEPTION, at);
}

/** What is being delivered: the double-fault rules and the IDT checks differ by source. */
export const EVENT_EXCEPTION = 0;
/** INT n, INT3, INTO: the gate's DPL is checked against CPL, and EXT is 0 in error codes. */
export const EVENT_SOFTWARE = 1;
/** An interrupt from the PIC (or the VMI alarm through it): EXT is 1. */
export const EVENT_EXTERNAL = 2;

/**
 * Deliver an event through the IVT/IDT, handling faults during delivery as the SDM's
 * double-fault rules say (Vol. 3 §6.15, interrupt 8). `returnEip` is what is pushed.
 *
 * Only an exception can be the first of a double fault (Table 6-5 classes software and external
 * interrupts as benign): a fault while delivering INT n, or an interrupt from the PIC, is a
 * first exception of its own, whatever the vector number. So a ring-3 `int $8` through a
 * DPL-0 gate is #GP(8*8+2) delivered as any #GP (§6.12.1.1), not a double or triple fault.
 */
export function deliverEvent(vector: i32, error: u32, hasError: bool, kind: i32, returnEip: u32): bool {
  let v = vector;
  let err = error;
  let hasErr = hasError;
  let exception = kind == EVENT_EXCEPTION;
  let software = kind == EVENT_SOFTWARE;
  const midRepeat = kind == EVENT_EXTERNAL && repeatPaused && returnEip == repeatPausedEip;
  repeatPaused = false;
  if (vmiActive()) vmiEventDelivered();
  for (;;) {
    // IDT, TSS and the handler's stack are implicit supervisor accesses.
    enterSupervisorAccess();
    deliverOnce(v, err, hasErr, software, exception ? faultClass(v) : midRepeat, returnEip);
    leaveSupervisorAccess();
    if (!cpu.faulted) return true;
    cpu.faulted = false;
    const second = excVector;
    store<u64>(COUNTER_EXCEPTIONS, load<u64>(COUNTER_EXCEPTIONS) + 1);
    // The fault during delivery is the exception the host reports if this ends the machine.
    store<i32>(STATE_EXC_VECTOR, second);
    store<u32>(STATE_EXC_ERROR, excError);
    if (exception && v == EXC_DF) {
      tripleFault = true;
      cpu.attention = true;
      cpu.setEip(cpu.instrStart);
      return false;
    }
    if (exception && ((contributory(v) && contributory(second)) || (v == EXC_PF && (contributory(second) || second == EXC_PF)))) {
      v = EXC_DF;
      err = 0;
      hasErr = true;
    } else {
      v = second;
      err = excError;
      hasErr = excHasError;
    }
    exception = true;
    software = false;
    returnEip = cpu.instrStart;
  }
  return false;
}

function deliverOnce(vector: i32, error: u32, hasError: bool, software: bool, pushRf: bool, returnEip: u32): void {
  if (!protectedMode()) {
    deliverReal(vector, returnEip);
    return;
  }
  const ext: u32 = software ? 0 : 1;
  const idtLimit = load<u32>(STATE_IDTR_LIMIT);
  if (<u32>vector * 8 + 7 > idtLimit) {
    raise(EXC_GP, <u32>vector * 8 + 2 + ext);
    return;
  }
  const gateAddr = load<u32>(STATE_IDTR_BASE) + <u32>vector * 8;
  const lo = readLin32(gateAddr);
  const hi = readLin32(gateAddr + 4);
  if (cpu.faulted) return;
  const type = (hi >>> 8) & 0x1f;
  const gateDpl = <i32>((hi >>> 13) & 3);
  // 0x05: task gate; 0x06/0x07: 16-bit interrupt/trap gate; 0x0E/0x0F: 32-bit.
  if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0e && type != 0x0f) {
    raise(EXC_GP, <u32>vector * 8 + 2 + ext);
    return;
  }
  if (software && gateDpl < cpu.cpl) {
    raise(EXC_GP, <u32>vector * 8 + 2);
    return;
  }
  if ((hi & 0x8000) == 0) {
    raise(EXC_NP, <u32>vector * 8 + 2 + ext);
    return;
  }
  if (type == 0x05) {
    deliverThroughTaskGate(lo, error, hasError, ext, returnEip);
    return;
  }
  const gate32 = (type & 8) != 0;
  const trapGate = (type & 1) != 0;
  const selector = lo >>> 16;
  const offset = gate32 ? (lo & 0xffff) | (hi & 0xffff0000) : lo & 0xffff;
  if ((selector & 0xfffc) == 0) {
    raise(EXC_GP, ext);
    return;
  }
  if (!readDescriptor(selector)) {
    raise(EXC_GP, (selector & 0xfffc) + ext);
    return;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  if ((attr & 0x18) != 0x18 || dpl > cpu.cpl) {
    raise(EXC_GP, (selector & 0xfffc) + ext);
    return;
  }
  if ((attr & 0x80) == 0) {
    raise(EXC_NP, (selector & 0xfffc) + ext);
    return;
  }
  const oldFlags = readFlags() | (pushRf ? FLAG_RF : 0);
  const oldCs = segSelector(SEG_CS);
  const oldSs = segSelector(SEG_SS);
  const oldEsp = reg32(4);
  const conforming = (attr & 4) != 0;
  const entrySize: u32 = gate32 ? 4 : 2;
  let newCpl = cpu.cpl;
  let ssBase: u32;
  let esp: u32;
  let stackMask: u32;
  let newSsSel: u32 = 0;
  let newSsLo: u32 = 0;
  let newSsHi: u32 = 0;
  const inner = !conforming && dpl < cpu.cpl;
  // From virtual-8086 mode only a ring-0 non-conforming handler is allowed (SDM Vol. 3 §20.3.1.1).
  const fromV86 = (oldFlags & FLAG_VM) != 0;
  if (fromV86 && (conforming || dpl != 0)) {
    raise(EXC_GP, (selector & 0xfffc) + ext);
    return;
  }
  if (inner) {
    // Inter-privilege: the new stack comes from the TSS (SDM Vol. 3 §6.12.1).
    newCpl = dpl;
    if (!readInnerStack(dpl, ext)) return;
    newSsSel = innerSs;
    newSsLo = innerSsLo;
    newSsHi = innerSsHi;
    ssBase = baseOf(innerSsLo, innerSsHi);
    stackMask = (innerSsHi & 0x400000) != 0 ? 0xffffffff : 0xffff; // the B bit
    esp = innerEsp;
  } else {
    ssBase = segBase(SEG_SS);
    stackMask = cpu.stack32 ? 0xffffffff : 0xffff;
    esp = oldEsp;
  }
  // Build the frame; any fault here leaves registers untouched (they are committed below).
  let sp = esp;
  if (fromV86) sp = pushV86Segments(ssBase, sp, stackMask, entrySize);
  if (inner) {
    sp = pushFrame(ssBase, sp, stackMask, entrySize, oldSs);
    sp = pushFrame(ssBase, sp, stackMask, entrySize, oldEsp);
  }
  sp = pushFrame(ssBase, sp, stackMask, entrySize, oldFlags);
  sp = pushFrame(ssBase, sp, stackMask, entrySize, oldCs);
  sp = pushFrame(ssBase, sp, stackMask, entrySize, returnEip);
  if (hasError) sp = pushFrame(ssBase, sp, stackMask, entrySize, error);
  if (cpu.faulted) return;
  // Commit. readInnerStack left the SS descriptor in descLo/descHi, and loadSsCache writes them
  // too: CS's descriptor is read again and kept apart before SS is loaded.
  if (!readDescriptor(selector)) return;
  const csLo = descLo;
  const csHi = descHi;
  if (inner) {
    loadSsCache((newSsSel & 0xfffc) | <u32>newCpl, newSsLo, newSsHi);
  }
  setReg32(4, stackMask == 0xffff ? (esp & 0xffff0000) | (sp & 0xffff) : sp);
  loadCsCache((selector & 0xfffc) | <u32>newCpl, csLo, csHi, newCpl);
  if (fromV86) nullV86DataSegments();
  cpu.setEip(offset);
  let clear = FLAG_TF | FLAG_NT | FLAG_RF | FLAG_VM;
  if (!trapGate) clear |= FLAG_IF;
  writeFlags(0, clear);
}

/** GS, FS, DS, ES go first on the ring-0 stack of an interrupt from virtual-8086 mode (SDM Vol. 3 Figure 20-2). */
function pushV86Segments(ssBase: u32, sp: u32, mask: u32, size: u32): u32 {
  sp = pushFrame(ssBase, sp, mask, size, segSelector(SEG_GS));
  sp = pushFrame(ssBase, sp, mask, size, segSelector(SEG_FS));
  sp = pushFrame(ssBase, sp, mask, size, segSelector(SEG_DS));
  return pushFrame(ssBase, sp, mask, size, segSelector(SEG_ES));
}

/** Push one frame slot below sp; returns the new sp (faults set cpu.faulted and are checked by the caller). */
function pushFrame(ssBase: u32, sp: u32, mask: u32, size: u32, value: u32): u32 {
  if (cpu.faulted) return sp;
  const nsp = (sp - size) & mask;
  if (size == 4) writeLin32(ssBase + nsp, value);
  else writeLin16(ssBase + nsp, value);
  return mask == 0xffff ? (sp & 0xffff0000) | nsp : nsp;
}

/** Real mode: FLAGS, CS, IP through the interrupt vector table (SDM Vol. 3 §20.1.4). */
function deliverReal(vector: i32, returnEip: u32): void {
  const idtBase = load<u32>(STATE_IDTR_BASE);
  if (<u32>vector * 4 + 3 > load<u32>(STATE_IDTR_LIMIT)) {
    raise(EXC_GP, 0);
    return;
  }
  const ip = readLin16(idtBase + <u32>vector * 4);
  const cs = readLin16(idtBase + <u32>vector * 4 + 2);
  if (cpu.faulted) return;
  const ssBase = segBase(SEG_SS);
  const mask: u32 = cpu.stack32 ? 0xffffffff : 0xffff;
  let sp = reg32(4);
  sp = pushFrame(ssBase, sp, mask, 2, readFlags());
  sp = pushFrame(ssBase, sp, mask, 2, segSelector(SEG_CS));
  sp = pushFrame(ssBase, sp, mask, 2, returnEip);
  if (cpu.faulted) return;
  setReg32(4, sp);
  cpu.setSegCache(SEG_CS, cs, cs << 4, segLimit(SEG_CS), segAttr(SEG_CS));
  cpu.setEip(ip);
  writeFlags(0, FLAG_IF | FLAG_TF | FLAG_AC | FLAG_RF);
  import_segmentsChanged();
}

import { segmentsChanged } from "./segments";
@inline function import_segmentsChanged(): void {
  segmentsChanged();
}
