// End-of-run statistics, as text for people and as one JSON object for scripts (--stats json).
// The crossings of the core/host boundary are grouped by kind because that is what the
// hypercall-batching benchmark compares (docs/architecture.md "Core and host"); every raw
// counter the machine reports is kept in `counters` as well, so nothing is lost to the grouping.

import type { RunResult } from "./machine.js";

export interface RunStats {
  reason: string;
  exitCode?: number;
  message?: string;
  instructions: number;
  wallMs: number;
  /** Guest instructions per wall-clock microsecond. */
  mips: number;
  /** Of wallMs, the time the CPU sat halted waiting for an interrupt (real time only). */
  haltedMs: number;
  /** Guest instructions per microsecond of the time the CPU was not halted: the interpreter's speed when a guest mostly waits (a shell at its prompt). */
  busyMips: number;
  /** Exits to the host by kind. */
  exits: {
    portIn: number;
    portOut: number;
    mmioRead: number;
    mmioWrite: number;
    interrupts: number;
    exceptions: number;
    hypercalls: number;
    total: number;
  };
  counters: Record<string, number>;
  /** With the JIT on: its statistics (src/jit/jit.ts JitStats). */
  jit?: Record<string, number>;
  /**
   * The machine was restored from a snapshot saved at this many instructions and this virtual
   * time: `counters` (totals since boot) include that part, `instructions` and `wallMs` do not.
   */
  restoredFrom?: { instructions: number; virtualNs: number };
}

/** A RunResult, or the figures so far of a run still going (a page's live statistics: reason "running"). */
type StatsSource = Pick<RunResult, "exitCode" | "message" | "instructions" | "wallMs" | "mips" | "counters"> & { reason: string } & Partial<Pick<RunResult, "haltedMs">>;

export function collectStats(r: StatsSource, restoredFrom?: { instructions: number; virtualNs: number }): RunStats {
  const c = (name: string) => r.counters[name] ?? 0;
  const exits = {
    portIn: c("portIn"),
    portOut: c("portOut"),
    mmioRead: c("mmioRead"),
    mmioWrite: c("mmioWrite"),
    interrupts: c("interrupts"),
    exceptions: c("exceptions"),
    hypercalls: c("hypercall"),
    total: 0,
  };
  const halted = r.haltedMs ?? 0;
  const busyMs = r.wallMs - halted;
  exits.total = exits.portIn + exits.portOut + exits.mmioRead + exits.mmioWrite + exits.interrupts + exits.exceptions + exits.hypercalls;
  // Built in this order so the JSON reads top-down: how it ended, then the numbers.
  return {
    reason: r.reason,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.message !== undefined ? { message: r.message } : {}),
    instructions: r.instructions,
    wallMs: round(r.wallMs, 3),
    mips: round(r.mips, 3),
    haltedMs: round(halted, 3),
    busyMips: round(halted > 0 && busyMs > 0 ? r.instructions / busyMs / 1000 : r.mips, 3),
    exits,
    counters: { ...r.counters },
    ...(restoredFrom !== undefined ? { restoredFrom: { ...restoredFrom } } : {}),
  };
}

/** One line of JSON, newline-terminated. */
export function formatStatsJson(s: RunStats): string {
  return `${JSON.stringify(s)}\n`;
}

/** An aligned block for a terminal. */
export function formatStatsText(s: RunStats): string {
  const reason = s.exitCode !== undefined ? `${s.reason} (exit code ${s.exitCode} = 0x${s.exitCode.toString(16)})` : s.reason;
  const rows: [string, string][] = [
    ["stopped", s.message ? `${reason}: ${s.message}` : reason],
    ["instructions", group(s.instructions)],
    ["wall time", `${s.wallMs.toFixed(1)} ms`],
    ["guest MIPS", s.haltedMs > 0 ? `${s.mips.toFixed(2)} (busy ${s.busyMips.toFixed(2)}: halted ${percent(s.haltedMs, s.wallMs)} of the time)` : s.mips.toFixed(2)],
    ["exits", group(s.exits.total)],
    ["  port in", group(s.exits.portIn)],
    ["  port out", group(s.exits.portOut)],
    ["  mmio read", group(s.exits.mmioRead)],
    ["  mmio write", group(s.exits.mmioWrite)],
    ["  interrupts", group(s.exits.interrupts)],
    ["  exceptions", group(s.exits.exceptions)],
    ["  hypercalls", group(s.exits.hypercalls)],
  ];
  if (s.restoredFrom !== undefined) {
    rows.splice(2, 0, ["from snapshot", `${group(s.restoredFrom.instructions)} instructions before this run (counters include them)`]);
  }
  if (s.jit !== undefined) {
    const j = s.jit;
    rows.push(["JIT units", `${group(j.unitsCompiled)} compiled (${group(j.instructions)} instructions, ${group(j.interpreted)} of them interpreted), ${group(j.refused)} refused, ${group(j.evictions)} evicted, ${j.compileMs.toFixed(1)} ms compiling`]);
  }
  // With the VMI ROM on (--vmi) the machine reports its counters too (machine.ts counters()).
  if (s.counters.vmiExits !== undefined) {
    rows.push(["VMI", ""]);
    for (const [key, label] of VMI_ROWS) if (s.counters[key] !== undefined) rows.push([`  ${label}`, group(s.counters[key])]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${["--- vmi386 statistics ---", ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`)].join("\n")}\n`;
}

/** The VMI counters in the text statistics: the batching counters first, the shadow tables' next, the rest after them. */
const VMI_ROWS: readonly [string, string][] = [
  ["vmiExits", "exits"],
  ["vmiCallsInRom", "calls in ROM"],
  ["vmiBatches", "batches"],
  ["vmiBatchedEntries", "batched entries"],
  ["vmiRefusedBatches", "refused batches"],
  ["vmiRefusedCalls", "refused calls"],
  ["vmiShadowHits", "shadow hits"],
  ["vmiShadowMisses", "shadow misses"],
  ["vmiShadowRestored", "shadow restored"],
  ["vmiShadowInvalidated", "shadow invalidated"],
  ["vmiDirectPageTableWrites", "direct page-table writes"],
  ["vmiLazyModeEndedByEvent", "lazy mode ended by event"],
  ["vmiUnannouncedTargets", "unannounced targets"],
  ["vmiNativeInterruptFlag", "native interrupt flag"],
  ["vmiAlarms", "alarms"],
];

function group(n: number): string {
  return n.toLocaleString("en-US");
}

function percent(part: number, whole: number): string {
  return `${whole > 0 ? ((100 * part) / whole).toFixed(1) : "0.0"}%`;
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
