// The batching benchmark's Linux workload: a real CONFIG_VMI kernel (2.6.32) boots from an
// initramfs of busybox and test/guests/linux-mm's program, which runs memory-management parts
// (big fork/exec, mmap/munmap, mprotect sweeps, a fork/exec storm), each behind a marker line
// on the console. The host snapshots the machine's counters at each marker's newline (the
// machine ends the slice there, and the program lets the console drain before the part starts),
// and a part's figures are the differences between its marker's snapshot and the next one's.
//
// The kernel alone decides what it batches: it enters lazy MMU mode around copy_pte_range
// (fork), zap_pte_range (munmap; an exiting process's teardown makes no VMI call at all),
// change_pte_range (mprotect) and a few others, and asks to defer only pte_update_defer's
// updates. Every other page-table update is an immediate call, whatever the queue size.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Machine } from "../machine.js";
import { loadLinux } from "../loaders/linux.js";
import { busyboxInitramfs } from "../../scripts/build-initramfs.js";
import { repoRoot } from "./guests.js";
import { type BatchingRun, type SweepPlan, type VmiTraffic, label, vmiTraffic } from "./batching.js";
import { DEFAULT_NS_PER_INSTRUCTION } from "../clock.js";

/** The workload program and its /init (test/guests/linux-mm). */
export const LINUX_MM = { program: "test/guests/linux-mm/mm", init: "test/guests/linux-mm/init" } as const;
/** busybox, as scripts/fetch-debian.sh leaves it (relative to the checkout). */
export const BUSYBOX = ".cache/debian/busybox";
/** The parts mm.c runs, in order; its last marker is "end". */
export const LINUX_PARTS = ["touch-big", "fork-exec", "cow", "mmap-touch", "mprotect", "munmap", "fork-storm"] as const;
export const LINUX_MEM = 128 << 20;
export const LINUX_CMDLINE = "console=ttyS0";
/** The page-table update calls: what a shadow-paging hypervisor would trap on without VMI. */
export const PT_UPDATE_CALLS = ["SetPxE", "SetPxELong", "UpdatePxE", "UpdatePxELong"];

/** The CONFIG_VMI kernel the environment names (VMI386_LINUX_VMI_KERNEL), if any: none ships with vmi386. */
export function vmiKernelPath(): string | undefined {
  return process.env.VMI386_LINUX_VMI_KERNEL || undefined;
}

/** busybox's path, fetched by scripts/fetch-debian.sh when missing; an error says why it is not there. */
export function ensureBusybox(): string {
  const root = repoRoot();
  const path = join(root, BUSYBOX);
  if (existsSync(path)) return path;
  const r = spawnSync("sh", [join(root, "scripts/fetch-debian.sh")], { cwd: root, encoding: "utf8" });
  if (r.status !== 0 || !existsSync(path)) throw new Error(`no ${BUSYBOX}, and scripts/fetch-debian.sh could not fetch it: ${`${r.stdout ?? ""}${r.stderr ?? ""}`.trim()}`);
  return path;
}

/** The initramfs: busybox, /init and /bin/mm. */
export function linuxInitramfs(busyboxPath: string): Uint8Array {
  const root = repoRoot();
  const program = readFileSync(join(root, LINUX_MM.program));
  return busyboxInitramfs(readFileSync(busyboxPath), readFileSync(join(root, LINUX_MM.init)), [
    { kind: "file", name: "bin/mm", data: program, mode: 0o755 },
  ]);
}

/** What a worker needs to run one Linux configuration: files by path, so a job is small to post. */
export interface LinuxJob extends SweepPlan {
  kernelPath: string;
  busyboxPath: string;
  quick: boolean;
}

/** The counters the host reads at a marker. */
interface Snapshot {
  marker: string;
  counters: Record<string, number>;
  batchSizes: Record<string, number>;
  exitsByCall: Record<string, number>;
  queueFullExits: Record<string, number>;
  inRomByCall: Record<string, number>;
  wallMs: number;
}

/** One part's figures (the differences between two snapshots). */
export interface LinuxPart extends VmiTraffic {
  part: string;
  instructions: number;
  /** Per EXITS_DEFINITION of the run's mode (native: with the page-table writes of ptUpdates). */
  exits: number;
  allExits: number;
  /** Page-table updates: SetPxE/UpdatePxE calls (VMI runs); native: the queue-1 run's, which it cannot count itself. */
  ptUpdates: number;
  exitsPerPtUpdate: number;
  /** Page-table updates made as immediate calls (outside lazy mode, not deferred): one exit each. */
  immediatePtUpdates: number;
  /** Guest stores to announced page tables outside the ROM (the xchg of ptep_get_and_clear, …), each followed by an UpdatePxE. */
  directPtWrites: number;
  /** Interrupts and exceptions delivered in lazy MMU mode: each suspends it until its handler returns. */
  lazyEndedByEvent: number;
  /** Traps the machine does not charge: exceptions + IN/OUT + privileged instructions. */
  traps: number;
  pageFaults: number;
  hostMs: number;
  virtualNs: number;
  modelledNs: number;
}

export interface LinuxRun extends BatchingRun {
  parts: LinuxPart[];
  /** Instructions outside the parts: boot and shutdown (the table's rows are the workload's parts only). */
  bootInstructions: number;
  /** Calls and batches the host refused over the whole run (#GP to the guest): 0 unless something is wrong. */
  refused: number;
}

function diff(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

function sum(r: Record<string, number>, keys: readonly string[]): number {
  let n = 0;
  for (const k of keys) n += r[k] ?? 0;
  return n;
}

/**
 * One part from the snapshots around it. Native's exits wait for fillNativePtUpdates: it makes
 * its page-table writes as plain stores, which only a shadow-paging hypervisor would count.
 */
function part(name: string, a: Snapshot, b: Snapshot, p: SweepPlan, nsPerCycle: number): LinuxPart {
  const c = diff(a.counters, b.counters);
  const exitsByCall = diff(a.exitsByCall, b.exitsByCall);
  const inRomByCall = diff(a.inRomByCall, b.inRomByCall);
  const queueFull = diff(a.queueFullExits, b.queueFullExits);
  const batchSizes = diff(a.batchSizes, b.batchSizes);
  const immediate = sum(exitsByCall, PT_UPDATE_CALLS) - sum(queueFull, PT_UPDATE_CALLS);
  const ptUpdates = p.mode === "native" ? 0 : sum(inRomByCall, PT_UPDATE_CALLS) + immediate;
  const traps = (c.exceptions ?? 0) + (c.portIn ?? 0) + (c.portOut ?? 0) + (c.privileged ?? 0);
  const traffic = vmiTraffic(c, batchSizes, exitsByCall, inRomByCall);
  const exits = p.mode === "native" ? traps : traffic.vmiExits;
  const virtualNs = c.virtualNs ?? 0;
  return {
    part: name,
    instructions: c.instructions ?? 0,
    exits,
    allExits: (c.hypercall ?? 0) + traps,
    ptUpdates,
    exitsPerPtUpdate: ptUpdates > 0 ? exits / ptUpdates : 0,
    ...traffic,
    immediatePtUpdates: p.mode === "native" ? 0 : immediate,
    directPtWrites: c.vmiDirectPageTableWrites ?? 0,
    lazyEndedByEvent: c.vmiLazyModeEndedByEvent ?? 0,
    traps,
    pageFaults: c.exceptions ?? 0,
    hostMs: b.wallMs - a.wallMs,
    virtualNs,
    modelledNs: virtualNs + traps * p.exitCostCycles * nsPerCycle,
  };
}

function trafficOf({ vmiExits, callsInRom, batches, batchedEntries, meanBatch, maxBatch, batchSizes, exitsByCall, inRomByCall }: VmiTraffic): VmiTraffic {
  return { vmiExits, callsInRom, batches, batchedEntries, meanBatch, maxBatch, batchSizes, exitsByCall, inRomByCall };
}

/** Boots the kernel with the workload and returns its parts; an error if it did not run them all and print "mm: ok". */
export async function runLinux(job: LinuxJob): Promise<LinuxRun> {
  const kernel = readFileSync(job.kernelPath);
  const initrd = linuxInitramfs(job.busyboxPath);
  const snapshots: Snapshot[] = [];
  const decoder = new TextDecoder();
  let serial = "";
  let line = "";
  let machine: Machine | undefined;
  const started = performance.now();
  const snapshot = (marker: string) => {
    const m = machine!;
    const v = m.vmi;
    snapshots.push({
      marker,
      counters: m.counters(),
      batchSizes: v ? { ...v.stats.batchSizes } : {},
      exitsByCall: v ? v.stats.exits : {},
      queueFullExits: v ? { ...v.stats.queueFullExits } : {},
      inRomByCall: v ? v.inRomCounts() : {},
      wallMs: performance.now() - started,
    });
  };
  machine = await Machine.create({
    memSize: LINUX_MEM,
    deterministic: true,
    vmi: job.mode === "native" ? false : { queueCapacity: job.queue ?? undefined },
    exitCostCycles: job.mode === "native" ? undefined : job.exitCostCycles,
    // Each line ends a slice, and the program lets the console drain after a marker before the
    // part's work begins: the counters read here are those of the marker's newline.
    serialLineStops: true,
    serialOut: (bytes) => {
      const text = decoder.decode(bytes, { stream: true });
      serial += text;
      for (const ch of text) {
        if (ch !== "\n") {
          if (ch !== "\r") line += ch;
          continue;
        }
        const m = /^@mm (\S+)$/.exec(line);
        if (m) snapshot(m[1]!);
        line = "";
      }
    },
  });
  const cmdline = job.quick ? `${LINUX_CMDLINE} mm=quick` : LINUX_CMDLINE;
  loadLinux(machine, kernel, { initrd, cmdline, name: job.kernelPath });
  const result = await machine.run({ maxInstructions: 4e9, wallTimeoutMs: 20 * 60_000 });
  const markers = snapshots.map((s) => s.marker);
  const want = [...LINUX_PARTS, "end"];
  const ok = result.reason === "reset" && /^mm: ok$/m.test(serial.replace(/\r/g, "")) && markers.join() === want.join();
  if (!ok) {
    const tail = serial.replace(/\r/g, "").trimEnd().split("\n").slice(-6).join(" | ");
    throw new Error(`Linux workload (${label(job)}) did not run: ${result.reason}${result.message ? ` (${result.message})` : ""}; markers seen: ${markers.join(", ") || "none"}; console ends: ${tail}`);
  }
  const nsPerCycle = machine.clock.nsPerInstruction;
  const parts = LINUX_PARTS.map((name, i) => part(name, snapshots[i]!, snapshots[i + 1]!, job, nsPerCycle));
  const total = part("all", snapshots[0]!, snapshots[snapshots.length - 1]!, job, nsPerCycle);
  return {
    mode: job.mode,
    queue: job.queue,
    exitCostCycles: job.exitCostCycles,
    exits: total.exits,
    allExits: total.allExits,
    ptOps: total.ptUpdates,
    exitsPerPtOp: total.exitsPerPtUpdate,
    faults: total.pageFaults,
    ...trafficOf(total),
    instructions: total.instructions,
    hostMs: total.hostMs,
    hostMsAll: [total.hostMs],
    virtualNs: total.virtualNs,
    modelledNs: total.modelledNs,
    checksum: "mm: ok",
    cmdline,
    parts,
    bootInstructions: result.instructions - total.instructions,
    refused: (result.counters.vmiRefusedCalls ?? 0) + (result.counters.vmiRefusedBatches ?? 0),
  };
}

/**
 * Native runs cannot count their page-table writes (plain stores to unannounced memory); the
 * same kernel makes the same updates through the ROM, so each native part borrows the
 * queue-1 run's count at its exit cost (the smallest queue there is) and charges them as the
 * traps a shadow-paging hypervisor would take.
 */
export function fillNativePtUpdates(runs: LinuxRun[]): void {
  for (const n of runs) {
    if (n.mode !== "native") continue;
    const vmi = runs.filter((r) => r.mode !== "native" && r.exitCostCycles === n.exitCostCycles).sort((a, b) => (a.queue ?? 0) - (b.queue ?? 0))[0];
    if (!vmi) continue;
    // The deterministic clock's default, which every benchmark run uses.
    const nsPerCycle = DEFAULT_NS_PER_INSTRUCTION;
    const fill = (p: { ptUpdates: number; exits: number; allExits: number; exitsPerPtUpdate: number; modelledNs: number }, pt: number) => {
      p.ptUpdates = pt;
      p.exits += pt;
      p.allExits += pt;
      p.exitsPerPtUpdate = pt > 0 ? p.exits / pt : 0;
      p.modelledNs += pt * n.exitCostCycles * nsPerCycle;
    };
    for (const [i, p] of n.parts.entries()) fill(p, vmi.parts[i]!.ptUpdates);
    const total = { ptUpdates: 0, exits: n.exits, allExits: n.allExits, exitsPerPtUpdate: 0, modelledNs: n.modelledNs };
    fill(total, vmi.ptOps);
    Object.assign(n, { ptOps: total.ptUpdates, exits: total.exits, allExits: total.allExits, exitsPerPtOp: total.exitsPerPtUpdate, modelledNs: total.modelledNs });
  }
}
