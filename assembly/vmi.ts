// The core's side of VMI's shared area (docs/vmi.md "The shared area"): the virtual interrupt
// flag, and the shadow copies of the control registers that the ROM's GetCRn calls return
// without an exit. The host owns everything else in the shared area.

import {
  STATE_VMI_ACTIVE, STATE_CR0, STATE_CR2, STATE_CR3, STATE_CR4, VMI_AREA_BASE, VMI_SHARED_OFFSET,
  SP_VIF, SP_CR0, SP_CR2, SP_CR3, SP_CR4, SP_LAZY_MODE, VMI_COUNTER_NATIVE_IF, VMI_COUNTER_LAZY_ENDED,
  STATE_VMI_TOP, STATE_VMI_ROM_PAGES, SEG_CS, STATE_VMI_LAZY_SUSPENDED, STATE_VMI_LAZY_ESP,
} from "./layout";
import * as cpu from "./cpu";

const SHARED: usize = VMI_AREA_BASE + VMI_SHARED_OFFSET;

@inline export function vmiActive(): bool {
  return load<u32>(STATE_VMI_ACTIVE) != 0;
}

/** The virtual interrupt flag (only meaningful while vmiActive). */
@inline export function virtualIf(): bool {
  return load<u8>(SHARED + SP_VIF) != 0;
}

@inline export function setVirtualIf(on: bool): void {
  store<u8>(SHARED + SP_VIF, on ? 1 : 0);
}

/** The guest changed the interrupt flag itself (CLI/STI) instead of through the ROM. */
export function countNativeIf(): void {
  store<u32>(VMI_COUNTER_NATIVE_IF, load<u32>(VMI_COUNTER_NATIVE_IF) + 1);
}

/** Refresh the ROM's shadow copies of CR0, CR2, CR3 and CR4 after any of them changed. */
export function vmiShadowControlRegisters(): void {
  store<u32>(SHARED + SP_CR0, load<u32>(STATE_CR0));
  store<u32>(SHARED + SP_CR2, load<u32>(STATE_CR2));
  store<u32>(SHARED + SP_CR3, load<u32>(STATE_CR3));
  store<u32>(SHARED + SP_CR4, load<u32>(STATE_CR4));
}

/** Linear address `lin` lies in the ROM's code pages, mapped at the bottom of the reserved range. */
export function isVmiRomAddress(lin: u32): bool {
  const top = load<u32>(STATE_VMI_TOP);
  return top != 0 && lin >= top && lin - top < load<u32>(STATE_VMI_ROM_PAGES) << 12;
}

/**
 * The next instruction is ROM code. A ROM call is one instruction to the guest: an interrupt
 * waits until it returns, so that no handler finds it half done (a queue slot taken but not yet
 * written, the virtual IF set a step before a Halt's HLT).
 */
export function inVmiRomCode(): bool {
  return isVmiRomAddress(cpu.segBase(SEG_CS) + cpu.getEip());
}

/**
 * An interrupt or exception is being delivered while the ROM is active. Linux treats interrupt
 * context as outside lazy MMU mode (paravirt_get_lazy_mode), so a handler's page-table updates
 * must take effect at once, and a vmalloc fault's directory update before the retry: lazy MMU
 * mode is suspended here. What is already queued stays queued, in order, until the next exit
 * drains it. The interrupted code is still in its lazy section (Linux's own per-CPU mode says
 * so): the IRET that returns to it, at CPL 0 with the stack pointer it had, resumes the mode
 * (vmiIretDone). Without that, a timer tick in a 1,024-entry fork copy or munmap would send the
 * rest of the section out one exit per entry.
 */
export function vmiEventDelivered(): void {
  if (load<u8>(SHARED + SP_LAZY_MODE) != LAZY_MMU) return;
  store<u8>(SHARED + SP_LAZY_MODE, 0);
  store<u32>(VMI_COUNTER_LAZY_ENDED, load<u32>(VMI_COUNTER_LAZY_ENDED) + 1);
  // Lazy sections are kernel code; anything else just ends the mode.
  store<u32>(STATE_VMI_LAZY_SUSPENDED, cpu.cpl == 0 ? 1 : 0);
  store<u32>(STATE_VMI_LAZY_ESP, cpu.reg32(4));
}

/**
 * An IRET completed: if it returned to the code whose lazy MMU mode an event suspended (CPL 0,
 * its stack pointer back where it was), that mode resumes, unless the guest has set one since.
 * An IRET elsewhere (a nested handler's, another task's) leaves the suspension as it is.
 */
export function vmiIretDone(): void {
  if (load<u32>(STATE_VMI_LAZY_SUSPENDED) == 0) return;
  if (cpu.cpl != 0 || cpu.reg32(4) != load<u32>(STATE_VMI_LAZY_ESP)) return;
  store<u32>(STATE_VMI_LAZY_SUSPENDED, 0);
  if (load<u8>(SHARED + SP_LAZY_MODE) == 0) store<u8>(SHARED + SP_LAZY_MODE, LAZY_MMU);
}

/** SetLazyMode's lazy MMU mode (docs/vmi.md "Flags"). */
const LAZY_MMU: u8 = 1;
