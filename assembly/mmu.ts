// Address translation: the two-level page walk of SDM Vol. 3 §4.3 that fills the TLB (tlb.ts),
// and the guest's linear and physical memory accessors. The fast path of every access is one
// TLB load, one compare, the access; everything else is out of line.

import {
  RAM_BASE, STATE_CR0, STATE_CR3, STATE_CR4, STATE_VMI_TOP, STATE_VMI_ROM_PAGES, STATE_VMI_ACTIVE, VMI_AREA_BASE,
  VMI_SHARED_OFFSET, VMI_SHARED_SIZE, COUNTER_MMIO_READ, COUNTER_MMIO_WRITE, COUNTER_TLB_MISSES, PAGE_KIND_NONE,
} from "./layout";
import * as cpu from "./cpu";
import { cpl, CR0_PG, CR0_WP, CR4_PSE, CR4_PGE, SIZE_8, SIZE_16, SIZE_32 } from "./cpu";
import { hostMmioRead, hostMmioWrite } from "./imports";
import { raisePageFault } from "./exceptions";
import { shadowActive, shadowFillBits, shadowDirectWrite, pageKind } from "./shadow";
import { codeFillBits, codeStored } from "./blocks";
import { TLB_VALID, TLB_NO_USER, TLB_RO_USER, TLB_RO_SUPER, TLB_MMIO, TLB_GLOBAL, TLB_CODE, tlbSlot, listFilled } from "./tlb";

/** Entry bits that must be clear (with TLB_VALID set) for a fast read / write at the current CPL. */
export let readMask: u32 = TLB_VALID | TLB_MMIO;
export let writeMask: u32 = TLB_VALID | TLB_MMIO | TLB_RO_SUPER | TLB_CODE;

export let ramSize: u32 = 0;

export function setRamSize(size: u32): void {
  ramSize = size;
}

/**
 * Accesses to system structures (GDT, LDT, IDT, TSS, and the inner stack an interrupt switches
 * to) are supervisor accesses whatever the CPL (SDM Vol. 3 §4.6: "implicit supervisor-mode
 * accesses"). Between enter and leave, the masks and the walk treat the CPU as CPL 0.
 */
let supervisorDepth: i32 = 0;

export function enterSupervisorAccess(): void {
  supervisorDepth++;
  if (supervisorDepth == 1 && cpl == 3) setMasks(false);
}

export function leaveSupervisorAccess(): void {
  supervisorDepth--;
  if (supervisorDepth == 0 && cpl == 3) setMasks(true);
}

@inline function userAccess(): bool {
  return cpl == 3 && supervisorDepth == 0;
}

function setMasks(user: bool): void {
  if (user) {
    readMask = TLB_VALID | TLB_MMIO | TLB_NO_USER;
    writeMask = TLB_VALID | TLB_MMIO | TLB_NO_USER | TLB_RO_USER | TLB_CODE;
  } else {
    readMask = TLB_VALID | TLB_MMIO;
    writeMask = TLB_VALID | TLB_MMIO | TLB_RO_SUPER | TLB_CODE;
  }
}

/** Recompute the fast-path masks after a CPL change. */
export function updateAccessMasks(): void {
  setMasks(userAccess());
  cpu.invalidateFetch();
}

// ---- physical memory --------------------------------------------------------------------------
// Outside RAM the bus answers like a PC's: the host's MMIO handlers (all ones when unclaimed).

export function readPhys(phys: u32, sz: i32): u32 {
  const n: u32 = 1 << sz;
  if (phys < ramSize && ramSize - phys >= n) {
    const p = RAM_BASE + <usize>phys;
    return sz == SIZE_32 ? load<u32>(p) : sz == SIZE_16 ? <u32>load<u16>(p) : <u32>load<u8>(p);
  }
  if (phys < ramSize) {
    // straddles the end of RAM: assemble byte by byte
    let v: u32 = 0;
    for (let i: u32 = 0; i < n; i++) v |= readPhys(phys + i, SIZE_8) << (i * 8);
    return v;
  }
  store<u64>(COUNTER_MMIO_READ, load<u64>(COUNTER_MMIO_READ) + 1);
  cpu.attention = true;
  cpu.publishRetired();
  return <u32>hostMmioRead(phys, <i32>n) & (sz == SIZE_32 ? 0xffffffff : (<u32>1 << (n * 8)) - 1);
}

export function writePhys(phys: u32, sz: i32, v: u32): void {
  const n: u32 = 1 << sz;
  if (phys < ramSize && ramSize - phys >= n) {
    const p = RAM_BASE + <usize>phys;
    if (sz == SIZE_32) store<u32>(p, v);
    else if (sz == SIZE_16) store<u16>(p, <u16>v);
    else store<u8>(p, <u8>v);
    // Stores to a page with cached blocks all arrive here (its TLB entries carry TLB_CODE).
    codeStored(phys, n);
    return;
  }
  if (phys < ramSize) {
    for (let i: u32 = 0; i < n; i++) writePhys(phys + i, SIZE_8, v >>> (i * 8));
    return;
  }
  store<u64>(COUNTER_MMIO_WRITE, load<u64>(COUNTER_MMIO_WRITE) + 1);
  cpu.attention = true;
  cpu.publishRetired();
  hostMmioWrite(phys, <i32>n, <i32>v);
}

// ---- TLB fill --------------------------------------------------------------------------------

function tlbFill(lin: u32, phys: u32, bits: u32): void {
  const page = phys & ~0xfff;
  let host: u32;
  if (page < ramSize) {
    host = <u32>(RAM_BASE + <usize>page);
    bits |= codeFillBits(page);
  } else {
    host = 0;
    bits |= TLB_MMIO;
  }
  store<u32>(tlbSlot(lin), ((host ^ (lin & ~0xfff)) & ~0xfff) | bits | TLB_VALID);
  listFilled(lin);
}

// ---- page walk (SDM Vol. 3 §4.3, 32-bit paging) -------------------------------------------------
const PTE_P: u32 = 1;
const PTE_W: u32 = 2;
const PTE_U: u32 = 4;
const PTE_A: u32 = 0x20;
const PTE_D: u32 = 0x40;
const PDE_PS: u32 = 0x80;
const PTE_G: u32 = 0x100;

/**
 * Translate a linear address for an access at privilege `user` (CPL 3), filling the TLB.
 * On a page fault raises #PF and returns 0 with `faulted` set.
 */
export function translate(lin: u32, write: bool, user: bool): u32 {
  store<u64>(COUNTER_TLB_MISSES, load<u64>(COUNTER_TLB_MISSES) + 1);
  translatedReserved = false;
  const cr0 = load<u32>(STATE_CR0);
  if ((cr0 & CR0_PG) == 0) {
    tlbFill(lin, lin, 0);
    return lin;
  }
  const vmiTop = load<u32>(STATE_VMI_TOP);
  if (vmiTop != 0 && lin >= vmiTop && reservedNow(lin - vmiTop)) return translateReserved(lin, write, user, vmiTop);
  const cr3 = load<u32>(STATE_CR3);
  const pdeAddr = (cr3 & 0xfffff000) | ((lin >>> 22) << 2);
  const pde = readPhys(pdeAddr, SIZE_32);
  const errUW: u32 = (write ? 2 : 0) | (user ? 4 : 0);
  if ((pde & PTE_P) == 0) {
    raisePageFault(lin, errUW);
    return 0;
  }
  const wp = (cr0 & CR0_WP) != 0;
  const cr4 = load<u32>(STATE_CR4);
  let phys: u32;
  let userOk: bool;
  let writable: bool;
  let dirty: bool;
  let global: bool;
  let large = false;
  if ((pde & PDE_PS) != 0 && (cr4 & CR4_PSE) != 0) {
    // 4 MiB page: the PDE is the last level.
    userOk = (pde & PTE_U) != 0;
    writable = (pde & PTE_W) != 0;
    if (!accessAllowed(write, user, userOk, writable, wp)) {
      raisePageFault(lin, errUW | 1);
      return 0;
    }
    const newPde = pde | PTE_A | (write ? PTE_D : 0);
    if (newPde != pde) writePhys(pdeAddr, SIZE_32, newPde);
    phys = (pde & 0xffc00000) | (lin & 0x3fffff);
    dirty = (newPde & PTE_D) != 0;
    global = (pde & PTE_G) != 0;
    large = true;
  } else {
    const pteAddr = (pde & 0xfffff000) | (((lin >>> 12) & 0x3ff) << 2);
    const pte = readPhys(pteAddr, SIZE_32);
    if ((pte & PTE_P) == 0) {
      raisePageFault(lin, errUW);
      return 0;
    }
    // Both levels must allow the access (SDM Vol. 3 §4.6.1).
    userOk = (pde & pte & PTE_U) != 0;
    writable = (pde & pte & PTE_W) != 0;
    if (!accessAllowed(write, user, userOk, writable, wp)) {
      raisePageFault(lin, errUW | 1);
      return 0;
    }
    // Accessed and Dirty are set only for a translation that succeeds (SDM Vol. 3 §4.8).
    if ((pde & PTE_A) == 0) writePhys(pdeAddr, SIZE_32, pde | PTE_A);
    const newPte = pte | PTE_A | (write ? PTE_D : 0);
    if (newPte != pte) writePhys(pteAddr, SIZE_32, newPte);
    phys = (pte & 0xfffff000) | (lin & 0xfff);
    dirty = (newPte & PTE_D) != 0;
    global = (pte & PTE_G) != 0;
  }
  let bits: u32 = 0;
  if (!userOk) bits |= TLB_NO_USER;
  // Until Dirty is set, writes must come back through the walk to set it.
  if (!writable || !dirty) bits |= TLB_RO_USER;
  if ((!writable && wp) || !dirty) bits |= TLB_RO_SUPER;
  if (global && (cr4 & CR4_PGE) != 0) bits |= TLB_GLOBAL;
  if (shadowActive()) bits |= shadowFillBits(lin, pde & 0xfffff000, large, phys);
  tlbFill(lin, phys, bits);
  return phys;
}

/**
 * The page walk without its side effects, for the host's VMI calls: the physical address `lin`
 * maps to for a supervisor read, or -1 when it is not present (or lies in the reserved range,
 * which has no guest-physical address).
 */
export function probeTranslate(lin: u32): f64 {
  if ((load<u32>(STATE_CR0) & CR0_PG) == 0) return <f64>lin;
  const vmiTop = load<u32>(STATE_VMI_TOP);
  if (vmiTop != 0 && lin >= vmiTop && reservedNow(lin - vmiTop)) return -1;
  const pde = ramWord((load<u32>(STATE_CR3) & 0xfffff000) | ((lin >>> 22) << 2));
  if ((pde & PTE_P) == 0) return -1;
  if ((pde & PDE_PS) != 0 && (load<u32>(STATE_CR4) & CR4_PSE) != 0) return <f64>((pde & 0xffc00000) | (lin & 0x3fffff));
  const pte = ramWord((pde & 0xfffff000) | (((lin >>> 12) & 0x3ff) << 2));
  if ((pte & PTE_P) == 0) return -1;
  return <f64>((pte & 0xfffff000) | (lin & 0xfff));
}

/** A page-table word for probeTranslate: tables outside RAM read as not present (no host call). */
function ramWord(phys: u32): u32 {
  return phys < ramSize && ramSize - phys >= 4 ? load<u32>(<usize>RAM_BASE + <usize>phys) : 0;
}

/**
 * Whether offset `off` above virtual_top is the hypervisor's now. The whole range is, once the
 * guest has called vmi_init (a VMI kernel moved its fixmap below it first); before that only the
 * ROM's code pages are, which the header's vmi_init and get_reloc jump into, and the rest is the
 * guest's: a kernel that never initializes the ROM (any non-VMI Linux) keeps its fixmap there.
 */
function reservedNow(off: u32): bool {
  return load<u32>(STATE_VMI_ACTIVE) != 0 || off < load<u32>(STATE_VMI_ROM_PAGES) << 12;
}

/**
 * The hypervisor's reserved range (VMI): whatever the guest's page tables say, the ROM's code
 * pages (supervisor, read-only) and the shared page (supervisor, read/write) sit at fixed
 * offsets above virtual_top; everything else there is not present. The entries are global:
 * the mapping is the same in every address space.
 */
function translateReserved(lin: u32, write: bool, user: bool, vmiTop: u32): u32 {
  const off = lin - vmiTop;
  const romEnd = load<u32>(STATE_VMI_ROM_PAGES) << 12;
  const isRom = off < romEnd;
  const isShared = off >= <u32>VMI_SHARED_OFFSET && off < <u32>VMI_SHARED_OFFSET + <u32>VMI_SHARED_SIZE;
  if (!isRom && !isShared) {
    raisePageFault(lin, (write ? 2 : 0) | (user ? 4 : 0));
    return 0;
  }
  if (user || (isRom && write)) {
    raisePageFault(lin, 1 | (write ? 2 : 0) | (user ? 4 : 0));
    return 0;
  }
  const host = <u32>VMI_AREA_BASE + (off & ~0xfff);
  let bits = TLB_NO_USER | TLB_RO_USER | TLB_GLOBAL;
  if (isRom) bits |= TLB_RO_SUPER;
  store<u32>(tlbSlot(lin), ((host ^ (lin & ~0xfff)) & ~0xfff) | bits | TLB_VALID);
  listFilled(lin);
  // Not guest-physical memory: the slow path reaches it through the host address instead.
  reservedHost = host + (lin & 0xfff);
  translatedReserved = true;
  return 0;
}

/** The last translate() hit the reserved range: use reservedHost, not a physical address. */
let translatedReserved: bool = false;
let reservedHost: u32 = 0;

@inline function accessAllowed(write: bool, user: bool, userOk: bool, writable: bool, wp: bool): bool {
  if (user) return userOk && (!write || writable);
  return !write || writable || !wp;
}

// ---- linear memory accessors --------------------------------------------------------------------

/**
 * The slow path's translation: a full walk. An MMIO page's TLB entry can't encode its physical
 * page (it has no host address), so accesses outside RAM always come here; they cross to the
 * host anyway, which costs far more than the walk.
 */
@inline function physFor(lin: u32, write: bool): u32 {
  return translate(lin, write, userAccess());
}

function readSlow(lin: u32, sz: i32): u32 {
  const n: u32 = 1 << sz;
  if ((lin & 0xfff) + n > 0x1000) {
    // Crosses a page boundary: both pages must translate before the access completes.
    let v: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const b = readLin8(lin + i);
      if (cpu.faulted) return 0;
      v |= b << (i * 8);
    }
    return v;
  }
  const phys = physFor(lin, false);
  if (cpu.faulted) return 0;
  if (translatedReserved) {
    const h = <usize>reservedHost;
    return sz == SIZE_32 ? load<u32>(h) : sz == SIZE_16 ? <u32>load<u16>(h) : <u32>load<u8>(h);
  }
  return readPhys(phys, sz);
}

function writeSlow(lin: u32, sz: i32, v: u32): void {
  const n: u32 = 1 << sz;
  if ((lin & 0xfff) + n > 0x1000) {
    // Check both pages before writing either, so a fault leaves memory untouched.
    const first = n - (((lin & 0xfff) + n) - 0x1000);
    const p1 = physFor(lin, true);
    if (cpu.faulted) return;
    const p2 = physFor(lin + first, true);
    if (cpu.faulted) return;
    // Both pages translate: byte stores now cannot fault (each finds its page's way again).
    for (let i: u32 = 0; i < n; i++) writeLin8(lin + i, v >>> (i * 8));
    return;
  }
  const phys = physFor(lin, true);
  if (cpu.faulted) return;
  if (translatedReserved) {
    const h = <usize>reservedHost;
    if (sz == SIZE_32) store<u32>(h, v);
    else if (sz == SIZE_16) store<u16>(h, <u16>v);
    else store<u8>(h, <u8>v);
    return;
  }
  writePhys(phys, sz, v);
  // Announced page-table pages are read-only in the TLB, so guest stores to them arrive here.
  if (shadowActive() && pageKind(phys >>> 12) != PAGE_KIND_NONE) shadowDirectWrite(phys, n);
}

@inline export function readLin8(lin: u32): u32 {
  const e = load<u32>(tlbSlot(lin));
  if ((e & readMask) == TLB_VALID) return load<u8>(<usize>((e & ~0xfff) ^ lin));
  return readSlow(lin, SIZE_8);
}
@inline export function readLin16(lin: u32): u32 {
  const e = load<u32>(tlbSlot(lin));
  if ((e & readMask) == TLB_VALID && (lin & 0xfff) != 0xfff) return load<u16>(<usize>((e & ~0xfff) ^ lin));
  return readSlow(lin, SIZE_16);
}
@inline export function readLin32(lin: u32): u32 {
  const e = load<u32>(tlbSlot(lin));
  if ((e & readMask) == TLB_VALID && (lin & 0xfff) <= 0xffc) return load<u32>(<usize>((e & ~0xfff) ^ lin));
  return readSlow(lin, SIZE_32);
}
@inline export function writeLin8(lin: u32, v: u32): void {
  const e = load<u32>(tlbSlot(lin));
  if ((e & writeMask) == TLB_VALID) store<u8>(<usize>((e & ~0xfff) ^ lin), <u8>v);
  else writeSlow(lin, SIZE_8, v);
}
@inline export function writeLin16(lin: u32, v: u32): void {
  const e = load<u32>(tlbSlot(lin));
  if ((e & writeMask) == TLB_VALID && (lin & 0xfff) != 0xfff) store<u16>(<usize>((e & ~0xfff) ^ lin), <u16>v);
  else writeSlow(lin, SIZE_16, v);
}
@inline export function writeLin32(lin: u32, v: u32): void {
  const e = load<u32>(tlbSlot(lin));
  if ((e & writeMask) == TLB_VALID && (lin & 0xfff) <= 0xffc) store<u32>(<usize>((e & ~0xfff) ^ lin), v);
  else writeSlow(lin, SIZE_32, v);
}
@inline export function readLin(sz: i32, lin: u32): u32 {
  return sz == SIZE_32 ? readLin32(lin) : sz == SIZE_16 ? readLin16(lin) : readLin8(lin);
}
@inline export function writeLin(sz: i32, lin: u32, v: u32): void {
  if (sz == SIZE_32) writeLin32(lin, v);
  else if (sz == SIZE_16) writeLin16(lin, v);
  else writeLin8(lin, v);
}

/**
 * Probe that a write of 2^sz bytes at lin would succeed, raising the fault if not. Used where
 * an instruction must fault before changing anything else (PUSH of several values, far calls).
 */
export function probeWrite(lin: u32, sz: i32): void {
  const n: u32 = 1 << sz;
  const e = load<u32>(tlbSlot(lin));
  if ((e & writeMask) == TLB_VALID && (lin & 0xfff) + n <= 0x1000) return;
  physFor(lin, true);
  if (cpu.faulted) return;
  if ((lin & 0xfff) + n > 0x1000) physFor((lin + n - 1), true);
}

// ---- instruction fetch ----------------------------------------------------------------------
/** Host address minus linear address on the code page refillFetch last made the fetch page. */
export let fetchDelta: usize = 0;

/**
 * Make the code page of `lin` the fetch page. Returns false (with #PF raised) if the page can't
 * be read at the current CPL, or if it is not RAM (code is never fetched from MMIO; such a page
 * is fetched byte by byte through the slow path instead).
 */
export function refillFetch(lin: u32): bool {
  let e = load<u32>(tlbSlot(lin));
  if ((e & readMask) != TLB_VALID) {
    translate(lin, false, cpl == 3);
    if (cpu.faulted) return false;
    e = load<u32>(tlbSlot(lin));
    if ((e & readMask) != TLB_VALID) return false; // MMIO
  }
  const page = lin & ~0xfff;
  fetchDelta = <usize>((e & ~0xfff) ^ page) - <usize>page;
  return true;
}
