// The JIT tier's side in the core: finds the compiled unit for a block start, counts the
// blocks that have none, asks the host to compile the hot ones (hostJitCompile), and enters a
// unit through the shared function table. The units themselves are WebAssembly the host
// generates (src/jit/): they import this module's memory, the lazy-flag globals and the few
// functions below, and keep the guest registers in locals while they run.
//
// A unit is valid while the block table it was compiled from is: it is keyed by the code's
// host address and the table's (index, generation), and every discard of a table (blocks.ts)
// bumps that table's generation, so a unit over rewritten code is never entered again.

import { JIT_GEN_BASE, JIT_HASH_BASE, JIT_HASH_SIZE, JIT_ENTRIES, JIT_ENTRY_SIZE, CODE_TABLE_BASE } from "../layout";
import * as cpu from "../cpu";
import { flatDataRead, flatDataWrite } from "../segments";
import { testCondition, carry, writeFlags } from "../flags";
import { hostJitCompile } from "../imports";
import { jitForgetAll, epoch } from "./validity";
import { BLOCK_NO_UNIT } from "../blocks";
export { jitMapRestored } from "./validity";

/** A function slot meaning "the host would not compile this block": not asked again. */
const SLOT_REFUSED: u32 = 0xffff;
/**
 * A function slot meaning "the host is compiling this block elsewhere": it puts the unit's slot
 * (or SLOT_REFUSED) in the entry when it is ready, between two runs (src/jit/jit.ts).
 */
const SLOT_PENDING: u32 = 0xfffe;

/** Hits before a block start is compiled (0: the JIT is off). */
let threshold: u32 = 0;
/** The run's retired count when the current unit was entered. */
export let retiredAtEntry: u32 = 0;
/** Where the last unit left off: the host address of the next instruction. */
export let jitExitIp: usize = 0;

/** Turn the JIT on with `hits` (1 to 65535) block entries before compiling, or off with 0. */
export function jitConfigure(hits: u32): void {
  threshold = hits > 0xffff ? 0xffff : hits;
  jitForgetAll();
}

@inline export function jitEnabled(): bool {
  return threshold != 0;
}

@inline function entryFor(ip: usize): usize {
  const h = (<u32>ip ^ (<u32>ip >>> 13)) & (<u32>JIT_ENTRIES - 1);
  return JIT_HASH_BASE + <usize>h * JIT_ENTRY_SIZE;
}

/**
 * Run the compiled unit at host address `ip` (a block start on the code page whose block table
 * is `table`), if there is one that may run `room` instructions. Returns how many instructions
 * it retired (jitExitIp is then where to go on), or 0: nothing ran, the interpreter goes on.
 */
export function jitRun(ip: usize, table: usize, room: u32): u32 {
  // Units address memory flat and push and pop with ESP: DS and SS flat, SS 32-bit.
  if (!flatDataRead || !flatDataWrite || !cpu.stack32) return 0;
  const e = entryFor(ip);
  const index = <u32>((table - CODE_TABLE_BASE) >>> 12);
  const gen = load<u32>(JIT_GEN_BASE + (<usize>index << 2));
  const owner = index | (epoch << 16);
  if (load<u32>(e) != <u32>ip || load<u32>(e + 4) != gen || load<u32>(e + 8) != owner) {
    store<u32>(e, <u32>ip);
    store<u32>(e + 4, gen);
    store<u32>(e + 8, owner);
    store<u32>(e + 12, 0);
  }
  let slot = <u32>load<u16>(e + 12);
  if (slot == 0) {
    const hits = <u32>load<u16>(e + 14) + 1;
    if (hits < threshold) {
      store<u16>(e + 14, <u16>hits);
      return 0;
    }
    // The host returns slot | bound << 16, SLOT_PENDING, or 0 (refused); it never runs guest code.
    const r = <u32>hostJitCompile(<u32>ip, <u32>e);
    slot = r == 0 ? SLOT_REFUSED : r & 0xffff;
    store<u32>(e + 12, r == 0 ? SLOT_REFUSED : r);
  }
  if (slot >= SLOT_PENDING) {
    // Refused for good while the block table lives: the run loop stops looking here.
    if (slot == SLOT_REFUSED) store<u8>(table + (ip & 0xfff), load<u8>(table + (ip & 0xfff)) | BLOCK_NO_UNIT);
    return 0;
  }
  if (<u32>load<u16>(e + 14) > room) return 0;
  // The run loop brought cpu.retiredThisRun up to date: an instruction the unit hands to the
  // interpreter (fallback.ts) sees the count it would see in the loop.
  retiredAtEntry = cpu.retiredThisRun;
  return call_indirect<u32>(slot, room);
}

/** The host evicted slot `slot`, installed at `entry`: that entry forgets it. */
export function jitEvicted(entry: usize, slot: u32): void {
  if (entry < <usize>JIT_HASH_BASE || entry >= <usize>(JIT_HASH_BASE + JIT_HASH_SIZE)) return;
  if (<u32>load<u16>(entry + 12) == slot) store<u32>(entry + 12, 0);
}

/** The entry a unit for host address `ip` is installed at (the host's eviction needs it). */
export function jitEntryFor(ip: u32): u32 {
  return <u32>entryFor(<usize>ip);
}

/** Condition code `cc` on the lazy flags, for a unit that cannot tell it from its own code. */
export function jitCondition(cc: i32): i32 {
  return testCondition(cc) ? 1 : 0;
}

/** Replace the EFLAGS bits under `mask` (a rotate's CF and OF), folding the lazy flags first. */
export function jitWriteFlags(value: u32, mask: u32): void {
  writeFlags(value, mask);
}

/** CF from the lazy flags, for a unit's ADC, SBB, INC or DEC. */
export function jitCarry(): i32 {
  return carry() ? 1 : 0;
}
