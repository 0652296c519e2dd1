// The TLB: one u32 per virtual page (TLB_BASE), what its entry bits mean, and the fill list
// (TLB_LIST_BASE) that lets a flush visit only the entries filled since the last one. The page
// walk that fills it is mmu.ts's; shadow.ts saves and restores parts of it per address space.

import { TLB_BASE, TLB_LIST_BASE, TLB_LIST_ENTRIES, TLB_SIZE, COUNTER_TLB_FLUSHES } from "./layout";
import * as cpu from "./cpu";

// TLB entry bits (the low 12 bits of an entry; the high 20 are host page ^ virtual page).
export const TLB_VALID: u32 = 1;
/** Not accessible at CPL 3. */
export const TLB_NO_USER: u32 = 2;
/** Not writable at CPL 3 (read-only, or Dirty not yet set). */
export const TLB_RO_USER: u32 = 4;
/** Not writable at CPL 0–2 (read-only with CR0.WP, or Dirty not yet set). */
export const TLB_RO_SUPER: u32 = 8;
/** The physical page is not guest RAM: every access goes to the host's MMIO handlers. */
export const TLB_MMIO: u32 = 0x10;
/** A global page (CR4.PGE): survives a CR3 reload. */
export const TLB_GLOBAL: u32 = 0x20;
/** The translation came only through pages a VMI guest announced, so its shadow context may keep it (shadow.ts). */
export const TLB_SHADOWED: u32 = 0x40;
/** The page holds cached blocks (blocks.ts), so stores must come through the slow path. */
export const TLB_CODE: u32 = 0x80;

let tlbListCount: i32 = 0;
let tlbListOverflow: bool = false;

/** The entry of the page holding `lin`. */
@inline export function tlbSlot(lin: u32): usize {
  return TLB_BASE + ((<usize>(lin >>> 12)) << 2);
}

/** Remember a filled entry so a flush can find it. */
export function listFilled(lin: u32): void {
  if (tlbListCount < TLB_LIST_ENTRIES) {
    store<u32>(TLB_LIST_BASE + (<usize>tlbListCount << 2), lin >>> 12);
    tlbListCount++;
  } else tlbListOverflow = true;
}

/**
 * Add `bits` to every TLB entry that maps the host page `host` (a page just announced as a page
 * table, or just given cached blocks: its stores must now take the slow path). When the fill
 * list has lost track of entries, a full flush is the only way to reach them all.
 */
export function tlbMarkHostPage(host: u32, bits: u32): void {
  if (tlbListOverflow) {
    tlbFlushKeeping(0);
    return;
  }
  for (let i = 0; i < tlbListCount; i++) {
    const vpn = load<u32>(TLB_LIST_BASE + (<usize>i << 2));
    const slot = tlbSlot(vpn << 12);
    const e = load<u32>(slot);
    if (e != 0 && ((e & ~0xfff) ^ (vpn << 12)) == host) store<u32>(slot, e | bits);
  }
}

/** How many entries the fill list holds (shadow.ts walks it to save a context). */
export function tlbListLength(): i32 {
  return tlbListCount;
}

/** Flush the TLB: every entry, or only the non-global ones (a CR3 reload with CR4.PGE). */
export function tlbFlush(keepGlobal: bool): void {
  tlbFlushKeeping(keepGlobal ? TLB_GLOBAL : 0);
}

/** Drop every TLB entry but those with one of the `keep` bits (TLB_GLOBAL, TLB_SHADOWED). */
export function tlbFlushKeeping(keep: u32): void {
  store<u64>(COUNTER_TLB_FLUSHES, load<u64>(COUNTER_TLB_FLUSHES) + 1);
  cpu.invalidateFetch();
  if (tlbListOverflow) {
    tlbListCount = 0;
    tlbListOverflow = false;
    if (keep == 0) {
      memory.fill(TLB_BASE, 0, TLB_SIZE);
      return;
    }
    // Too many to track: sweep the table once, listing what stays.
    for (let p = <usize>TLB_BASE; p < <usize>(TLB_BASE + TLB_SIZE); p += 4) {
      const e = load<u32>(p);
      if (e == 0) continue;
      if ((e & keep) == 0) store<u32>(p, 0);
      else listFilled(<u32>((p - <usize>TLB_BASE) << 10));
    }
    return;
  }
  let kept = 0;
  for (let i = 0; i < tlbListCount; i++) {
    const vpn = load<u32>(<usize>TLB_LIST_BASE + (<usize>i << 2));
    const slot = <usize>TLB_BASE + (<usize>vpn << 2);
    const e = load<u32>(slot);
    if ((e & keep) != 0) {
      store<u32>(TLB_LIST_BASE + (<usize>kept << 2), vpn);
      kept++;
    } else store<u32>(slot, 0);
  }
  tlbListCount = kept;
}

/** INVLPG: drop one page's entry, global or not (SDM Vol. 3 §4.10.4.1). */
export function tlbInvalidatePage(lin: u32): void {
  store<u32>(tlbSlot(lin), 0);
  cpu.invalidateFetch();
}
