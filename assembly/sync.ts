// The host-visible copies of the core's hot globals (cpu.ts): EIP, EFLAGS and CPL live in
// globals while the core runs and in the state block whenever the host may look, that is when
// run() returns and around a host call.

import { STATE_EIP, STATE_EFLAGS, STATE_CPL } from "./layout";
import * as cpu from "./cpu";
import * as fl from "./flags";
import { readFlags } from "./flags";
import { updateAccessMasks } from "./mmu";
import { segmentsChanged } from "./segments";

/** Load the host-visible state into the core's globals. */
export function syncIn(): void {
  cpu.setEip(load<u32>(STATE_EIP));
  fl.flags = (load<u32>(STATE_EFLAGS) | fl.FLAGS_FIXED) & ~0x8028;
  fl.clearLazy();
  cpu.cpl = <i32>(load<u32>(STATE_CPL) & 3);
  cpu.faulted = false;
  updateAccessMasks();
  segmentsChanged();
}

/** Write the core's globals back where the host reads them. */
export function syncOut(): void {
  store<u32>(STATE_EIP, cpu.getEip());
  store<u32>(STATE_EFLAGS, readFlags());
  store<u32>(STATE_CPL, <u32>cpu.cpl);
}
