// Segmentation: descriptor reads, segment register loads with the protection checks of
// SDM Vol. 3 §5 and the MOV/POP pseudo-code, and effective → linear address translation
// with limit and type checks. Flat segments (base 0, 4 GiB, the right type) skip the checks.

import {
  STATE_GDTR_BASE, STATE_GDTR_LIMIT, STATE_CPL, SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR,
} from "./layout";
import * as cpu from "./cpu";
import { segBase, segLimit, segAttr, segSelector, setSegCache, protectedMode, sizeBytes } from "./cpu";
import { invalidateFetch } from "./cpu";
import { readLin16, readLin32, writeLin32, updateAccessMasks, enterSupervisorAccess, leaveSupervisorAccess } from "./mmu";
import { realSegments } from "./flags";
import { raise, EXC_GP, EXC_SS, EXC_NP, EXC_TS } from "./exceptions";

// Descriptor attribute bits as kept in a segment cache (descriptor bytes 5–6).
export const ATTR_ACCESSED: u32 = 0x01;
export const ATTR_RW: u32 = 0x02; // data: writable; code: readable
export const ATTR_DC: u32 = 0x04; // data: expand-down; code: conforming
export const ATTR_CODE: u32 = 0x08;
export const ATTR_S: u32 = 0x10; // code or data (not system)
export const ATTR_P: u32 = 0x80;
export const ATTR_DB: u32 = 0x4000;
export const ATTR_G: u32 = 0x8000;

/** The last descriptor read by readDescriptor. */
export let descLo: u32 = 0;
export let descHi: u32 = 0;
let descAddr: u32 = 0;

/** Segments whose reads / writes need no checks: one bit per segment register. */
export let flatRead: u32 = 0;
export let flatWrite: u32 = 0;
/** DS and SS are both flat for reads / for writes: the fast path's memory operands need no segment test. */
export let flatDataRead: bool = false;
export let flatDataWrite: bool = false;

@inline export function baseOf(lo: u32, hi: u32): u32 {
  return (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
}
@inline export function descBase(): u32 {
  return baseOf(descLo, descHi);
}
@inline export function descLimit(): u32 {
  const raw = (descLo & 0xffff) | (descHi & 0xf0000);
  return (descHi & 0x800000) != 0 ? (raw << 12) | 0xfff : raw;
}
@inline export function descAttr(): u32 {
  return (descHi >>> 8) & 0xf0ff;
}

/**
 * Read the descriptor a selector names from the GDT or LDT into descLo/descHi. Returns false
 * (without raising) if the selector is outside the table's limit; a page fault reading the
 * table is raised and also returns false.
 */
export function readDescriptor(selector: u32): bool {
  let base: u32;
  let limit: u32;
  if ((selector & 4) != 0) {
    if ((segAttr(SEG_LDTR) & ATTR_P) == 0) return false;
    base = segBase(SEG_LDTR);
    limit = segLimit(SEG_LDTR);
  } else {
    base = load<u32>(STATE_GDTR_BASE);
    limit = load<u32>(STATE_GDTR_LIMIT);
  }
  const index = selector & 0xfff8;
  if (index + 7 > limit) return false;
  descAddr = base + index;
  enterSupervisorAccess();
  descLo = readLin32(descAddr);
  descHi = readLin32(descAddr + 4);
  leaveSupervisorAccess();
  return !cpu.faulted;
}

/** Set the Accessed bit of the descriptor last read, as loading a segment does (SDM Vol. 3 §3.4.5.1). */
function markAccessed(): void {
  if ((descHi & 0x100) == 0) {
    descHi |= 0x100;
    enterSupervisorAccess();
    writeLin32(descAddr + 4, descHi);
    leaveSupervisorAccess();
  }
}

/** Recompute what depends on the segment caches: flat masks, default sizes, CPL-derived masks. */
export function segmentsChanged(): void {
  let fr: u32 = 0;
  let fw: u32 = 0;
  for (let s = 0; s < 6; s++) {
    const a = segAttr(s);
    if ((a & ATTR_P) == 0 || segBase(s) != 0 || segLimit(s) != 0xffffffff) continue;
    const code = (a & ATTR_CODE) != 0;
    if (code) {
      if ((a & ATTR_RW) != 0) fr |= 1 << s;
    } else if ((a & ATTR_DC) == 0) {
      fr |= 1 << s;
      if ((a & ATTR_RW) != 0) fw |= 1 << s;
    }
  }
  // Real mode has no type checks: anything with a 4 GiB limit and base 0 is flat.
  flatRead = fr;
  flatWrite = fw;
  const data: u32 = (1 << SEG_DS) | (1 << SEG_SS);
  flatDataRead = (fr & data) == data;
  flatDataWrite = (fw & data) == data;
  cpu.codeDefault32 = protectedMode() && (segAttr(SEG_CS) & ATTR_DB) != 0;
  cpu.stack32 = protectedMode() && (segAttr(SEG_SS) & ATTR_DB) != 0;
  cpu.decodeDirty = true;
  cpu.fastDecode = false;
  invalidateFetch();
}

/** Load CS's cache from a descriptor and switch CPL (far transfers, interrupts). */
export function loadCsCache(selector: u32, lo: u32, hi: u32, newCpl: i32): void {
  descLo = lo;
  descHi = hi | 0x100;
  setSegCache(SEG_CS, selector, descBase(), descLimit(), descAttr());
  if (cpu.cpl != newCpl) {
    cpu.cpl = newCpl;
    store<u32>(STATE_CPL, <u32>newCpl);
    updateAccessMasks();
  }
  segmentsChanged();
}

export function loadSsCache(selector: u32, lo: u32, hi: u32): void {
  descLo = lo;
  descHi = hi | 0x100;
  setSegCache(SEG_SS, selector, descBase(), descLimit(), descAttr());
  segmentsChanged();
}

/** A null selector in DS/ES/FS/GS: the register is unusable until reloaded. */
function loadNull(seg: i32, selector: u32): void {
  setSegCache(seg, selector, 0, 0, 0);
  segmentsChanged();
}

/**
 * MOV/POP/LDS… to a data segment register or SS (not CS). Returns false with the exception
 * raised on failure (SDM Vol. 2 MOV, "Operation" for protected mode).
 */
export function loadSegment(seg: i32, selector: u32): bool {
  selector &= 0xffff;
  if (realSegments()) {
    // Real mode: only the base changes; limit and attributes keep their cached values.
    setSegCache(seg, selector, selector << 4, segLimit(seg), segAttr(seg) | ATTR_P);
    segmentsChanged();
    return true;
  }
  const rpl = <i32>(selector & 3);
  if ((selector & 0xfffc) == 0) {
    if (seg == SEG_SS) {
      raise(EXC_GP, 0);
      return false;
    }
    loadNull(seg, selector);
    return true;
  }
  if (!readDescriptor(selector)) {
    raise(EXC_GP, selector & 0xfffc);
    return false;
  }
  const attr = descAttr();
  const dpl = <i32>((attr >>> 5) & 3);
  if (seg == SEG_SS) {
    if (rpl != cpu.cpl || dpl != cpu.cpl || (attr & (ATTR_S | ATTR_CODE | ATTR_RW)) != (ATTR_S | ATTR_RW)) {
      raise(EXC_GP, selector & 0xfffc);
      return false;
    }
    if ((attr & ATTR_P) == 0) {
      raise(EXC_SS, selector & 0xfffc);
      return false;
    }
  } else {
    const isData = (attr & (ATTR_S | ATTR_CODE)) == ATTR_S;
    const readableCode = (attr & (ATTR_S | ATTR_CODE | ATTR_RW)) == (ATTR_S | ATTR_CODE | ATTR_RW);
    if (!isData && !readableCode) {
      raise(EXC_GP, selector & 0xfffc);
      return false;
    }
    const conformingCode = readableCode && (attr & ATTR_DC) != 0;
    if (!conformingCode && (rpl > dpl || cpu.cpl > dpl)) {
      raise(EXC_GP, selector & 0xfffc);
      return false;
    }
    if ((attr & ATTR_P) == 0) {
      raise(EXC_NP, selector & 0xfffc);
      return false;
    }
  }
  markAccessed();
  if (cpu.faulted) return false;
  setSegCache(seg, selector, descBase(), descLimit(), descAttr());
  segmentsChanged();
  return true;
}

/** Effective address → linear address for an access of 2^sz bytes; checks non-flat segments. */
@inline export function linearRead(seg: i32, off: u32, sz: i32): u32 {
  if ((flatRead & (1 << seg)) != 0) return off;
  return linearChecked(seg, off, sz, false);
}
@inline export function linearWrite(seg: i32, off: u32, sz: i32): u32 {
  if ((flatWrite & (1 << seg)) != 0) return off;
  return linearChecked(seg, off, sz, true);
}

/** Limit and type checks (SDM Vol. 3 §5.3, §5.4); #SS for SS, else #GP(0). */
export function linearChecked(seg: i32, off: u32, sz: i32, write: bool): u32 {
  const attr = segAttr(seg);
  const vector = seg == SEG_SS ? EXC_SS : EXC_GP;
  if (protectedMode()) {
    if ((attr & ATTR_P) == 0) {
      raise(vector, 0);
      return 0;
    }
    const code = (attr & ATTR_CODE) != 0;
    if (write ? code || (attr & ATTR_RW) == 0 : code && (attr & ATTR_RW) == 0) {
      raise(vector, 0);
      return 0;
    }
  }
  const limit = segLimit(seg);
  const last = off + sizeBytes(sz) - 1;
  let ok: bool;
  if ((attr & (ATTR_CODE | ATTR_DC)) == ATTR_DC && protectedMode()) {
    const upper: u32 = (attr & ATTR_DB) != 0 ? 0xffffffff : 0xffff;
    ok = off > limit && last >= off && last <= upper;
  } else {
    ok = limit == 0xffffffff || (last >= off && last <= limit);
  }
  if (!ok) {
    raise(vector, 0);
    return 0;
  }
  return segBase(seg) + off;
}

// ---- inner-privilege stacks ------------------------------------------------------------------
/** The stack readInnerStack found: SS selector and descriptor, ESP, and derived base/mask. */
export let innerSs: u32 = 0;
export let innerSsLo: u32 = 0;
export let innerSsHi: u32 = 0;
export let innerEsp: u32 = 0;

/**
 * The stack for privilege level `dpl` from the current TSS, checked as an inter-privilege
 * interrupt or call requires (SDM Vol. 3 §6.12.1, §5.8.5): #TS for a bad SS, #SS if it is not
 * present. `ext` is the EXT bit of the error code. Returns false with the fault raised.
 */
export function readInnerStack(dpl: i32, ext: u32): bool {
  const trBase = segBase(SEG_TR);
  const tss32 = (segAttr(SEG_TR) & 0x8) != 0;
  const slot: u32 = tss32 ? 4 + <u32>dpl * 8 : 2 + <u32>dpl * 4;
  if (slot + (tss32 ? 7 : 3) > segLimit(SEG_TR)) {
    raise(EXC_TS, (segSelector(SEG_TR) & 0xfffc) + ext);
    return false;
  }
  enterSupervisorAccess();
  const esp = tss32 ? readLin32(trBase + slot) : readLin16(trBase + slot);
  const ss = tss32 ? readLin16(trBase + slot + 4) : readLin16(trBase + slot + 2);
  leaveSupervisorAccess();
  if (cpu.faulted) return false;
  if ((ss & 0xfffc) == 0 || (ss & 3) != <u32>dpl || !readDescriptor(ss)) {
    if (!cpu.faulted) raise(EXC_TS, (ss & 0xfffc) + ext);
    return false;
  }
  const attr = descAttr();
  if ((attr & 0x1a) != 0x12 || <i32>((attr >>> 5) & 3) != dpl) {
    raise(EXC_TS, (ss & 0xfffc) + ext);
    return false;
  }
  if ((attr & ATTR_P) == 0) {
    raise(EXC_SS, (ss & 0xfffc) + ext);
    return false;
  }
  innerSs = ss;
  innerSsLo = descLo;
  innerSsHi = descHi;
  innerEsp = esp;
  return true;
}
