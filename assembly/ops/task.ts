// Hardware task switching (SDM Vol. 3 ch. 7): JMP/CALL to a TSS descriptor or a task gate,
// interrupts and exceptions through a task gate, and IRET with NT set back to the previous
// task. The order of the checks and their error codes follow §7.3 and Table 7-1.

import { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, STATE_CPL, STATE_GDTR_BASE, STATE_GDTR_LIMIT, STATE_DEBUG_TRAP, STATE_DR_BASE } from "../layout";
import * as cpu from "../cpu";
import { segBase, segLimit, segAttr, segSelector, setSegCache, reg32, setReg32, cr0, CR0_PG, CR0_TS, SIZE_16, SIZE_32 } from "../cpu";
import { readFlags, writeFlags, FLAG_NT, FLAG_VM, FLAGS_ARITH, FLAG_TF, FLAG_IF, FLAG_IOPL, FLAG_RF, FLAG_AC, FLAG_ID, FLAG_DF } from "../flags";
import { raise, EXC_GP, EXC_NP, EXC_SS, EXC_TS } from "../exceptions";
import { readDescriptor, descLo, descHi, descBase, descLimit, descAttr, loadCsCache, loadSsCache, segmentsChanged, ATTR_P, ATTR_S, ATTR_CODE, ATTR_RW } from "../segments";
import { readLin16, readLin32, writeLin16, writeLin32, updateAccessMasks, enterSupervisorAccess, leaveSupervisorAccess } from "../mmu";
import { applyCr } from "./system";
import { loadV86Segments } from "./v86";
import { stackWrite, sp, setSp, spMask } from "./stack";

/** What started the switch: it decides the busy bits, the back link and NT (SDM Vol. 3 §7.3, Table 7-2). */
export const SWITCH_JMP = 0;
/** CALL, INT n, an exception or an interrupt through a task gate: nests (back link, NT). */
export const SWITCH_CALL = 1;
export const SWITCH_IRET = 2;

/** General register `r` (0 = EAX … 7 = EDI) in a TSS. */
function tssReg(base: u32, tss32: bool, r: u32): u32 {
  // The SDM leaves a 16-bit task's upper register halves undefined; QEMU sets them to ones.
  return tss32 ? readLin32(base + 0x28 + r * 4) : 0xffff0000 | readLin16(base + 0x12 + r * 2);
}
/** Segment selector `seg` (SEG_ES … SEG_GS) in a TSS; a 16-bit TSS has no FS and GS (null). */
function tssSelector(base: u32, tss32: bool, seg: i32): u32 {
  if (tss32) return readLin16(base + 0x48 + <u32>seg * 4);
  return seg < SEG_FS ? readLin16(base + 0x22 + <u32>seg * 2) : 0;
}

const TYPE_BUSY: u32 = 0x2;
const TYPE_32: u32 = 0x8;
/** The smallest limits a TSS may have: 0x67 (32-bit), 0x2B (16-bit) (SDM Vol. 3 §7.2.2, Table 7-1). */
const TSS32_MIN_LIMIT: u32 = 0x67;
const TSS16_MIN_LIMIT: u32 = 0x2b;
/** The debug trap flag T: bit 0 of the word at offset 100 of a 32-bit TSS (SDM Vol. 3 §7.2.1). */
const TSS32_TRAP: u32 = 0x64;
/** DR6.BT: the #DB came from a switch to a task whose T flag is set (SDM Vol. 3 §17.2.3). */
const DR6_BT: u32 = 1 << 15;
/** DR7's local breakpoint enables L0–L3, which every task switch clears (SDM Vol. 3 §17.2.4). */
const DR7_LOCAL_ENABLES: u32 = 0x55;

/** Available (type 1, 9) or busy (3, 11) TSS descriptor in the attributes of a descriptor. */
@inline function isTss(attr: u32): bool {
  return (attr & 0x15) == 0x01;
}

/**
 * JMP or CALL to the TSS descriptor or task gate in descLo/descHi, whose DPL and presence the
 * caller checked (SDM Vol. 2 JMP/CALL, "TASK-GATE" and "TASK-STATE-SEGMENT").
 */
export function jumpOrCallTask(selector: u32, isCall: bool, nextEip: u32): void {
  let tssSel = selector;
  if ((descAttr() & 0x1f) == 0x05) {
    tssSel = descLo >>> 16;
    if (!readTssDescriptor(tssSel, 0)) return;
  }
  if ((descAttr() & TYPE_BUSY) != 0) {
    raise(EXC_GP, tssSel & 0xfffc);
    return;
  }
  if ((descAttr() & ATTR_P) == 0) {
    raise(EXC_NP, tssSel & 0xfffc);
    return;
  }
  switchTask(tssSel, descLo, descHi, isCall ? SWITCH_CALL : SWITCH_JMP, nextEip, 0);
}

/** The TSS descriptor a task gate names, which must be in the GDT (#GP(TSS selector) if not). */
function readTssDescriptor(tssSel: u32, ext: u32): bool {
  if ((tssSel & 4) != 0 || !readDescriptor(tssSel)) {
    if (!cpu.faulted) raise(EXC_GP, (tssSel & 0xfffc) + ext);
    return false;
  }
  if (!isTss(descAttr())) {
    raise(EXC_GP, (tssSel & 0xfffc) + ext);
    return false;
  }
  return true;
}

/**
 * An interrupt or exception through a task gate (SDM Vol. 3 §6.12.2; Vol. 2 INT "TASK-GATE"):
 * a nested switch, then the error code, if any, on the new task's stack. The gate's DPL and P
 * were checked by the caller.
 */
export function deliverThroughTaskGate(gateLo: u32, error: u32, hasError: bool, ext: u32, returnEip: u32): void {
  const tssSel = gateLo >>> 16;
  if (!readTssDescriptor(tssSel, ext)) return;
  if ((descAttr() & TYPE_BUSY) != 0) {
    raise(EXC_GP, (tssSel & 0xfffc) + ext);
    return;
  }
  if ((descAttr() & ATTR_P) == 0) {
    raise(EXC_NP, (tssSel & 0xfffc) + ext);
    return;
  }
  switchTask(tssSel, descLo, descHi, SWITCH_CALL, returnEip, ext);
  if (cpu.faulted || !hasError) return;
  // The error code's width is the new TSS's (a 16-bit task gets a 16-bit error code).
  const sz: i32 = (segAttr(SEG_TR) & TYPE_32) != 0 ? SIZE_32 : SIZE_16;
  const n: u32 = sz == SIZE_32 ? 4 : 2;
  stackWrite(sz, n, error);
  if (cpu.faulted) return;
  setSp((sp() - n) & spMask());
}

/**
 * IRET with NT set: back to the task in the current TSS's back link, which must name a busy
 * TSS in the GDT (#TS(back link) otherwise; SDM Vol. 2 IRET "TASK-RETURN").
 */
export function returnFromTask(nextEip: u32): void {
  enterSupervisorAccess();
  const link = readLin16(segBase(SEG_TR));
  leaveSupervisorAccess();
  if (cpu.faulted) return;
  if ((link & 4) != 0 || !readDescriptor(link)) {
    if (!cpu.faulted) raise(EXC_TS, link & 0xfffc);
    return;
  }
  const attr = descAttr();
  if (!isTss(attr) || (attr & TYPE_BUSY) == 0) {
    raise(EXC_TS, link & 0xfffc);
    return;
  }
  if ((attr & ATTR_P) == 0) {
    raise(EXC_NP, link & 0xfffc);
    return;
  }
  switchTask(link, descLo, descHi, SWITCH_IRET, nextEip, 0);
}

/** Set or clear the busy bit of the TSS descriptor `selector` names in the GDT. */
function setBusy(selector: u32, busy: bool): void {
  const at = load<u32>(STATE_GDTR_BASE) + (selector & 0xfff8) + 4;
  const hi = readLin32(at);
  writeLin32(at, busy ? hi | (TYPE_BUSY << 8) : hi & ~(TYPE_BUSY << 8));
}

/**
 * The switch itself (SDM Vol. 3 §7.3 steps 3–13), to the TSS `tssSel` whose descriptor is
 * lo/hi (present and not busy, or busy for IRET). `oldEip` is saved in the old TSS. Faults
 * before the new task's state is loaded happen in the old task; the segment checks after it
 * (Table 7-1 from the LDT on) fault in the new task's context.
 */
function switchTask(tssSel: u32, lo: u32, hi: u32, source: i32, oldEip: u32, ext: u32): void {
  descLo = lo;
  descHi = hi;
  const base = descBase();
  const limit = descLimit();
  const attr = descAttr();
  const new32 = (attr & TYPE_32) != 0;
  const minLimit = new32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT;
  if (limit < minLimit) {
    raise(EXC_TS, (tssSel & 0xfffc) + ext);
    return;
  }
  enterSupervisorAccess();
  // Read the whole new state first: a page fault here leaves the old task untouched.
  let newCr3: u32 = 0;
  let newEip: u32;
  let newFlags: u32;
  let ldt: u32;
  let trap = false;
  if (new32) {
    newCr3 = readLin32(base + 0x1c);
    newEip = readLin32(base + 0x20);
    newFlags = readLin32(base + 0x24);
    ldt = readLin16(base + 0x60);
    trap = (readLin16(base + TSS32_TRAP) & 1) != 0;
  } else {
    newEip = readLin16(base + 0x0e);
    newFlags = readLin16(base + 0x10);
    ldt = readLin16(base + 0x2a);
  }
  const eax = tssReg(base, new32, 0);
  const ecx = tssReg(base, new32, 1);
  const edx = tssReg(base, new32, 2);
  const ebx = tssReg(base, new32, 3);
  const esp = tssReg(base, new32, 4);
  const ebp = tssReg(base, new32, 5);
  const esi = tssReg(base, new32, 6);
  const edi = tssReg(base, new32, 7);
  const es = tssSelector(base, new32, SEG_ES);
  const cs = tssSelector(base, new32, SEG_CS);
  const ss = tssSelector(base, new32, SEG_SS);
  const ds = tssSelector(base, new32, SEG_DS);
  const fs = tssSelector(base, new32, SEG_FS);
  const gs = tssSelector(base, new32, SEG_GS);
  // Save the old task in the old TSS's own format (step 8); EFLAGS loses NT on IRET (step 7).
  let oldFlags = readFlags();
  if (source == SWITCH_IRET) oldFlags &= ~FLAG_NT;
  const oldBase = segBase(SEG_TR);
  if (!cpu.faulted) {
    if ((segAttr(SEG_TR) & TYPE_32) != 0) {
      writeLin32(oldBase + 0x20, oldEip);
      writeLin32(oldBase + 0x24, oldFlags);
      for (let i = 0; i < 8; i++) writeLin32(oldBase + 0x28 + <u32>i * 4, reg32(i));
      for (let i = 0; i < 6; i++) writeLin16(oldBase + 0x48 + <u32>i * 4, segSelector(i));
    } else {
      writeLin16(oldBase + 0x0e, oldEip);
      writeLin16(oldBase + 0x10, oldFlags);
      for (let i = 0; i < 8; i++) writeLin16(oldBase + 0x12 + <u32>i * 2, reg32(i));
      for (let i = 0; i < 4; i++) writeLin16(oldBase + 0x22 + <u32>i * 2, segSelector(i));
    }
  }
  // Busy bits (steps 6 and 10) and the back link of a nested task.
  const oldTr = segSelector(SEG_TR);
  if (source != SWITCH_CALL) setBusy(oldTr, false);
  if (source != SWITCH_IRET) setBusy(tssSel, true);
  if (source == SWITCH_CALL) {
    writeLin16(base, oldTr);
    newFlags |= FLAG_NT;
  }
  leaveSupervisorAccess();
  if (cpu.faulted) return;

  // Step 11: TR and CR0.TS; from here on a fault belongs to the new task.
  setSegCache(SEG_TR, tssSel, base, limit, attr | TYPE_BUSY);
  applyCr(0, cr0() | CR0_TS);
  const dr7 = STATE_DR_BASE + 7 * 4;
  store<u32>(dr7, load<u32>(dr7) & ~DR7_LOCAL_ENABLES);
  if (new32 && (cr0() & CR0_PG) != 0) applyCr(3, newCr3);
  let mask = FLAGS_ARITH | FLAG_TF | FLAG_IF | FLAG_DF | FLAG_IOPL | FLAG_NT | FLAG_RF | FLAG_VM | FLAG_AC | FLAG_ID;
  if (!new32) mask &= 0xffff;
  writeFlags(newFlags, mask);
  setReg32(0, eax);
  setReg32(1, ecx);
  setReg32(2, edx);
  setReg32(3, ebx);
  setReg32(4, esp);
  setReg32(5, ebp);
  setReg32(6, esi);
  setReg32(7, edi);

  // Selectors first, with unusable caches, so a fault below reports the new task's selectors.
  setSegCache(SEG_ES, es, 0, 0, 0);
  setSegCache(SEG_CS, cs, 0, 0, 0);
  setSegCache(SEG_SS, ss, 0, 0, 0);
  setSegCache(SEG_DS, ds, 0, 0, 0);
  setSegCache(SEG_FS, fs, 0, 0, 0);
  setSegCache(SEG_GS, gs, 0, 0, 0);
  setSegCache(SEG_LDTR, ldt & ~4, 0, 0, 0);
  const newCpl = <i32>(cs & 3);
  if (cpu.cpl != newCpl) {
    cpu.cpl = newCpl;
    store<u32>(STATE_CPL, <u32>newCpl);
    updateAccessMasks();
  }
  segmentsChanged();
  cpu.setEip(newEip);
  // An exception in the new task restarts at its first instruction.
  cpu.instrStart = newEip;

  if (!loadTaskLdt(ldt)) return;
  if ((newFlags & mask & FLAG_VM) != 0) {
    // A virtual-8086 task: its selectors are real-mode segments, nothing to check (SDM Vol. 3 §20.2.1).
    loadV86Segments(cs, ss, es, ds, fs, gs);
  } else {
    if (!loadTaskSegment(SEG_CS, cs, newCpl) || !loadTaskSegment(SEG_SS, ss, newCpl)) return;
    if (!loadTaskSegment(SEG_ES, es, newCpl) || !loadTaskSegment(SEG_DS, ds, newCpl)) return;
    if (!loadTaskSegment(SEG_FS, fs, newCpl) || !loadTaskSegment(SEG_GS, gs, newCpl)) return;
    if (newEip > segLimit(SEG_CS)) {
      raise(EXC_GP, 0);
      return;
    }
  }
  // The switch is complete: #DB before the new task's first instruction (SDM Vol. 3 §17.3.1.5).
  if (trap) {
    store<u32>(STATE_DEBUG_TRAP, load<u32>(STATE_DEBUG_TRAP) | DR6_BT);
    cpu.attention = true;
  }
}

/** The new task's LDT: a present LDT descriptor in the GDT, else #TS(LDT selector) (Table 7-1). */
function loadTaskLdt(ldt: u32): bool {
  if ((ldt & 4) != 0) {
    raise(EXC_TS, ldt & 0xfffc);
    return false;
  }
  if ((ldt & 0xfffc) == 0) return true;
  const at = ldt & 0xfff8;
  if (at + 7 > load<u32>(STATE_GDTR_LIMIT) || !readDescriptor(ldt)) {
    if (!cpu.faulted) raise(EXC_TS, ldt & 0xfffc);
    return false;
  }
  const attr = descAttr();
  if ((attr & 0x1f) != 0x02 || (attr & ATTR_P) == 0) {
    raise(EXC_TS, ldt & 0xfffc);
    return false;
  }
  setSegCache(SEG_LDTR, ldt, descBase(), descLimit(), attr);
  return true;
}

/**
 * One segment register of the new task, with the checks of Table 7-1: #TS(selector) for a bad
 * selector, type or privilege, #NP (#SS for SS) if not present. CS and SS may not be null.
 */
function loadTaskSegment(seg: i32, selector: u32, newCpl: i32): bool {
  const err = selector & 0xfffc;
  if (err == 0) {
    if (seg == SEG_CS || seg == SEG_SS) {
      raise(EXC_TS, 0);
      return false;
    }
    return true;
  }
  if (!readDescriptor(selector)) {
    if (!cpu.faulted) raise(EXC_TS, err);
    return false;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  const rpl = <i32>(selector & 3);
  const code = (attr & ATTR_CODE) != 0;
  let ok = (attr & ATTR_S) != 0;
  if (seg == SEG_CS) ok = ok && code && ((attr & 4) != 0 ? dpl <= rpl : dpl == rpl);
  else if (seg == SEG_SS) ok = ok && !code && (attr & ATTR_RW) != 0 && dpl == newCpl && dpl == rpl;
  else if (code && (attr & ATTR_RW) == 0) ok = false;
  else if (!(code && (attr & 4) != 0)) ok = ok && dpl >= newCpl && dpl >= rpl;
  if (!ok) {
    raise(EXC_TS, err);
    return false;
  }
  if ((attr & ATTR_P) == 0) {
    raise(seg == SEG_SS ? EXC_SS : EXC_NP, err);
    return false;
  }
  if (seg == SEG_CS) loadCsCache(selector, descLo, descHi, newCpl);
  else if (seg == SEG_SS) loadSsCache(selector, descLo, descHi);
  else {
    setSegCache(seg, selector, descBase(), descLimit(), attr);
    segmentsChanged();
  }
  return true;
}
