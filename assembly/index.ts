// The core's exports: a handful of functions, so the boundary stays small and each crossing is
// visible. Everything else the host needs is in linear memory, at the offsets layout.ts names.

import {
  STATE_BASE, STATE_SIZE, STATE_RAM_SIZE, RAM_BASE, TLB_BASE, TLB_SIZE, STATE_EXC_VECTOR, STATE_CR0, SEG_CS,
  SEG_DS, SEG_ES, SEG_SS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, STATE_EIP, STATE_EFLAGS, STATE_IDTR_LIMIT, STATE_GDTR_LIMIT, LAYOUT_BASE,
  STATE_APIC_PRESENT, STATE_APIC_BASE, APIC_BASE_RESET, REG_BASE,
} from "./layout";
import { setSegCache } from "./cpu";
import { setRamSize, probeTranslate } from "./mmu";
import { tlbFlush, tlbFlushKeeping, tlbInvalidatePage, TLB_GLOBAL, TLB_SHADOWED } from "./tlb";
import { shadowReset, shadowAnnounce, shadowRelease, shadowEntryWritten } from "./shadow";
import { crValueValid, applyCr, setTscFromHost, CPU_SIGNATURE } from "./ops/system";
import { vmiShadowControlRegisters } from "./vmi";
import { applyEntries, setQueueContext } from "./vmi-queue";
import { runLoop } from "./run";
import { syncIn } from "./sync";
import { fpuInit } from "./fpu/fpu";
import { blocksReset, codeWritten } from "./blocks";
export { jitConfigure, jitMapRestored, jitEvicted, jitEntryFor, jitCondition, jitCarry, jitWriteFlags, jitExitIp } from "./jit/units";
export { jitInterpret, jitInstructionInfo } from "./jit/fallback";
export { flags as jitFlags, lazyKindSize as jitLazyKindSize, lazyOp1 as jitLazyOp1, lazyOp2 as jitLazyOp2, lazyResult as jitLazyResult, lazyCarry as jitLazyCarry } from "./flags";
export { readMask as jitReadMask, writeMask as jitWriteMask } from "./mmu";
export { eipDelta as jitEipDelta } from "./cpu";

/**
 * Size linear memory for `ramSize` bytes of guest RAM (once: a later grow would detach the
 * host's views) and reset the CPU. Returns 0, or -1 if the memory can't grow that far.
 */
export function init(ramSize: u32): i32 {
  if (<usize>__heap_base > <usize>LAYOUT_BASE) return -2;
  const need = (<u64>RAM_BASE + <u64>ramSize + 0xffff) >> 16;
  const have = <u64>memory.size();
  if (need > 65536) return -1;
  if (need > have && memory.grow(<i32>(need - have)) < 0) return -1;
  memory.fill(STATE_BASE, 0, STATE_SIZE);
  memory.fill(TLB_BASE, 0, TLB_SIZE);
  store<u32>(STATE_RAM_SIZE, ramSize);
  setRamSize(ramSize);
  reset();
  return 0;
}

/** Power-on state (SDM Vol. 3 §9.1.1): real mode at F000:FFF0, every segment 64 KiB. */
export function reset(): void {
  const ram = load<u32>(STATE_RAM_SIZE);
  const apic = load<u32>(STATE_APIC_PRESENT);
  memory.fill(STATE_BASE, 0, STATE_SIZE);
  store<u32>(STATE_RAM_SIZE, ram);
  setApicPresent(apic);
  fpuInit(); // the FNINIT state (see assembly/fpu/fpu.ts)
  store<u32>(STATE_CR0, 0x60000010);
  store<u32>(STATE_EIP, 0xfff0);
  // EDX holds the processor's signature after RESET (SDM Vol. 3 §9.1.3, Table 9-1).
  store<u32>(REG_BASE + 2 * 4, CPU_SIGNATURE);
  store<u32>(STATE_EFLAGS, 0x2);
  store<u32>(STATE_IDTR_LIMIT, 0xffff);
  store<u32>(STATE_GDTR_LIMIT, 0xffff);
  store<i32>(STATE_EXC_VECTOR, -1);
  setSegCache(SEG_CS, 0xf000, 0xffff0000, 0xffff, 0x9b);
  for (let s = 0; s < 6; s++) if (s != SEG_CS) setSegCache(s, 0, 0, 0xffff, 0x93);
  setSegCache(SEG_LDTR, 0, 0, 0xffff, 0x82);
  setSegCache(SEG_TR, 0, 0, 0xffff, 0x8b);
  tlbFlush(false);
  shadowReset(ram);
  blocksReset(ram);
  syncIn();
}

/**
 * Give the CPU a local APIC (non-zero) or none: CPUID's APIC flag and MSR IA32_APIC_BASE follow.
 * The register file itself is the host's (src/devices/local-apic.ts).
 */
export function setApicPresent(present: u32): void {
  store<u32>(STATE_APIC_PRESENT, present != 0 ? 1 : 0);
  store<u32>(STATE_APIC_BASE, present != 0 ? APIC_BASE_RESET : 0);
}

/** Execute up to `budget` instructions; returns an EXIT_* reason (layout.ts). */
export function run(budget: u32): i32 {
  return runLoop(budget);
}

/** Real-time machines (non-zero): RDTSC reads the host's clock (hostReadTsc) instead of counting instructions. Kept across reset(). */
export function useHostTsc(on: i32): void {
  setTscFromHost(on != 0);
}

/** Drop every TLB entry: the host changed CR0/CR3/CR4 or the page tables behind the core's back. */
export function flushTlb(): void {
  tlbFlush(false);
}

// ---- VMI: what the host's call handlers ask of the core (src/vmi/) ----------------------------

/** AllocatePage: physical page `pfn` is now a page table (PAGE_KIND_PT) or directory (PAGE_KIND_PD). 0 = outside RAM. */
export function vmiAnnouncePage(pfn: u32, kind: u32): i32 {
  return shadowAnnounce(pfn, kind) ? 1 : 0;
}

/** ReleasePage. 0 = outside RAM. */
export function vmiReleasePage(pfn: u32): i32 {
  return shadowRelease(pfn) ? 1 : 0;
}

/** The host wrote the page-table entry at physical `phys`: drop what was translated through it. */
export function vmiEntryWritten(phys: u32): void {
  shadowEntryWritten(phys);
}

/** Load CRn as MOV CRn would (TLB, shadow contexts, shadow copies). Returns 0, or 1 if the value would #GP. */
export function vmiWriteCr(n: i32, v: u32): i32 {
  if (n != 0 && n != 2 && n != 3 && n != 4) return 1;
  if (!crValueValid(n, v)) return 1;
  applyCr(n, v);
  return 0;
}

/**
 * FlushTLB: the non-global translations, or (global) every one; but shadowed translations stay:
 * every write to the entries they came from is announced or caught, and dropped them exactly,
 * so what remains is what a fresh walk would give (the point of shadow page tables).
 */
export function vmiFlushTlb(global: i32): void {
  tlbFlushKeeping(global == 0 ? TLB_GLOBAL | TLB_SHADOWED : TLB_SHADOWED);
}

/** InvalPage: one linear page's translation. */
export function vmiInvalPage(lin: u32): void {
  tlbInvalidatePage(lin);
}

/** Refresh the shared area's copies of the control registers (vmi_init, and after the host changed one). */
export function vmiShadowCrs(): void {
  vmiShadowControlRegisters();
}

/**
 * Where linear `lin` maps now, for a supervisor access, as the guest's page tables say, without
 * setting Accessed/Dirty or filling the TLB: the physical address, or -1 if not present.
 */
export function vmiTranslate(lin: u32): f64 {
  return probeTranslate(lin);
}

/**
 * Check and apply `n` page-table updates (vmi-queue.ts) from the ring at `base` (from `head`,
 * wrapping with `mask`), translating entry pointers through the linear mapping given (length 0:
 * none) or a walk. `strict`: a drained batch (every target announced); 0: one immediate call.
 * Returns n, or -1 with the refused entry's index and reason in the state block.
 */
export function vmiApplyEntries(base: u32, head: u32, n: u32, mask: u32, strict: i32, linVa: u32, linLength: u32, linPa: u32, virtualTop: u32): i32 {
  setQueueContext(linVa, linLength, linPa, virtualTop);
  return applyEntries(<usize>base, head, n, mask, strict != 0);
}

/** The host wrote `len` bytes of guest RAM at `phys` (a loader, a hypercall): drop the blocks cached there. */
export function ramWritten(phys: u32, len: u32): void {
  codeWritten(phys, len);
}
