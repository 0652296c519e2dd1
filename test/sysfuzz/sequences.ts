// Random but well-formed system-level sequences for harness.asm (seeded, reproducible): ENV
// patches (descriptors, gates, TSS fields, the I/O bitmap, page table entries) and straight-line
// code for the steps. Each family aims at one area of protected mode; every choice stays inside
// what the harness can survive (no triple fault: the double-fault path and the handlers'
// own segments are never broken) and away from what QEMU's TCG does not model (data-segment
// limits and null-selector accesses are never exercised; see test/sysfuzz/README.md).

import { rng as xorshift } from "../support/rng.js";
import type { Sequence, Step, StepRecord } from "./run.js";

// ---- the harness's layout (harness.asm) --------------------------------------------------------

export const GDT = 0x20000, TSS = 0x20100, IDT = 0x20800, PT_USER = 0x22000;
export const STUBS = 0x8000, CODE = 0x1000000, USER_STACK = CODE + 0x4000, STEP_STACK = 0x30000;
export const MARKER = 0x30;
const C0 = 0x08, D0 = 0x10, C3 = 0x1b, D3 = 0x23, C1 = 0x31, D1 = 0x39, C2 = 0x42, D2 = 0x4a, TSS_SEL = 0x28;
const RING_CS = [C0, C1, C2, C3], RING_SS = [D0, D1, D2, D3];
/** GDT slots a sequence may fill (0-10 are the harness's). */
const FREE_SLOTS = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
const GDT_SLOTS = 32;
/** Vectors whose gates the harness needs (the fault-in-delivery path and the end marker). */
const RESERVED_VECTORS = [8, 10, 11, 12, 13, 14, MARKER];
/** User pages a sequence may unmap or protect, and the user stack pages. */
const TEST_PAGES = [CODE + 0x6000, CODE + 0x7000, CODE + 0x8000, CODE + 0x9000];
const IF = 0x200, OF = 0x800;

// ---- randomness ---------------------------------------------------------------------------------

class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = xorshift(seed);
  }
  u32(): number {
    return this.next();
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.below(a.length)];
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

// ---- descriptors --------------------------------------------------------------------------------

/** A segment descriptor as two dwords (SDM Vol. 3 3.4.5). `access` is byte 5, `flags` byte 6's high nibble. */
export function segment(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

/** A gate descriptor (SDM Vol. 3 5.8.3, 6.11): call gates carry a parameter count. */
export function gate(selector: number, offset: number, type: number, dpl: number, present: boolean, params = 0): [number, number] {
  const lo = ((selector & 0xffff) << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | (present ? 0x8000 : 0) | (dpl << 13) | (type << 8) | (params & 0x1f);
  return [lo >>> 0, hi >>> 0];
}

/** What the generator knows of a GDT slot, to keep its own choices safe. */
interface Slot {
  kind: "data" | "code" | "system" | "gate" | "empty";
  dpl: number;
  present: boolean;
  writable?: boolean;
  readable?: boolean;
  conforming?: boolean;
  /** Flat (base 0, 4 GiB, 32-bit): safe as any segment at any ring it may be loaded at. */
  flat?: boolean;
  /** Data segments: [lowest, highest] valid offset of a 4-byte read (none when expand-down tricks apply). */
  readRange?: [number, number];
}

class Builder {
  patches: [number, number][] = [];
  code: number[] = [];
  steps: Step[] = [];
  slots = new Map<number, Slot>();
  constructor(readonly rng: Rng, public name: string) {}

  patch(addr: number, value: number): void {
    this.patches.push([addr >>> 0, value >>> 0]);
  }
  setSlot(i: number, d: [number, number], s: Slot): number {
    this.patch(GDT + i * 8, d[0]);
    this.patch(GDT + i * 8 + 4, d[1]);
    this.slots.set(i, s);
    return i << 3;
  }
  setGate(vector: number, d: [number, number]): void {
    if (RESERVED_VECTORS.includes(vector)) throw new Error(`${this.name}: vector ${vector} is the harness's`);
    this.patch(IDT + vector * 8, d[0]);
    this.patch(IDT + vector * 8 + 4, d[1]);
  }
  /** Code at `at` (an offset in the code page); returns the offset after it. */
  emit(at: number, bytes: number[]): number {
    while (this.code.length < at) this.code.push(0x90);
    bytes.forEach((b, i) => (this.code[at + i] = b & 0xff));
    return at + bytes.length;
  }
  step(cpl: number, eip: number, eflags = 0x2, regs?: number[], sdm?: Step["sdm"]): void {
    const r = regs ?? [0x11111111, 0x22222222, 0x33333333, 0x44444444, 0, USER_STACK + 0x10, 0x66666666, 0x77777777];
    if (regs === undefined) r[4] = cpl === 0 ? STEP_STACK : USER_STACK;
    this.steps.push({ cpl, eip, eflags: (eflags | 2) >>> 0, regs: r.map((v) => v >>> 0), ...(sdm ? { sdm } : {}) });
  }
  done(): Sequence {
    return { name: this.name, patches: this.patches, code: this.code, steps: this.steps };
  }
}

// ---- a small x86 encoder ------------------------------------------------------------------------

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const le16 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff];
const EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESI = 6, EDI = 7;
const ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
const SEG_PREFIX = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const x86 = {
  int: (n: number) => [0xcd, n],
  marker: () => [0xcd, MARKER],
  movImm: (r: number, v: number) => [0xb8 + r, ...le32(v)],
  movSreg: (sreg: number, r: number) => [0x8e, 0xc0 | (sreg << 3) | r],
  movFromSreg: (r: number, sreg: number) => [0x8c, 0xc0 | (sreg << 3) | r],
  pushImm: (v: number) => [0x68, ...le32(v)],
  pushImm16: (v: number) => [0x66, 0x68, ...le16(v)],
  popSreg: (sreg: number) => [[0x07], [], [0x17], [0x1f], [0x0f, 0xa1], [0x0f, 0xa9]][sreg],
  /** LES/LDS/LSS/LFS/LGS r32, [cs:abs]: the far pointer read through CS, which stays flat. */
  loadFar: (sreg: number, r: number, abs: number) => {
    const op = { [ES]: [0xc4], [DS]: [0xc5], [SS]: [0x0f, 0xb2], [FS]: [0x0f, 0xb4], [GS]: [0x0f, 0xb5] }[sreg]!;
    return [0x2e, ...op, (r << 3) | 5, ...le32(abs)];
  },
  /** mov eax, [sreg:abs] */
  readVia: (sreg: number, off: number) => [SEG_PREFIX[sreg], 0xa1, ...le32(off)],
  callFarMem: (abs: number) => [0x2e, 0xff, 0x1d, ...le32(abs)],
  jmpFarMem: (abs: number) => [0x2e, 0xff, 0x2d, ...le32(abs)],
  callFar: (sel: number, off: number) => [0x9a, ...le32(off), ...le16(sel)],
  jmpFar: (sel: number, off: number) => [0xea, ...le32(off), ...le16(sel)],
  /** LAR, LSL eax, ax; VERR, VERW ax */
  lar: () => [0x0f, 0x02, 0xc0],
  lsl: () => [0x0f, 0x03, 0xc0],
  verr: () => [0x0f, 0x00, 0xe0],
  verw: () => [0x0f, 0x00, 0xe8],
  /** ARPL ax, cx */
  arpl: () => [0x63, 0xc8],
  /** setz bl */
  zfToBl: () => [0x0f, 0x94, 0xc3],
  /** pushfd; pop ebx: EFLAGS into EBX */
  flagsToEbx: () => [0x9c, 0x5b],
};
/** Reads the stack's top six dwords into registers, then the marker: what a gate target shows. */
const SHOW_STACK = [
  0x8b, 0x04, 0x24, 0x8b, 0x4c, 0x24, 0x04, 0x8b, 0x54, 0x24, 0x08, 0x8b, 0x5c, 0x24, 0x0c,
  0x8b, 0x74, 0x24, 0x10, 0x8b, 0x7c, 0x24, 0x14, 0x89, 0xe5, 0xcd, MARKER,
];

// ---- where QEMU departs from the SDM (the golden line then carries the SDM's record) -----------

type SdmFix = NonNullable<Step["sdm"]>;
const VEC = 0, ERR = 4;
/** Where the pushed CS is in a record's frame: after the error code of the vectors that push one. */
const frameCs = (rec: StepRecord): number => ([8, 10, 11, 12, 13, 14, 17].includes(rec[VEC]) ? 6 : 5);
const withWord = (rec: StepRecord, i: number, v: number): StepRecord => rec.map((w, k) => (k === i ? v >>> 0 : w));
/** A fix with its reference: `change` gives the SDM's record, or undefined where it does not apply. */
const sdmFix = (note: string, change: (rec: StepRecord) => StepRecord | undefined): SdmFix => (rec) => {
  const out = change(rec);
  return out && { rec: out, note };
};

/** A fault while delivering an exception (not INT n, INT3, INTO) has EXT set in its error code. */
const EXT_ON_EXCEPTION = sdmFix(
  "SDM Vol. 3 6.13: EXT is set when the fault happened while delivering an earlier exception; QEMU leaves it clear",
  (rec) => ([10, 11, 12, 13].includes(rec[VEC]) && !(rec[ERR] & 1) ? withWord(rec, ERR, rec[ERR] | 1) : undefined),
);

/** A new stack segment that is not present is #SS, not #TS. */
const ssNotPresent = (sel: number, ext: boolean): SdmFix => sdmFix(
  "SDM Vol. 2A INT n/CALL: 'IF stack segment not present THEN #SS(SS selector)'; QEMU raises #TS",
  (rec) => (rec[VEC] === 10 && (rec[ERR] & 0xfffc) === sel ? withWord(withWord(rec, VEC, 12), ERR, ext ? rec[ERR] | 1 : rec[ERR]) : undefined),
);

/** The first of `fixes` that applies. */
const firstOf = (...fixes: SdmFix[]): SdmFix => (rec) => {
  for (const f of fixes) {
    const out = f(rec);
    if (out) return out;
  }
  return undefined;
};

// ---- selectors ----------------------------------------------------------------------------------

/** Random descriptors in a few free slots: every kind a selector load must tell apart. */
function randomSegments(b: Builder, n: number, allowTss = false): number[] {
  const r = b.rng;
  const sels: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = FREE_SLOTS[k];
    const dpl = r.below(4);
    const present = r.chance(0.85);
    const kind = r.pick(["data", "data", "data", "code", "code", "system", "gate"] as const);
    if (kind === "data") {
      const writable = r.chance(0.6), expandDown = r.chance(0.15);
      const base = r.pick([0, CODE, CODE + 0x1000]);
      const big = r.chance(0.5);
      const limit = big ? 0xfffff : r.pick([0xfff, 0x1fff, 0xffff]);
      const b16 = r.chance(0.2) ? 0 : 4;
      const access = 0x90 | (dpl << 5) | (writable ? 2 : 0) | (expandDown ? 4 : 0);
      const d = segment(base, limit, present ? access : access & 0x7f, (big ? 8 : 0) | b16);
      const bytes = big ? limit * 4096 + 4095 : limit;
      // reads stay inside the limit and inside the pattern-filled user pages
      const readRange: [number, number] | undefined = expandDown || (base === 0 && !big)
        ? undefined
        : base === 0
          ? [CODE + 0x1000, CODE + 0xbff0]
          : [0, Math.min(bytes - 3, 0xaff0)];
      const flat = base === 0 && big && !expandDown && b16 === 4;
      sels.push(b.setSlot(i, d, { kind, dpl, present, writable, readable: true, flat, readRange }) | r.below(4));
    } else if (kind === "code") {
      const conforming = r.chance(0.5), readable = r.chance(0.7);
      const access = 0x98 | (dpl << 5) | (conforming ? 4 : 0) | (readable ? 2 : 0);
      const d = segment(0, 0xfffff, present ? access : access & 0x7f, 0xc);
      sels.push(b.setSlot(i, d, { kind, dpl, present, conforming, readable, flat: true }) | r.below(4));
    } else if (kind === "system") {
      // available/busy 16- and 32-bit TSS, LDT, reserved types
      // An available TSS only where nothing can jump to it: QEMU would switch tasks.
      const type = r.pick(allowTss ? [1, 2, 3, 9, 0xb, 0, 8, 0xa, 0xd] : [2, 3, 0xb, 0, 8, 0xa, 0xd]);
      const d = segment(0x30000, r.pick([0x67, 0x2b, 0xfff]), (present ? 0x80 : 0) | (dpl << 5) | type, 0);
      sels.push(b.setSlot(i, d, { kind, dpl, present }) | r.below(4));
    } else {
      const type = r.pick([4, 0xc, 5, 6, 0xe, 0xf]);
      const d = gate(C0, CODE + 0x400, type, dpl, present, r.below(4));
      sels.push(b.setSlot(i, d, { kind: "gate", dpl, present }) | r.below(4));
    }
  }
  return sels;
}

/** Selectors that need no patch: null, the harness's own, beyond the GDT limit, the LDT (none). */
function plainSelectors(r: Rng): number[] {
  return [
    r.below(4), C0, D0, C3, D3, C1, D1, C2, D2, TSS_SEL, 0x50 | r.below(4),
    D0 | r.below(4), D3 & ~3, ((GDT_SLOTS + r.below(200)) << 3) | r.below(4), 0xfff8 | r.below(4),
    (r.below(GDT_SLOTS) << 3) | 4 | r.below(4),
  ];
}

/**
 * The SDM's rules for loading a data segment register (Vol. 2 MOV, Vol. 3 5.5-5.6): the slot it
 * would load, null, or a fault. Only used to keep the generator's own next steps safe.
 */
function loadOutcome(b: Builder, sel: number, sreg: number, cpl: number): { ok: true; slot?: Slot } | { ok: false } {
  const idx = sel >> 3, rpl = sel & 3, ldt = sel & 4;
  if ((sel & ~3) === 0) return sreg === SS ? { ok: false } : { ok: true };
  if (ldt || idx >= GDT_SLOTS) return { ok: false };
  const fixed: Record<number, Slot> = {
    1: { kind: "code", dpl: 0, present: true, readable: true, flat: true },
    2: { kind: "data", dpl: 0, present: true, writable: true, flat: true, readRange: [CODE + 0x1000, CODE + 0xbff0] },
    3: { kind: "code", dpl: 3, present: true, readable: true, flat: true },
    4: { kind: "data", dpl: 3, present: true, writable: true, flat: true, readRange: [CODE + 0x1000, CODE + 0xbff0] },
    6: { kind: "code", dpl: 1, present: true, readable: true, flat: true },
    7: { kind: "data", dpl: 1, present: true, writable: true, flat: true, readRange: [CODE + 0x1000, CODE + 0xbff0] },
    8: { kind: "code", dpl: 2, present: true, readable: true, flat: true },
    9: { kind: "data", dpl: 2, present: true, writable: true, flat: true, readRange: [CODE + 0x1000, CODE + 0xbff0] },
  };
  const s = b.slots.get(idx) ?? fixed[idx];
  if (!s || s.kind === "system" || s.kind === "gate" || s.kind === "empty") return { ok: false };
  if (sreg === SS) {
    if (s.kind !== "data" || !s.writable || rpl !== cpl || s.dpl !== cpl || !s.present) return { ok: false };
    return { ok: true, slot: s };
  }
  if (s.kind === "code" && !s.readable) return { ok: false };
  if (!(s.kind === "code" && s.conforming) && (s.dpl < cpl || s.dpl < rpl)) return { ok: false };
  if (!s.present) return { ok: false };
  return { ok: true, slot: s };
}

// ---- families -----------------------------------------------------------------------------------

type Family = (b: Builder) => void;

/** Segment register loads (MOV, POP, LxS) with every kind of selector, then reads through them; LAR/LSL/VERR/VERW/ARPL on the same. */
const segload: Family = (b) => {
  const r = b.rng;
  const sels = [...randomSegments(b, 6, true), ...plainSelectors(r)];
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    const cpl = r.pick([0, 3, 3, 1, 2]);
    let at = s * 0x100;
    const start = at;
    const ptrs = 0xe00 + s * 0x40;
    const nops = 1 + r.below(4);
    let ended = false;
    // QEMU does not check stack limits: after a small or expand-down SS, no stack access
    let stackFlat = true;
    for (let k = 0; k < nops && !ended; k++) {
      const sel = r.pick(sels);
      const op = r.below(10);
      if (op <= 5) {
        // a load: MOV, POP or LxS
        let sreg = r.pick([DS, ES, FS, GS, SS, DS, FS]);
        const how = stackFlat ? r.below(3) : r.pick([0, 2]);
        if (how === 2 && sreg === SS && r.chance(0.5)) sreg = DS;
        const out = loadOutcome(b, sel, sreg, cpl);
        // At rings 0-2 a stack the handler would use must stay flat; a loaded weird SS at ring 3 is fine.
        if (sreg === SS && out.ok && cpl !== 3 && !out.slot?.flat) continue;
        if (how === 0) at = b.emit(at, [...x86.movImm(EAX, sel | (r.u32() & 0xffff0000)), ...x86.movSreg(sreg, EAX)]);
        else if (how === 1) at = b.emit(at, [...x86.pushImm(sel), ...x86.popSreg(sreg)]);
        else {
          const p = ptrs + k * 8;
          b.emit(p, [...le32(0x12345678), ...le16(sel)]);
          at = b.emit(at, x86.loadFar(sreg, ECX, CODE + p));
        }
        if (!out.ok) ended = true;
        else if (sreg === SS && !out.slot?.flat) stackFlat = false;
        else if (out.slot?.readRange && sreg !== SS && r.chance(0.7)) {
          const [lo, hi] = out.slot.readRange;
          const off = r.pick([lo, hi, lo + 4 * r.below(((hi - lo) >> 2) + 1)]);
          at = b.emit(at, x86.readVia(sreg, off));
        }
      } else {
        const probe = [x86.lar, x86.lsl, x86.verr, x86.verw, x86.arpl][op - 5];
        at = b.emit(at, [...x86.movImm(EAX, sel), ...x86.movImm(ECX, r.pick(sels)), ...probe(), ...x86.zfToBl()]);
      }
    }
    b.emit(at, x86.marker());
    b.step(cpl, start, r.chance(0.3) ? IF : 0);
  }
};

/** Far CALL/JMP through call gates (16/32-bit, DPLs, RPLs, parameters, bad targets) and straight to code selectors; RETF outward. */
const farcall: Family = (b) => {
  const r = b.rng;
  const segs = randomSegments(b, 3);
  // a conforming and a not-present code segment, a read-only data segment
  const confDpl = r.below(4);
  const conf = b.setSlot(14, segment(0, 0xfffff, 0x9e | (confDpl << 5), 0xc), { kind: "code", dpl: confDpl, present: true, conforming: true, readable: true, flat: true });
  const npDpl = r.below(4);
  const np = b.setSlot(15, segment(0, 0xfffff, 0x1a | (npDpl << 5), 0xc), { kind: "code", dpl: npDpl, present: false });
  const targets = [C0, C0, C1, C2, C3, conf, conf, np, D0, 0, segs[0] & ~3, (GDT_SLOTS + 3) << 3];
  // A 16-bit gate's offset is 16 bits (SDM Vol. 2A CALL: "EIP <- CallGate(InstructionPointer) AND
  // 0000FFFFH"; QEMU takes all 32): its targets are code segments based at the code page.
  const based = [0, 1, 2].map((dpl) => b.setSlot(19 + dpl, segment(CODE, 0xfffff, 0x9a | (dpl << 5), 0xc), { kind: "code", dpl, present: true, readable: true }));
  const gates: number[] = [];
  for (const slot of [16, 17, 18]) {
    const type = r.chance(0.75) ? 0xc : 4;
    const dpl = r.pick([3, 3, 0, 1, 2]);
    const tsel = (type === 4 && r.chance(0.8) ? r.pick(based) : r.pick(targets)) | r.below(4);
    const retf = type === 0xc && r.chance(0.4);
    const params = r.below(4);
    const d = gate(tsel, (type === 4 ? 0 : CODE) + (retf ? 0x500 : 0x400), type, dpl, r.chance(0.9), params);
    gates.push(b.setSlot(slot, d, { kind: "gate", dpl, present: true }));
  }
  // gate targets: show the stack, or load DS with the target ring's data segment and RETF n
  b.emit(0x400, SHOW_STACK);
  const dsLoad = r.pick([D1, D2, D0, D3, conf | 3]);
  b.emit(0x500, [
    ...x86.movImm(EDX, dsLoad), 0x8e, 0xda, // mov ds, dx
    ...(r.chance(0.5) ? [0xcb] : [0xca, ...le16(4 * r.below(4))]),
  ]);
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    const cpl = r.pick([3, 3, 3, 0, 1, 2]);
    let at = s * 0x80;
    const start = at;
    const nparams = r.below(4);
    for (let k = 0; k < nparams; k++) at = b.emit(at, x86.pushImm(0xa0000000 + s * 0x10 + k));
    const viaGate = r.chance(0.8);
    const sel = viaGate ? r.pick(gates) | r.below(4) : r.pick([...targets, ...segs]) | r.below(4);
    const off = CODE + 0x400;
    const p = 0xe00 + s * 8;
    b.emit(p, [...le32(off), ...le16(sel)]);
    const how = r.below(4);
    at = b.emit(at, how === 0 ? x86.callFar(sel, off) : how === 1 ? x86.jmpFar(sel, off) : how === 2 ? x86.callFarMem(CODE + p) : x86.jmpFarMem(CODE + p));
    // After a RETF: segment registers and the stack as the caller sees them.
    at = b.emit(at, [...x86.movFromSreg(EDI, DS), 0x89, 0xe6, ...x86.marker()]);
    const jmp = how === 1 || how === 3;
    const conforming = [...b.slots].filter(([, sl]) => sl.kind === "code" && sl.conforming).map(([i]) => i);
    b.step(cpl, start, r.chance(0.3) ? IF : 0, undefined, viaGate ? firstOf(
      sdmFix(
        "SDM Vol. 2A CALL/JMP through a call gate to a conforming segment: no privilege change, CS(RPL) <- CPL; QEMU gives CS the segment's DPL as RPL",
        (rec) => {
          const at = frameCs(rec);
          return conforming.includes(rec[at] >> 3) && (rec[at] & 3) !== cpl ? withWord(rec, at, (rec[at] & ~3) | cpl) : undefined;
        },
      ),
      sdmFix(
        "SDM Vol. 2A JMP through a call gate: 'IF code segment not present THEN #NP(selector)'; QEMU raises #GP",
        (rec) => (jmp && npDpl === cpl && rec[VEC] === 13 && (rec[ERR] & 0xfffc) === np ? withWord(rec, VEC, 11) : undefined),
      ),
    ) : undefined);
  }
};

/** INT n, INT3, INTO, BOUND, UD2, #DE through gates of every type, DPL, presence and target. */
const intgate: Family = (b) => {
  const r = b.rng;
  const conf = b.setSlot(14, segment(0, 0xfffff, 0x9e | (r.below(2) * 3 << 5), 0xc), { kind: "code", dpl: 0, present: true, conforming: true, flat: true });
  const np = b.setSlot(15, segment(0, 0xfffff, 0x1a, 0xc), { kind: "code", dpl: 0, present: false });
  const data = b.setSlot(16, segment(0, 0xfffff, 0x92, 0xc), { kind: "data", dpl: 0, present: true, writable: true, flat: true });
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    const cpl = r.pick([0, 3, 3, 3, 1, 2]);
    const v = r.pick([0, 3, 4, 5, 6, 1, 0x31 + r.below(0x40), 0x80, 0xff, 2, 7, 9, 15, 16, 17, 18, 19]);
    let exception = true;
    const type = r.pick([0xe, 0xe, 0xf, 0xf, 6, 7, 0xc, 0, 5, 0xd]);
    const dpl = r.pick([0, 3, 3, 1, 2]);
    // a conforming target from ring 3 would run the handler at ring 3: only from inner rings
    let sel = r.pick([C0, C0, C0, C1, C2, C3, np, data, 0, (GDT_SLOTS + 1) << 3, conf]) | r.below(4);
    if ((sel & ~3) === conf && cpl === 3) sel = C0;
    if ((sel & ~3) === (C3 & ~3) && cpl === 3) sel = C0;
    b.setGate(v, gate(sel, STUBS + v * 16, type, dpl, r.chance(0.85)));
    let at = s * 0x80;
    const start = at;
    if (v === 0 && r.chance(0.6)) at = b.emit(at, [0x31, 0xd2, ...x86.movImm(EAX, 1), 0x31, 0xc9, 0xf7, 0xf1]);
    else if (v === 3 && r.chance(0.6)) at = b.emit(at, [0xcc]);
    else if (v === 4 && r.chance(0.7)) at = b.emit(at, [0xb0, 0x7f, 0x04, 0x01, 0xce]);
    else if (v === 5 && r.chance(0.7)) {
      b.emit(0xf00 + s * 8, [...le32(10), ...le32(20)]);
      at = b.emit(at, [...x86.movImm(EAX, 30), 0x2e, 0x62, 0x05, ...le32(CODE + 0xf00 + s * 8)]);
    } else if (v === 6 && r.chance(0.7)) at = b.emit(at, [0x0f, 0x0b]);
    else {
      at = b.emit(at, x86.int(v));
      exception = false;
    }
    if (at - start === 1 || (v === 4 && at - start === 5)) exception = false; // INT3, INTO
    b.emit(at, x86.marker());
    b.step(cpl, start, r.pick([0, IF, IF | OF, 0x3000 | IF]), undefined, exception ? EXT_ON_EXCEPTION : undefined);
  }
};

/** IRET from ring 0 (and outer rings) to every ring with good and bad CS/SS, EFLAGS changes, data segments nulled. */
const iret: Family = (b) => {
  const r = b.rng;
  const segs = randomSegments(b, 3);
  const np = b.setSlot(15, segment(0, 0xfffff, 0x1a | (3 << 5), 0xc), { kind: "code", dpl: 3, present: false });
  const conf3 = b.setSlot(16, segment(0, 0xfffff, 0x9e | (r.below(4) << 5), 0xc), { kind: "code", dpl: 0, present: true, conforming: true, readable: true, flat: true });
  const ro3 = b.setSlot(17, segment(0, 0xfffff, 0xf0, 0xc), { kind: "data", dpl: 3, present: true, writable: false, flat: true });
  b.emit(0x600, [...x86.movFromSreg(EDI, DS), ...x86.movFromSreg(ESI, ES), ...x86.marker()]);
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    const cpl = r.pick([0, 0, 0, 1, 2, 3]);
    const ring = r.pick([3, 3, 1, 2, 0]);
    let cs = r.chance(0.75) ? RING_CS[ring] : r.pick([np, conf3, D3, 0, ...segs, C3 & ~3, C1 | 3]);
    let ss = r.chance(0.75) ? RING_SS[ring] : r.pick([ro3, D3 & ~3, D1 | 3, C3, 0, ...segs, D0]);
    const o16 = r.chance(0.15);
    // NT stays 0 (a task return would need a task switch), VM 0
    const eflags = (r.u32() & 0x3cd5) | 2 | (r.chance(0.3) ? 0x40000 : 0) | (r.chance(0.5) ? IF : 0);
    let at = s * 0x100;
    const start = at;
    // data segments a return outward must null (DPL < new CPL) or keep
    for (const sreg of [DS, ES, FS, GS]) {
      if (r.chance(0.5)) continue;
      const sel = r.pick([D0, D1, D2, D3, conf3 | 0, C1, 0]);
      if (!loadOutcome(b, sel, sreg, cpl).ok) continue;
      at = b.emit(at, [...x86.movImm(EAX, sel), ...x86.movSreg(sreg, EAX)]);
    }
    const esp = r.pick([USER_STACK - 0x40, USER_STACK, USER_STACK + 0xff0, TEST_PAGES[0] + 0x100]);
    if (o16) {
      cs &= 0xffff;
      ss &= 0xffff;
      const frame = ring === cpl || cs === 0 ? [] : [ss, esp & 0xffff];
      // a 16-bit IRET returns to IP < 64 KiB: in page 0, absent, so the return faults at the target
      for (const w of [...frame, eflags & 0xffff, cs, 0x600]) at = b.emit(at, x86.pushImm16(w));
      at = b.emit(at, [0x66, 0xcf]);
    } else {
      for (const w of [ss, esp, eflags, cs, CODE + 0x600]) at = b.emit(at, x86.pushImm(w));
      at = b.emit(at, [0xcf]);
    }
    b.emit(at, x86.marker());
    b.step(cpl, start, r.pick([0, IF, 0x3000]));
  }
};

/** I/O at outer rings (IOPL, the TSS bitmap and its base), CLI/STI/POPF/HLT and the privileged instructions. */
const io: Family = (b) => {
  const r = b.rng;
  if (r.chance(0.7)) b.patch(TSS + 104 + 0x10, r.chance(0.3) ? 0xffffff00 | r.u32() : r.u32());
  if (r.chance(0.3)) b.patch(TSS + 0x64, r.pick([104, 200, 0xe0, 0xe7, 0xe8, 0xffff, 0x1000, 0]) << 16);
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    const cpl = r.pick([3, 3, 3, 1, 2, 0]);
    let at = s * 0x100;
    const start = at;
    const nops = 1 + r.below(4);
    for (let k = 0; k < nops; k++) {
      const port = 0x80 + r.below(4);
      const op = r.pick([
        [0xe6, port], [0x66, 0xe7, 0x80], [0xe7, 0x80], [0x66, 0xba, port, 0, 0xee], [0x66, 0xba, port, 0, 0x66, 0xef],
        [0xe4, 0x80, ...x86.movImm(EAX, 0)], [0x66, 0xe5, 0x80, ...x86.movImm(EAX, 0)], [0xe5, 0x80, ...x86.movImm(EAX, 0)],
        [0x66, 0xba, port, 0, 0xec, ...x86.movImm(EAX, 0)],
        [0x66, 0xba, 0x80, 0, ...x86.movImm(ESI, CODE + 0x1000), 0x6e], // outsb
        [0xfa], [0xfb], [0xfa, ...x86.flagsToEbx()], [0xfb, ...x86.flagsToEbx()],
        [...x86.pushImm(r.u32() & 0x3fd5 & ~0x4000), 0x9d, ...x86.flagsToEbx()],
        [0xf4], [0x0f, 0x20, 0xc0], [0x0f, 0x20, 0xd8],
        [0x0f, 0x01, 0xe0], [0x0f, 0x06], [0x0f, 0x09], [0x0f, 0x21, 0xf8],
        [0x0f, 0x00, 0xc0], [0x0f, 0x00, 0xc8], // sldt eax, str eax
        [0x0f, 0x01, 0x05, ...le32(CODE + 0x1000), 0xa1, ...le32(CODE + 0x1000), 0x8b, 0x0d, ...le32(CODE + 0x1004)], // sgdt, read back
        [0x0f, 0x01, 0x0d, ...le32(CODE + 0x1010), 0xa1, ...le32(CODE + 0x1010), 0x8b, 0x0d, ...le32(CODE + 0x1014)], // sidt
      ]);
      // privileged writes only where they must fault (CPL > 0)
      const priv = cpl > 0
        ? r.pick([[0x0f, 0x22, 0xc0], [0x0f, 0x22, 0xd8], [0x0f, 0x01, 0xf0], [0x2e, 0x0f, 0x01, 0x15, ...le32(CODE + 0xf00)],
          [0x2e, 0x0f, 0x01, 0x1d, ...le32(CODE + 0xf00)], [0x0f, 0x00, 0xd0], [0x0f, 0x00, 0xd8], [0x0f, 0x08], [0x0f, 0x30],
          [0x0f, 0x01, 0x38], [0x0f, 0x23, 0xf8],
          // at CPL 0 QEMU returns 0 for an unknown MSR (the SDM: #GP(0)) and has no counters (#UD)
          [0x0f, 0x32], [0x0f, 0x33]])
        : null;
      const bytes = priv && r.chance(0.25) ? priv : op;
      // CLI/STI/HLT at ring 0 would stop (HLT with IF=0) or let nothing in (PIC masked): keep HLT out
      if (cpl === 0 && bytes[0] === 0xf4) continue;
      at = b.emit(at, bytes);
    }
    b.emit(at, x86.marker());
    b.step(cpl, start, (r.below(4) << 12) | (r.chance(0.5) ? IF : 0));
  }
};

/** Delivery that fails on the inner stack (bad SS0/ESP0 in the TSS): the fault handlers run at ring 1. */
const badstack: Family = (b) => {
  const r = b.rng;
  // The faults this provokes would fault again on the ring-0 stack: their gates go to ring 1,
  // so every step runs at ring 3 and nothing reaches ring-0 code that may fault.
  for (const v of [8, 10, 11, 12, 13, 14]) {
    b.patch(IDT + v * 8, ((C1 & ~3) << 16) | ((STUBS + v * 16) & 0xffff));
  }
  const ro = b.setSlot(11, segment(0, 0xfffff, 0x90, 0xc), { kind: "data", dpl: 0, present: true, writable: false });
  const npd = b.setSlot(12, segment(0, 0xfffff, 0x12, 0xc), { kind: "data", dpl: 0, present: false });
  // a ring-0 call gate (a 16-bit one pushes 8 bytes: one more reason the ESP0 below keep none)
  const type = r.pick([0xc, 4]);
  // (An SS0 with a small limit would be a third way, but QEMU does not check stack limits.)
  if (r.chance(0.4)) b.patch(TSS + 8, r.pick([0, 3, 0x13, C0, D3, D1, ro, npd, (GDT_SLOTS + 2) << 3, 0x14, TSS_SEL]));
  else {
    const page = r.pick(TEST_PAGES);
    // every push to the ring-0 stack faults (a frame is at least 12 bytes), so no ring-0 code runs
    b.patch(PT_USER + ((page - CODE) >> 12) * 4, r.pick([0, page | 4, page | 6]));
    b.patch(TSS + 4, r.pick([page + 0x1000, type === 4 ? page + 0x1000 : page + 0x1008, page + 4, 0x10, 0]));
  }
  const based = b.setSlot(17, segment(CODE, 0xfffff, 0x9a, 0xc), { kind: "code", dpl: 0, present: true, readable: true });
  b.setSlot(16, gate(type === 4 ? based : C0, (type === 4 ? 0 : CODE) + 0x400, type, 3, true, r.below(3)), { kind: "gate", dpl: 3, present: true });
  b.emit(0x400, SHOW_STACK);
  b.setGate(0x40, gate(C0, STUBS + 0x40 * 16, r.pick([0xe, 0xf, 6]), 3, true));
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    let at = s * 0x40;
    const start = at;
    const op = r.pick([x86.int(0x40), x86.marker(), [0x0f, 0x0b], x86.callFar((16 << 3) | 3, 0), [0xfa]]);
    at = b.emit(at, op);
    b.emit(at, x86.marker());
    const ud2 = op[0] === 0x0f;
    b.step(3, start, r.chance(0.5) ? IF : 0, undefined, ud2 ? firstOf(ssNotPresent(npd, true), EXT_ON_EXCEPTION) : ssNotPresent(npd, false));
  }
};

/** Stack pushes at ring 3 onto absent, supervisor or read-only pages, straddling pages, 16-bit stacks; ENTER, POP SS. */
const stackpf: Family = (b) => {
  const r = b.rng;
  const pte = new Map<number, number>();
  for (const page of TEST_PAGES) {
    if (!r.chance(0.5)) continue;
    const v = r.pick([0, page | 5, page | 3, page | 1, page | 7]);
    pte.set(page, v);
    b.patch(PT_USER + ((page - CODE) >> 12) * 4, v);
  }
  const userWritable = (linear: number): boolean => ((pte.get(linear & ~0xfff) ?? 7) & 7) === 7;
  const ss16 = b.setSlot(11, segment(CODE, 0xffff, 0xf2, 0), { kind: "data", dpl: 3, present: true, writable: true });
  const ss3 = b.setSlot(12, segment(0, 0xfffff, 0xf2, 0xc), { kind: "data", dpl: 3, present: true, writable: true, flat: true });
  const nsteps = 1 + r.below(3);
  for (let s = 0; s < nsteps; s++) {
    let at = s * 0x100;
    const start = at;
    const page = r.pick(TEST_PAGES);
    const esp = r.pick([page, page + 2, page + 4, page + 0x1000, page + 0x800, page + 0xffe]);
    const regs = [0x11111111, 0x22222222, 0x33333333, 0x44444444, esp, USER_STACK - 0x100, 0x66666666, 0x77777777];
    let top = esp;
    let sp16 = false;
    if (r.chance(0.25)) {
      // a 16-bit stack segment based at the code page: SP wraps inside it, ESP's top half stays
      // (not near SP = 0: a dword at 0xFFFE crosses the limit, which QEMU does not check)
      regs[4] = (r.u32() & 0xffff0000) | r.pick([0x6000, 0x6002, 0x7000, 0x8000]);
      regs[5] = 0x00005ff0;
      top = regs[4] & 0xffff;
      sp16 = true;
      at = b.emit(at, [...x86.movImm(EAX, ss16 | 3), ...x86.movSreg(SS, EAX)]);
    } else if (r.chance(0.1)) at = b.emit(at, [...x86.movImm(EAX, ss3 | 3), ...x86.movSreg(SS, EAX)]);
    // ENTER, PUSHAD and POPAD fault differently in QEMU (it commits part of the work, or does not
    // probe ENTER's final ESP as the SDM's ENTER #PF says): only as the first stack access, where
    // the 64 bytes below and 32 above the stack pointer are all writable user pages.
    const linear = (d: number) => (sp16 ? CODE + ((top + d) & 0xffff) : top + d);
    const roomy = [-64, -32, -4, 0, 28].every((d) => userWritable(linear(d)));
    const nops = 1 + r.below(3);
    for (let k = 0; k < nops; k++) {
      const whole = k === 0 && roomy && r.chance(0.4);
      at = b.emit(at, whole
        ? r.pick([[0xc8, 0x10, 0x00, 0x00], [0xc8, 0x08, 0x00, 0x01], [0xc8, 0x04, 0x00, 0x02], [0x66, 0xc8, 0x04, 0x00, 0x01], [0x60], [0x61]])
        : r.pick([
          [0x50], [0x6a, 0x7f], [0x66, 0x50], [0x9c], [0xe8, 0, 0, 0, 0], [0xff, 0x35, ...le32(CODE + 0x1000)],
          [0xc9], [0x58], [0x16, 0x17], [0x66, 0x16, 0x66, 0x17], [0x0e], [0x8f, 0x05, ...le32(CODE + 0x1000)],
        ]));
    }
    b.emit(at, [0x89, 0xe6, 0x89, 0xef, ...x86.marker()]);
    b.step(3, start, r.chance(0.5) ? IF : 0, regs);
  }
};

export const FAMILIES: Record<string, Family> = { segload, farcall, intgate, iret, io, badstack, stackpf };

/** Sequence `index` of a family: its own seed, so one sequence can be made again alone. */
export function makeSequence(family: string, index: number): Sequence {
  const make = FAMILIES[family];
  if (!make) throw new Error(`no sysfuzz family "${family}"; families: ${Object.keys(FAMILIES).join(" ")}`);
  let h = 0x811c9dc5;
  for (const ch of `${family}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  const b = new Builder(new Rng(h >>> 0), `${family} #${index}`);
  make(b);
  return b.done();
}
