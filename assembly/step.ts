// One instruction: prefixes, then the generated dispatch (generated/dispatch.ts): a `switch`
// over the one-byte opcode map (a br_table, which measured faster in V8 than calling handlers
// through a table), with the 0F map in its own function.

import { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS } from "./layout";
import * as cpu from "./cpu";
import { fetch8 } from "./decode";
import { raiseUD, raiseGP } from "./exceptions";
import { PREFIX_BITS, LOCKABLE_1, LOCKABLE_2 } from "./generated/opcode-tables";
import { execute } from "./generated/dispatch";

/** Execute one instruction. */
@inline export function step(): void {
  if (cpu.decodeDirty) cpu.setDecodeDefaults();
  let op = fetch8();
  if (((load<u32>(PREFIX_BITS + ((op >> 5) << 2)) >>> (op & 31)) & 1) == 0) {
    execute(op);
    return;
  }
  // Prefixes (SDM Vol. 2 §2.1.1); a 15-byte limit is enforced by the decoder's #GP below.
  // Their overrides must not outlive this instruction, whichever way it ends: the run loop
  // restores the defaults as soon as it returns.
  cpu.decodeDirty = true;
  for (let n = 0; ; n++) {
    if (n == 14) {
      raiseGP(0);
      return;
    }
    switch (op) {
      case 0x66: cpu.opsz = cpu.codeDefault32 ? cpu.SIZE_16 : cpu.SIZE_32; break;
      case 0x67: cpu.adsz32 = !cpu.codeDefault32; break;
      case 0x26: cpu.segOverride = SEG_ES; break;
      case 0x2e: cpu.segOverride = SEG_CS; break;
      case 0x36: cpu.segOverride = SEG_SS; break;
      case 0x3e: cpu.segOverride = SEG_DS; break;
      case 0x64: cpu.segOverride = SEG_FS; break;
      case 0x65: cpu.segOverride = SEG_GS; break;
      case 0xf0: cpu.lockPrefix = true; break;
      case 0xf2:
      case 0xf3: cpu.repPrefix = <i32>op; break;
      default:
        if (cpu.lockPrefix && !lockable(op)) {
          raiseUD();
          return;
        }
        execute(op);
        return;
    }
    op = fetch8();
  }
}

/**
 * LOCK is legal only on read-modify-write instructions with a memory destination
 * (SDM Vol. 2 LOCK; the table's `lock` forms); anything else raises #UD.
 */
function lockable(op: u32): bool {
  let at = cpu.ip;
  let table = LOCKABLE_1;
  if (op == 0x0f) {
    op = <u32>load<u8>(at);
    at++;
    table = LOCKABLE_2;
  }
  const digits = <u32>load<u8>(table + op);
  const m = <u32>load<u8>(at);
  if (digits == 0 || m >= 0xc0) return false;
  return ((digits >> ((m >> 3) & 7)) & 1) != 0;
}

/**
 * The instruction at host address `ip` through the full decoder, `retired` instructions into
 * the run (cpu.retiredThisRun, which RDTSC and host calls read): the run loop's slow path, and
 * an instruction a compiled unit hands to the interpreter (assembly/jit/fallback.ts). After
 * prefixes or a CS change the decode defaults are restored, so that the next instruction can
 * take the fast path.
 */
@inline export function stepAt(ip: usize, retired: u32): void {
  cpu.ip = ip;
  cpu.ipStart = ip;
  cpu.retiredThisRun = retired;
  step();
  if (cpu.decodeDirty) cpu.setDecodeDefaults();
}
