// The batching sweep: every run of both workloads (pvkernel's warm-ups and rounds, Linux's one
// run per configuration) as jobs on the worker pool. The runs are independent and
// deterministic, so their counts are the same whatever the number of threads; only host times
// move with it.

import { type BatchingRun, type SweepPlan, label, plan, warmups } from "./batching.js";
import type { Job, JobResult } from "./jobs.js";
import { type LinuxRun, fillNativePtUpdates } from "./linux.js";
import { runPool } from "./pool.js";

export interface LinuxSweep {
  kernelPath: string;
  busyboxPath: string;
  /** mm's small version (mm=quick). */
  quick: boolean;
  queues: number[];
  costs: number[];
}

export interface SweepOptions {
  /** pvkernel's sweep, or null to leave it out. */
  pvkernel: { scale: number | undefined; rounds: number; queues: number[]; costs: number[] } | null;
  linux: LinuxSweep | null;
  /** Worker threads. */
  jobs: number;
  onStart?: (what: string) => void;
  onRun?: (what: string, r: JobResult, warmup: boolean) => void;
}

export interface SweepResult {
  pvkernel: BatchingRun[];
  linux: LinuxRun[];
}

/** Linux's configurations: native (no ROM), then the ROM at each queue size, per exit cost. */
export function linuxPlan(queues: number[], costs: number[]): SweepPlan[] {
  const out: SweepPlan[] = [];
  for (const exitCostCycles of costs) {
    out.push({ mode: "native", queue: null, exitCostCycles });
    for (const queue of queues) out.push({ mode: "batched", queue, exitCostCycles });
  }
  return out;
}

interface Entry {
  job: Job;
  what: string;
  /** pvkernel: the step's index in plan() and the round; warm-ups have step -1. Linux: step, round 1. */
  step: number;
  round: number;
}

export function sweepEntries(opts: SweepOptions): Entry[] {
  const entries: Entry[] = [];
  // Linux first: its runs are the long ones, and a pool that starts them first ends sooner.
  if (opts.linux) {
    const l = opts.linux;
    for (const [step, p] of linuxPlan(l.queues, l.costs).entries()) {
      entries.push({ job: { workload: "linux", job: { ...p, kernelPath: l.kernelPath, busyboxPath: l.busyboxPath, quick: l.quick } }, what: `linux: ${label(p)}`, step, round: 1 });
    }
  }
  const pv = opts.pvkernel;
  if (pv) {
    for (const p of warmups(pv.queues, pv.costs)) entries.push({ job: { workload: "pvkernel", plan: p, scale: pv.scale }, what: `warm-up: ${label(p)}`, step: -1, round: 0 });
    // Round by round: every configuration once, then all of them again, so that a slow spell
    // of a shared host falls on every configuration alike instead of on all the runs of one.
    const steps = plan(pv.queues, pv.costs);
    for (let round = 1; round <= pv.rounds; round++) {
      for (const [step, p] of steps.entries()) {
        entries.push({ job: { workload: "pvkernel", plan: p, scale: pv.scale }, what: `pvkernel: ${label(p)}${pv.rounds > 1 ? ` (round ${round}/${pv.rounds})` : ""}`, step, round });
      }
    }
  }
  return entries;
}

export async function sweep(opts: SweepOptions): Promise<SweepResult> {
  const entries = sweepEntries(opts);
  const results = await runPool(
    entries.map((e) => e.job),
    opts.jobs,
    {
      onStart: (i) => opts.onStart?.(entries[i]!.what),
      onDone: (i, r) => opts.onRun?.(entries[i]!.what, r, entries[i]!.step < 0),
    },
  );
  const pvkernel: BatchingRun[] = [];
  const linux: LinuxRun[] = [];
  for (const [i, e] of entries.entries()) {
    const r = results[i]!;
    if (e.job.workload === "linux") {
      linux[e.step] = r as LinuxRun;
      continue;
    }
    if (e.step < 0) continue;
    const first = pvkernel[e.step];
    if (first === undefined) {
      pvkernel[e.step] = r;
      continue;
    }
    if (r.checksum !== first.checksum || r.exits !== first.exits) {
      throw new Error(`${label(r)}: a deterministic run differed from the previous one (checksum ${r.checksum} vs ${first.checksum}, exits ${r.exits} vs ${first.exits})`);
    }
    first.hostMsAll.push(r.hostMs);
    first.hostMs = Math.min(first.hostMs, r.hostMs);
  }
  fillNativePtUpdates(linux);
  return { pvkernel, linux };
}
