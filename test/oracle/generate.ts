// Generates the oracle's instruction cases, runs them through harness.c under qemu-i386 and
// writes the answers as golden files: test/oracle/golden/<group>.jsonl, one case per line.
//
//   npm run oracle:generate            (all groups)
//   npm run oracle:generate -- alu bt  (some groups)
//
// Deterministic: every group draws from its own seeded PRNG, so a regeneration with the same
// QEMU gives the same files byte for byte and a diff shows only what really changed.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  CASE_FLAGS, CF, CODE, DATA, DF, LOW, LOW_SIZE, GOLDEN_DIR, INITIAL_ESP, OF, PF, SF, ZF, AF, IF,
  REG_NAMES, areaOffset, hex, runOracle, toHex, type CaseInput, type GoldenCase, type OracleResult,
} from "./cases.js";
import { QEMU_OVERRIDES, SDM_ONLY, undefinedFlags, type MaskContext } from "./masks.js";
import { ENCODINGS, type OracleEncoding } from "./generated/instructions.js";
import { operandTokens, sweepVariants, type SweepVariant } from "./sweep.js";

// ---- deterministic randomness --------------------------------------------------------------

/** mulberry32: small, fast, good enough to pick operands. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  u32(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
  bool(): boolean {
    return (this.u32() & 1) === 1;
  }
}

function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

// ---- registers and values -------------------------------------------------------------------

const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
type Size = 8 | 16 | 32;
const SIZES: Size[] = [8, 16, 32];
const MASK: Record<Size, number> = { 8: 0xff, 16: 0xffff, 32: 0xffffffff };

/** Values at the edges of signed and unsigned ranges, per operand size. */
const EDGES: Record<Size, number[]> = {
  8: [0, 1, 2, 0x0f, 0x10, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff],
  16: [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff],
  32: [0, 1, 0xff, 0xffff, 0x10000, 0x7ffffffe, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff],
};

/** The edges every pair of which goes through each ALU operation. */
const CROSS: Record<Size, number[]> = {
  8: [0, 1, 0x0f, 0x7f, 0x80, 0x81, 0xfe, 0xff],
  16: [0, 1, 0xff, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff],
  32: [0, 1, 0xffff, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff],
};

function value(rng: Rng, size: Size): number {
  return rng.below(3) === 0 ? rng.u32() & MASK[size] : rng.pick(EDGES[size]);
}

/** The LOCK prefix (SDM Vol. 2 §2.1.1, group 1). */
const LOCK = 0xf0;
/** Operand-size prefix for a 16-bit operand (SDM Vol. 2 §2.1.1, group 3). */
const osz = (size: Size): number[] => (size === 16 ? [0x66] : []);
const modrmReg = (reg: number, rm: number): number => 0xc0 | (reg << 3) | rm;
const imm = (v: number, size: Size): number[] => {
  const out: number[] = [];
  for (let i = 0; i < size / 8; i++) out.push((v >>> (8 * i)) & 0xff);
  return out;
};
const sext8 = (v: number): number => ((v << 24) >> 24) >>> 0;

/**
 * The instruction table's encoding of `mnemonic operands` (SDM notation: "Ev,Gv"), its opcode
 * bytes and /digit; `opcode` picks one of several encodings (80 and its alias 82).
 */
function encoding(mnemonic: string, operands: string, opcode?: number): OracleEncoding {
  const e = ENCODINGS.find((x) => x.mnemonic === mnemonic && x.operands === operands && (opcode === undefined || x.opcode.at(-1) === opcode));
  if (!e) throw new Error(`the instruction table has no ${mnemonic} ${operands}${opcode === undefined ? "" : ` at ${hex(opcode)}`}`);
  return e;
}
/** Operands in byte or operand-size notation: bySize(8, "Eb,Gb", "Ev,Gv"). */
const bySize = (size: Size, byte: string, sized: string): string => (size === 8 ? byte : sized);
/** The opcode bytes of `mnemonic operands` (`opcode` as for encoding()). */
const opcodeOf = (mnemonic: string, operands: string, opcode?: number): number[] => encoding(mnemonic, operands, opcode).opcode;
/**
 * The opcode bytes of member `n` of a +r or +cc form (`Zv`, `Jb` of jcc): the row's last
 * opcode byte plus n, which must lie within the row's span.
 */
function nthOpcode(mnemonic: string, operands: string, n: number): number[] {
  const e = encoding(mnemonic, operands);
  if (!e.span || n < 0 || n >= e.span) throw new Error(`${mnemonic} ${operands} has no member ${n} (span ${e.span ?? 1})`);
  return [...e.opcode.slice(0, -1), e.opcode.at(-1)! + n];
}

// ---- a case under construction --------------------------------------------------------------

export class Case {
  code: number[] = [];
  regs: number[];
  flags: number;
  seed: number;
  mem = new Map<number, number>();
  mnemonic: string;
  ctx: MaskContext = { size: 32 };
  /** Set when QEMU cannot run the case: the SDM's result, and the SDM_ONLY entry that says why. */
  sdm?: { result: OracleResult; override: string };

  constructor(
    readonly rng: Rng,
    public name: string,
    mnemonic: string,
    table: readonly OracleEncoding[] = ENCODINGS,
  ) {
    // The case's flag mask is the table's rule for this mnemonic: a name the table does not
    // know would silently compare every flag.
    if (!table.some((e) => e.mnemonic === mnemonic)) throw new Error(`${name}: the instruction table has no mnemonic "${mnemonic}"`);
    this.mnemonic = mnemonic;
    this.regs = Array.from({ length: 8 }, () => rng.u32());
    this.regs[ESP] = INITIAL_ESP;
    this.flags = rng.u32() & CASE_FLAGS & ~DF;
    this.seed = rng.below(8);
  }

  /** Sets a register of the given size (8-bit numbering: AL CL DL BL AH CH DH BH). */
  setReg(size: Size, r: number, v: number): void {
    if (size === 8) {
      const full = r & 3, shift = r >= 4 ? 8 : 0;
      this.regs[full] = ((this.regs[full] & ~(0xff << shift)) | ((v & 0xff) << shift)) >>> 0;
    } else if (size === 16) {
      this.regs[r] = ((this.regs[r] & 0xffff0000) | (v & 0xffff)) >>> 0;
    } else this.regs[r] = v >>> 0;
  }

  pokeBytes(addr: number, bytes: number[]): void {
    bytes.forEach((b, i) => {
      if (areaOffset(addr + i) < 0) throw new Error(`${this.name}: ${hex(addr + i)} is outside the data area and stack window`);
      this.mem.set(addr + i, b & 0xff);
    });
  }

  input(): CaseInput {
    const sorted = [...this.mem.entries()].sort((a, b) => a[0] - b[0]);
    const runs: [string, string][] = [];
    let start = -1, bytes: number[] = [], next = -1;
    for (const [a, b] of sorted) {
      if (a !== next) {
        if (bytes.length) runs.push([hex(start), toHex(bytes)]);
        start = a;
        bytes = [];
      }
      bytes.push(b);
      next = a + 1;
    }
    if (bytes.length) runs.push([hex(start), toHex(bytes)]);
    const mask = CASE_FLAGS & ~undefinedFlags(this.mnemonic, this.ctx);
    const c: CaseInput = {
      name: this.name,
      code: toHex(this.code),
      regs: this.regs.map(hex),
      flags: hex(this.flags & CASE_FLAGS),
      seed: this.seed,
      mask: hex(mask),
    };
    if (runs.length) c.mem = runs;
    return c;
  }
}

/** The case faults at its first instruction by the SDM: nothing changes, EIP stays at CODE. */
function sdmFault(c: Case, vector: number, override: string): void {
  c.sdm = { override, result: { regs: [...c.regs], eflags: c.flags | IF | 2, exception: vector, eip: CODE, mem: [] } };
}

/** Little-endian bytes of v. */
function le(v: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(i < 4 ? (v >>> (8 * i)) & 0xff : 0);
  return out;
}

function poke(c: Case, addr: number, v: number, size: Size): void {
  c.pokeBytes(addr, le(v, size / 8));
}

// ---- 32-bit memory operands (SDM Vol. 2 §2.1.5, tables 2-2 and 2-3) ------------------------

const MEM_FORMS = ["[b]", "[b+d8]", "[b+d32]", "[d32]", "[b+i*s]", "[b+i*s+d8]", "[b+i*s+d32]", "[i*s+d32]", "[esp+d8]", "[ebp+d8]"] as const;
type MemForm = (typeof MEM_FORMS)[number];

/**
 * Encodes ModRM (+SIB, +disp) for a memory operand at `ea` with `regField` in ModRM.reg, and
 * sets the address registers so the effective address is ea. Registers in `avoid` are not
 * used for addressing. The [esp+d8] form addresses the stack window instead: the returned ea
 * says where the operand really is.
 */
function memOperand(c: Case, regField: number, ea: number, form: MemForm, avoid: number[]): { bytes: number[]; ea: number; form: MemForm } {
  const rng = c.rng;
  const free = [EAX, ECX, EDX, EBX, EBP, ESI, EDI].filter((r) => !avoid.includes(r));
  const pickReg = (not: number[]) => {
    const cand = free.filter((r) => !not.includes(r));
    if (cand.length === 0) throw new Error(`${c.name}: no register left for addressing`);
    return rng.pick(cand);
  };
  const d8 = () => (rng.below(256) - 128) & ~3;
  const d32 = () => rng.pick([0x100, 0x1000, -0x40, 0x12345678, 0x7ffffff0]) | 0;
  const sibByte = (scale: number, index: number, base: number) => (scale << 6) | (index << 3) | base;
  switch (form) {
    case "[b]": {
      const b = pickReg([EBP]);
      c.regs[b] = ea >>> 0;
      return { bytes: [(regField << 3) | b], ea, form };
    }
    case "[b+d8]": {
      const b = pickReg([]), d = d8();
      c.regs[b] = (ea - d) >>> 0;
      return { bytes: [0x40 | (regField << 3) | b, d & 0xff], ea, form };
    }
    case "[b+d32]": {
      const b = pickReg([]), d = d32();
      c.regs[b] = (ea - d) >>> 0;
      return { bytes: [0x80 | (regField << 3) | b, ...le(d, 4)], ea, form };
    }
    case "[d32]":
      return { bytes: [(regField << 3) | 5, ...le(ea, 4)], ea, form };
    case "[b+i*s]":
    case "[b+i*s+d8]":
    case "[b+i*s+d32]": {
      const b = pickReg([EBP]), i = pickReg([b]), s = rng.below(4);
      const idx = rng.below(33) - 16;
      const d = form === "[b+i*s]" ? 0 : form === "[b+i*s+d8]" ? d8() : d32();
      c.regs[i] = idx >>> 0;
      c.regs[b] = (ea - d - idx * (1 << s)) >>> 0;
      const mod = form === "[b+i*s]" ? 0x00 : form === "[b+i*s+d8]" ? 0x40 : 0x80;
      const disp = form === "[b+i*s]" ? [] : form === "[b+i*s+d8]" ? [d & 0xff] : le(d, 4);
      return { bytes: [mod | (regField << 3) | 4, sibByte(s, i, b), ...disp], ea, form };
    }
    case "[i*s+d32]": {
      // SIB with base 101 and mod 00: no base, disp32 (Table 2-3 note 1).
      const i = pickReg([]), s = rng.below(4);
      const idx = rng.below(64);
      c.regs[i] = idx;
      const d = ea - idx * (1 << s);
      return { bytes: [(regField << 3) | 4, sibByte(s, i, 5), ...le(d, 4)], ea, form };
    }
    case "[esp+d8]": {
      if (avoid.includes(ESP)) return memOperand(c, regField, ea, "[b+d8]", avoid);
      const d = (rng.below(128) - 32) & ~3;
      // SIB index 100 = none, base 100 = ESP.
      return { bytes: [0x40 | (regField << 3) | 4, sibByte(0, 4, 4), d & 0xff], ea: (c.regs[ESP] + d) >>> 0, form };
    }
    case "[ebp+d8]": {
      if (avoid.includes(EBP)) return memOperand(c, regField, ea, "[b+d8]", avoid);
      const d = d8();
      c.regs[EBP] = (ea - d) >>> 0;
      return { bytes: [0x40 | (regField << 3) | 5, d & 0xff], ea, form };
    }
  }
}

/** A random place in the data area for an operand of `bytes` bytes. */
const dataAddr = (rng: Rng, bytes = 4): number => DATA + 0x100 + rng.below(0xd00 - bytes);

/** The registers an 8-bit register number touches, as 32-bit register numbers. */
const fullReg = (size: Size, r: number): number => (size === 8 ? r & 3 : r);

// ---- 16-bit memory operands (0x67; SDM Vol. 2 §2.1.5, Table 2-1) --------------------------

const BX = EBX, BP = EBP, SI = ESI, DI = EDI;
/** ModRM.rm of 16-bit addressing: the registers summed (mod 00 rm 110 is disp16 alone). */
const RM16: number[][] = [[BX, SI], [BX, DI], [BP, SI], [BP, DI], [SI], [DI], [BP], [BX]];

/**
 * Encodes ModRM (+disp) for a 16-bit-addressed memory operand at `ea` (< 64 KiB) and sets the
 * low 16 bits of the address registers so their sum (with wrap-around at 64 KiB) is ea; their
 * upper halves stay random and must be ignored.
 */
function memOperand16(c: Case, regField: number, ea: number, mod: number, rm: number): number[] {
  const rng = c.rng;
  if (mod === 0 && rm === 6) return [(regField << 3) | 6, ...le(ea, 2)];
  const regs = RM16[rm];
  const disp = mod === 0 ? 0 : mod === 1 ? ((rng.below(256) << 24) >> 24) : rng.below(0x10000);
  let rest = ea - disp;
  if (regs.length === 2) {
    const idx = rng.below(0x10000);
    c.setReg(16, regs[1], idx);
    rest -= idx;
  }
  c.setReg(16, regs[0], rest & 0xffff);
  const dispBytes = mod === 0 ? [] : mod === 1 ? [disp & 0xff] : le(disp, 2);
  return [(mod << 6) | (regField << 3) | rm, ...dispBytes];
}

const lowAddr = (rng: Rng, bytes = 4): number => LOW + 0x40 + rng.below(LOW_SIZE - 0x80 - bytes);

// ---- groups --------------------------------------------------------------------------------

type Group = (rng: Rng) => Case[];
const groups: Record<string, Group> = {};

const ALU = ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"] as const;

/** An instruction with operands Eb/Ev (reg or mem) and Gb/Gv; `op` builds the opcode bytes. */
function rmCases(
  rng: Rng,
  out: Case[],
  name: string,
  mnemonic: string,
  size: Size,
  opcode: number[],
  n: number,
  opts: {
    mem: boolean;
    /** Extra bytes after ModRM (an immediate). */
    after?: (c: Case) => number[];
    /** The ModRM.reg field, for a group opcode (/digit); else a register operand. */
    digit?: number;
    /** Registers the instruction uses implicitly. */
    implicit?: number[];
    values?: (c: Case) => [number, number];
    setup?: (c: Case) => void;
  },
): void {
  for (let k = 0; k < n; k++) {
    const c = new Case(rng, `${name} o${size}${opts.mem ? " mem" : ""} #${k}`, mnemonic);
    c.ctx = { size };
    const [a, b] = opts.values ? opts.values(c) : [value(rng, size), value(rng, size)];
    const implicit = opts.implicit ?? [];
    const candidates = [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => size === 8 || r !== ESP);
    const regsAllowed = candidates.filter((r) => !implicit.includes(fullReg(size, r)));
    const g = opts.digit ?? rng.pick(regsAllowed);
    let modrm: number[];
    if (opts.mem) {
      const avoid = [...implicit, ...(opts.digit === undefined ? [fullReg(size, g)] : [])];
      const form = MEM_FORMS[k % MEM_FORMS.length];
      const m = memOperand(c, g, dataAddr(rng), form, avoid);
      modrm = m.bytes;
      c.name += ` ${m.form}`;
      poke(c, m.ea, a, size);
    } else {
      const e = rng.below(5) === 0 && opts.digit === undefined ? g : rng.pick(regsAllowed);
      modrm = [modrmReg(g, e)];
      c.setReg(size, e, a);
    }
    if (opts.digit === undefined && !(opts.mem === false && modrm[0] === modrmReg(g, g))) c.setReg(size, g, b);
    c.code = [...osz(size), ...opcode, ...modrm, ...(opts.after ? opts.after(c) : [])];
    opts.setup?.(c);
    out.push(c);
  }
}

groups.alu = (rng) => {
  const out: Case[] = [];
  ALU.forEach((mn) => {
    for (const size of SIZES) {
      const eg = encoding(mn, bySize(size, "Eb,Gb", "Ev,Gv"));
      const ge = encoding(mn, bySize(size, "Gb,Eb", "Gv,Ev"));
      const ei = encoding(mn, bySize(size, "Eb,Ib", "Ev,Iz"));
      // Every pair of edge values through the register form Eb,Gb / Ev,Gv, both CF inputs.
      for (const a of CROSS[size]) {
        for (const b of CROSS[size]) {
          const c = new Case(rng, `${mn} E,G o${size} ${hex(a)},${hex(b)}`, mn);
          c.ctx = { size };
          const [e, g] = size === 8 ? rng.pick([[EAX, EBX], [4, ECX], [EDX, 7], [ESI & 3, 5]]) : rng.pick([[EAX, EBX], [ESI, EDI], [EBP, ECX], [EDX, ESI]]);
          c.setReg(size, e, a);
          c.setReg(size, g, b);
          c.flags = (c.flags & ~CF) | (rng.bool() ? CF : 0);
          c.code = [...osz(size), ...eg.opcode, modrmReg(g, e)];
          out.push(c);
        }
      }
      const ib = (cc: Case) => [cc.rng.pick([0, 1, 0x7f, 0x80, 0xff, cc.rng.below(256)])];
      const iz = (cc: Case) => imm(value(cc.rng, size), size);
      rmCases(rng, out, `${mn} E,G`, mn, size, eg.opcode, 16, { mem: true });
      rmCases(rng, out, `${mn} G,E`, mn, size, ge.opcode, 8, { mem: false });
      rmCases(rng, out, `${mn} G,E`, mn, size, ge.opcode, 12, { mem: true });
      rmCases(rng, out, `${mn} E,I`, mn, size, ei.opcode, 10, { mem: false, digit: ei.digit, after: size === 8 ? ib : iz });
      rmCases(rng, out, `${mn} E,I`, mn, size, ei.opcode, 8, { mem: true, digit: ei.digit, after: size === 8 ? ib : iz });
      if (size !== 8) {
        const eib = encoding(mn, "Ev,Ib");
        rmCases(rng, out, `${mn} E,Ib`, mn, size, eib.opcode, 10, { mem: false, digit: eib.digit, after: ib });
        rmCases(rng, out, `${mn} E,Ib`, mn, size, eib.opcode, 6, { mem: true, digit: eib.digit, after: ib });
      } else {
        // 82 is 80's alias in 32-bit code (SDM Vol. 2 Appendix A, Table A-2).
        const alias = encoding(mn, "Eb,Ib", 0x82);
        rmCases(rng, out, `${mn} E,Ib(82)`, mn, size, alias.opcode, 6, { mem: false, digit: alias.digit, after: ib });
      }
      for (let k = 0; k < 8; k++) {
        const c = new Case(rng, `${mn} ${size === 8 ? "AL" : size === 16 ? "AX" : "EAX"},I #${k}`, mn);
        c.ctx = { size };
        const v = value(rng, size);
        c.setReg(size, EAX, value(rng, size));
        c.code = [...osz(size), ...encoding(mn, bySize(size, "AL,Ib", "eAX,Iz")).opcode, ...imm(v, size)];
        out.push(c);
      }
    }
  });
  return out;
};

groups.test = (rng) => {
  const out: Case[] = [];
  for (const size of SIZES) {
    const iz = (cc: Case) => imm(value(cc.rng, size), size);
    const eg = encoding("test", bySize(size, "Eb,Gb", "Ev,Gv"));
    const ei = encoding("test", bySize(size, "Eb,Ib", "Ev,Iz"));
    rmCases(rng, out, "test E,G", "test", size, eg.opcode, 60, { mem: false });
    rmCases(rng, out, "test E,G", "test", size, eg.opcode, 20, { mem: true });
    rmCases(rng, out, "test E,I", "test", size, ei.opcode, 30, { mem: false, digit: ei.digit, after: iz });
    rmCases(rng, out, "test E,I", "test", size, ei.opcode, 20, { mem: true, digit: ei.digit, after: iz });
    for (let k = 0; k < 20; k++) {
      const c = new Case(rng, `test eAX,I o${size} #${k}`, "test");
      c.ctx = { size };
      c.setReg(size, EAX, value(rng, size));
      c.code = [...osz(size), ...encoding("test", bySize(size, "AL,Ib", "eAX,Iz")).opcode, ...imm(value(rng, size), size)];
      out.push(c);
    }
  }
  return out;
};

groups.incdec = (rng) => {
  const out: Case[] = [];
  for (const mn of ["inc", "dec"] as const) {
    for (const size of SIZES) {
      const e = encoding(mn, bySize(size, "Eb", "Ev"));
      const digit = e.digit;
      const vals = (c: Case): [number, number] => [c.rng.below(2) ? c.rng.pick(EDGES[size]) : c.rng.u32() & MASK[size], 0];
      rmCases(rng, out, `${mn} E`, mn, size, e.opcode, 60, { mem: false, digit, values: vals });
      rmCases(rng, out, `${mn} E`, mn, size, e.opcode, 30, { mem: true, digit, values: vals });
      if (size !== 8) {
        for (let k = 0; k < 48; k++) {
          const r = k % 8;
          const op = encoding(mn, "Zv").opcode[0] + r;
          const c = new Case(rng, `${mn} r(${op}) o${size} #${k}`, mn);
          c.ctx = { size };
          if (r !== ESP) c.setReg(size, r, vals(c)[0]);
          c.code = [...osz(size), op];
          out.push(c);
        }
      }
    }
  }
  return out;
};

groups.negnot = (rng) => {
  const out: Case[] = [];
  for (const mn of ["not", "neg"] as const) {
    for (const size of SIZES) {
      const e = encoding(mn, bySize(size, "Eb", "Ev"));
      const all = EDGES[size];
      let k = 0;
      rmCases(rng, out, `${mn} E`, mn, size, e.opcode, all.length + 30, {
        mem: false,
        digit: e.digit,
        values: (c) => [k < all.length ? all[k++] : value(c.rng, size), 0],
      });
      rmCases(rng, out, `${mn} E`, mn, size, e.opcode, 20, { mem: true, digit: e.digit });
    }
  }
  return out;
};

const SHIFTS = ["rol", "ror", "rcl", "rcr", "shl", "shr", "sar"] as const;

groups.shift = (rng) => {
  const out: Case[] = [];
  for (const mn of SHIFTS) {
    for (const size of SIZES) {
      const byCl = encoding(mn, bySize(size, "Eb,CL", "Ev,CL"));
      const byIb = encoding(mn, bySize(size, "Eb,Ib", "Ev,Ib"));
      const byOne = encoding(mn, bySize(size, "Eb,1", "Ev,1"));
      const digit = byCl.digit!;
      // By CL: every count 0..33 and some above 31 (the CPU uses count & 31).
      const counts = [...Array(34).keys(), 63, 64, 0x80, 0xff, 0x41, 0xe1];
      for (const cnt of counts) {
        for (let k = 0; k < 2; k++) {
          const c = new Case(rng, `${mn} E,CL o${size} cl=${cnt} #${k}`, mn);
          c.ctx = { size, count: cnt & 31 };
          const r = rng.pick(size === 8 ? [EAX, EDX, EBX, 4, 6, 7] : [EAX, EDX, EBX, EBP, ESI, EDI]);
          c.setReg(size, r, value(rng, size));
          c.setReg(8, ECX, cnt);
          if (k === 0) c.flags ^= CF; // RCL/RCR read CF: both values over the two cases
          c.code = [...osz(size), ...byCl.opcode, modrmReg(digit, r)];
          out.push(c);
        }
      }
      for (const cnt of byIb.counts!) {
        for (let k = 0; k < 1; k++) {
          const c = new Case(rng, `${mn} E,Ib o${size} ib=${cnt} #${k}`, mn);
          c.ctx = { size, count: cnt & 31 };
          const r = rng.pick(size === 8 ? [EAX, ECX, EDX, EBX, 4, 5, 6, 7] : [EAX, ECX, EDX, EBX, EBP, ESI, EDI]);
          c.setReg(size, r, value(rng, size));
          c.code = [...osz(size), ...byIb.opcode, modrmReg(digit, r), cnt];
          out.push(c);
        }
      }
      rmCases(rng, out, `${mn} E,1`, mn, size, byOne.opcode, 16, { mem: false, digit, setup: (c) => (c.ctx.count = 1) });
      rmCases(rng, out, `${mn} E,1`, mn, size, byOne.opcode, 6, { mem: true, digit, setup: (c) => (c.ctx.count = 1) });
      rmCases(rng, out, `${mn} E,CL`, mn, size, byCl.opcode, 10, {
        mem: true,
        digit,
        implicit: [ECX],
        setup: (c) => {
          const cnt = c.rng.below(40);
          c.setReg(8, ECX, cnt);
          c.ctx.count = cnt & 31;
        },
      });
      rmCases(rng, out, `${mn} E,Ib`, mn, size, byIb.opcode, 8, {
        mem: true,
        digit,
        after: (c) => {
          const cnt = c.rng.below(40);
          c.ctx.count = cnt & 31;
          return [cnt];
        },
      });
    }
  }
  return out;
};

groups.shld = (rng) => {
  const out: Case[] = [];
  for (const mn of ["shld", "shrd"] as const) {
    const byIb = encoding(mn, "Ev,Gv,Ib");
    const byClOp = encoding(mn, "Ev,Gv,CL");
    for (const size of [16, 32] as const) {
      // A 16-bit count above 16 leaves the result undefined (SDM Vol. 2B SHLD/SHRD): none made.
      const counts = [...Array(33).keys(), 0x21, 0x3f, 0xff].filter((n) => size === 32 || (n & 31) <= 16);
      for (const cnt of counts) {
        for (const byCl of [false, true]) {
          const c = new Case(rng, `${mn} E,G,${byCl ? "CL" : "Ib"} o${size} n=${cnt}`, mn);
          c.ctx = { size, count: cnt & 31 };
          const e = rng.pick([EAX, EDX, EBX, ESI]), g = rng.pick([EBP, EDI, ESI, EBX].filter((r) => r !== e));
          c.setReg(size, e, value(rng, size));
          c.setReg(size, g, value(rng, size));
          if (byCl) c.setReg(8, ECX, cnt);
          c.code = [...osz(size), ...(byCl ? byClOp : byIb).opcode, modrmReg(g, e), ...(byCl ? [] : [cnt])];
          out.push(c);
        }
      }
      rmCases(rng, out, `${mn} E,G,CL`, mn, size, byClOp.opcode, 16, {
        mem: true,
        implicit: [ECX],
        setup: (c) => {
          const cnt = c.rng.below(size === 32 ? 32 : 17);
          c.setReg(8, ECX, cnt);
          c.ctx.count = cnt;
        },
      });
      rmCases(rng, out, `${mn} E,G,Ib`, mn, size, byIb.opcode, 16, {
        mem: true,
        after: (c) => {
          const cnt = c.rng.below(size === 32 ? 32 : 17);
          c.ctx.count = cnt;
          return [cnt];
        },
      });
    }
  }
  return out;
};

groups.muldiv = (rng) => {
  const out: Case[] = [];
  for (const mn of ["mul", "imul", "div", "idiv"] as const) {
    for (const size of SIZES) {
      const enc = encoding(mn, bySize(size, "Eb", "Ev"));
      const digit = enc.digit!;
      const isDiv = digit >= 6;
      const n = isDiv ? 90 : 70;
      const setup = (c: Case, operand: number) => {
        // Dividend in (E)DX:(E)AX or AX; mostly in range, sometimes a quotient overflow (#DE).
        const a = value(c.rng, size);
        if (size === 8) {
          const hi = isDiv && c.rng.below(3) !== 0 ? c.rng.below(Math.max(1, operand & 0xff)) : c.rng.u32() & 0xff;
          c.setReg(16, EAX, (hi << 8) | (a & 0xff));
        } else {
          c.setReg(size, EAX, a);
          const hi = isDiv && c.rng.below(3) !== 0 ? (operand === 0 ? 0 : c.rng.below(operand)) : value(c.rng, size);
          c.setReg(size, EDX, digit === 7 && c.rng.below(4) === 0 ? (a & (1 << (size - 1)) ? MASK[size] : 0) : hi);
        }
      };
      for (let k = 0; k < n; k++) {
        const c = new Case(rng, `${mn} E o${size} #${k}`, mn);
        c.ctx = { size };
        const r = rng.pick(size === 8 ? [ECX, EBX, 5, 7, 4] : [ECX, EBX, EBP, ESI, EDI]);
        const operand = k < 6 ? [0, 1, MASK[size], 2, 1 << (size - 1), MASK[size] - 1][k] : value(rng, size);
        setup(c, operand);
        c.setReg(size, r, operand);
        if (digit === 7 && k === 6) {
          // The most negative dividend over -1: the quotient overflows (#DE), SDM Vol. 2A IDIV.
          c.setReg(size, r, MASK[size]);
          if (size === 8) c.setReg(16, EAX, 0x8000);
          else {
            c.setReg(size, EAX, 0);
            c.setReg(size, EDX, 1 << (size - 1));
          }
        }
        c.code = [...osz(size), ...enc.opcode, modrmReg(digit, r)];
        const min = 2 ** (size - 1);
        const divisor = (r >= 4 && size === 8 ? (c.regs[r & 3] >>> 8) & 0xff : c.regs[r & (size === 8 ? 3 : 7)] & MASK[size]) >>> 0;
        const dividendHi = (size === 8 ? (c.regs[EAX] >>> 8) & 0xff : c.regs[EDX] & MASK[size]) >>> 0;
        const dividendLo = (size === 8 ? c.regs[EAX] & 0xff : c.regs[EAX] & MASK[size]) >>> 0;
        if (digit === 7 && size !== 8 && divisor === MASK[size] && dividendHi === min && dividendLo === 0) {
          sdmFault(c, 0, SDM_ONLY.idivMinByMinusOne.name);
        }
        out.push(c);
      }
      for (let k = 0; k < 16; k++) {
        const c = new Case(rng, `${mn} E o${size} mem #${k}`, mn);
        c.ctx = { size };
        const operand = value(rng, size);
        setup(c, operand);
        const m = memOperand(c, digit, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], [EAX, EDX]);
        poke(c, m.ea, operand, size);
        c.name += ` ${m.form}`;
        c.code = [...osz(size), ...enc.opcode, ...m.bytes];
        out.push(c);
      }
    }
  }
  for (const size of [16, 32] as const) {
    rmCases(rng, out, "imul G,E", "imul", size, encoding("imul", "Gv,Ev").opcode, 60, { mem: false });
    rmCases(rng, out, "imul G,E", "imul", size, encoding("imul", "Gv,Ev").opcode, 20, { mem: true });
    rmCases(rng, out, "imul G,E,Iz", "imul", size, encoding("imul", "Gv,Ev,Iz").opcode, 40, { mem: false, after: (c) => imm(value(c.rng, size), size) });
    rmCases(rng, out, "imul G,E,Iz", "imul", size, encoding("imul", "Gv,Ev,Iz").opcode, 12, { mem: true, after: (c) => imm(value(c.rng, size), size) });
    rmCases(rng, out, "imul G,E,Ib", "imul", size, encoding("imul", "Gv,Ev,Ib").opcode, 40, { mem: false, after: (c) => [c.rng.pick([0, 1, 0x7f, 0x80, 0xff, c.rng.below(256)])] });
    rmCases(rng, out, "imul G,E,Ib", "imul", size, encoding("imul", "Gv,Ev,Ib").opcode, 12, { mem: true, after: (c) => [c.rng.below(256)] });
  }
  return out;
};

groups.bt = (rng) => {
  const out: Case[] = [];
  for (const mn of ["bt", "bts", "btr", "btc"] as const) {
    const byReg = encoding(mn, "Ev,Gv");
    const byImm = encoding(mn, "Ev,Ib");
    const digit = byImm.digit!;
    for (const size of [16, 32] as const) {
      // Register destination: the offset is taken modulo the operand size.
      for (let k = 0; k < 40; k++) {
        const c = new Case(rng, `${mn} E,G o${size} #${k}`, mn);
        c.ctx = { size };
        const e = rng.pick([EAX, EBX, ESI, EBP]), g = rng.pick([ECX, EDX, EDI]);
        c.setReg(size, e, value(rng, size));
        c.setReg(size, g, k < 34 ? k : rng.u32());
        c.code = [...osz(size), ...byReg.opcode, modrmReg(g, e)];
        out.push(c);
      }
      for (let k = 0; k < 30; k++) {
        const c = new Case(rng, `${mn} E,Ib o${size} #${k}`, mn);
        c.ctx = { size };
        const e = rng.pick([EAX, ECX, EBX, ESI, EBP]);
        c.setReg(size, e, value(rng, size));
        c.code = [...osz(size), ...byImm.opcode, modrmReg(digit, e), k < 20 ? k * 3 : rng.below(256)];
        out.push(c);
      }
      // Memory destination with a register offset: the offset is signed and may reach far
      // outside the operand (SDM Vol. 2A BT, "bit offset" and Table 3-2 note).
      for (let k = 0; k < 40; k++) {
        const c = new Case(rng, `${mn} M,G o${size} #${k}`, mn);
        c.ctx = { size };
        const range = size === 16 ? 0x7fff : 0x3f00 * 8;
        const limit = Math.min(range, 0x700 * 8);
        const off = k < 8 ? [0, 1, size - 1, size, -1, -size, -size - 1, 2 * size + 3][k] : rng.below(2 * limit) - limit;
        const g = rng.pick([ECX, EDX, EAX]);
        c.setReg(size, g, off);
        const m = memOperand(c, g, DATA + 0x800, MEM_FORMS[k % 8], [g]);
        if (m.ea !== DATA + 0x800) throw new Error("bt: base moved");
        c.name += ` ${m.form} off=${off}`;
        const target = DATA + 0x800 + (size / 8) * Math.floor(off / size);
        poke(c, target, value(rng, size), size);
        c.code = [...osz(size), ...byReg.opcode, ...m.bytes];
        out.push(c);
      }
      // Memory destination with an immediate offset: modulo the operand size.
      for (let k = 0; k < 16; k++) {
        const c = new Case(rng, `${mn} M,Ib o${size} #${k}`, mn);
        c.ctx = { size };
        const m = memOperand(c, digit, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], []);
        c.name += ` ${m.form}`;
        poke(c, m.ea, value(rng, size), size);
        c.code = [...osz(size), ...byImm.opcode, ...m.bytes, rng.below(256)];
        out.push(c);
      }
    }
  }
  return out;
};

groups.bsf = (rng) => {
  const out: Case[] = [];
  for (const mn of ["bsf", "bsr"] as const) {
    const op = encoding(mn, "Gv,Ev").opcode;
    for (const size of [16, 32] as const) {
      const sources = (c: Case, k: number): number =>
        k < 8 ? 0 : k < 8 + size ? 2 ** (k - 8) : k % 3 === 0 ? (2 ** c.rng.below(size)) * 3 : value(c.rng, size);
      let k = 0;
      rmCases(rng, out, `${mn} G,E`, mn, size, op, size + 30, { mem: false, values: (c) => [sources(c, k++), c.rng.u32()] });
      k = 0;
      rmCases(rng, out, `${mn} G,E`, mn, size, op, 16, { mem: true, values: (c) => [sources(c, (k++ * 5) % (size + 30)), c.rng.u32()] });
    }
  }
  return out;
};

/** The string instructions with their byte and operand-size forms in the table's notation. */
const STRING_OPS = [
  ["movs", "Yb,Xb", "Yv,Xv"],
  ["cmps", "Xb,Yb", "Xv,Yv"],
  ["stos", "Yb,AL", "Yv,eAX"],
  ["lods", "AL,Xb", "eAX,Xv"],
  ["scas", "AL,Yb", "eAX,Yv"],
] as const;

groups.string = (rng) => {
  const out: Case[] = [];
  for (const [mn, byteForm, sizedForm] of STRING_OPS) {
    for (const size of SIZES) {
      const op = opcodeOf(mn, bySize(size, byteForm, sizedForm));
      const bytes = size / 8;
      const compares = mn === "cmps" || mn === "scas";
      const prefixes: [string, number[]][] = compares
        ? [["", []], ["repe ", [0xf3]], ["repne ", [0xf2]]]
        : [["", []], ["rep ", [0xf3]]];
      for (const [pname, prefix] of prefixes) {
        for (const df of [0, DF]) {
          const counts = prefix.length ? [0, 1, 2, 3, 5, 8, 17] : [1, 2];
          for (const count of counts) {
            for (let k = 0; k < (compares && prefix.length ? 3 : 1); k++) {
              const c = new Case(rng, `${pname}${mn} o${size} df=${df ? 1 : 0} ecx=${count} #${k}`, mn);
              c.ctx = { size };
              c.flags = (c.flags & ~DF) | df;
              const src = DATA + 0x300 + rng.below(0x80) * bytes;
              const dst = DATA + 0xb00 + rng.below(0x80) * bytes;
              c.regs[ESI] = src;
              c.regs[EDI] = dst;
              c.regs[ECX] = count;
              // The elements the string op walks over, in order.
              const n = Math.max(count, 1) + 1;
              const at = (base: number, i: number) => base + (df ? -i : i) * bytes;
              const elems = Array.from({ length: n }, () => value(rng, size));
              c.setReg(size, EAX, elems[0]);
              if (compares) {
                // Make the two sides equal up to a random position, then (maybe) differ.
                const stop = rng.below(n + 1);
                for (let i = 0; i < n; i++) {
                  const a = elems[i];
                  const b = i < stop ? a : i === stop ? (a ^ (1 << rng.below(size))) >>> 0 : value(rng, size);
                  if (mn === "cmps") {
                    poke(c, at(src, i), a, size);
                    poke(c, at(dst, i), b, size);
                  } else {
                    c.setReg(size, EAX, elems[0]);
                    poke(c, at(dst, i), i < stop ? elems[0] : (elems[0] ^ (1 + rng.below(MASK[size]))) & MASK[size], size);
                  }
                }
              }
              // A segment override on the source is allowed (DS:ESI); ES:EDI cannot be overridden.
              const seg = (mn === "movs" || mn === "lods" || mn === "cmps") && rng.below(6) === 0 ? [rng.pick([0x26, 0x2e, 0x36, 0x3e])] : [];
              c.code = [...seg, ...prefix, ...osz(size), ...op];
              out.push(c);
            }
          }
        }
      }
    }
  }
  return out;
};

groups.xchg = (rng) => {
  const out: Case[] = [];
  for (const size of SIZES) {
    const eg = bySize(size, "Eb,Gb", "Ev,Gv");
    const xchg = opcodeOf("xchg", eg), cmpxchg = opcodeOf("cmpxchg", eg), xadd = opcodeOf("xadd", eg);
    rmCases(rng, out, "xchg E,G", "xchg", size, xchg, 24, { mem: false });
    rmCases(rng, out, "xchg E,G", "xchg", size, xchg, 16, { mem: true });
    rmCases(rng, out, "lock xchg E,G", "xchg", size, [LOCK, ...xchg], 4, { mem: true });
    // CMPXCHG: accumulator equal to the destination (stores the source) or not (loads).
    for (const mem of [false, true]) {
      rmCases(rng, out, "cmpxchg E,G", "cmpxchg", size, cmpxchg, mem ? 24 : 40, {
        mem,
        implicit: [EAX],
        values: (c) => {
          const d = value(c.rng, size);
          c.setReg(size, EAX, c.rng.bool() ? d : value(c.rng, size));
          return [d, value(c.rng, size)];
        },
      });
      rmCases(rng, out, "xadd E,G", "xadd", size, xadd, mem ? 24 : 40, { mem });
    }
    rmCases(rng, out, "lock cmpxchg E,G", "cmpxchg", size, [LOCK, ...cmpxchg], 4, { mem: true, implicit: [EAX] });
    rmCases(rng, out, "lock xadd E,G", "xadd", size, [LOCK, ...xadd], 4, { mem: true });
    // CMPXCHG with the accumulator as the destination register itself.
    for (let k = 0; k < 6; k++) {
      const c = new Case(rng, `cmpxchg eAX,G o${size} #${k}`, "cmpxchg");
      c.ctx = { size };
      c.setReg(size, EAX, value(rng, size));
      c.code = [...osz(size), ...cmpxchg, modrmReg(rng.pick([ECX, EDX, EBX]), EAX)];
      out.push(c);
    }
    // LOCK with a register destination is #UD (SDM Vol. 2A LOCK); QEMU 7.2 runs them.
    const before = out.length;
    rmCases(rng, out, "lock xadd reg (#UD)", "xadd", size, [LOCK, ...xadd], 2, { mem: false });
    rmCases(rng, out, "lock cmpxchg reg (#UD)", "cmpxchg", size, [LOCK, ...cmpxchg], 2, { mem: false, implicit: [EAX] });
    rmCases(rng, out, "lock xchg reg (#UD)", "xchg", size, [LOCK, ...xchg], 2, { mem: false });
    for (const c of out.slice(before)) sdmFault(c, 6, SDM_ONLY.lockRegister.name);
  }
  for (const size of [16, 32] as const) {
    for (let r = 0; r < 8; r++) {
      for (let k = 0; k < 3; k++) {
        const c = new Case(rng, `xchg eAX,r${r} o${size} #${k}`, "xchg");
        c.ctx = { size };
        // 90 is XCHG eAX,eAX, which the table (and the SDM's map) calls NOP.
        c.code = [...osz(size), ...(r === EAX ? opcodeOf("nop", "") : nthOpcode("xchg", "Zv,eAX", r - 1))];
        out.push(c);
      }
    }
  }
  // CMPXCHG8B m64 (SDM Vol. 2A): EDX:EAX equal to m64 stores ECX:EBX, else loads m64.
  const cmpxchg8b = encoding("cmpxchg8b", "Mq");
  for (let k = 0; k < 60; k++) {
    const c = new Case(rng, `cmpxchg8b M #${k}`, "cmpxchg8b");
    const m = memOperand(c, cmpxchg8b.digit!, dataAddr(rng, 8), MEM_FORMS[k % MEM_FORMS.length], [EAX, EDX, ECX, EBX]);
    const lo = value(rng, 32), hi = value(rng, 32);
    poke(c, m.ea, lo, 32);
    poke(c, m.ea + 4, hi, 32);
    const mode = k % 3;
    c.regs[EAX] = mode === 2 ? rng.u32() : lo;
    c.regs[EDX] = mode === 1 ? rng.u32() : hi;
    if (mode === 0 && rng.bool()) c.regs[EAX] = lo;
    c.name += ` ${m.form}`;
    c.code = [...(k % 5 === 0 ? [LOCK] : []), ...cmpxchg8b.opcode, ...m.bytes];
    out.push(c);
  }
  {
    const c = new Case(rng, "cmpxchg8b reg (#UD)", "cmpxchg8b");
    c.code = [...cmpxchg8b.opcode, modrmReg(cmpxchg8b.digit!, EAX)];
    out.push(c);
  }
  for (let r = 0; r < 8; r++) {
    for (let k = 0; k < 3; k++) {
      const c = new Case(rng, `bswap r${r} #${k}`, "bswap");
      c.code = nthOpcode("bswap", "Zd", r);
      out.push(c);
    }
  }
  return out;
};

/** Flag combinations for the condition codes: every mix of CF PF ZF SF OF. */
const CC_FLAGS = Array.from({ length: 32 }, (_, i) => (i & 1 ? CF : 0) | (i & 2 ? PF : 0) | (i & 4 ? ZF : 0) | (i & 8 ? SF : 0) | (i & 16 ? OF : 0));
/** MOV EBP, imm32: a marker a not-taken jump runs and a taken one skips. */
const MARKER = [...nthOpcode("mov", "Zv,Iv", EBP), 0x4b, 0x52, 0x41, 0x4d];

groups.cond = (rng) => {
  const out: Case[] = [];
  for (let cc = 0; cc < 16; cc++) {
    for (const f of CC_FLAGS) {
      const flags = (rng.u32() & AF) | f;
      {
        const c = new Case(rng, `j${cc.toString(16)} rel8 f=${hex(flags)}`, "jcc");
        c.flags = flags;
        c.code = [...nthOpcode("jcc", "Jb", cc), MARKER.length, ...MARKER];
        out.push(c);
      }
      {
        const c = new Case(rng, `set${cc.toString(16)} f=${hex(flags)}`, "setcc");
        c.flags = flags;
        c.code = [...nthOpcode("setcc", "Eb", cc), modrmReg(0, rng.below(8))];
        out.push(c);
      }
      if (f % 2 === 0 || rng.bool()) {
        const c = new Case(rng, `j${cc.toString(16)} rel32 f=${hex(flags)}`, "jcc");
        c.flags = flags;
        c.code = [...nthOpcode("jcc", "Jz", cc), ...le(MARKER.length, 4), ...MARKER];
        out.push(c);
      }
      const size = rng.bool() ? 32 : 16;
      {
        const c = new Case(rng, `cmov${cc.toString(16)} o${size} f=${hex(flags)}`, "cmovcc");
        c.flags = flags;
        c.ctx = { size };
        c.code = [...osz(size), ...nthOpcode("cmovcc", "Gv,Ev", cc), modrmReg(rng.below(8), rng.pick([EAX, ECX, EDX, EBX, EBP, ESI, EDI]))];
        out.push(c);
      }
    }
    for (let k = 0; k < 8; k++) {
      const c = new Case(rng, `cmov${cc.toString(16)} mem #${k}`, "cmovcc");
      c.flags = rng.pick(CC_FLAGS);
      const size = k & 1 ? 16 : 32;
      const g = rng.pick([EAX, ECX, EDX]);
      const m = memOperand(c, g, dataAddr(rng), MEM_FORMS[k], [g]);
      c.code = [...osz(size), ...nthOpcode("cmovcc", "Gv,Ev", cc), ...m.bytes];
      out.push(c);
      const s = new Case(rng, `set${cc.toString(16)} mem #${k}`, "setcc");
      s.flags = rng.pick(CC_FLAGS);
      const ms = memOperand(s, 0, dataAddr(rng), MEM_FORMS[k], []);
      s.code = [...nthOpcode("setcc", "Eb", cc), ...ms.bytes];
      out.push(s);
    }
  }
  return out;
};

/**
 * A flag-setting instruction on EAX (and EBX), then SETcc CL and Jcc over INC EDX: every
 * condition read straight from the flags each kind of operation leaves, not from flags set by
 * POPF, since the core keeps them lazily and evaluates common conditions from the operands.
 */
groups.condlazy = (rng) => {
  const out: Case[] = [];
  const rr = modrmReg(EBX, EAX);
  /** mn E,G with E = (E)AX/AL and G = (E)BX/BL. */
  const eg = (mn: string, size: Size): number[] => [...osz(size), ...opcodeOf(mn, bySize(size, "Eb,Gb", "Ev,Gv")), rr];
  /** A /digit form on EAX. */
  const onEax = (mn: string, operands: string): number[] => {
    const e = encoding(mn, operands);
    return [...e.opcode, modrmReg(e.digit!, EAX)];
  };
  const producers: [string, Size, number[]][] = [
    ["cmp", 32, eg("cmp", 32)], ["sub", 32, eg("sub", 32)], ["add", 32, eg("add", 32)], ["adc", 32, eg("adc", 32)],
    ["sbb", 32, eg("sbb", 32)], ["and", 32, eg("and", 32)], ["or", 32, eg("or", 32)], ["xor", 32, eg("xor", 32)],
    ["test", 32, eg("test", 32)], ["inc", 32, nthOpcode("inc", "Zv", EAX)], ["dec", 32, nthOpcode("dec", "Zv", EAX)],
    ["neg", 32, onEax("neg", "Ev")], ["shl", 32, onEax("shl", "Ev,1")], ["sar", 32, onEax("sar", "Ev,1")],
    ["cmp", 16, eg("cmp", 16)], ["cmp", 8, eg("cmp", 8)], ["test", 8, eg("test", 8)], ["sub", 16, eg("sub", 16)],
  ];
  for (const [mn, size, bytes] of producers) {
    for (let cc = 0; cc < 16; cc++) {
      for (let k = 0; k < 5; k++) {
        const c = new Case(rng, `${mn} o${size}; set${cc.toString(16)}; j${cc.toString(16)} #${k}`, mn);
        c.ctx = { size };
        const a = rng.pick(CROSS[size]);
        c.setReg(size, EAX, k === 0 ? a : rng.bool() ? rng.pick(CROSS[size]) : value(rng, size));
        c.setReg(size, EBX, k === 1 ? a : rng.bool() ? rng.pick(CROSS[size]) : value(rng, size));
        // SETcc CL; Jcc +1 over INC EDX.
        c.code = [...bytes, ...nthOpcode("setcc", "Eb", cc), modrmReg(0, ECX), ...nthOpcode("jcc", "Jb", cc), 0x01, ...nthOpcode("inc", "Zv", EDX)];
        out.push(c);
      }
    }
  }
  return out;
};

groups.loop = (rng) => {
  const out: Case[] = [];
  const ops = ["loopne", "loope", "loop", "jecxz"] as const;
  const counts = [0, 1, 2, 3, 0xffff, 0x10000, 0x10001, 0xffffffff, 0x80000000];
  for (const mn of ops) {
    const op = opcodeOf(mn, "Jb");
    for (const a16 of [false, true]) {
      for (const count of counts) {
        for (const zf of [0, ZF]) {
          const c = new Case(rng, `${a16 ? "a16 " : ""}${mn} ecx=${hex(count)} zf=${zf ? 1 : 0}`, mn);
          c.regs[ECX] = count;
          c.flags = (c.flags & ~ZF) | zf;
          // The address-size prefix selects CX instead of ECX (SDM Vol. 2A LOOPcc, JCXZ).
          c.code = [...(a16 ? [0x67] : []), ...op, MARKER.length, ...MARKER];
          out.push(c);
        }
      }
    }
    // Backwards: INC EAX; LOOPcc -3, a few times round.
    for (let k = 0; k < 6; k++) {
      if (mn === "jecxz") break;
      const c = new Case(rng, `${mn} backwards #${k}`, mn);
      c.regs[ECX] = 1 + rng.below(6);
      c.regs[EAX] = rng.pick([0, 0xfffffffe, 0xfffffffc, rng.u32()]);
      c.code = [...nthOpcode("inc", "Zv", EAX), ...op, 0xfd];
      out.push(c);
    }
  }
  return out;
};

groups.callret = (rng) => {
  const out: Case[] = [];
  const mov = (v: number) => [...nthOpcode("mov", "Zv,Iv", EAX), ...le(v, 4)];
  const ret = opcodeOf("ret", ""), retIw = opcodeOf("ret", "Iw");
  const jmpJb = opcodeOf("jmp", "Jb"), callEv = encoding("call", "Ev"), jmpEv = encoding("jmp", "Ev");
  for (let k = 0; k < 12; k++) {
    // 0: CALL +2 / 5: JMP +6 / 7: MOV EAX,imm / 12: RET or RET imm16 / 13 or 15: end
    const back = k % 3 === 0 ? ret : [...retIw, ...le(rng.pick([0, 2, 4, 8, 0x10, 0x100]), 2)];
    const c = new Case(rng, `call rel32, ${back.length === 1 ? "ret" : "ret imm16"} #${k}`, "call");
    c.code = [...opcodeOf("call", "Jz"), ...le(2, 4), ...jmpJb, 5 + back.length, ...mov(rng.u32()), ...back];
    out.push(c);
  }
  for (let k = 0; k < 12; k++) {
    // CALL r/m32 to a MOV, then RET back to a JMP over it (as above).
    const c = new Case(rng, `call r/m32 #${k}`, "call");
    const r = rng.pick([EAX, ECX, EDX, EBX, ESI, EDI, EBP]);
    const m = k % 2 === 0 ? null : memOperand(c, callEv.digit!, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], []);
    const modrm = m ? m.bytes : [modrmReg(callEv.digit!, r)];
    const movAt = CODE + 1 + modrm.length + 2;
    if (m) {
      c.name += ` ${m.form}`;
      poke(c, m.ea, movAt, 32);
    } else c.regs[r] = movAt;
    c.code = [...callEv.opcode, ...modrm, ...jmpJb, 6, ...mov(rng.u32()), ...ret];
    out.push(c);
  }
  for (let k = 0; k < 8; k++) {
    // PUSH imm32 (an address) then RET: a return to where the stack says.
    const c = new Case(rng, `push imm32, ret #${k}`, "ret");
    const end = CODE + 5 + (k % 2 ? 3 : 1) + MARKER.length;
    c.code = [...opcodeOf("push", "Iz"), ...le(end, 4), ...(k % 2 ? [...retIw, 4, 0] : ret), ...MARKER];
    out.push(c);
  }
  for (let k = 0; k < 8; k++) {
    const short = k % 2 === 0;
    const c = new Case(rng, `jmp rel${short ? 8 : 32} #${k}`, "jmp");
    c.code = short ? [...jmpJb, MARKER.length, ...MARKER] : [...opcodeOf("jmp", "Jz"), ...le(MARKER.length, 4), ...MARKER];
    out.push(c);
  }
  for (let k = 0; k < 8; k++) {
    const c = new Case(rng, `jmp r/m32 #${k}`, "jmp");
    if (k % 2 === 0) {
      const r = rng.pick([EAX, ECX, EDX, EBX, ESI, EDI, EBP]);
      c.regs[r] = CODE + 2 + MARKER.length;
      c.code = [...jmpEv.opcode, modrmReg(jmpEv.digit!, r), ...MARKER];
    } else {
      const m = memOperand(c, jmpEv.digit!, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], []);
      poke(c, m.ea, CODE + 1 + m.bytes.length + MARKER.length, 32);
      c.code = [...jmpEv.opcode, ...m.bytes, ...MARKER];
    }
    out.push(c);
  }
  // Backward jump: JMP +5 over the target, then JMP -7 back to it.
  for (let k = 0; k < 4; k++) {
    const c = new Case(rng, `jmp backwards #${k}`, "jmp");
    // 0: JMP +2 / 2: JMP +2 (to 6) / 4: JMP -4 (to 2) ... a small knot ending at 6.
    c.code = [...jmpJb, 0x02, ...jmpJb, 0x02, ...jmpJb, 0xfc];
    out.push(c);
  }
  return out;
};

groups.stack = (rng) => {
  const out: Case[] = [];
  for (const size of [16, 32] as const) {
    for (let r = 0; r < 8; r++) {
      for (let k = 0; k < 4; k++) {
        const c = new Case(rng, `push r${r} o${size} #${k}`, "push");
        if (r === ESP && k > 1) c.regs[ESP] = INITIAL_ESP - 2 * rng.below(64);
        c.code = [...osz(size), ...nthOpcode("push", "Zv", r)];
        out.push(c);
        const p = new Case(rng, `pop r${r} o${size} #${k}`, "pop");
        if (k > 1) p.regs[ESP] = INITIAL_ESP - 2 * rng.below(64);
        poke(p, p.regs[ESP], value(rng, size), size);
        p.code = [...osz(size), ...nthOpcode("pop", "Zv", r)];
        out.push(p);
      }
    }
    for (let k = 0; k < 8; k++) {
      const c = new Case(rng, `push Iz o${size} #${k}`, "push");
      c.code = [...osz(size), ...opcodeOf("push", "Iz"), ...imm(value(rng, size), size)];
      out.push(c);
      const b = new Case(rng, `push Ib o${size} #${k}`, "push");
      b.code = [...osz(size), ...opcodeOf("push", "Ib"), rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.below(256)])];
      out.push(b);
    }
    const pushEv = encoding("push", "Ev"), popEv = encoding("pop", "Ev");
    for (let k = 0; k < 12; k++) {
      const c = new Case(rng, `push M o${size} #${k}`, "push");
      const m = memOperand(c, pushEv.digit!, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], []);
      c.name += ` ${m.form}`;
      poke(c, m.ea, value(rng, size), size);
      c.code = [...osz(size), ...pushEv.opcode, ...m.bytes];
      out.push(c);
      // POP m: an ESP-based address is computed after ESP is incremented (SDM Vol. 2B POP).
      const p = new Case(rng, `pop M o${size} #${k}`, "pop");
      const mp = memOperand(p, popEv.digit!, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], []);
      p.name += ` ${mp.form}`;
      poke(p, p.regs[ESP], value(rng, size), size);
      p.code = [...osz(size), ...popEv.opcode, ...mp.bytes];
      out.push(p);
    }
    for (let k = 0; k < 6; k++) {
      const c = new Case(rng, `pusha o${size} #${k}`, "pusha");
      c.code = [...osz(size), ...opcodeOf("pusha", "")];
      out.push(c);
      const p = new Case(rng, `popa o${size} #${k}`, "popa");
      for (let i = 0; i < 8; i++) poke(p, INITIAL_ESP + i * (size / 8), value(rng, size), size);
      p.code = [...osz(size), ...opcodeOf("popa", "")];
      out.push(p);
    }
    for (let k = 0; k < 16; k++) {
      const c = new Case(rng, `pushf o${size} #${k}`, "pushf");
      c.flags = rng.u32() & CASE_FLAGS;
      c.code = [...osz(size), ...opcodeOf("pushf", "")];
      out.push(c);
      // POPF at CPL 3 with IOPL 0 keeps IF and IOPL; keep them as they are so the core (at
      // CPL 0) must agree. Reserved bits 3, 5, 15 read as 0 and bit 1 as 1 (SDM Vol. 1 §3.4.3).
      const p = new Case(rng, `popf o${size} #${k}`, "popf");
      const reserved = k % 4 === 3 ? 0x8028 : k % 4 === 2 ? 0 : 0x2;
      poke(p, INITIAL_ESP, ((rng.u32() & CASE_FLAGS) | IF | reserved) >>> 0, size);
      p.code = [...osz(size), ...opcodeOf("popf", "")];
      out.push(p);
    }
    // ENTER imm16, imm8 (SDM Vol. 2A ENTER): levels 0, 1, 2.. and above 31 (taken mod 32).
    for (const level of [0, 1, 2, 3, 4, 7, 31, 32, 33]) {
      for (const frame of [0, 4, 0x10, 0x102]) {
        if ((level === 31 || level === 33) && frame !== 4) continue;
        const c = new Case(rng, `enter ${hex(frame)},${level} o${size}`, "enter");
        c.regs[EBP] = INITIAL_ESP + 0x100 + 4 * rng.below(32);
        c.code = [...osz(size), ...opcodeOf("enter", "Iw,Ib"), ...le(frame, 2), level];
        out.push(c);
      }
    }
    for (let k = 0; k < 8; k++) {
      const c = new Case(rng, `leave o${size} #${k}`, "leave");
      c.regs[EBP] = INITIAL_ESP + 4 * rng.below(64);
      c.code = [...osz(size), ...opcodeOf("leave", "")];
      out.push(c);
    }
  }
  return out;
};

groups.misc = (rng) => {
  const out: Case[] = [];
  // CWDE and CDQ are the 32-bit operand size of the table's CBW and CWD rows (one opcode each).
  const one = (mn: string, size: Size = 32): number[] => [...osz(size), ...opcodeOf(mn, "")];
  // [name, the table's mnemonic, code, cases]
  const simple: [string, string, number[], number][] = [
    ["lahf", "lahf", one("lahf"), 16], ["sahf", "sahf", one("sahf"), 16], ["cbw", "cbw", one("cbw", 16), 24],
    ["cwde", "cbw", one("cbw"), 24], ["cwd", "cwd", one("cwd", 16), 24], ["cdq", "cwd", one("cwd"), 24],
    ["clc", "clc", one("clc"), 8], ["stc", "stc", one("stc"), 8], ["cmc", "cmc", one("cmc"), 8],
    ["cld", "cld", one("cld"), 4], ["std", "std", one("std"), 4], ["nop", "nop", one("nop"), 2],
  ];
  for (const [mn, tableMnemonic, code, n] of simple) {
    for (let k = 0; k < n; k++) {
      const c = new Case(rng, `${mn} #${k}`, tableMnemonic);
      c.flags = (rng.u32() & CASE_FLAGS) & ~(mn === "cld" || mn === "std" ? 0 : DF);
      if (k < 8) c.regs[EAX] = [0, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x80000000][k] | (rng.u32() & (mn === "cbw" ? 0xffff0000 : 0));
      c.code = code;
      out.push(c);
    }
  }
  for (let k = 0; k < 24; k++) {
    // XLAT: AL = [EBX + unsigned AL] (SDM Vol. 2B XLAT).
    const c = new Case(rng, `xlat #${k}`, "xlat");
    c.regs[EBX] = DATA + rng.below(0xe00);
    c.code = [...(k % 4 === 3 ? [0x3e] : []), ...opcodeOf("xlat", "")];
    out.push(c);
  }
  for (let k = 0; k < 4; k++) {
    const c = new Case(rng, `int3 #${k}`, "int3");
    c.code = [...opcodeOf("nop", ""), ...opcodeOf("int3", "")];
    out.push(c);
  }
  for (let k = 0; k < 8; k++) {
    const c = new Case(rng, `into of=${k & 1} #${k}`, "into");
    c.flags = (c.flags & ~OF) | (k & 1 ? OF : 0);
    c.code = opcodeOf("into", "");
    out.push(c);
  }
  // LEA and BOUND take a memory operand only: a register one (mod 11) is #UD.
  const rr = modrmReg(EAX, EAX);
  for (const [name, mn, code] of [
    ["ud2", "ud2", opcodeOf("ud2", "")],
    ["lock nop", "nop", [LOCK, ...opcodeOf("nop", "")]],
    ["lock add reg", "add", [LOCK, ...opcodeOf("add", "Ev,Gv"), rr]],
    ["lea reg,reg", "lea", [...opcodeOf("lea", "Gv,M"), rr]],
    ["bound reg,reg", "bound", [...opcodeOf("bound", "Gv,Ma"), rr]],
  ] as const) {
    const c = new Case(rng, `${name} (#UD)`, mn);
    c.code = [...code];
    out.push(c);
  }
  return out;
};

groups.movx = (rng) => {
  const out: Case[] = [];
  for (const mn of ["movzx", "movsx"] as const) {
    for (const [dst, src] of [[16, 8], [32, 8], [32, 16], [16, 16]] as const) {
      const op = opcodeOf(mn, src === 8 ? "Gv,Eb" : "Gv,Ew");
      for (let k = 0; k < 36; k++) {
        const c = new Case(rng, `${mn} G${dst},E${src} #${k}`, mn);
        c.ctx = { size: dst };
        const mem = k >= 24;
        const g = rng.below(8);
        let modrm: number[];
        if (mem) {
          const m = memOperand(c, g, dataAddr(rng), MEM_FORMS[k % MEM_FORMS.length], [g]);
          poke(c, m.ea, value(rng, src), src);
          modrm = m.bytes;
        } else {
          const e = rng.below(8);
          if (src === 8 || e !== ESP) c.setReg(src, e, value(rng, src));
          modrm = [modrmReg(g, e)];
        }
        c.code = [...osz(dst), ...op, ...modrm];
        out.push(c);
      }
    }
  }
  return out;
};

groups.mov = (rng) => {
  const out: Case[] = [];
  for (const size of SIZES) {
    const iz = (cc: Case) => imm(value(cc.rng, size), size);
    const eg = opcodeOf("mov", bySize(size, "Eb,Gb", "Ev,Gv")), ge = opcodeOf("mov", bySize(size, "Gb,Eb", "Gv,Ev"));
    const ei = encoding("mov", bySize(size, "Eb,Ib", "Ev,Iz"));
    rmCases(rng, out, "mov E,G", "mov", size, eg, 16, { mem: false });
    rmCases(rng, out, "mov E,G", "mov", size, eg, 24, { mem: true });
    rmCases(rng, out, "mov G,E", "mov", size, ge, 16, { mem: false });
    rmCases(rng, out, "mov G,E", "mov", size, ge, 24, { mem: true });
    rmCases(rng, out, "mov E,I", "mov", size, ei.opcode, 12, { mem: false, digit: ei.digit, after: iz });
    rmCases(rng, out, "mov E,I", "mov", size, ei.opcode, 24, { mem: true, digit: ei.digit, after: iz });
  }
  return out;
};

groups.lea = (rng) => {
  const out: Case[] = [];
  const lea = opcodeOf("lea", "Gv,M");
  // Every 32-bit ModRM memory form with every SIB byte (SDM Vol. 2 Tables 2-2, 2-3).
  for (const mod of [0, 1, 2]) {
    for (let rm = 0; rm < 8; rm++) {
      const sibs = rm === 4 ? [...Array(256).keys()] : [-1];
      for (const sib of sibs) {
        const c = new Case(rng, `lea mod=${mod} rm=${rm}${sib >= 0 ? ` sib=${hex(sib)}` : ""}`, "lea");
        for (let r = 0; r < 8; r++) if (r !== ESP) c.regs[r] = rng.bool() ? rng.u32() : rng.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff]);
        const g = rng.below(8);
        const disp = mod === 1 ? [rng.below(256)] : mod === 2 || (mod === 0 && (rm === 5 || (sib >= 0 && (sib & 7) === 5))) ? le(rng.u32(), 4) : [];
        c.code = [...lea, (mod << 6) | (g << 3) | rm, ...(sib >= 0 ? [sib] : []), ...disp];
        out.push(c);
      }
    }
  }
  // 16-bit addressing (0x67; SDM Vol. 2 Table 2-1): the address wraps at 64 KiB.
  for (const mod of [0, 1, 2]) {
    for (let rm = 0; rm < 8; rm++) {
      for (let k = 0; k < 10; k++) {
        const size = k % 3 === 0 ? 16 : 32;
        const c = new Case(rng, `lea a16 mod=${mod} rm=${rm} o${size} #${k}`, "lea");
        for (let r = 0; r < 8; r++) if (r !== ESP) c.regs[r] = k < 3 ? (rng.u32() & 0xffff0000) | [0xffff, 0x8000, 0xfffe][k] : rng.u32();
        const disp = mod === 1 ? [rng.below(256)] : mod === 2 || (mod === 0 && rm === 6) ? le(rng.u32(), 2) : [];
        c.code = [...osz(size), 0x67, ...lea, (mod << 6) | (rng.below(8) << 3) | rm, ...disp];
        out.push(c);
      }
    }
  }
  // 16-bit destination with 32-bit addressing: the address is truncated.
  for (let k = 0; k < 40; k++) {
    const c = new Case(rng, `lea o16 a32 #${k}`, "lea");
    c.code = [...osz(16), ...lea, 0x84 | (rng.below(8) << 3), rng.below(256) & ~0x07 | rng.pick([0, 1, 2, 3, 6, 7]), ...le(rng.u32(), 4)];
    out.push(c);
  }
  return out;
};

groups.bcd = (rng) => {
  const out: Case[] = [];
  // DAA, DAS: every AL with every AF, CF input (SDM Vol. 2A DAA, DAS).
  for (const mn of ["daa", "das"] as const) {
    const op = opcodeOf(mn, "");
    for (let al = 0; al < 256; al++) {
      for (const f of [0, CF, AF, CF | AF]) {
        const c = new Case(rng, `${mn} al=${hex(al)} f=${hex(f)}`, mn);
        c.ctx = { size: 8 };
        c.flags = (c.flags & ~(CF | AF)) | f;
        c.setReg(8, EAX, al);
        c.code = op;
        out.push(c);
      }
    }
  }
  // AAA, AAS: every AL with AF 0/1 (CF in random), random AH and some AH edges.
  for (const mn of ["aaa", "aas"] as const) {
    const op = opcodeOf(mn, "");
    for (let al = 0; al < 256; al++) {
      for (const af of [0, AF]) {
        const c = new Case(rng, `${mn} al=${hex(al)} af=${af ? 1 : 0}`, mn);
        c.ctx = { size: 8 };
        c.flags = (c.flags & ~AF) | af;
        c.setReg(8, EAX, al);
        c.setReg(8, 4, rng.pick([0, 0xff, 0x7f, 0x80, rng.below(256), rng.below(256)]));
        c.code = op;
        out.push(c);
      }
    }
  }
  // AAM imm8, AAD imm8: base 10 for every AL, other bases for some; AAM 0 is #DE.
  for (let al = 0; al < 256; al++) {
    for (const base of [10, al % 4 === 0 ? rng.pick([1, 2, 7, 16, 0xff]) : -1]) {
      if (base < 0) continue;
      const c = new Case(rng, `aam ${base} al=${hex(al)}`, "aam");
      c.ctx = { size: 8 };
      c.setReg(8, EAX, al);
      c.code = [...opcodeOf("aam", "Ib"), base];
      out.push(c);
      const d = new Case(rng, `aad ${base} ax=..${hex(al)}`, "aad");
      d.ctx = { size: 8 };
      d.setReg(8, EAX, al);
      d.setReg(8, 4, al % 3 === 0 ? rng.pick([0, 9, 0xff, 0x80]) : rng.below(256));
      d.code = [...opcodeOf("aad", "Ib"), base];
      out.push(d);
    }
  }
  for (let k = 0; k < 4; k++) {
    const c = new Case(rng, `aam 0 (#DE) #${k}`, "aam");
    c.code = [...opcodeOf("aam", "Ib"), 0x00];
    out.push(c);
  }
  return out;
};

groups.bound = (rng) => {
  const out: Case[] = [];
  for (const size of [16, 32] as const) {
    for (let k = 0; k < 48; k++) {
      const c = new Case(rng, `bound o${size} #${k}`, "bound");
      c.ctx = { size };
      const lo = value(rng, size), hi = value(rng, size);
      const g = rng.pick([EAX, ECX, EDX]);
      const m = memOperand(c, g, dataAddr(rng, 8), MEM_FORMS[k % MEM_FORMS.length], [g]);
      poke(c, m.ea, lo, size);
      poke(c, m.ea + size / 8, hi, size);
      // Inside, on either bound, just outside either bound, or anywhere (signed compare).
      const sx = (v: number) => (size === 16 ? (v << 16) >> 16 : v | 0);
      const pick = k % 6;
      const idx = pick === 0 ? lo : pick === 1 ? hi : pick === 2 ? sx(lo) - 1 : pick === 3 ? sx(hi) + 1 : pick === 4 ? Math.floor((sx(lo) + sx(hi)) / 2) : value(rng, size);
      c.setReg(size, g, idx >>> 0);
      c.name += ` ${m.form}`;
      c.code = [...osz(size), ...opcodeOf("bound", "Gv,Ma"), ...m.bytes];
      out.push(c);
    }
  }
  return out;
};

groups.mem16 = (rng) => {
  const out: Case[] = [];
  // Every 16-bit form through ADD Ev,Gv and MOV Gv,Ev (reads and writes), all operand sizes.
  for (const mod of [0, 1, 2]) {
    for (let rm = 0; rm < 8; rm++) {
      for (let k = 0; k < 6; k++) {
        const size = SIZES[k % 3];
        const load = k >= 3;
        const c = new Case(rng, `a16 ${load ? "mov G,E" : "add E,G"} mod=${mod} rm=${rm} o${size} #${k}`, load ? "mov" : "add");
        c.ctx = { size };
        const g = rng.pick([EAX, ECX, EDX]);
        const ea = lowAddr(rng);
        const m = memOperand16(c, g, ea, mod, rm);
        poke(c, ea, value(rng, size), size);
        c.setReg(size, g, value(rng, size));
        const op = load ? opcodeOf("mov", bySize(size, "Gb,Eb", "Gv,Ev")) : opcodeOf("add", bySize(size, "Eb,Gb", "Ev,Gv"));
        c.code = [...osz(size), 0x67, ...op, ...m];
        out.push(c);
      }
    }
  }
  // The ALU operations and a few others on 16-bit-addressed operands.
  ALU.forEach((mn) => {
    for (const size of SIZES) {
      for (let k = 0; k < 4; k++) {
        const c = new Case(rng, `a16 ${mn} ${k & 1 ? "G,E" : "E,G"} o${size} #${k}`, mn);
        c.ctx = { size };
        const g = rng.pick([EAX, ECX, EDX]);
        const ea = lowAddr(rng);
        const m = memOperand16(c, g, ea, rng.below(3), rng.below(8));
        poke(c, ea, value(rng, size), size);
        c.setReg(size, g, value(rng, size));
        c.code = [...osz(size), 0x67, ...encoding(mn, k & 1 ? bySize(size, "Gb,Eb", "Gv,Ev") : bySize(size, "Eb,Gb", "Ev,Gv")).opcode, ...m];
        out.push(c);
      }
    }
  });
  for (const [mn, byteForm, sizedForm] of [["inc", "Eb", "Ev"], ["not", "Eb", "Ev"], ["neg", "Eb", "Ev"], ["shl", "Eb,1", "Ev,1"], ["sar", "Eb,1", "Ev,1"], ["rcr", "Eb,1", "Ev,1"]] as const) {
    for (const size of SIZES) {
      const e = encoding(mn, bySize(size, byteForm, sizedForm));
      const digit = e.digit!;
      for (let k = 0; k < 3; k++) {
        const c = new Case(rng, `a16 ${mn} E o${size} #${k}`, mn);
        c.ctx = { size, count: 1 };
        const ea = lowAddr(rng);
        const m = memOperand16(c, digit, ea, rng.below(3), rng.below(8));
        poke(c, ea, value(rng, size), size);
        c.code = [...osz(size), 0x67, ...e.opcode, ...m];
        out.push(c);
      }
    }
  }
  // String instructions with 16-bit addressing: SI, DI and CX, wrapping at 64 KiB; the upper
  // halves of ESI, EDI and ECX must be left alone (SDM Vol. 2B MOVS, "address-size attribute").
  for (const [mn, byteForm, sizedForm] of STRING_OPS) {
    for (const size of SIZES) {
      const op = opcodeOf(mn, bySize(size, byteForm, sizedForm));
      for (const [pname, prefix] of [["", []], [mn === "cmps" || mn === "scas" ? "repe " : "rep ", [0xf3]]] as [string, number[]][]) {
        for (const df of [0, DF]) {
          const c = new Case(rng, `a16 ${pname}${mn} o${size} df=${df ? 1 : 0}`, mn);
          c.ctx = { size };
          c.flags = (c.flags & ~DF) | df;
          c.setReg(16, ESI, LOW + 0x200 + rng.below(0x100));
          c.setReg(16, EDI, LOW + 0xa00 + rng.below(0x100));
          c.setReg(16, ECX, prefix.length ? rng.pick([0, 1, 3, 7]) : rng.u32() & 0xffff);
          if (mn === "scas" || mn === "cmps") {
            const v = value(rng, size);
            c.setReg(size, EAX, v);
            for (let i = 0; i < 8; i++) {
              const d = (i: number) => (df ? -i : i) * (size / 8);
              poke(c, (c.regs[EDI] & 0xffff) + d(i), i < 3 ? v : value(rng, size), size);
              if (mn === "cmps") poke(c, (c.regs[ESI] & 0xffff) + d(i), i < 3 ? v : value(rng, size), size);
            }
          }
          c.code = [...prefix, ...osz(size), 0x67, ...op];
          out.push(c);
        }
      }
    }
  }
  // XLAT with 16-bit addressing: AL = [BX + AL], the sum wrapping at 64 KiB.
  for (let k = 0; k < 8; k++) {
    const c = new Case(rng, `a16 xlat #${k}`, "xlat");
    c.setReg(16, EBX, LOW + rng.below(LOW_SIZE - 0x100));
    c.code = [0x67, ...opcodeOf("xlat", "")];
    out.push(c);
  }
  // PUSH/POP r/m16/32 with 16-bit addressing.
  for (let k = 0; k < 8; k++) {
    const size = k & 1 ? 16 : 32;
    const push = k < 4;
    const c = new Case(rng, `a16 ${push ? "push" : "pop"} M o${size} #${k}`, push ? "push" : "pop");
    const ea = lowAddr(rng);
    const e = encoding(push ? "push" : "pop", "Ev");
    const m = memOperand16(c, e.digit!, ea, rng.below(3), rng.pick([0, 1, 4, 5, 7]));
    poke(c, ea, value(rng, size), size);
    c.code = [...osz(size), 0x67, ...e.opcode, ...m];
    out.push(c);
  }
  return out;
};

// ---- the table sweep -------------------------------------------------------------------------

/** Cases per variant of a form, unless it has more oracle values (shift counts) to try. */
const SWEEP_CASES = 6;

/** Operand size of a token: b 8, w 16, d 32, v and z the operand size. */
const tokenSize = (t: string, size: Size): Size => (t.endsWith("b") || t === "AL" ? 8 : t.endsWith("w") ? 16 : t.endsWith("d") ? 32 : size);

/**
 * One case of variant `v` of form `e`, set up from the operand notation alone: random values of
 * each operand's size in the registers it names and in memory at a random data-area address
 * reached by one of the ModRM forms; immediates at the edges; a shift's count from the row's
 * oracle counts; ESI and EDI at the data area for string operands; a relative jump over MARKER.
 */
function sweepCase(rng: Rng, e: OracleEncoding, v: SweepVariant, k: number, table: readonly OracleEncoding[]): Case {
  const c = new Case(rng, `${v.key} #${k}`, e.mnemonic, table);
  const size = v.size;
  c.ctx = { size };
  const t = operandTokens(e);
  const gTok = t.find((o) => o.startsWith("G"));
  const eTok = t.find((o) => o.startsWith("E") || o.startsWith("M"));
  const zTok = t.find((o) => o.startsWith("Z"));
  const zReg = v.opcode.at(-1)! & 7;
  const count = e.counts?.[k % e.counts.length];
  const implicit: number[] = [];
  if (t.includes("AL") || t.includes("eAX")) implicit.push(EAX);
  if (t.includes("CL")) implicit.push(ECX);
  if (t.some((o) => o.startsWith("X"))) implicit.push(ESI);
  if (t.some((o) => o.startsWith("Y"))) implicit.push(EDI);
  if (zTok) implicit.push(fullReg(tokenSize(zTok, size), zReg));
  const regs = (sz: Size, not: number[]) => [0, 1, 2, 3, 4, 5, 6, 7].filter((r) => (sz === 8 || r !== ESP) && !not.includes(fullReg(sz, r)));

  const g = gTok === undefined ? undefined : rng.pick(regs(tokenSize(gTok, size), implicit));
  const regField = e.digit ?? g ?? rng.below(8);
  let modrm: number[] = [];
  let eValue = 0;
  if (v.form === "reg") {
    const es = tokenSize(eTok!, size);
    const r = rng.pick(regs(es, implicit));
    modrm = [modrmReg(regField, r)];
    eValue = value(rng, es);
    c.setReg(es, r, eValue);
  } else if (v.form === "mem") {
    const avoid = [...implicit, ...(g === undefined ? [] : [fullReg(tokenSize(gTok!, size), g)])];
    const m = memOperand(c, regField, dataAddr(rng, 8), MEM_FORMS[k % MEM_FORMS.length], avoid);
    modrm = m.bytes;
    c.name += ` ${m.form}`;
    // M: an address only (LEA); Ma: a pair of bounds; Mq: 64 bits.
    const words = eTok === "M" ? 0 : eTok === "Ma" || eTok === "Mq" ? 2 : 1;
    const es = eTok === "Mq" ? 32 : tokenSize(eTok!, size);
    for (let i = 0; i < words; i++) poke(c, m.ea + (i * es) / 8, (eValue = value(rng, es)), es);
    if (words === 2) eValue = 0;
  }
  if (g !== undefined) {
    const gs = tokenSize(gTok!, size);
    c.setReg(gs, g, e.offsets ? rng.pick(e.offsets) >>> 0 : value(rng, gs));
  }
  if (zTok && (tokenSize(zTok, size) === 8 || zReg !== ESP)) c.setReg(tokenSize(zTok, size), zReg, value(rng, tokenSize(zTok, size)));
  if (t.includes("AL") || t.includes("eAX")) c.setReg(t.includes("AL") ? 8 : size, EAX, value(rng, t.includes("AL") ? 8 : size));
  if (t.some((o) => o.startsWith("X"))) c.regs[ESI] = DATA + 0x300 + rng.below(0x400);
  if (t.some((o) => o.startsWith("Y"))) c.regs[EDI] = DATA + 0x900 + rng.below(0x400);
  if (t.includes("CL")) {
    const cl = count ?? rng.below(40);
    c.setReg(8, ECX, cl);
    c.ctx.count = cl & 31;
  }
  if (t.includes("1")) c.ctx.count = 1;

  const after: number[] = [];
  let jumps = false;
  for (const o of t) {
    if (o === "Ib" && count !== undefined) {
      after.push(count & 0xff);
      c.ctx.count = count & 31;
    } else if (o === "Ib") after.push(rng.pick([0, 1, 0x7f, 0x80, 0xff, rng.below(256)]));
    else if (o === "Iw") after.push(...imm(value(rng, 16), 16));
    else if (o === "Iz" || o === "Iv") after.push(...imm(value(rng, size), size));
    else if (o === "Ob" || o === "Ov") after.push(...le(dataAddr(rng), 4));
    else if (o === "Jb" || o === "Jz") {
      after.push(...le(MARKER.length, o === "Jb" ? 1 : 4));
      jumps = true;
    }
  }
  c.code = [...osz(size), ...v.opcode, ...modrm, ...after, ...(jumps ? MARKER : [])];
  // QEMU cannot run the most negative dividend over -1 (masks.ts SDM_ONLY): the SDM's #DE.
  if (e.mnemonic === "idiv" && size !== 8) {
    const min = 2 ** (size - 1);
    if (eValue === MASK[size] && (c.regs[EDX] & MASK[size]) >>> 0 === min && (c.regs[EAX] & MASK[size]) === 0) sdmFault(c, 0, SDM_ONLY.idivMinByMinusOne.name);
  }
  return c;
}

/**
 * The table sweep: every variant (test/oracle/sweep.ts) of every form of `table` the sweep does
 * not skip, SWEEP_CASES cases each or one per oracle count. Driven by the table alone, so a new
 * row is covered once `npm run oracle:generate sweep` records it.
 */
export function sweepCases(rng: Rng, table: readonly OracleEncoding[] = ENCODINGS): Case[] {
  const out: Case[] = [];
  for (const e of table) {
    for (const v of sweepVariants(e)) {
      const n = Math.max(SWEEP_CASES, e.counts?.length ?? 0);
      for (let k = 0; k < n; k++) out.push(sweepCase(rng, e, v, k, table));
    }
  }
  return out;
}

groups.sweep = (rng) => sweepCases(rng);

// ---- running the oracle and writing the golden files -----------------------------------------

function golden(input: CaseInput, r: OracleResult, mnemonic: string, ctx: MaskContext, sdmOnly?: string): GoldenCase {
  let eflags = r.eflags;
  const overrides: string[] = sdmOnly ? [sdmOnly] : [];
  for (const o of QEMU_OVERRIDES) {
    const fixed = o.fixFlags?.(mnemonic, ctx, parseInt(input.flags, 16), eflags);
    if (fixed !== undefined && fixed !== eflags) {
      eflags = fixed;
      overrides.push(o.name);
    }
  }
  const regs: GoldenCase["out"]["regs"] = {};
  REG_NAMES.forEach((n, i) => {
    if (r.regs[i] !== parseInt(input.regs[i], 16)) regs[n] = hex(r.regs[i]);
  });
  const g: GoldenCase = {
    ...input,
    out: {
      regs,
      flags: hex(eflags),
      exception: r.exception,
    },
  };
  if (r.mem.length) g.out.mem = r.mem.map(([a, b]) => [hex(a), b]);
  if (r.exception !== null) g.out.eip = hex(r.eip);
  if (overrides.length) g.override = overrides.join(",");
  return g;
}

function main(): void {
  const wanted = process.argv.slice(2);
  for (const w of wanted) if (!(w in groups)) throw new Error(`no oracle group "${w}"; groups: ${Object.keys(groups).join(" ")}`);
  mkdirSync(GOLDEN_DIR, { recursive: true });
  let total = 0;
  for (const [name, make] of Object.entries(groups)) {
    if (wanted.length && !wanted.includes(name)) continue;
    const cases = make(new Rng(seedOf(name)));
    const names = new Set<string>();
    for (const c of cases) {
      if (names.has(c.name)) c.name += ` @${cases.indexOf(c)}`;
      names.add(c.name);
    }
    const inputs = cases.map((c) => c.input());
    const qemu = runOracle(inputs.filter((_, i) => !cases[i].sdm));
    let next = 0;
    const results = cases.map((c) => c.sdm?.result ?? qemu[next++]);
    const lines = inputs.map((inp, i) => JSON.stringify(golden(inp, results[i], cases[i].mnemonic, cases[i].ctx, cases[i].sdm?.override)));
    writeFileSync(join(GOLDEN_DIR, `${name}.jsonl`), lines.join("\n") + "\n");
    const faults = results.filter((r) => r.exception !== null).length;
    console.log(`${name}: ${cases.length} cases (${faults} raise an exception)`);
    total += cases.length;
  }
  console.log(`total: ${total} cases`);
}

// Imported by test/gen/oracle-sweep.test.ts for sweepCases: run only as a script.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
