// The batching sweep: the paravirtual workload (PVKERNEL) in three modes — native (privileged
// instructions, full emulation), vmi (every VMI call one exit), batched (lazy MMU mode: the ROM
// queues page-table updates and one exit applies a batch) — over queue sizes (batched only) and
// modelled exit costs. Every run is a fresh deterministic Machine, so its counts are exact and
// repeatable; only the host wall time varies between runs.

import { PVKERNEL, runGuest } from "./guests.js";

export const MODES = ["native", "vmi", "batched"] as const;
export type Mode = (typeof MODES)[number];

export const FULL_QUEUES = [1, 4, 16, 64, 256];
export const FULL_EXIT_COSTS = [0, 100, 1000, 10000];
export const QUICK_QUEUES = [1, 64];
export const QUICK_EXIT_COSTS = [0, 1000];
/** --quick's workload size: one generation of children (the guest's default is 20). */
export const QUICK_SCALE = 1;

/**
 * VMI calls that the ROM always serves from the shared page (docs/vmi.md "How each call is
 * served"): any exit for one of them is a bug the summary reports. (Enable/SetInterruptMask exit when an interrupt waits, and the
 * PTE calls exit outside lazy mode, so they are not in this list.)
 */
export const ALWAYS_IN_ROM = ["GetCR0", "GetCR2", "GetCR3", "GetCR4", "DisableInterrupts", "GetInterruptMask", "IODelay"];

/** What "exits" means in each mode (the table's exits column, and the JSON's `exits`). */
export const EXITS_DEFINITION: Record<Mode, string> = {
  native:
    "what a trap-and-emulate hypervisor with shadow paging traps on: exceptions delivered (page faults above all) + IN/OUT + " +
    "privileged instructions (counters.privileged: MOV CR, INVLPG, HLT, …) + the guest's page-table writes (its pt-ops: " +
    "shadow paging write-protects page tables, so each write traps)",
  vmi: "VMI exits (counters.vmiExits): hypercalls out of the ROM to the host, one per exiting call",
  batched: "VMI exits (counters.vmiExits): hypercalls out of the ROM, one per exiting call or full queue",
};
export const ALL_EXITS_DEFINITION =
  "every mode: hypercalls + exceptions + IN/OUT + privileged instructions, and in native mode the page-table writes (see native's exits)";
export const MODELLED_DEFINITION =
  "virtualNs, where the machine charges exitCostCycles per VMI exit, plus the same cost for every other exit in allExits, " +
  "which the machine does not charge (so every mode pays for every exit it makes); at 10 ns per cycle";

/** A run's (or a part's) VMI traffic: exits, calls served in the ROM, and the queue's batches. */
export interface VmiTraffic {
  vmiExits: number;
  /** Calls the ROM served without an exit (counters.vmiCallsInRom), queued updates included. */
  callsInRom: number;
  batches: number;
  batchedEntries: number;
  meanBatch: number;
  maxBatch: number;
  /** Batch size → batches of that size (vmi.stats.batchSizes). */
  batchSizes: Record<string, number>;
  /** VMI exits by call name, and calls served in the ROM by name. */
  exitsByCall: Record<string, number>;
  inRomByCall: Record<string, number>;
}

/** VmiTraffic from the counters' totals and the histogram of batch sizes. */
export function vmiTraffic(
  c: Record<string, number>,
  batchSizes: Record<string, number>,
  exitsByCall: Record<string, number>,
  inRomByCall: Record<string, number>,
): VmiTraffic {
  const batches = c.vmiBatches ?? 0;
  const batchedEntries = c.vmiBatchedEntries ?? 0;
  const sizes = Object.keys(batchSizes).map(Number);
  return {
    vmiExits: c.vmiExits ?? 0,
    callsInRom: c.vmiCallsInRom ?? 0,
    batches,
    batchedEntries,
    meanBatch: batches > 0 ? batchedEntries / batches : 0,
    maxBatch: sizes.length ? Math.max(...sizes) : 0,
    batchSizes,
    exitsByCall,
    inRomByCall,
  };
}

export interface BatchingRun extends VmiTraffic {
  mode: Mode;
  /** Deferred-queue size (batched mode; null where the mode does not queue). */
  queue: number | null;
  exitCostCycles: number;
  /** Per EXITS_DEFINITION[mode]. */
  exits: number;
  /** Per ALL_EXITS_DEFINITION. */
  allExits: number;
  /** The guest's own count of page-table operations (`pt-ops N`). */
  ptOps: number;
  exitsPerPtOp: number;
  /** The guest's `faults N`, when it prints one. */
  faults: number | null;
  instructions: number;
  /** Host wall time: the best of the rounds (runs are deterministic, so only this varies). */
  hostMs: number;
  hostMsAll: number[];
  /** counters.virtualNs: virtual time, VMI exits charged by the machine. */
  virtualNs: number;
  /** Per MODELLED_DEFINITION. */
  modelledNs: number;
  checksum: string;
  cmdline: string;
}

export interface SweepPlan {
  mode: Mode;
  queue: number | null;
  exitCostCycles: number;
}

export function plan(queues: number[], costs: number[]): SweepPlan[] {
  const out: SweepPlan[] = [];
  for (const exitCostCycles of costs) {
    out.push({ mode: "native", queue: null, exitCostCycles });
    out.push({ mode: "vmi", queue: null, exitCostCycles });
    for (const queue of queues) out.push({ mode: "batched", queue, exitCostCycles });
  }
  return out;
}

function count(serial: string, re: RegExp): number | null {
  const m = re.exec(serial);
  return m ? Number(m[1]) : null;
}

export async function runOne(p: SweepPlan, scale: number | undefined, image: Uint8Array): Promise<BatchingRun> {
  const path = PVKERNEL[p.mode];
  const cmdline = scale === undefined ? "" : `scale=${scale}`;
  const { result, serial, machine } = await runGuest(path, image, cmdline, {
    vmi: p.mode === "native" ? false : p.queue === null ? true : { queueCapacity: p.queue },
    exitCostCycles: p.exitCostCycles,
  });
  const checksum = /^checksum (0x[0-9a-f]+)$/m.exec(serial)?.[1];
  const ptOps = count(serial, /^pt-ops (\d+)/m);
  if (checksum === undefined || ptOps === null) throw new Error(`${path}: no "checksum 0x…" and "pt-ops N" lines on COM1; got: ${serial.slice(-300)}`);
  const c = result.counters;
  // Exits the machine does not charge itself: traps, port I/O, privileged instructions, and in
  // native mode the page-table writes a shadow-paging hypervisor would trap on.
  const traps = (c.exceptions ?? 0) + (c.portIn ?? 0) + (c.portOut ?? 0) + (c.privileged ?? 0) + (p.mode === "native" ? ptOps : 0);
  const allExits = (c.hypercall ?? 0) + traps;
  const vmi = machine.vmi;
  const exits = p.mode === "native" ? allExits : (c.vmiExits ?? 0);
  return {
    mode: p.mode,
    queue: p.queue,
    exitCostCycles: p.exitCostCycles,
    exits,
    allExits,
    ptOps,
    exitsPerPtOp: ptOps > 0 ? exits / ptOps : 0,
    faults: count(serial, /^faults (\d+)/m),
    ...vmiTraffic(c, vmi ? { ...vmi.stats.batchSizes } : {}, vmi ? { ...vmi.stats.exits } : {}, vmi ? vmi.inRomCounts() : {}),
    instructions: result.instructions,
    hostMs: result.wallMs,
    hostMsAll: [result.wallMs],
    virtualNs: c.virtualNs,
    modelledNs: c.virtualNs + traps * p.exitCostCycles * machine.clock.nsPerInstruction,
    checksum,
    cmdline,
  };
}

export class ChecksumMismatch extends Error {}

/** Every run printed the same checksum, or a ChecksumMismatch listing who printed what. */
export function checkChecksums(runs: BatchingRun[]): string {
  const by = new Map<string, string[]>();
  for (const r of runs) by.set(r.checksum, [...(by.get(r.checksum) ?? []), label(r)]);
  if (by.size !== 1) {
    const lines = [...by].map(([sum, who]) => `  checksum ${sum}: ${who.join(", ")}`);
    throw new ChecksumMismatch(`the modes disagree: the workload's checksum differs between runs\n${lines.join("\n")}`);
  }
  return runs[0]!.checksum;
}

export function label(r: { mode: Mode; queue: number | null; exitCostCycles: number }): string {
  return `${r.mode}${r.queue === null ? "" : ` queue ${r.queue}`} exit cost ${r.exitCostCycles}`;
}

/** Untimed runs first, one per mode: V8 compiles and tiers up the core and the host's handlers. */
export function warmups(queues: number[], costs: number[]): SweepPlan[] {
  return [
    { mode: "native", queue: null, exitCostCycles: costs[0]! },
    { mode: "vmi", queue: null, exitCostCycles: costs[0]! },
    { mode: "batched", queue: queues[queues.length - 1]!, exitCostCycles: costs[0]! },
  ];
}

export interface Summary {
  checksum: string;
  /** Exit cost 0: VMI exits of vmi mode / batched mode's, by queue size. */
  exitReduction: Record<string, number>;
  /** Exits the ALWAYS_IN_ROM calls made, over every VMI run (must be 0). */
  inRomCallExits: number;
  /** Per exit cost: native's modelled time / the best batched queue's, and which queue. */
  batchedVsNative: { exitCostCycles: number; queue: number; modelledSpeedup: number; hostSpeedup: number }[];
}

export function summarize(runs: BatchingRun[], checksum: string): Summary {
  const costs = [...new Set(runs.map((r) => r.exitCostCycles))];
  const base = Math.min(...costs);
  const vmi0 = runs.find((r) => r.mode === "vmi" && r.exitCostCycles === base);
  const exitReduction: Record<string, number> = {};
  for (const r of runs) if (r.mode === "batched" && r.exitCostCycles === base && vmi0 && r.exits > 0) exitReduction[String(r.queue)] = vmi0.exits / r.exits;
  let inRomCallExits = 0;
  for (const r of runs) for (const name of ALWAYS_IN_ROM) inRomCallExits += r.exitsByCall[name] ?? 0;
  const batchedVsNative = [];
  for (const cost of costs) {
    const native = runs.find((r) => r.mode === "native" && r.exitCostCycles === cost);
    const batched = runs.filter((r) => r.mode === "batched" && r.exitCostCycles === cost);
    if (!native || batched.length === 0) continue;
    const best = batched.reduce((a, b) => (b.modelledNs < a.modelledNs ? b : a));
    batchedVsNative.push({ exitCostCycles: cost, queue: best.queue!, modelledSpeedup: native.modelledNs / best.modelledNs, hostSpeedup: native.hostMs / best.hostMs });
  }
  return { checksum, exitReduction, inRomCallExits, batchedVsNative };
}
