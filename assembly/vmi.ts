// The core's side of VMI's shared area (VMI.md, "Our implementation"): the virtual interrupt
// flag, and the shadow copies of the control registers that the ROM's GetCRn calls return
// without an exit. The host owns everything else in the shared area.

import {
  STATE_VMI_ACTIVE, STATE_CR0, STATE_CR2, STATE_CR3, STATE_CR4, VMI_AREA_BASE, VMI_SHARED_OFFSET,
  SP_VIF, SP_CR0, SP_CR2, SP_CR3, SP_CR4, VMI_COUNTER_NATIVE_IF,
} from "./layout";

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
