// The deferred queue's checks and application (docs/vmi.md "Checking queued updates"), in the core
// so that a batch costs a few nanoseconds an entry rather than a host round trip each. The host
// calls vmiApplyEntries for a drained batch (the ring in the shared area) or for one immediate call
// (STATE_VMI_ENTRY). Every entry is checked before any is applied: one bad entry refuses the batch
// whole, naming its index and reason, and nothing changes.
//
// An entry is four u32: op (the call number), the entry's linear address as the guest passed
// it, value, flags. The address is translated through the lowmem linear mapping the guest
// announced (SetLinearMapping slot 0), else by a walk of the current page tables.

import { codeStored } from "./blocks";
import {
  RAM_BASE, STATE_VMI_REFUSED_INDEX, STATE_VMI_REFUSED_REASON, VMI_COUNTER_UNANNOUNCED, PAGE_KIND_NONE, PAGE_KIND_PD,
  QUEUE_BAD_OP, QUEUE_BAD_ALIGN, QUEUE_BAD_ADDRESS, QUEUE_BAD_UNANNOUNCED, QUEUE_BAD_LEVEL, QUEUE_BAD_FLAGS, QUEUE_BAD_VALUE,
  QUEUE_BAD_RESERVED, QUEUE_BAD_INVAL, VMI_QUEUED_COUNTS, SP_CALL_SLOTS, VMI_QUEUE_PHYS, SP_QUEUE_MAX,
} from "./layout";
import { ramSize, probeTranslate } from "./mmu";
import { tlbInvalidatePage } from "./tlb";
import { Call, PAGE_PT, PAGE_PD, PAGE_CURRENT_AS } from "./vmi-abi";
import { pageKind, shadowEntryWritten, untranslatedPageTable } from "./shadow";

const OP_SET_PXE: u32 = Call.SetPxE;
const OP_UPDATE_PXE: u32 = Call.UpdatePxE;
const OP_INVAL_PAGE: u32 = Call.InvalPage;
const LEVEL_PT: u32 = PAGE_PT;
const LEVEL_PD: u32 = PAGE_PD;
const CURRENT_AS: u32 = PAGE_CURRENT_AS;
const NO_ADDRESS: u32 = 0xffffffff;
const NO_PAGE: u32 = 0xffffffff;

// The linear mapping and reserved range of the call being served (set per call by the host).
let linVa: u32 = 0;
let linLength: u32 = 0;
let linPa: u32 = 0;
let reservedSlot: u32 = 1024;

/** SetLinearMapping slot 0 (length 0: none) and virtual_top, for the checks that follow. */
export function setQueueContext(va: u32, length: u32, pa: u32, virtualTop: u32): void {
  linVa = va;
  linLength = length;
  linPa = pa;
  reservedSlot = virtualTop >>> 22;
}

/** The physical address of a 4-byte entry at linear `ptr`, or NO_ADDRESS. */
@inline function entryAddress(ptr: u32): u32 {
  const off = ptr - linVa;
  let phys: u32;
  if (off < linLength && linLength - off >= 4) phys = linPa + off;
  else {
    if ((ptr & 0xfff) > 0xffc) return NO_ADDRESS;
    const p = probeTranslate(ptr);
    if (p < 0) return NO_ADDRESS;
    phys = <u32>p;
  }
  return phys < ramSize && ramSize - phys >= 4 ? phys : NO_ADDRESS;
}

/** Why an entry may not be applied (QUEUE_BAD_*), or 0. `strict`: its page must be announced. */
@inline function check(op: u32, phys: u32, ptr: u32, value: u32, flags: u32, strict: bool): u32 {
  if (op == OP_INVAL_PAGE) return ptr != 0 || flags != 0 ? QUEUE_BAD_INVAL : 0;
  if (op != OP_SET_PXE && op != OP_UPDATE_PXE) return QUEUE_BAD_OP;
  if ((ptr & 3) != 0) return QUEUE_BAD_ALIGN;
  if (phys == NO_ADDRESS) return QUEUE_BAD_ADDRESS;
  const kind = pageKind(phys >>> 12);
  const level = flags & 0xf;
  // Linux's set_pte also writes directory entries at the PT level (set_pmd_pte), so a PT-level
  // update may land in a directory; a PD-level one must.
  if (level == LEVEL_PD) {
    if (kind != PAGE_KIND_PD) return strict || kind != PAGE_KIND_NONE ? QUEUE_BAD_LEVEL : 0;
  } else if (level == LEVEL_PT) {
    if (kind == PAGE_KIND_NONE && strict) return QUEUE_BAD_UNANNOUNCED;
  } else return QUEUE_BAD_FLAGS;
  if (op == OP_UPDATE_PXE && value != 0) return QUEUE_BAD_VALUE;
  if (op == OP_SET_PXE && kind == PAGE_KIND_PD && (value & 1) != 0 && ((phys & 0xfff) >>> 2) >= reservedSlot) return QUEUE_BAD_RESERVED;
  return 0;
}

/**
 * Check, then apply, `n` entries of the ring at `base` from index `head` (wrapping with `mask`).
 * Returns n, or -1 with STATE_VMI_REFUSED_INDEX/REASON set. Not `strict` (an immediate call):
 * pages never announced (boot-time tables) may be written too, and are counted.
 */
export function applyEntries(base: usize, head: u32, n: u32, mask: u32, strict: bool): i32 {
  if (n > <u32>SP_QUEUE_MAX) {
    store<u32>(STATE_VMI_REFUSED_INDEX, SP_QUEUE_MAX);
    store<u32>(STATE_VMI_REFUSED_REASON, QUEUE_BAD_OP);
    return -1;
  }
  for (let i: u32 = 0; i < n; i++) {
    const e = base + (<usize>((head + i) & mask) << 4);
    const op = load<u32>(e);
    const ptr = load<u32>(e, 4);
    if (strict) {
      const counter = <usize>VMI_QUEUED_COUNTS + (<usize>min(op, <u32>SP_CALL_SLOTS) << 2);
      store<u32>(counter, load<u32>(counter) + 1);
    }
    const phys = op == OP_INVAL_PAGE ? NO_ADDRESS : entryAddress(ptr);
    store<u32>(<usize>VMI_QUEUE_PHYS + (<usize>i << 2), phys);
    const why = check(op, phys, ptr, load<u32>(e, 8), load<u32>(e, 12), strict);
    if (why != 0) {
      store<u32>(STATE_VMI_REFUSED_INDEX, i);
      store<u32>(STATE_VMI_REFUSED_REASON, why);
      return -1;
    }
  }
  // A batch mostly fills one page table. Once a SetPxE has written one of its entries, that
  // page has no code blocks left to discard, and if no translation goes through it either,
  // its other entries need only their store: `quiet` is such a page.
  let quiet: u32 = NO_PAGE;
  for (let i: u32 = 0; i < n; i++) {
    const e = base + (<usize>((head + i) & mask) << 4);
    const op = load<u32>(e);
    const value = load<u32>(e, 8);
    const flags = load<u32>(e, 12);
    if (op == OP_INVAL_PAGE) {
      tlbInvalidatePage(value);
      continue;
    }
    const phys = load<u32>(<usize>VMI_QUEUE_PHYS + (<usize>i << 2));
    const pfn = phys >>> 12;
    if (!strict && pageKind(pfn) == PAGE_KIND_NONE) store<u32>(VMI_COUNTER_UNANNOUNCED, load<u32>(VMI_COUNTER_UNANNOUNCED) + 1);
    if (op == OP_SET_PXE) store<u32>(<usize>RAM_BASE + <usize>phys, value);
    if (pfn != quiet) {
      if (op == OP_SET_PXE) {
        codeStored(phys, 4);
        if (untranslatedPageTable(pfn)) quiet = pfn;
      }
      shadowEntryWritten(phys);
    }
    // CURRENT_AS: bits 31..12 of the flags name the one TLB entry this update can affect.
    if ((flags & CURRENT_AS) != 0) tlbInvalidatePage(flags & 0xfffff000);
  }
  return <i32>n;
}
