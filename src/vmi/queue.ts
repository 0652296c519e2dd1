// The deferred queue's host side: a batch read from the guest-writable shared area is checked
// entry by entry before any of it is applied (VMI.md, "Untrusted"). A batch with one bad entry
// is refused whole and nothing changes; a good one is applied exactly, in order.

import * as L from "../../assembly/layout.js";
import { Call, PAGE_PD, PAGE_PT } from "./calls.js";

export interface QueueEntry {
  op: number;
  target: number;
  value: number;
  flags: number;
}

/** What the checks need to know about the machine. */
export interface QueueContext {
  ramSize: number;
  /** What the guest announced physical page `pfn` as: L.PAGE_KIND_*. */
  pageKind(pfn: number): number;
  /** The start of the reserved linear range: no directory entry may map at or above it. */
  virtualTop: number;
}

/** Why an entry is refused, or null if it may be applied. */
export function checkEntry(e: QueueEntry, ctx: QueueContext): string | null {
  switch (e.op) {
    case Call.SetPxE:
    case Call.UpdatePxE: {
      if (e.target % 4 !== 0) return `entry address ${hex(e.target)} is not 4-byte aligned`;
      if (e.target >= ctx.ramSize || ctx.ramSize - e.target < 4) return `entry address ${hex(e.target)} is outside guest RAM`;
      const kind = ctx.pageKind(e.target >>> 12);
      const level = e.flags & 0x0f;
      // Linux's set_pte also writes directory entries with the PT level (its set_pmd_pte), so a
      // PT-level update may land in a directory; a PD-level one must.
      if (level === PAGE_PD) {
        if (kind !== L.PAGE_KIND_PD) return `PD-level update of ${hex(e.target)}, which is not an announced page directory`;
      } else if (level === PAGE_PT) {
        if (kind === L.PAGE_KIND_NONE) return `update of ${hex(e.target)}, which is not an announced page-table page`;
      } else return `update flags ${hex(e.flags)} name no page-table level (PT 0x1 or PD 0x2)`;
      if (e.op === Call.UpdatePxE && e.value !== 0) return `UpdatePxE entry carries a value (${hex(e.value)})`;
      if (e.op === Call.SetPxE && kind === L.PAGE_KIND_PD && (e.value & 1) !== 0 && (e.target & 0xfff) >>> 2 >= ctx.virtualTop >>> 22) {
        return `directory entry ${hex(e.target)} would map over the reserved range at ${hex(ctx.virtualTop)}`;
      }
      return null;
    }
    case Call.InvalPage:
      if (e.target !== 0 || e.flags !== 0) return `InvalPage entry has a target or flags`;
      return null;
    default:
      return `unknown operation ${e.op}`;
  }
}

export type BatchResult = { applied: number } | { refused: string; index: number };

/** What applying needs: write a page-table word, tell the core, drop one TLB entry. */
export interface QueueApplier {
  writeEntry(phys: number, value: number): void;
  entryWritten(phys: number): void;
  invalidatePage(linear: number): void;
}

/** Check the whole batch, then apply it in order; or refuse it whole. */
export function applyBatch(entries: readonly QueueEntry[], ctx: QueueContext, apply: QueueApplier): BatchResult {
  for (let i = 0; i < entries.length; i++) {
    const why = checkEntry(entries[i], ctx);
    if (why !== null) return { refused: why, index: i };
  }
  for (const e of entries) applyEntry(e, apply);
  return { applied: entries.length };
}

/** One checked entry (also the path of an immediate SetPxE/UpdatePxE/InvalPage). */
export function applyEntry(e: QueueEntry, apply: QueueApplier): void {
  if (e.op === Call.InvalPage) {
    apply.invalidatePage(e.value);
    return;
  }
  if (e.op === Call.SetPxE) apply.writeEntry(e.target, e.value);
  apply.entryWritten(e.target);
  // CURRENT_AS: the linear address in bits 31..12 is the one TLB entry this update can affect.
  if ((e.flags & 0x10) !== 0) apply.invalidatePage(e.flags & 0xfffff000);
}

function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16);
}
