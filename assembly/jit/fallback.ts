// Instructions a unit does not compile run through the interpreter from inside the unit: the
// unit writes its registers and lazy flags back, calls jitInterpret, and goes on with its next
// instruction only if nothing that instruction did needs the run loop. The host's decoder asks
// jitInstructionInfo for such an instruction's length, so that unit and interpreter agree on
// where the next instruction starts.

import * as cpu from "../cpu";
import * as units from "./units";
import { stepAt } from "../step";
import { attentionIsQuiet } from "../run";
import { fastStep } from "../generated/fast-dispatch";
import { flatDataRead, flatDataWrite } from "../segments";
import { instructionLength } from "../length";
import { mayJump } from "../blocks";

/**
 * The instruction at host address `ip` in 32-bit code without prefix state (a unit's): its
 * length, plus 0x100 when it may transfer control (the block cache's test); -1 when the opcode
 * map cannot tell its length.
 */
export function jitInstructionInfo(ip: u32): i32 {
  const len = instructionLength(<usize>ip, 16, true);
  if (len <= 0) return -1;
  return mayJump(<usize>ip) ? len | 0x100 : len;
}

/**
 * Run the instruction at host address `ip` with the interpreter as the run loop does (the fast
 * path, else step()), `retired` instructions into the current unit's pass. It retires whatever
 * happens (a fault is taken back by the run loop's fault path, as after the slow path). jitExitIp is then
 * where execution goes on. Returns 1 when the unit may go on at `next`: nothing the run loop's
 * attention handling would act on (a fault, a trap, HLT, a stop request, a deliverable interrupt;
 * attention a host call raised for nothing is cleared), execution fell through on the same code
 * page and block table, the decode defaults are the fast path's again, and the unit's entry
 * conditions (flat DS and SS, 32-bit stack) still hold; else 0.
 */
export function jitInterpret(ip: u32, next: u32, retired: u32): u32 {
  // First the fast path, as in the run loop: it raises no attention, keeps the decode defaults
  // and the code page, so falling through is all the unit needs.
  const fast = fastStep(<u32>load<u8>(<usize>ip), <usize>ip + 1);
  if (fast != 0) {
    units.jitExitIp = fast;
    return fast == <usize>next ? 1 : 0;
  }
  const page = cpu.ipPage;
  const table = cpu.ipTable;
  const delta = cpu.eipDelta;
  stepAt(<usize>ip, units.retiredAtEntry + retired);
  units.jitExitIp = cpu.ip;
  // Attention a host call raised (port I/O) need not end the unit when the run loop would find
  // nothing to do for it (run.ts attentionIsQuiet, which then clears it); the other conditions
  // first, so that it is asked only when the unit could go on.
  const goOn = cpu.ip == <usize>next && cpu.ipPage == page && cpu.ipTable == table &&
    cpu.eipDelta == delta && !cpu.eipAuthoritative && cpu.fastDecode && flatDataRead && flatDataWrite && cpu.stack32 &&
    (!cpu.attention || attentionIsQuiet());
  return goOn ? 1 : 0;
}
