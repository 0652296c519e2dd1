// Port I/O: every IN/OUT crosses to the host and is counted. Protected-mode permission is
// CPL ≤ IOPL, else the TSS I/O permission bitmap (SDM Vol. 1 §19.5).

import { COUNTER_PORT_IN, COUNTER_PORT_OUT, SEG_TR } from "../layout";
import * as cpu from "../cpu";
import { protectedMode, segBase, segLimit, segAttr } from "../cpu";
import { flags, FLAG_VM } from "../flags";
import { hostPortIn, hostPortOut } from "../imports";
import { publishRetired } from "../cpu";
import { readLin16, enterSupervisorAccess, leaveSupervisorAccess } from "../mmu";
import { raise, EXC_GP } from "../exceptions";
import { sizeMask } from "../cpu";

export function portIn(port: u32, sz: i32): u32 {
  store<u64>(COUNTER_PORT_IN, load<u64>(COUNTER_PORT_IN) + 1);
  cpu.attention = true;
  publishRetired();
  return <u32>hostPortIn(<i32>port, 1 << sz) & sizeMask(sz);
}

export function portOut(port: u32, sz: i32, v: u32): void {
  store<u64>(COUNTER_PORT_OUT, load<u64>(COUNTER_PORT_OUT) + 1);
  cpu.attention = true;
  publishRetired();
  hostPortOut(<i32>port, 1 << sz, <i32>(v & sizeMask(sz)));
}

/** True if the current privilege may access `port` for 2^sz bytes; raises #GP(0) if not. */
export function ioAllowed(port: u32, sz: i32): bool {
  // In virtual-8086 mode the bitmap decides, whatever IOPL is (SDM Vol. 3 §20.2.8.1).
  if (!protectedMode() || (cpu.cpl <= <i32>((flags >>> 12) & 3) && (flags & FLAG_VM) == 0)) return true;
  // The bitmap lives in a 32-bit TSS at the offset stored at byte 102; every bit of the
  // access must be clear, and bits beyond the TSS limit count as set.
  const attr = segAttr(SEG_TR);
  if ((attr & 0x8) == 0 || segLimit(SEG_TR) < 103) {
    raise(EXC_GP, 0);
    return false;
  }
  const base = segBase(SEG_TR);
  enterSupervisorAccess();
  const mapOff = readLin16(base + 102);
  const byteOff = mapOff + (port >>> 3);
  const bits = byteOff + 1 > segLimit(SEG_TR) ? 0xffff : readLin16(base + byteOff);
  leaveSupervisorAccess();
  if (cpu.faulted) return false;
  const mask: u32 = ((1 << (1 << sz)) - 1) << (port & 7);
  if ((bits & mask) != 0) {
    raise(EXC_GP, 0);
    return false;
  }
  return true;
}
