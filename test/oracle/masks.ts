// Which EFLAGS bits an instruction leaves undefined. The rules, each with its SDM reference,
// are the instruction table's (gen/x86-table.ts, generated into generated/instructions.ts). A
// case compares every status flag and DF except these: a flag the instruction does not touch is
// compared too (it must keep its input value). QEMU's value for an undefined flag is recorded but
// not compared, since real CPUs differ there.

import { CF, OF } from "./cases.js";
import { UNDEFINED_FLAGS } from "./generated/instructions.js";

export interface MaskContext {
  /** Operand size in bits. */
  size: 8 | 16 | 32;
  /** For shifts, rotates and double shifts: the count after the CPU masks it to 5 bits. */
  count?: number;
}

/**
 * Flags left undefined by `mnemonic` in context `c`; 0 for a mnemonic the table gives no rule
 * (it defines every flag it writes, or writes none).
 */
export function undefinedFlags(mnemonic: string, c: MaskContext): number {
  const rule = UNDEFINED_FLAGS[mnemonic];
  if (!rule) return 0;
  if (!rule.byCount) return rule.flags;
  if (c.count === 0) return 0;
  return rule.flags | (c.count === 1 ? 0 : OF) | (rule.cfAtSize && c.count! >= c.size ? CF : 0);
}

/**
 * Where QEMU 7.2 (Debian's qemu-user) disagrees with the SDM on a flag or value the SDM
 * defines, the SDM wins: it is the specification, and QEMU 7.2 has known deviations in 386
 * corner cases. Each entry recognises the affected
 * cases and rewrites QEMU's result into the SDM's; the golden line then carries `override`
 * with the entry's name, so every departure from the recorded QEMU run is visible.
 */
export interface QemuOverride {
  name: string;
  /** Why, with the SDM section. */
  why: string;
  /** Returns the corrected EFLAGS, or undefined when the case is not affected. */
  fixFlags?(mnemonic: string, c: MaskContext, inFlags: number, qemuFlags: number): number | undefined;
}

// Checked so far (test/oracle/crosscheck): the 10,503 register-only cases whose bytes mean the
// same in 64-bit mode agree with a real CPU (AMD EPYC) on every register and every flag the SDM
// defines, and the 3,716 BCD cases agree with the SDM's DAA/DAS/AAA/AAS/AAM/AAD pseudocode. No
// flag override is needed yet; the two SDM_ONLY entries below are the deviations found.
export const QEMU_OVERRIDES: QemuOverride[] = [];

/**
 * Cases QEMU cannot run at all; their expected result is written from the SDM instead (the
 * golden line's `override` names the entry). The generator recognises them as it makes them.
 */
export const SDM_ONLY = {
  idivMinByMinusOne: {
    name: "idiv-min-by-minus-one",
    why:
      "QEMU 7.2 does a 16- or 32-bit IDIV of the most negative dividend by -1 with the host's own " +
      "division and dies of SIGFPE. SDM Vol. 2A IDIV: the quotient does not fit, so #DE, a fault: " +
      "registers, memory and EIP as before the IDIV (the flags are undefined anyway).",
  },
  lockRegister: {
    name: "lock-register-destination",
    why:
      "QEMU 7.2 executes LOCK XADD/CMPXCHG/XCHG with a register destination. SDM Vol. 2A LOCK: " +
      "#UD when the destination is not a memory operand (a fault: nothing changes).",
  },
} as const;
