// The Linux workload's part of the batching report: per part of mm's run, exits by queue size,
// what was batched and what was not, and the lines that check the figures against issue 17's
// targets (batching cuts exits >= 5x against queue 1 on the large fork and munmap parts;
// batched beats native in modelled time from an exit cost of 1,000 cycles up).

import { LINUX_PARTS, type LinuxPart, type LinuxRun } from "./linux.js";

/** The parts where Linux batches large page-table sections (copy_pte_range, zap_pte_range). */
export const LARGE_PARTS = ["fork-exec", "munmap"] as const;
export const TARGET_PART_REDUCTION = 5;
export const TARGET_FROM_EXIT_COST = 1000;

export interface LinuxSummary {
  /** Exit cost of the exit counts below (the smallest swept: counts barely move with it). */
  exitCostCycles: number;
  /** Per part: queue-1 exits / exits at each queue size. */
  reduction: Record<string, Record<string, number>>;
  /** Per large part: the best reduction and whether it meets TARGET_PART_REDUCTION. */
  largeParts: { part: string; queue: number; reduction: number; met: boolean }[];
  /** Per exit cost: native's modelled time / the best queue's, whole workload and per part. */
  batchedVsNative: { exitCostCycles: number; queue: number; modelledSpeedup: number; parts: Record<string, number> }[];
  refusedCalls: number;
}

function find(runs: LinuxRun[], mode: string, cost: number, queue: number | null = null): LinuxRun | undefined {
  return runs.find((r) => r.mode === mode && r.exitCostCycles === cost && r.queue === queue);
}

export function summarizeLinux(runs: LinuxRun[]): LinuxSummary {
  const costs = [...new Set(runs.map((r) => r.exitCostCycles))].sort((a, b) => a - b);
  const base = costs[0]!;
  const batched = runs.filter((r) => r.mode === "batched" && r.exitCostCycles === base).sort((a, b) => a.queue! - b.queue!);
  const q1 = batched[0];
  const reduction: Record<string, Record<string, number>> = {};
  for (const [i, name] of LINUX_PARTS.entries()) {
    reduction[name] = {};
    for (const r of batched) if (q1 && r.parts[i]!.exits > 0) reduction[name]![String(r.queue)] = q1.parts[i]!.exits / r.parts[i]!.exits;
  }
  const largeParts = LARGE_PARTS.map((part) => {
    const entries = Object.entries(reduction[part] ?? {});
    const [queue, best] = entries.reduce((a, b) => (b[1] > a[1] ? b : a), ["1", 1] as [string, number]);
    return { part, queue: Number(queue), reduction: best, met: best >= TARGET_PART_REDUCTION };
  });
  const batchedVsNative = [];
  for (const cost of costs) {
    const native = find(runs, "native", cost);
    const candidates = runs.filter((r) => r.mode === "batched" && r.exitCostCycles === cost);
    if (!native || candidates.length === 0) continue;
    const best = candidates.reduce((a, b) => (b.modelledNs < a.modelledNs ? b : a));
    const parts: Record<string, number> = {};
    for (const [i, name] of LINUX_PARTS.entries()) parts[name] = native.parts[i]!.modelledNs / best.parts[i]!.modelledNs;
    batchedVsNative.push({ exitCostCycles: cost, queue: best.queue!, modelledSpeedup: native.modelledNs / best.modelledNs, parts });
  }
  const refusedCalls = runs.reduce((n, r) => n + r.refused, 0);
  return { exitCostCycles: base, reduction, largeParts, batchedVsNative, refusedCalls };
}

function int(v: number): string {
  return v.toLocaleString("en-US");
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** Per part, at one exit cost: page-table updates, exits by configuration, and what was not batched. */
export function formatLinuxParts(runs: LinuxRun[], cost: number): string {
  const native = find(runs, "native", cost);
  const batched = runs.filter((r) => r.mode === "batched" && r.exitCostCycles === cost).sort((a, b) => a.queue! - b.queue!);
  const top = batched[batched.length - 1];
  const q1 = batched[0];
  const head = ["part", "instructions", "pt updates", "native exits", ...batched.map((r) => `q${r.queue} exits`), ...(q1 && top ? [`q1/q${top.queue}`, `q${top.queue} mean/max batch`, `q${top.queue} immediate`, `q${top.queue} lazy suspended`] : [])];
  const rows = LINUX_PARTS.map((name, i) => {
    const p = (r: LinuxRun | undefined): LinuxPart | undefined => r?.parts[i];
    const t = p(top);
    return [
      name,
      int(p(q1 ?? native)?.instructions ?? 0),
      int(p(q1)?.ptUpdates ?? 0),
      native ? int(p(native)!.exits) : "-",
      ...batched.map((r) => int(p(r)!.exits)),
      ...(q1 && t ? [`${(p(q1)!.exits / Math.max(1, t.exits)).toFixed(1)}x`, t.batches ? `${t.meanBatch.toFixed(1)}/${t.maxBatch}` : "-", int(t.immediatePtUpdates), int(t.lazyEndedByEvent)] : []),
    ];
  });
  return `Linux workload by part, exit cost ${cost}:\n` + table(head, rows);
}

/** Per part and exit cost: modelled ms of native and of the best queue. */
export function formatLinuxPartTimes(runs: LinuxRun[]): string {
  const costs = [...new Set(runs.map((r) => r.exitCostCycles))].sort((a, b) => a - b);
  const head = ["part", ...costs.flatMap((c) => [`native ms @${c}`, `best batched ms @${c}`])];
  const rows = LINUX_PARTS.map((name, i) => [
    name,
    ...costs.flatMap((c) => {
      const native = find(runs, "native", c);
      const batched = runs.filter((r) => r.mode === "batched" && r.exitCostCycles === c);
      const best = batched.length ? batched.reduce((a, b) => (b.parts[i]!.modelledNs < a.parts[i]!.modelledNs ? b : a)) : undefined;
      return [native ? (native.parts[i]!.modelledNs / 1e6).toFixed(2) : "-", best ? `${(best.parts[i]!.modelledNs / 1e6).toFixed(2)} (q${best.queue})` : "-"];
    }),
  ]);
  return "Linux workload by part, modelled ms (native against the best queue size):\n" + table(head, rows);
}

export function formatLinuxSummary(s: LinuxSummary): string {
  const out: string[] = [];
  for (const p of s.largeParts) {
    out.push(`linux ${p.part}: batching cuts VMI exits ${p.reduction.toFixed(1)}x against queue 1 (best: queue ${p.queue}); target >= ${TARGET_PART_REDUCTION}x: ${p.met ? "met" : "missed"}`);
  }
  for (const b of s.batchedVsNative) {
    const verdict = b.exitCostCycles >= TARGET_FROM_EXIT_COST ? `; target (batched faster from ${TARGET_FROM_EXIT_COST} cycles up): ${b.modelledSpeedup > 1 ? "met" : "missed"}` : "";
    const parts = Object.entries(b.parts).map(([p, v]) => `${p} ${v.toFixed(2)}x`).join(", ");
    out.push(`linux exit cost ${b.exitCostCycles}: batched (queue ${b.queue}) against native, modelled time ${b.modelledSpeedup.toFixed(2)}x${verdict} (by part: ${parts})`);
  }
  out.push(`linux: calls the host refused: ${s.refusedCalls}`);
  return out.join("\n");
}
