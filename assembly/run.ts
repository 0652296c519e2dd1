// The run loop: execute until the budget is spent or something the host must see happens
// (HLT, a stop request, a triple fault, a trapped exception in test mode). Interrupts are
// sampled only when something may have changed them: on entry, after a host call, and after
// an instruction that may have set IF ("attention").

import {
  STATE_EIP, STATE_EFLAGS, STATE_CPL, STATE_HALTED, STATE_INTR, STATE_STOP_REQUEST, STATE_EXIT_REASON,
  COUNTER_INSTRUCTIONS, COUNTER_INTERRUPTS, EXIT_BUDGET, EXIT_HLT, EXIT_HLT_DISABLED, EXIT_TRIPLE_FAULT,
  EXIT_EXCEPTION, EXIT_STOP, STATE_TRAP_EXCEPTIONS, STATE_DR_BASE, STATE_RUN_RETIRED,
} from "./layout";
import * as cpu from "./cpu";
import * as fl from "./flags";
import { FLAG_IF, FLAG_TF, FLAG_RF, readFlags } from "./flags";
import { updateAccessMasks } from "./mmu";
import { segmentsChanged } from "./segments";
import { fetchSlow } from "./decode";
import { fastStep } from "./fastpath";
import { buildBlock } from "./blocks";
import { step, stepResult, STEP_OK, STEP_HLT, STEP_TRAPPED, interruptShadow, clearInterruptShadow } from "./execute";
import * as ex from "./execute";
import { deliverPendingException, deliverEvent, deliverTrap, tripleFault, clearTripleFault, EXC_DB, EVENT_EXTERNAL } from "./exceptions";
import { hostAckInterrupt } from "./imports";
import { vmiActive, inVmiRomCode } from "./vmi";
import { jitEnabled, jitRun, jitExitIp } from "./jit/units";

/** TF was set as the current instruction began: #DB follows it. */
let singleStepArmed: bool = false;
const DR6_BS: u32 = 1 << 14;

/** Instructions retired in the current run() call (RDTSC reads it mid-run). */
export let retiredThisRun: u32 = 0;

/** Publish the live instruction count before a host call (STATE_RUN_RETIRED). */
@inline export function publishRetired(): void {
  store<u32>(STATE_RUN_RETIRED, retiredThisRun);
}

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

/**
 * Everything the loop must look at between instructions when `attention` is set: a fault to
 * deliver, a single-step trap, HLT, a stop request, a maskable interrupt. Returns an EXIT_*
 * reason to stop with, or -1 to go on.
 */
function handleAttention(): i32 {
  cpu.attention = false;
  if (cpu.faulted) {
    retiredThisRun--; // a faulting instruction does not retire
    singleStepArmed = false;
    if (!deliverPendingException()) {
      const r = tripleFault ? EXIT_TRIPLE_FAULT : EXIT_EXCEPTION;
      if (tripleFault) clearTripleFault();
      return r;
    }
  }
  if (singleStepArmed) {
    // TF was set when the last instruction began: a single-step trap after it (SDM Vol. 3 §17.3.1.4).
    singleStepArmed = false;
    store<u32>(STATE_DR_BASE + 6 * 4, load<u32>(STATE_DR_BASE + 6 * 4) | DR6_BS);
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
      if (vector >= 0) {
        store<u32>(STATE_HALTED, 0);
        store<u64>(COUNTER_INTERRUPTS, load<u64>(COUNTER_INTERRUPTS) + 1);
        const at = cpu.getEip();
        cpu.instrStart = at;
        if (!deliverEvent(vector, 0, false, EVENT_EXTERNAL, at)) {
          clearTripleFault();
          return EXIT_TRIPLE_FAULT;
        }
        // Let the handler's first instruction run before the next INTA.
      }
    }
  } else if (interruptShadow) clearInterruptShadow();
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
 * How many instructions from `ip` the fast path may run before the next page and budget check:
 * the cached block there (built now if need be), at most `room`; one without a block table.
 */
@inline function blockAt(table: usize, ip: usize, page: usize, room: u32): u32 {
  if (table == 0) return 1;
  const entry = table + (ip - page);
  let k = <u32>load<u8>(entry);
  if (k == 0) k = buildBlock(ip, page, entry);
  return k < room ? k : room;
}

export function runLoop(budget: u32): i32 {
  syncIn();
  let reason = EXIT_BUDGET;
  retiredThisRun = 0;
  cpu.attention = true;
  // The instruction pointer and the retired count live in locals here (V8 keeps them in
  // registers); cpu.ip / retiredThisRun are brought up to date before anything else looks.
  let ip = cpu.ip;
  let n: u32 = 0;
  for (;;) {
    if (cpu.attention) {
      cpu.ip = ip;
      retiredThisRun = n;
      const r = handleAttention();
      ip = cpu.ip;
      n = retiredThisRun;
      if (r >= 0) {
        reason = r;
        break;
      }
    }
    if (n >= budget) break;
    if (<u32>(ip - cpu.ipPage) >= 0xff0) {
      cpu.ip = ip;
      retiredThisRun = n;
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
      if (jitEnabled() && table != 0) {
        // A compiled unit (assembly/jit/units.ts) runs whole blocks at a time, never more than
        // the room left; afterwards the loop's checks run as after any jump.
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
        // With the JIT on, each block start goes back to look for a compiled unit.
        if (<u32>(ip - page) >= 0xff0 || n >= stopAt || jitEnabled()) break;
        size = blockAt(table, ip, page, stopAt - n);
        left = size;
      }
      if (next != 0) continue;
      n += size - left; // the block's instructions before the one the fast path left
    }
    cpu.ip = ip;
    cpu.ipStart = ip;
    retiredThisRun = n;
    step();
    // After prefixes or a CS change, so that the next instruction can take the fast path.
    if (cpu.decodeDirty) cpu.setDecodeDefaults();
    ip = cpu.ip;
    n++;
  }
  cpu.ip = ip;
  retiredThisRun = n;
  store<u64>(COUNTER_INSTRUCTIONS, load<u64>(COUNTER_INSTRUCTIONS) + <u64>retiredThisRun);
  retiredThisRun = 0;
  publishRetired();
  syncOut();
  store<i32>(STATE_EXIT_REASON, reason);
  return reason;
}
