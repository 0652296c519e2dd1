// The run loop: execute until the budget is spent or something the host must see happens
// (HLT, a stop request, a triple fault, a trapped exception in test mode). Interrupts are
// sampled only when something may have changed them: on entry, after a host call, and after
// an instruction that may have set IF ("attention").

import {
  STATE_HALTED, STATE_INTR, STATE_STOP_REQUEST, STATE_EXIT_REASON,
  COUNTER_INSTRUCTIONS, COUNTER_INTERRUPTS, EXIT_BUDGET, EXIT_HLT, EXIT_HLT_DISABLED, EXIT_TRIPLE_FAULT,
  EXIT_EXCEPTION, EXIT_STOP, STATE_TRAP_EXCEPTIONS, STATE_DR_BASE, STATE_DEBUG_TRAP,
  STATE_NMI, NMI_PENDING, NMI_BLOCKED,
} from "./layout";
import * as cpu from "./cpu";
import * as fl from "./flags";
import { FLAG_IF, FLAG_TF, FLAG_RF } from "./flags";
import { publishRetired } from "./cpu";
import { syncIn, syncOut } from "./sync";
import { fetchSlow } from "./decode";
import { fastStep } from "./generated/fast-dispatch";
import { buildBlock, BLOCK_NO_UNIT, BLOCK_COUNT } from "./blocks";
import { stepResult, STEP_OK, STEP_HLT, STEP_TRAPPED, interruptShadow, clearInterruptShadow } from "./execute";
import { stepAt } from "./step";
import * as ex from "./execute";
import { deliverPendingException, deliverEvent, deliverTrap, tripleFault, clearTripleFault, EVENT_EXTERNAL } from "./delivery";
import { EXC_DB, EXC_NMI } from "./exceptions";
import { hostAckInterrupt } from "./imports";
import { vmiActive, inVmiRomCode } from "./vmi";
import { jitEnabled, jitRun, jitExitIp } from "./jit/units";

/** TF was set as the current instruction began: #DB follows it. */
let singleStepArmed: bool = false;
const DR6_BS: u32 = 1 << 14;

/** An NMI or the vector of an INTA, delivered at this instruction boundary; false on a triple fault. */
function deliverInterrupt(vector: i32): bool {
  store<u32>(STATE_HALTED, 0);
  store<u64>(COUNTER_INTERRUPTS, load<u64>(COUNTER_INTERRUPTS) + 1);
  const at = cpu.getEip();
  cpu.instrStart = at;
  if (deliverEvent(vector, 0, false, EVENT_EXTERNAL, at)) return true;
  clearTripleFault();
  return false;
}

/**
 * Everything the loop must look at between instructions when `attention` is set: a fault to
 * deliver, a single-step trap, HLT, a stop request, a maskable interrupt. Returns an EXIT_*
 * reason to stop with, or -1 to go on.
 */
function handleAttention(): i32 {
  cpu.attention = false;
  if (cpu.faulted) {
    cpu.retiredThisRun--; // a faulting instruction does not retire
    singleStepArmed = false;
    // A task switch that faulted after its commit point did not complete: no T-flag trap. (One
    // through a task gate while delivering this fault sets it again, for the handler's task.)
    store<u32>(STATE_DEBUG_TRAP, 0);
    if (!deliverPendingException()) {
      const r = tripleFault ? EXIT_TRIPLE_FAULT : EXIT_EXCEPTION;
      if (tripleFault) clearTripleFault();
      return r;
    }
  }
  const taskTrap = load<u32>(STATE_DEBUG_TRAP);
  if (singleStepArmed || taskTrap != 0) {
    // TF was set when the last instruction began: a single-step trap after it (SDM Vol. 3
    // §17.3.1.4); a task switch to a TSS with T set adds BT (§17.3.1.5). One #DB reports both.
    const status = singleStepArmed ? taskTrap | DR6_BS : taskTrap;
    singleStepArmed = false;
    store<u32>(STATE_DEBUG_TRAP, 0);
    store<u32>(STATE_DR_BASE + 6 * 4, load<u32>(STATE_DR_BASE + 6 * 4) | status);
    if (!deliverTrap(EXC_DB)) {
      const r = tripleFault ? EXIT_TRIPLE_FAULT : EXIT_EXCEPTION;
      if (tripleFault) clearTripleFault();
      return r;
    }
  }
  if (tripleFault) {
    // An instruction's own event delivery (INT n) ended in a triple fault.
    clearTripleFault();
    return EXIT_TRIPLE_FAULT;
  }
  if (stepResult != STEP_OK) {
    const r = stepResult;
    ex.stepResult = STEP_OK;
    if (r == STEP_TRAPPED) {
      return EXIT_EXCEPTION;
    }
  }
  if (load<u32>(STATE_STOP_REQUEST) != 0) {
    store<u32>(STATE_STOP_REQUEST, 0);
    return EXIT_STOP;
  }
  // NMI (SDM Vol. 3 §6.7.1): whatever IF says, but not while one is in service (until the
  // next IRET) nor in the shadow of STI or MOV SS (§6.8.3), as QEMU; ahead of INTR (§6.9).
  const nmi = load<u32>(STATE_NMI) == NMI_PENDING;
  if (nmi && !interruptShadow) {
    store<u32>(STATE_NMI, NMI_BLOCKED);
    if (!deliverInterrupt(EXC_NMI)) return EXIT_TRIPLE_FAULT;
  }
  // Maskable interrupts: INTR asserted, IF set, and not in STI's one-instruction shadow.
  fl.syncVirtualIf();
  if (load<u32>(STATE_INTR) != 0 && (fl.flags & FLAG_IF) != 0) {
    // In STI's one-instruction shadow, or during a ROM call (one instruction to the guest; but
    // for a Halt's HLT, which waits for it), the interrupt waits for the next instruction. One
    // branch for both: a second `attention = true` moved that global ahead of an i64 in
    // binaryen's global order, and V8's layout of the globals cost cpu-bound 7%.
    if (interruptShadow || (load<u32>(STATE_HALTED) == 0 && vmiActive() && inVmiRomCode())) {
      clearInterruptShadow();
      cpu.attention = true;
    } else {
      publishRetired();
      const vector = hostAckInterrupt();
      cpu.attention = true; // the PIC may have more to deliver
      // Let the handler's first instruction run before the next INTA.
      if (vector >= 0 && !deliverInterrupt(vector)) return EXIT_TRIPLE_FAULT;
    }
  } else if (interruptShadow) {
    clearInterruptShadow();
    if (nmi) cpu.attention = true; // the NMI the shadow held back, after this instruction
  }
  // RF (from an IRET's image) lasts until the next instruction starts (SDM Vol. 3 §17.3.1.1): an
  // interrupt taken just above, before that instruction, pushed it set; that instruction's own
  // INT n or trap pushes it clear. Set RF made writeFlags ask for attention.
  fl.flags &= ~FLAG_RF;
  if (load<u32>(STATE_HALTED) != 0) {
    return (fl.flags & FLAG_IF) != 0 ? EXIT_HLT : EXIT_HLT_DISABLED;
  }
  if ((fl.flags & FLAG_TF) != 0) {
    singleStepArmed = true;
    cpu.attention = true; // come back after this instruction to deliver the trap
  }
  return -1;
}

/**
 * Whether handleAttention, run now, would find nothing to do but clear `attention` (a host
 * call's, typically: port I/O): no fault, trap, stop request, NMI, deliverable interrupt,
 * shadow, RF, HLT or TF. If so it clears attention, as handleAttention would, and returns true;
 * else it changes nothing that handleAttention would not. A unit (assembly/jit/fallback.ts) then
 * goes on after the instruction it handed to the interpreter instead of leaving to the loop.
 * Every condition handleAttention acts on must be here.
 */
export function attentionIsQuiet(): bool {
  if (cpu.faulted || singleStepArmed || tripleFault || stepResult != STEP_OK || interruptShadow) return false;
  if ((load<u32>(STATE_DEBUG_TRAP) | load<u32>(STATE_STOP_REQUEST) | load<u32>(STATE_HALTED)) != 0) return false;
  if (load<u32>(STATE_NMI) == NMI_PENDING) return false;
  fl.syncVirtualIf();
  if ((fl.flags & (FLAG_TF | FLAG_RF)) != 0) return false;
  if (load<u32>(STATE_INTR) != 0 && (fl.flags & FLAG_IF) != 0) return false;
  cpu.attention = false;
  return true;
}

/**
 * How many instructions from `ip` the fast path may run before the next page and budget check:
 * the cached block there (built now if need be), at most `room`; one without a block table.
 */
@inline function blockAt(table: usize, ip: usize, page: usize, room: u32): u32 {
  if (table == 0) return 1;
  const entry = table + (ip - page);
  let k = <u32>load<u8>(entry) & BLOCK_COUNT;
  if (k == 0) k = buildBlock(ip, page, entry);
  return k < room ? k : room;
}

/**
 * Whether a compiled unit may start at block start `ip` (JIT on): it has a block table, and the
 * JIT has not refused the block (BLOCK_NO_UNIT in its byte, set by assembly/jit/units.ts).
 */
@inline function unitMayStart(table: usize, ip: usize, page: usize): bool {
  return table != 0 && (load<u8>(table + (ip - page)) & BLOCK_NO_UNIT) == 0;
}

export function runLoop(budget: u32): i32 {
  syncIn();
  let reason = EXIT_BUDGET;
  cpu.retiredThisRun = 0;
  cpu.attention = true;
  // The instruction pointer and the retired count live in locals here (V8 keeps them in
  // registers); cpu.ip / cpu.retiredThisRun are brought up to date before anything else looks.
  let ip = cpu.ip;
  let n: u32 = 0;
  for (;;) {
    if (cpu.attention) {
      cpu.ip = ip;
      cpu.retiredThisRun = n;
      const r = handleAttention();
      ip = cpu.ip;
      n = cpu.retiredThisRun;
      if (r >= 0) {
        reason = r;
        break;
      }
    }
    if (n >= budget) break;
    if (<u32>(ip - cpu.ipPage) >= 0xff0) {
      cpu.ip = ip;
      cpu.retiredThisRun = n;
      const ok = fetchSlow();
      ip = cpu.ip;
      if (!ok) {
        n++; // the fault path in handleAttention takes it back
        continue;
      }
    }
    if (cpu.fastDecode && cpu.ipPage != 0) {
      // The fast path neither raises attention nor changes the decode defaults, so it runs in
      // bursts that check only the page and the budget, and those once per cached block
      // (blocks.ts): a block's instructions all start inside the page and only its last may
      // jump. Without a block table (code outside RAM, or sharing its page with data) the
      // check is per instruction. When attention is already set (handleAttention wants to
      // look after the next instruction: a single-step trap, STI's shadow, more interrupts),
      // the burst is one instruction. Not for an instruction copied to the fetch scratch at a
      // page end (ipPage 0): the fast path's jumps are relative to the code page.
      const page = cpu.ipPage;
      const table = cpu.ipTable;
      const stopAt = cpu.attention ? n + 1 : budget;
      if (jitEnabled() && unitMayStart(table, ip, page)) {
        // A compiled unit (assembly/jit/units.ts) runs whole blocks at a time, never more than
        // the room left; afterwards the loop's checks run as after any jump.
        cpu.retiredThisRun = n;
        const k = jitRun(ip, table, stopAt - n);
        if (k != 0) {
          ip = jitExitIp;
          n += k;
          continue;
        }
      }
      // The retired count moves a block at a time: `n` counts up to the current block.
      let size = blockAt(table, ip, page, stopAt - n);
      let left = size;
      let next: usize = 0;
      for (;;) {
        next = fastStep(<u32>load<u8>(ip), ip + 1);
        if (next == 0) break;
        ip = next;
        if (--left != 0) {
          // Where blocks and the fast path disagree on a length, this is where it shows.
          assert(<u32>(ip - page) < 0xff0, "a cached block ran off its code page");
          continue;
        }
        n += size;
        if (<u32>(ip - page) >= 0xff0 || n >= stopAt) break;
        // With the JIT on, each block start goes back to look for a compiled unit, unless the
        // JIT has refused it.
        if (jitEnabled() && unitMayStart(table, ip, page)) break;
        size = blockAt(table, ip, page, stopAt - n);
        left = size;
      }
      if (next != 0) continue;
      n += size - left; // the block's instructions before the one the fast path left
    }
    stepAt(ip, n);
    ip = cpu.ip;
    n++;
  }
  cpu.ip = ip;
  cpu.retiredThisRun = n;
  store<u64>(COUNTER_INSTRUCTIONS, load<u64>(COUNTER_INSTRUCTIONS) + <u64>cpu.retiredThisRun);
  cpu.retiredThisRun = 0;
  publishRetired();
  syncOut();
  store<i32>(STATE_EXIT_REASON, reason);
  return reason;
}
