// Shadow page tables for VMI guests (docs/vmi.md "Shadow page tables").
//
// A VMI guest announces its page-table pages (AllocatePage/ReleasePage) and every entry it
// changes (SetPxE/UpdatePxE, immediately or in a batch). That lets translations outlive a CR3
// switch: each address space whose page directory was announced gets a shadow context, a
// TLB-format image of the translations made through announced pages. A CR3 switch saves the
// outgoing space's translations into its context and brings the incoming one's back, where
// native paging would drop them all and walk the tables again page by page.
//
// They stay exact because every entry write reaches shadowEntryWritten: for a page-table entry,
// the page's back link (which directory slot maps it, and which contexts hold translations made
// through it) names the one virtual page to drop in each context; for a directory entry, the
// 4 MiB it covers in the context of that directory. Writes that bypass the ROM are caught too:
// announced pages are mapped read-only in the TLB, so a guest store reaches the slow path, which
// counts it and calls shadowEntryWritten like the ROM's calls do.
//
// Translations made through a page the guest never announced are never saved: they are flushed
// at a CR3 switch exactly as without VMI.

import { codeFillBits } from "./blocks";
import {
  STATE_VMI_ACTIVE, TLB_BASE, TLB_LIST_BASE, RAM_BASE, PAGE_INFO_BASE, PAGE_KIND_NONE, PAGE_KIND_PT, PAGE_KIND_PD,
  SHADOW_CONTEXTS, SHADOW_CTX_BASE, SHADOW_CTX_SIZE, SHADOW_CTX_PD, SHADOW_CTX_STAMP, SHADOW_CTX_SAVED, SHADOW_NO_CONTEXT,
  SHADOW_LIST_BASE, SHADOW_LIST_ENTRIES, SHADOW_TLB_BASE, TLB_SIZE, VMI_COUNTER_SHADOW_HITS, VMI_COUNTER_SHADOW_MISSES,
  VMI_COUNTER_SHADOW_RESTORED, VMI_COUNTER_SHADOW_INVALIDATED, VMI_COUNTER_DIRECT_PT_WRITES,
} from "./layout";
import { tlbListLength, listFilled, tlbMarkHostPage, TLB_VALID, TLB_RO_USER, TLB_RO_SUPER, TLB_GLOBAL, TLB_SHADOWED } from "./tlb";

const TLB: usize = TLB_BASE;
const TLB_LIST: usize = TLB_LIST_BASE;
const INFO: usize = PAGE_INFO_BASE;
const CTX: usize = SHADOW_CTX_BASE;
const LISTS: usize = SHADOW_LIST_BASE;
const IMAGES: usize = SHADOW_TLB_BASE;
const RAM: usize = RAM_BASE;

// Page info word 0: kind in bits 0..3, the directory slot mapping a page table in bits 16..26.
const KIND_MASK: u32 = 0xf;
const SLOT_SHIFT: u32 = 16;
const SLOT_NONE: u32 = 0x7ff;
/** The page table is mapped at two different directory slots: drop every context on a write. */
const SLOT_MANY: u32 = 0x7fe;

/** The context of the address space in CR3, or -1 (VMI off, or its directory not announced). */
let live: i32 = -1;
let stamp: u32 = 0;
let pages: u32 = 0;

@inline function info(pfn: u32): usize {
  return INFO + (<usize>pfn << 3);
}
@inline function ctx(c: i32): usize {
  return CTX + <usize>(c * SHADOW_CTX_SIZE);
}
@inline function image(c: i32): usize {
  return IMAGES + <usize>c * <usize>TLB_SIZE;
}
@inline function bump(counter: i32, n: u32): void {
  store<u32>(<usize>counter, load<u32>(<usize>counter) + n);
}
@inline export function shadowActive(): bool {
  return load<u32>(STATE_VMI_ACTIVE) != 0;
}

/** What the guest announced physical page `pfn` as (PAGE_KIND_*); NONE outside RAM. */
@inline export function pageKind(pfn: u32): u32 {
  return pfn < pages ? load<u32>(info(pfn)) & KIND_MASK : PAGE_KIND_NONE;
}

/**
 * Page `pfn` is a page table through which no translation has been made: writing its entries
 * has nothing to drop (shadowEntryWritten returns at once), and it stays so until the page
 * walk next goes through it.
 */
@inline export function untranslatedPageTable(pfn: u32): bool {
  if (pfn >= pages) return false;
  const w = load<u32>(info(pfn));
  return (w & KIND_MASK) == PAGE_KIND_PT && ((w >>> SLOT_SHIFT) & 0x7ff) == SLOT_NONE;
}

/** Forget every announcement and context (machine reset, or RAM sized). */
export function shadowReset(ramSize: u32): void {
  pages = ramSize >>> 12;
  for (let p: u32 = 0; p < pages; p++) {
    store<u32>(info(p), SLOT_NONE << SLOT_SHIFT);
    store<u32>(info(p) + 4, 0);
  }
  dropAllContexts();
}

/** Every context forgotten (paging mode changes: CR0.PG/WP, CR4.PSE/PGE). */
export function dropAllContexts(): void {
  for (let c = 0; c < SHADOW_CONTEXTS; c++) {
    store<u32>(ctx(c) + SHADOW_CTX_PD, SHADOW_NO_CONTEXT);
    store<u32>(ctx(c) + SHADOW_CTX_SAVED, 0);
  }
  live = -1;
}

/**
 * The page walk made a translation for `lin` through directory entry `pdeAddr` and, unless the
 * page is 4 MiB, the page table `ptPage`; it maps physical page `target`. Returns the TLB bits to
 * add: SHADOWED when the context may keep it, read-only when `target` is itself an announced
 * page-table page (so the guest's own stores to it are seen).
 */
export function shadowFillBits(lin: u32, ptPage: u32, large: bool, target: u32): u32 {
  let bits: u32 = 0;
  if (pageKind(target >>> 12) != PAGE_KIND_NONE) bits |= TLB_RO_USER | TLB_RO_SUPER;
  if (live < 0) return bits;
  if (large) return bits | TLB_SHADOWED;
  const pfn = ptPage >>> 12;
  if (pageKind(pfn) != PAGE_KIND_PT) return bits;
  const w = load<u32>(info(pfn));
  const slot = (w >>> SLOT_SHIFT) & 0x7ff;
  const here = lin >>> 22;
  if (slot == SLOT_NONE) store<u32>(info(pfn), (w & KIND_MASK) | (here << SLOT_SHIFT));
  else if (slot != here && slot != SLOT_MANY) store<u32>(info(pfn), (w & KIND_MASK) | (SLOT_MANY << SLOT_SHIFT));
  store<u32>(info(pfn) + 4, load<u32>(info(pfn) + 4) | (<u32>1 << <u32>live));
  return bits | TLB_SHADOWED;
}

/**
 * CR3 is about to hold `cr3`, and the TLB's non-global entries are about to be flushed: save
 * the outgoing context's translations. After the flush, shadowEnter brings the new one's back.
 */
export function shadowLeave(): void {
  if (live < 0) return;
  const c = live;
  const img = image(c);
  const list = LISTS + <usize>(c * SHADOW_LIST_ENTRIES * 4);
  let saved: u32 = 0;
  const n = tlbListLength();
  for (let i = 0; i < n && saved < <u32>SHADOW_LIST_ENTRIES; i++) {
    const vpn = load<u32>(TLB_LIST + (<usize>i << 2));
    const e = load<u32>(TLB + (<usize>vpn << 2));
    if ((e & (TLB_VALID | TLB_SHADOWED | TLB_GLOBAL)) != (TLB_VALID | TLB_SHADOWED)) continue;
    store<u32>(img + (<usize>vpn << 2), e);
    store<u32>(list + (<usize>saved << 2), vpn);
    saved++;
  }
  store<u32>(ctx(c) + SHADOW_CTX_SAVED, saved);
  live = -1;
}

/** The TLB was just flushed for a switch to `cr3`: find or start its context and restore it. */
export function shadowEnter(cr3: u32): void {
  live = -1;
  const pd = cr3 & 0xfffff000;
  if (pageKind(pd >>> 12) != PAGE_KIND_PD) return;
  let c = -1;
  let oldest = -1;
  let oldestStamp: u32 = 0xffffffff;
  for (let i = 0; i < SHADOW_CONTEXTS; i++) {
    const p = load<u32>(ctx(i) + SHADOW_CTX_PD);
    if (p == pd) {
      c = i;
      break;
    }
    const s: u32 = p == <u32>SHADOW_NO_CONTEXT ? 0 : load<u32>(ctx(i) + SHADOW_CTX_STAMP);
    if (s < oldestStamp) {
      oldestStamp = s;
      oldest = i;
    }
  }
  stamp++;
  if (c < 0) {
    // A new address space, or one evicted: it starts empty. Page-info masks may still name
    // the slot; that only costs a needless invalidation later.
    c = oldest;
    store<u32>(ctx(c) + SHADOW_CTX_PD, pd);
    store<u32>(ctx(c) + SHADOW_CTX_SAVED, 0);
    bump(VMI_COUNTER_SHADOW_MISSES, 1);
  } else bump(VMI_COUNTER_SHADOW_HITS, 1);
  store<u32>(ctx(c) + SHADOW_CTX_STAMP, stamp);
  live = c;
  const img = image(c);
  const list = LISTS + <usize>(c * SHADOW_LIST_ENTRIES * 4);
  const saved = load<u32>(ctx(c) + SHADOW_CTX_SAVED);
  let restored: u32 = 0;
  for (let i: u32 = 0; i < saved; i++) {
    const vpn = load<u32>(list + (<usize>i << 2));
    let e = load<u32>(img + (<usize>vpn << 2));
    const slot = TLB + (<usize>vpn << 2);
    if (e == 0 || load<u32>(slot) != 0) continue;
    // A page announced since this translation was saved must not stay writable.
    const phys = <u32>(<usize>((e & ~0xfff) ^ (vpn << 12)) - RAM);
    if (pageKind(phys >>> 12) != PAGE_KIND_NONE) e |= TLB_RO_USER | TLB_RO_SUPER;
    // And one that became code must send its stores through the slow path (blocks.ts).
    e |= codeFillBits(phys);
    store<u32>(slot, e);
    listFilled(vpn << 12);
    restored++;
  }
  store<u32>(ctx(c) + SHADOW_CTX_SAVED, 0);
  bump(VMI_COUNTER_SHADOW_RESTORED, restored);
}

/** Drop one virtual page's translation from context `c` (and from the TLB if `c` is live). */
function dropPage(c: i32, vpn: u32): void {
  if (c == live) store<u32>(TLB + (<usize>vpn << 2), 0);
  store<u32>(image(c) + (<usize>vpn << 2), 0);
}

/**
 * The 4-byte entry at physical `phys` was written (by the host applying a call or a batch, or by
 * a guest store). Drop exactly the translations that could have been made through it.
 */
export function shadowEntryWritten(phys: u32): void {
  const pfn = phys >>> 12;
  const kind = pageKind(pfn);
  if (kind == PAGE_KIND_PT) {
    const w = load<u32>(info(pfn));
    const slot = (w >>> SLOT_SHIFT) & 0x7ff;
    if (slot == SLOT_NONE) return; // nothing was ever translated through it
    if (slot == SLOT_MANY) {
      dropEverything();
      return;
    }
    const vpn = (slot << 10) | ((phys & 0xfff) >>> 2);
    let mask = load<u32>(info(pfn) + 4);
    while (mask != 0) {
      dropPage(<i32>ctz(mask), vpn);
      mask &= mask - 1;
    }
    bump(VMI_COUNTER_SHADOW_INVALIDATED, 1);
  } else if (kind == PAGE_KIND_PD) {
    const base = ((phys & 0xfff) >>> 2) << 10;
    for (let c = 0; c < SHADOW_CONTEXTS; c++) {
      if (load<u32>(ctx(c) + SHADOW_CTX_PD) != (phys & 0xfffff000)) continue;
      for (let i: u32 = 0; i < 1024; i++) dropPage(c, base + i);
    }
    bump(VMI_COUNTER_SHADOW_INVALIDATED, 1);
  }
}

/** Too ambiguous to be exact (a page table mapped at two slots): forget every saved translation. */
function dropEverything(): void {
  for (let c = 0; c < SHADOW_CONTEXTS; c++) {
    store<u32>(ctx(c) + SHADOW_CTX_SAVED, 0);
    if (c == live) clearLiveShadowed();
  }
  bump(VMI_COUNTER_SHADOW_INVALIDATED, 1);
}

function clearLiveShadowed(): void {
  const n = tlbListLength();
  for (let i = 0; i < n; i++) {
    const vpn = load<u32>(TLB_LIST + (<usize>i << 2));
    const slot = TLB + (<usize>vpn << 2);
    if ((load<u32>(slot) & TLB_SHADOWED) != 0) store<u32>(slot, 0);
  }
}

/** A guest store reached an announced page-table page without going through the ROM. */
export function shadowDirectWrite(phys: u32, n: u32): void {
  bump(VMI_COUNTER_DIRECT_PT_WRITES, 1);
  shadowEntryWritten(phys);
  if (((phys & 3) + n) > 4) shadowEntryWritten(phys + 4);
}

/**
 * AllocatePage: physical page `pfn` is now a page table or directory. Returns false outside RAM.
 * TLB entries that map it writable are dropped so the guest's next store to it is seen.
 */
export function shadowAnnounce(pfn: u32, kind: u32): bool {
  if (pfn >= pages) return false;
  store<u32>(info(pfn), kind | (SLOT_NONE << SLOT_SHIFT));
  store<u32>(info(pfn) + 4, 0);
  tlbMarkHostPage(<u32>(RAM + (<usize>pfn << 12)), TLB_RO_USER | TLB_RO_SUPER);
  return true;
}

/** ReleasePage: the page is ordinary memory again; nothing may stay translated through it. */
export function shadowRelease(pfn: u32): bool {
  if (pfn >= pages) return false;
  const kind = pageKind(pfn);
  if (kind == PAGE_KIND_PT) {
    // Everything translated through it lies in the one 4 MiB its back link names.
    const w = load<u32>(info(pfn));
    const slot = (w >>> SLOT_SHIFT) & 0x7ff;
    if (slot == SLOT_MANY) dropEverything();
    else if (slot != SLOT_NONE) {
      const mask = load<u32>(info(pfn) + 4);
      for (let c = 0; c < SHADOW_CONTEXTS; c++) {
        if ((mask & (<u32>1 << <u32>c)) == 0) continue;
        for (let i: u32 = 0; i < 1024; i++) dropPage(c, (slot << 10) | i);
      }
      bump(VMI_COUNTER_SHADOW_INVALIDATED, 1);
    }
  } else if (kind == PAGE_KIND_PD) {
    for (let c = 0; c < SHADOW_CONTEXTS; c++) {
      if (load<u32>(ctx(c) + SHADOW_CTX_PD) != pfn << 12) continue;
      store<u32>(ctx(c) + SHADOW_CTX_PD, SHADOW_NO_CONTEXT);
      store<u32>(ctx(c) + SHADOW_CTX_SAVED, 0);
      if (c == live) {
        clearLiveShadowed();
        live = -1;
      }
    }
  }
  store<u32>(info(pfn), PAGE_KIND_NONE | (SLOT_NONE << SLOT_SHIFT));
  store<u32>(info(pfn) + 4, 0);
  return true;
}
