// Which INC/DEC of a unit must compute the CF it keeps. INC and DEC leave CF as it was, so the
// lazy-flag record they set carries that CF (L_CARRY) and the unit computes it before each one
// whose previous record is not an INC/DEC itself; when the unit does not know that record's kind
// (the flags in the core's globals, or a join of paths with different kinds) that is a call into
// the core. Most of those CFs are never seen: a CMP or ADD replaces them first. The builder
// (unit.ts) records, while it emits, what each instruction does with the flags, as a list of
// events in emission order; liveKeeps() finds, backwards over that list, which kept CFs some
// path can observe, and emitUnit (compile.ts) drops the code of the others.
//
// A dead keep leaves L_CARRY stale under an INC/DEC record. Nothing sees it: every way the record
// can be seen is a USE event (a read of CF, a call into the core, an exit, which writes L_CARRY
// to the core's lazy carry), and no path from the keep reaches one before a KILL (a record that
// sets CF itself, for which the core ignores its lazy carry).

/** CF is read, or the whole record is seen: by the core (a call, an exit) or by a condition. */
export const FLAG_USE = 0;
/** A new record that sets CF itself (ADD, SUB, CMP, logic, NEG, a shift, a multiply). */
export const FLAG_KILL = 1;
/** INC/DEC keep site number `arg`: CF passes through unchanged. */
export const FLAG_KEEP = 2;
/** Control may go on at the start of instruction `arg`, earlier or later in the unit. */
export const FLAG_EDGE = 3;
/** Instruction `arg` starts, reached from the one before it (and maybe by edges). */
export const FLAG_ARRIVE = 4;
/** Instruction `arg` starts, reached by edges only (the one before does not fall through). */
export const FLAG_ENTRY = 5;

const KIND_BITS = 3;
const KIND_MASK = (1 << KIND_BITS) - 1;

/** One event: its kind and argument (an instruction index or a keep site number). */
export function flagEvent(kind: number, arg = 0): number {
  return (arg << KIND_BITS) | kind;
}

/**
 * Whether each of `keeps` keep sites may have its CF observed, as 0 or 1 per site number, for
 * the events of a unit of `instructions` instructions. A CF is live where some path onwards
 * reaches a USE before a KILL; edges add the liveness at their target's start. An edge to an
 * instruction at or before itself reads the previous round's value, so the scan repeats until no
 * such target changes (liveness only grows from round to round, so this ends).
 */
export function liveKeeps(events: readonly number[], instructions: number, keeps: number): Uint8Array {
  const liveIn = new Uint8Array(instructions);
  const seen = new Uint8Array(instructions);
  const backTarget = new Uint8Array(instructions);
  const keepLive = new Uint8Array(keeps);
  for (;;) {
    let again = false;
    seen.fill(0);
    // After the last event control has left the unit (its end is an exit: a USE before this).
    let live = 0;
    for (let p = events.length - 1; p >= 0; p--) {
      const e = events[p];
      const arg = e >> KIND_BITS;
      switch (e & KIND_MASK) {
        case FLAG_USE: live = 1; break;
        case FLAG_KILL: live = 0; break;
        case FLAG_KEEP: keepLive[arg] = live; break;
        case FLAG_EDGE:
          if (!seen[arg]) backTarget[arg] = 1;
          live |= liveIn[arg];
          break;
        default: // FLAG_ARRIVE, FLAG_ENTRY
          seen[arg] = 1;
          if (liveIn[arg] !== live) {
            liveIn[arg] = live;
            if (backTarget[arg]) again = true;
          }
          if ((e & KIND_MASK) === FLAG_ENTRY) live = 0;
          break;
      }
    }
    if (!again) return keepLive;
  }
}
