// The rules for a queued page-table update (docs/vmi.md "Checking queued updates"), written out independently of the core's
// implementation (assembly/vmi-queue.ts) so the queue fuzz test can hold one against the other.
// Targets here are physical addresses (the fuzz test runs with paging off, so pointers are).

import * as L from "../../assembly/layout.js";
import { Call, PAGE_PD, PAGE_PT } from "../../assembly/vmi-abi.js";

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

function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16);
}
