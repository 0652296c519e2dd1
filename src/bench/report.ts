// The batching benchmark's outputs: the table on stdout, the JSON with every number, and the
// lines that check the run against issue 4's targets.

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import {
  ALL_EXITS_DEFINITION, ALWAYS_IN_ROM, type BatchingRun, EXITS_DEFINITION, MODELLED_DEFINITION, type Summary,
} from "./batching.js";
import { PVKERNEL } from "./guests.js";
import { type MicroResult, TARGET_BATCHED_ENTRY_NS, TARGET_ROUND_TRIP_NS, formatCostNs } from "./micro.js";
import type { LinuxRun } from "./linux.js";
import type { LinuxSummary } from "./linux-report.js";

export interface HostInfo {
  node: string;
  cpu: string;
  cores: number;
  platform: string;
  date: string;
}

export function describeHost(): HostInfo {
  const cpus = os.cpus();
  return {
    node: `${process.version} (V8 ${process.versions.v8})`,
    cpu: cpus[0]?.model.trim() || "unknown CPU",
    cores: cpus.length,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

const COLUMNS: { head: string; cell: (r: BatchingRun) => string }[] = [
  { head: "mode", cell: (r) => r.mode },
  { head: "queue", cell: (r) => (r.queue === null ? "-" : String(r.queue)) },
  { head: "exit cost", cell: (r) => String(r.exitCostCycles) },
  { head: "exits", cell: (r) => int(r.exits) },
  { head: "exits/pt-op", cell: (r) => r.exitsPerPtOp.toFixed(4) },
  { head: "all exits", cell: (r) => int(r.allExits) },
  { head: "in ROM", cell: (r) => int(r.callsInRom) },
  { head: "batches", cell: (r) => int(r.batches) },
  { head: "mean/max batch", cell: (r) => (r.batches ? `${r.meanBatch.toFixed(1)}/${r.maxBatch}` : "-") },
  { head: "host ms", cell: (r) => r.hostMs.toFixed(0) },
  { head: "virtual ms", cell: (r) => (r.virtualNs / 1e6).toFixed(2) },
  { head: "modelled ms", cell: (r) => (r.modelledNs / 1e6).toFixed(2) },
];

/** "2.10x faster" / "0.80x (slower)": a time ratio, old / new. */
function ratio(speedup: number): string {
  return speedup >= 1 ? `${speedup.toFixed(2)}x faster` : `${speedup.toFixed(2)}x (slower)`;
}

function int(v: number): string {
  return v.toLocaleString("en-US");
}

export function formatTable(runs: BatchingRun[]): string {
  const rows = runs.map((r) => COLUMNS.map((c) => c.cell(r)));
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join("  ");
  const out = [line(COLUMNS.map((c) => c.head)), widths.map((w) => "-".repeat(w)).join("  ")];
  let cost: number | undefined;
  for (const [i, r] of runs.entries()) {
    if (cost !== undefined && r.exitCostCycles !== cost) out.push("");
    cost = r.exitCostCycles;
    out.push(line(rows[i]!));
  }
  return out.join("\n");
}

export function formatLegend(ptOps: number, scale: number | undefined): string {
  return [
    `workload: ${PVKERNEL.native} / -vmi / -batched, ${scale === undefined ? "the guest's default scale" : `scale=${scale}`}, ${int(ptOps)} page-table operations (pt-ops) per run`,
    `exits: native = ${EXITS_DEFINITION.native}`,
    `       vmi, batched = ${EXITS_DEFINITION.vmi}`,
    `all exits: ${ALL_EXITS_DEFINITION}`,
    `in ROM: VMI calls served without an exit (queued page-table updates included); exit cost: cycles charged per exit`,
    `host ms: wall time of the run on this host, the best of --runs (noisy on a shared host); virtual ms: the machine's virtual time (deterministic, 10 ns per instruction, 1 µs per IN/OUT)`,
    `modelled ms: ${MODELLED_DEFINITION}`,
  ].join("\n");
}

export function formatLinuxLegend(): string {
  return [
    `Linux rows: the workload's parts only (from its first marker to "@mm end"); batched = the kernel's own lazy MMU sections and DEFER flags on our ROM at that queue size`,
    `exits: batched = VMI exits; native = traps (page faults, IN/OUT, privileged instructions) + page-table writes, which a native run cannot count: the queue-1 run's pt updates at the same exit cost`,
    `pt-op = page-table update: SetPxE/UpdatePxE calls, queued or immediate`,
  ].join("\n");
}

export function formatSummary(s: Summary, micro: MicroResult | undefined): string {
  const out = [`checksum ${s.checksum}: the same in every run`];
  const red = Object.entries(s.exitReduction);
  if (red.length) {
    const best = Math.max(...red.map(([, v]) => v));
    out.push(`batching cuts VMI exits against immediate calls by ${red.map(([q, v]) => `${v.toFixed(1)}x (queue ${q})`).join(", ")}; target >= 20x: ${best >= 20 ? "met" : "missed"}`);
  }
  out.push(`exits by the calls the ROM always serves (${ALWAYS_IN_ROM.join(", ")}): ${s.inRomCallExits}; target 0: ${s.inRomCallExits === 0 ? "met" : "missed"}`);
  for (const b of s.batchedVsNative) {
    out.push(
      `exit cost ${b.exitCostCycles}: vmi-batched (queue ${b.queue}) against native, end to end: host time ${ratio(b.hostSpeedup)} (target: faster, ${b.hostSpeedup > 1 ? "met" : "missed"}); ` +
        `modelled time ${ratio(b.modelledSpeedup)} (native charged for its traps, port I/O, privileged instructions and page-table writes)`,
    );
  }
  if (micro) {
    out.push(
      `hypercall round trip ${formatCostNs(micro.roundTripNs)} (target <= ${TARGET_ROUND_TRIP_NS}); batched PTE update ${formatCostNs(micro.batchedEntryHostNs)} per entry in the host ` +
        `(target <= ${TARGET_BATCHED_ENTRY_NS}), ${formatCostNs(micro.batchedEntryNs)} end to end`,
    );
  }
  return out.join("\n");
}

export interface BatchingReport {
  bench: "batching";
  host: HostInfo;
  options: { scale: number | null; quick: boolean; runs: number; queues: number[]; exitCosts: number[]; jobs: number; workload: string };
  guests: typeof PVKERNEL;
  definitions: { exits: typeof EXITS_DEFINITION; allExits: string; modelledNs: string; alwaysInRom: string[] };
  /** pvkernel's runs (empty with --workload linux), its summary and the microbenchmark. */
  runs: BatchingRun[];
  summary: Summary | null;
  micro: MicroResult | null;
  /** The Linux workload (null with --workload pvkernel): every run with its parts. */
  linux: { kernel: string; program: string; parts: string[]; runs: LinuxRun[]; summary: LinuxSummary } | null;
}

export function writeReport(dir: string, report: BatchingReport): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "batching.json");
  writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  return file;
}
