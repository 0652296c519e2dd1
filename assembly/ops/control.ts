// Far control transfers (JMP/CALL/RET far, IRET) and software interrupts, with the
// protected-mode checks of SDM Vol. 2 (JMP, CALL, RET, IRET "Operation") for code-segment
// and call-gate targets; TSS and task-gate targets and IRET with NT switch tasks (task.ts).

import { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, STATE_SYSENTER_CS, STATE_SYSENTER_ESP, STATE_SYSENTER_EIP, STATE_NMI, NMI_BLOCKED } from "../layout";
import * as cpu from "../cpu";
import { protectedMode, segSelector, segLimit, segAttr, setSegCache, reg32, setReg32, sizeBytes, SIZE_16, SIZE_32 } from "../cpu";
import { v86Mode, realSegments } from "../flags";
import { loadV86Segments } from "./v86";
import { readFlags, writeFlags, flags, FLAG_IF, FLAG_IOPL, FLAG_VM, FLAG_NT, FLAG_RF, FLAG_AC, FLAG_ID, FLAG_TF, FLAG_DF, FLAG_OF, FLAGS_ARITH, FLAG_VIF, FLAG_VIP } from "../flags";
import { raise, EXC_GP, EXC_NP, EXC_SS } from "../exceptions";
import { deliverEvent, EVENT_SOFTWARE } from "../delivery";
import { readDescriptor, descLo, descHi, descAttr, descLimit, loadCsCache, loadSsCache, loadSegment, segmentsChanged, ATTR_P, readInnerStack, innerSs, innerSsLo, innerSsHi, innerEsp, baseOf } from "../segments";
import { writeLin, enterSupervisorAccess, leaveSupervisorAccess } from "../mmu";
import { jumpOrCallTask, returnFromTask } from "./task";
import { push, pop, stackRead, stackWrite, sp, setSp, spMask } from "./stack";
import { vmiActive, vmiIretDone } from "../vmi";

const TARGET_FAILED = 0;
const TARGET_CODE = 1;
const TARGET_CALL_GATE = 2;
/** A TSS descriptor (type 1, 3, 9, 11) or a task gate (type 5) in descLo/descHi. */
const TARGET_TASK = 3;

/**
 * Check the target of a far JMP/CALL (SDM Vol. 2 JMP/CALL, protected mode): a code segment at
 * the same privilege (descLo/descHi hold it), a call gate, or a TSS or task gate (a task
 * switch, whose busy and present checks come in task.ts).
 */
function classifyTarget(selector: u32): i32 {
  if ((selector & 0xfffc) == 0) {
    raise(EXC_GP, 0);
    return TARGET_FAILED;
  }
  if (!readDescriptor(selector)) {
    if (!cpu.faulted) raise(EXC_GP, selector & 0xfffc);
    return TARGET_FAILED;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  const rpl = <i32>(selector & 3);
  if ((attr & 0x18) != 0x18) {
    const type = attr & 0x1f;
    const task = type == 0x05 || ((type & 0x15) == 0x01 && (selector & 4) == 0);
    if (type != 0x04 && type != 0x0c && !task) {
      raise(EXC_GP, selector & 0xfffc);
      return TARGET_FAILED;
    }
    if (dpl < cpu.cpl || dpl < rpl) {
      raise(EXC_GP, selector & 0xfffc);
      return TARGET_FAILED;
    }
    // A TSS's busy bit is checked before P (SDM Vol. 2 JMP, "TASK-STATE-SEGMENT").
    if (type != 0x05 && task) return TARGET_TASK;
    if ((attr & ATTR_P) == 0) {
      raise(EXC_NP, selector & 0xfffc);
      return TARGET_FAILED;
    }
    return task ? TARGET_TASK : TARGET_CALL_GATE;
  }
  const conforming = (attr & 4) != 0;
  if (conforming ? dpl > cpu.cpl : rpl > cpu.cpl || dpl != cpu.cpl) {
    raise(EXC_GP, selector & 0xfffc);
    return TARGET_FAILED;
  }
  if ((attr & ATTR_P) == 0) {
    raise(EXC_NP, selector & 0xfffc);
    return TARGET_FAILED;
  }
  return TARGET_CODE;
}

function setCsReal(selector: u32): void {
  setSegCache(SEG_CS, selector, selector << 4, segLimit(SEG_CS), segAttr(SEG_CS));
  segmentsChanged();
}

/** JMP ptr16:16/32 and JMP m16:16/32. */
export function farJump(selector: u32, offset: u32): void {
  if (realSegments()) {
    setCsReal(selector);
    cpu.setEip(offset);
    return;
  }
  const kind = classifyTarget(selector);
  if (kind == TARGET_FAILED) return;
  if (kind == TARGET_CALL_GATE) {
    throughCallGate(false, 0);
    return;
  }
  if (kind == TARGET_TASK) {
    jumpOrCallTask(selector, false, cpu.nextEip());
    return;
  }
  if (offset > descLimit()) {
    raise(EXC_GP, 0);
    return;
  }
  loadCsCache((selector & 0xfffc) | <u32>cpu.cpl, descLo, descHi, cpu.cpl);
  cpu.setEip(offset);
}

/** CALL ptr16:16/32 and CALL m16:16/32: push CS and the return address, then jump. */
export function farCall(selector: u32, offset: u32, sz: i32, returnEip: u32): void {
  const n = sizeBytes(sz);
  const real = realSegments();
  if (!real) {
    const kind = classifyTarget(selector);
    if (kind == TARGET_FAILED) return;
    if (kind == TARGET_CALL_GATE) {
      throughCallGate(true, returnEip);
      return;
    }
    if (kind == TARGET_TASK) {
      jumpOrCallTask(selector, true, returnEip);
      return;
    }
    if (offset > descLimit()) {
      raise(EXC_GP, 0);
      return;
    }
  }
  stackWrite(sz, n, segSelector(SEG_CS));
  stackWrite(sz, 2 * n, returnEip);
  if (cpu.faulted) return;
  setSp((sp() - 2 * n) & spMask());
  if (real) {
    setCsReal(selector);
  } else {
    loadCsCache((selector & 0xfffc) | <u32>cpu.cpl, descLo, descHi, cpu.cpl);
  }
  cpu.setEip(offset);
}

/**
 * JMP or CALL through the call gate in descLo/descHi (SDM Vol. 3 §5.8.4–5.8.5). A CALL to a
 * more privileged non-conforming segment switches to the TSS stack for that level, copying
 * the gate's parameter count of stack entries; a JMP never changes privilege.
 */
function throughCallGate(isCall: bool, returnEip: u32): void {
  const gateLo = descLo;
  const gateHi = descHi;
  const gate32 = (gateHi & 0x800) != 0;
  const csSel = gateLo >>> 16;
  const offset = gate32 ? (gateLo & 0xffff) | (gateHi & 0xffff0000) : gateLo & 0xffff;
  const params = gateHi & 0x1f;
  if ((csSel & 0xfffc) == 0) {
    raise(EXC_GP, 0);
    return;
  }
  if (!readDescriptor(csSel)) {
    if (!cpu.faulted) raise(EXC_GP, csSel & 0xfffc);
    return;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  const conforming = (attr & 4) != 0;
  if ((attr & 0x18) != 0x18 || dpl > cpu.cpl || (!isCall && !conforming && dpl != cpu.cpl)) {
    raise(EXC_GP, csSel & 0xfffc);
    return;
  }
  if ((attr & ATTR_P) == 0) {
    raise(EXC_NP, csSel & 0xfffc);
    return;
  }
  const csLo = descLo;
  const csHi = descHi;
  if (offset > descLimit()) {
    raise(EXC_GP, 0);
    return;
  }
  const size: i32 = gate32 ? SIZE_32 : SIZE_16;
  const n = sizeBytes(size);
  if (!isCall || conforming || dpl == cpu.cpl) {
    if (isCall) {
      stackWrite(size, n, segSelector(SEG_CS));
      stackWrite(size, 2 * n, returnEip);
      if (cpu.faulted) return;
      setSp((sp() - 2 * n) & spMask());
    }
    loadCsCache((csSel & 0xfffc) | <u32>cpu.cpl, csLo, csHi, cpu.cpl);
    cpu.setEip(offset);
    return;
  }
  // More privileged: new stack from the TSS; old SS:ESP, the parameters, CS:EIP go on it.
  if (!readInnerStack(dpl, 0)) return;
  const oldSs = segSelector(SEG_SS);
  const oldEsp = reg32(4);
  const newBase = baseOf(innerSsLo, innerSsHi);
  const newMask: u32 = (innerSsHi & 0x400000) != 0 ? 0xffffffff : 0xffff;
  let nsp = innerEsp;
  enterSupervisorAccess();
  nsp = pushOn(newBase, nsp, newMask, size, oldSs);
  nsp = pushOn(newBase, nsp, newMask, size, oldEsp);
  for (let i: u32 = params; i > 0; i--) {
    const v = stackRead(size, (i - 1) * n);
    nsp = pushOn(newBase, nsp, newMask, size, v);
  }
  nsp = pushOn(newBase, nsp, newMask, size, segSelector(SEG_CS));
  nsp = pushOn(newBase, nsp, newMask, size, returnEip);
  leaveSupervisorAccess();
  if (cpu.faulted) return;
  loadSsCache(innerSs, innerSsLo, innerSsHi);
  setReg32(4, newMask == 0xffff ? (innerEsp & 0xffff0000) | (nsp & 0xffff) : nsp);
  loadCsCache((csSel & 0xfffc) | <u32>dpl, csLo, csHi, dpl);
  cpu.setEip(offset);
}

/** Write one stack slot below `sp` on the stack at `base`; returns the new stack pointer. */
function pushOn(base: u32, sp: u32, mask: u32, size: i32, v: u32): u32 {
  if (cpu.faulted) return sp;
  const n = sizeBytes(size);
  const nsp = (sp - n) & mask;
  writeLin(size, base + nsp, v);
  return nsp;
}

/**
 * RET far (with an optional immediate to release parameters): same privilege, or return to
 * an outer ring, which also pops SS:ESP and nulls data segments the outer ring can't use.
 */
export function farReturn(sz: i32, release: u32): void {
  const n = sizeBytes(sz);
  const newEip = stackRead(sz, 0);
  const newCs = stackRead(sz, n) & 0xffff;
  if (cpu.faulted) return;
  if (realSegments()) {
    setSp((sp() + 2 * n + release) & spMask());
    setCsReal(newCs);
    cpu.setEip(newEip);
    return;
  }
  returnTo(sz, newEip, newCs, 2 * n + release, release, false, 0);
}

/**
 * Common tail of RET far and IRET in protected mode. `consumed` is the bytes popped so far
 * (EIP, CS, and EFLAGS for IRET, plus RET's immediate); for an outer-ring return ESP and SS
 * follow them.
 */
function returnTo(sz: i32, newEip: u32, newCs: u32, consumed: u32, release: u32, iret: bool, newFlags: u32): void {
  const rpl = <i32>(newCs & 3);
  if ((newCs & 0xfffc) == 0 || rpl < cpu.cpl) {
    raise(EXC_GP, newCs & 0xfffc);
    return;
  }
  if (!readDescriptor(newCs)) {
    if (!cpu.faulted) raise(EXC_GP, newCs & 0xfffc);
    return;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  if ((attr & 0x18) != 0x18 || ((attr & 4) != 0 ? dpl > rpl : dpl != rpl)) {
    raise(EXC_GP, newCs & 0xfffc);
    return;
  }
  if ((attr & ATTR_P) == 0) {
    raise(EXC_NP, newCs & 0xfffc);
    return;
  }
  const csLo = descLo;
  const csHi = descHi;
  if (newEip > descLimit()) {
    raise(EXC_GP, 0);
    return;
  }
  const n = sizeBytes(sz);
  if (rpl == cpu.cpl) {
    setSp((sp() + consumed) & spMask());
    if (iret) applyIretFlags(newFlags, sz);
    loadCsCache(newCs, csLo, csHi, rpl);
    cpu.setEip(newEip);
    return;
  }
  // Return to an outer privilege level: ESP and SS follow on the stack.
  const newEsp = stackRead(sz, consumed);
  const newSs = stackRead(sz, consumed + n) & 0xffff;
  if (cpu.faulted) return;
  if ((newSs & 0xfffc) == 0 || <i32>(newSs & 3) != rpl) {
    raise(EXC_GP, newSs & 0xfffc);
    return;
  }
  if (!readDescriptor(newSs)) {
    if (!cpu.faulted) raise(EXC_GP, newSs & 0xfffc);
    return;
  }
  const ssAttr = descAttr();
  if ((ssAttr & 0x1a) != 0x12 || <i32>((ssAttr >>> 5) & 3) != rpl) {
    raise(EXC_GP, newSs & 0xfffc);
    return;
  }
  if ((ssAttr & ATTR_P) == 0) {
    raise(EXC_SS, newSs & 0xfffc);
    return;
  }
  const ssLo = descLo;
  const ssHi = descHi;
  if (iret) applyIretFlags(newFlags, sz);
  loadCsCache(newCs, csLo, csHi, rpl);
  loadSsCache(newSs, ssLo, ssHi);
  const espValue = newEsp + release;
  if ((ssAttr & 0x4000) != 0) setReg32(4, espValue);
  else setReg32(4, (reg32(4) & 0xffff0000) | (espValue & 0xffff));
  cpu.setEip(newEip);
  // Data segments the outer ring may not use become null (SDM Vol. 2 RET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL").
  nullIfInaccessible(SEG_ES);
  nullIfInaccessible(SEG_DS);
  nullIfInaccessible(SEG_FS);
  nullIfInaccessible(SEG_GS);
}

function nullIfInaccessible(seg: i32): void {
  const attr = segAttr(seg);
  const dpl = <i32>((attr >>> 5) & 3);
  const conformingCode = (attr & 0x1c) == 0x1c;
  if ((attr & 0x10) != 0 && !conformingCode && dpl < cpu.cpl) {
    setSegCache(seg, 0, 0, 0, 0);
    segmentsChanged();
  }
}

/** Which EFLAGS bits IRET/POPF may change at the current privilege (SDM Vol. 2 POPF table). */
export function writableFlagsMask(sz: i32): u32 {
  let mask = FLAGS_ARITH | FLAG_TF | FLAG_DF | FLAG_NT;
  if (sz == SIZE_32) mask |= FLAG_AC | FLAG_ID;
  if (!protectedMode() || cpu.cpl == 0) mask |= FLAG_IOPL | FLAG_IF;
  else if (cpu.cpl <= <i32>((flags >>> 12) & 3)) mask |= FLAG_IF;
  return sz == SIZE_16 ? mask & 0xffff : mask;
}

function applyIretFlags(v: u32, sz: i32): void {
  let mask = writableFlagsMask(sz) | (sz == SIZE_32 ? FLAG_RF : 0);
  writeFlags(v, mask);
}

/** IRET/IRETD: returns from an interrupt handler, or with NT set to the previous task. */
export function iret(sz: i32): void {
  // Virtual-8086 mode: IOPL 3 gives real mode's IRET, which cannot change IOPL or VM (SDM Vol. 2 IRET).
  const v86 = v86Mode();
  if (v86 && (flags & FLAG_IOPL) != FLAG_IOPL) {
    raise(EXC_GP, 0);
    return;
  }
  // An IRET ends the blocking of NMIs that delivering one began (SDM Vol. 3 §6.7.1), as QEMU
  // as soon as its IRET starts; a pending NMI is taken after it.
  const nmi = load<u32>(STATE_NMI);
  if (nmi != 0) {
    store<u32>(STATE_NMI, nmi & ~NMI_BLOCKED);
    cpu.attention = true;
  }
  // A task return pops nothing (SDM Vol. 2 IRET, "TASK-RETURN").
  if (protectedMode() && !v86 && (readFlags() & FLAG_NT) != 0) {
    returnFromTask(cpu.nextEip());
    return;
  }
  const n = sizeBytes(sz);
  const newEip = stackRead(sz, 0);
  const newCs = stackRead(sz, n) & 0xffff;
  const newFlags = stackRead(sz, 2 * n);
  if (cpu.faulted) return;
  if (realSegments()) {
    setSp((sp() + 3 * n) & spMask());
    setCsReal(newCs);
    cpu.setEip(newEip);
    writeFlags(newFlags, writableFlagsMask(sz) | (sz == SIZE_32 ? FLAG_RF : 0));
    return;
  }
  if (sz == SIZE_32 && cpu.cpl == 0 && (newFlags & FLAG_VM) != 0) {
    returnToV86(newEip, newCs, newFlags);
    return;
  }
  returnTo(sz, newEip, newCs, 3 * n, 0, true, newFlags);
  if (!cpu.faulted && vmiActive()) vmiIretDone();
}

/**
 * IRETD at CPL 0 with VM set in the popped EFLAGS (SDM Vol. 2 IRET, "RETURN-TO-VIRTUAL-8086-MODE"):
 * ESP, SS, ES, DS, FS, GS follow EFLAGS on the stack; every segment loads as in real mode, CPL 3.
 */
function returnToV86(newEip: u32, newCs: u32, newFlags: u32): void {
  const newEsp = stackRead(SIZE_32, 12);
  const newSs = stackRead(SIZE_32, 16);
  const newEs = stackRead(SIZE_32, 20);
  const newDs = stackRead(SIZE_32, 24);
  const newFs = stackRead(SIZE_32, 28);
  const newGs = stackRead(SIZE_32, 32);
  if (cpu.faulted) return;
  writeFlags(newFlags, 0x3f7fd5);
  loadV86Segments(newCs, newSs, newEs, newDs, newFs, newGs);
  setReg32(4, newEsp);
  cpu.setEip(newEip & 0xffff);
}

/**
 * SYSENTER (SDM Vol. 2): to CPL 0 with flat CS/SS derived from IA32_SYSENTER_CS, and ESP/EIP
 * from their MSRs. The descriptor caches are loaded with fixed values, not from the GDT.
 */
export function sysenter(): void {
  const cs = load<u32>(STATE_SYSENTER_CS) & 0xfffc;
  if (!protectedMode() || cs == 0) {
    raise(EXC_GP, 0);
    return;
  }
  writeFlags(0, FLAG_VM | FLAG_IF | FLAG_RF);
  setFlatSegments(cs, cs + 8, 0);
  setReg32(4, load<u32>(STATE_SYSENTER_ESP));
  cpu.setEip(load<u32>(STATE_SYSENTER_EIP));
}

/** SYSEXIT: back to CPL 3 at EDX with ESP = ECX; CS = SYSENTER_CS + 16, SS = + 24 (RPL 3). */
export function sysexit(): void {
  const cs = load<u32>(STATE_SYSENTER_CS) & 0xfffc;
  if (!protectedMode() || cs == 0 || cpu.cpl != 0) {
    raise(EXC_GP, 0);
    return;
  }
  setFlatSegments((cs + 16) | 3, (cs + 24) | 3, 3);
  setReg32(4, reg32(1));
  cpu.setEip(reg32(2));
}

/** Flat 4 GiB code and data caches at privilege `dpl`, as SYSENTER/SYSEXIT define them. */
function setFlatSegments(csSel: u32, ssSel: u32, dpl: i32): void {
  const d = <u32>dpl << 5;
  // code: P, S, type 0xB (execute/read, accessed), D, G; data: P, S, type 3 (read/write, accessed), B, G
  loadCsCache(csSel, 0x0000ffff, 0x00cf9b00 | (d << 8), dpl);
  loadSsCache(ssSel, 0x0000ffff, 0x00cf9300 | (d << 8));
}

/** INT n / INT3 / INTO: software interrupts push the address of the next instruction. */
export function softwareInterrupt(vector: i32, nextEip: u32): void {
  deliverEvent(vector, 0, false, EVENT_SOFTWARE, nextEip);
}
