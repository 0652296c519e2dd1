// One run of the batching sweep, whichever workload: what the worker threads and the
// in-process path (--jobs 1) both call, so a run is the same code wherever it runs.

import { type BatchingRun, type SweepPlan, runOne } from "./batching.js";
import { PVKERNEL, readGuest } from "./guests.js";
import { type LinuxJob, type LinuxRun, runLinux } from "./linux.js";

export type Job = { workload: "pvkernel"; plan: SweepPlan; scale: number | undefined } | { workload: "linux"; job: LinuxJob };

export type JobResult = BatchingRun | LinuxRun;

const images = new Map<string, Uint8Array>();

export async function runJob(j: Job): Promise<JobResult> {
  if (j.workload === "linux") return runLinux(j.job);
  const path = PVKERNEL[j.plan.mode];
  let image = images.get(path);
  if (image === undefined) images.set(path, (image = readGuest(path)));
  return runOne(j.plan, j.scale, image);
}
