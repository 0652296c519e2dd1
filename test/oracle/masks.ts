// Which EFLAGS bits an instruction leaves undefined, per the Intel SDM Vol. 2 instruction
// pages ("Flags Affected") and Vol. 1 Appendix A (EFLAGS cross-reference). A case compares
// every status flag and DF except these: a flag the instruction does not touch is compared too
// (it must keep its input value). QEMU's value for an undefined flag is recorded but not
// compared, since real CPUs differ there.

import { AF, CF, OF, PF, SF, ZF } from "./cases.js";

export interface MaskContext {
  /** Operand size in bits. */
  size: 8 | 16 | 32;
  /** For shifts, rotates and double shifts: the count after the CPU masks it to 5 bits. */
  count?: number;
}

type Undefined = (c: MaskContext) => number;
const none: Undefined = () => 0;

/** Flags left undefined, by mnemonic. */
export const UNDEFINED_FLAGS: Record<string, Undefined> = {
  // Arithmetic: all six flags defined by the result (ADD, ADC, SUB, SBB, CMP, NEG, INC, DEC,
  // XADD, CMPXCHG, CMPS, SCAS). INC/DEC leave CF alone, which is compared too.
  add: none, adc: none, sub: none, sbb: none, cmp: none, neg: none, inc: none, dec: none,
  xadd: none, cmpxchg: none, cmps: none, scas: none,
  // AND, OR, XOR, TEST: OF = CF = 0, SF ZF PF by the result, AF undefined.
  and: () => AF, or: () => AF, xor: () => AF, test: () => AF,
  // SAL/SAR/SHL/SHR (Vol. 2B "SAL/SAR/SHL/SHR"): a masked count of 0 affects no flag; otherwise
  // AF is undefined, OF is defined only for a count of 1, and CF is undefined for SHL/SHR when
  // the count is at least the operand size (SAR's CF stays defined: it is the sign bit).
  shl: (c) => (c.count === 0 ? 0 : AF | (c.count === 1 ? 0 : OF) | (c.count! >= c.size ? CF : 0)),
  shr: (c) => (c.count === 0 ? 0 : AF | (c.count === 1 ? 0 : OF) | (c.count! >= c.size ? CF : 0)),
  sar: (c) => (c.count === 0 ? 0 : AF | (c.count === 1 ? 0 : OF)),
  // RCL/RCR/ROL/ROR (Vol. 2B "RCL/RCR/ROL/ROR"): only CF and OF are affected; a masked count
  // of 0 affects neither, OF is undefined unless the masked count is 1.
  rol: (c) => (c.count === 0 || c.count === 1 ? 0 : OF),
  ror: (c) => (c.count === 0 || c.count === 1 ? 0 : OF),
  rcl: (c) => (c.count === 0 || c.count === 1 ? 0 : OF),
  rcr: (c) => (c.count === 0 || c.count === 1 ? 0 : OF),
  // SHLD/SHRD (Vol. 2B): count 0 affects nothing; otherwise AF undefined, OF undefined unless
  // the count is 1. (A 16-bit count above 16 leaves result and flags undefined: the generator
  // does not make such cases.)
  shld: (c) => (c.count === 0 ? 0 : AF | (c.count === 1 ? 0 : OF)),
  shrd: (c) => (c.count === 0 ? 0 : AF | (c.count === 1 ? 0 : OF)),
  // MUL, IMUL (all forms): CF and OF defined; SF ZF AF PF undefined.
  mul: () => SF | ZF | AF | PF, imul: () => SF | ZF | AF | PF,
  // DIV, IDIV: all six undefined.
  div: () => CF | OF | SF | ZF | AF | PF, idiv: () => CF | OF | SF | ZF | AF | PF,
  // BT, BTS, BTR, BTC: CF is the bit; ZF unaffected; OF SF AF PF undefined.
  bt: () => OF | SF | AF | PF, bts: () => OF | SF | AF | PF, btr: () => OF | SF | AF | PF, btc: () => OF | SF | AF | PF,
  // BSF, BSR: ZF defined; CF OF SF AF PF undefined. With a zero source the SDM also leaves the
  // destination undefined; QEMU leaves it unchanged, as AMD documents and as the host CPU does
  // (crosscheck/), so the cases do compare it: a core that writes it is wrong on real machines.
  bsf: () => CF | OF | SF | AF | PF, bsr: () => CF | OF | SF | AF | PF,
  // CMPXCHG8B: ZF defined, the others unaffected.
  cmpxchg8b: none,
  // DAA, DAS: CF AF SF ZF PF defined, OF undefined.
  daa: () => OF, das: () => OF,
  // AAA, AAS: AF and CF defined; OF SF ZF PF undefined.
  aaa: () => OF | SF | ZF | PF, aas: () => OF | SF | ZF | PF,
  // AAM, AAD: SF ZF PF by AL; OF AF CF undefined.
  aam: () => OF | AF | CF, aad: () => OF | AF | CF,
  // Everything else the generator makes either defines all the flags it writes (SAHF, POPF,
  // CLC, STC, CMC, CLD, STD) or writes none (MOV*, LEA, XCHG, BSWAP, string moves, stack,
  // control transfer, SETcc, CMOVcc, CBW..., XLAT, BOUND, LAHF, NOT).
};

export function undefinedFlags(mnemonic: string, c: MaskContext): number {
  const f = UNDEFINED_FLAGS[mnemonic];
  return f ? f(c) : 0;
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
