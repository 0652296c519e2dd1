// The batching benchmark's Linux workload, small: the CONFIG_VMI kernel (found as test/linux-vmi
// finds it) boots busybox and test/guests/linux-mm's program with
// mm=quick, natively and through the ROM at queue sizes 1 and 64, on two worker threads. What is
// checked is what must hold whatever the figures: every part's marker arrived and its counters
// are the part's own, nothing was refused, and batching exits less than queue 1 where Linux
// batches. Skips with one line when the kernel or busybox is missing outside CI; fails in CI.

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LINUX_PARTS, type LinuxRun, ensureBusybox } from "../../src/bench/linux.js";
import { VMI_KERNEL } from "../linux-vmi/kernel.js";
import { summarizeLinux } from "../../src/bench/linux-report.js";
import { sweep } from "../../src/bench/sweep.js";

function prepare(): { kernelPath: string; busyboxPath: string } | string {
  const kernelPath = VMI_KERNEL;
  if (!existsSync(kernelPath)) return `no CONFIG_VMI kernel at ${kernelPath} (set VMI386_LINUX_VMI_KERNEL)`;
  try {
    return { kernelPath, busyboxPath: ensureBusybox() };
  } catch (e) {
    return (e as Error).message;
  }
}

const ready = prepare();
const skip = typeof ready === "string" && !process.env.CI;
if (skip) console.warn(`test/bench/linux-batching: skipped: ${ready}`);

/** pages mm=quick touches in touch-big: 4 MiB. */
const QUICK_BIG_PAGES = 1024;

describe.skipIf(skip)("bench batching: the Linux workload (mm=quick)", () => {
  let runs: LinuxRun[];

  it("runs natively and at queues 1 and 64 with every part's marker", async () => {
    if (typeof ready === "string") throw new Error(ready);
    const r = await sweep({ pvkernel: null, linux: { ...ready, quick: true, queues: [1, 64], costs: [0] }, jobs: 2 });
    runs = r.linux;
    expect(runs.map((x) => `${x.mode} ${x.queue}`)).toEqual(["native null", "batched 1", "batched 64"]);
    for (const run of runs) expect(run.parts.map((p) => p.part)).toEqual([...LINUX_PARTS]);
  }, 300_000);

  it("a part's counters are its own: touch-big takes one page fault per page it touches", () => {
    // The snapshot at a marker is taken at its newline (the machine ends the slice there): read
    // a slice later, the next part's faults would land in this one and this one's in the last.
    for (const run of runs) {
      const touch = run.parts[0]!;
      expect(touch.pageFaults, `${run.mode} ${run.queue}`).toBeGreaterThanOrEqual(QUICK_BIG_PAGES);
      expect(touch.pageFaults, `${run.mode} ${run.queue}`).toBeLessThan(QUICK_BIG_PAGES + 32);
      expect(run.parts[1]!.pageFaults, "fork-exec: the child only reads what the fork copied").toBeLessThan(64);
    }
  });

  it("nothing is refused, every batch is in the histogram, native makes no VMI call", () => {
    for (const run of runs) {
      expect(run.refused).toBe(0);
      for (const p of run.parts) {
        const fromSizes = Object.entries(p.batchSizes).reduce((n, [size, count]) => n + Number(size) * count, 0);
        expect(fromSizes, `${run.mode} ${run.queue} ${p.part}`).toBe(p.batchedEntries);
        if (run.queue !== null) expect(p.maxBatch).toBeLessThanOrEqual(run.queue);
      }
      if (run.mode === "native") expect(run.vmiExits + run.callsInRom + run.batches).toBe(0);
    }
  });

  it("batching exits less than queue 1 where Linux batches (fork, mprotect, munmap), and the same page-table updates are made", () => {
    const [, q1, q64] = runs;
    expect(q64!.exits).toBeLessThan(q1!.exits);
    for (const name of ["fork-exec", "mprotect", "munmap"]) {
      const i = LINUX_PARTS.indexOf(name as (typeof LINUX_PARTS)[number]);
      expect(q64!.parts[i]!.exits, name).toBeLessThan(q1!.parts[i]!.exits);
      expect(q64!.parts[i]!.ptUpdates, name).toBe(q1!.parts[i]!.ptUpdates);
    }
    const s = summarizeLinux(runs);
    expect(s.refusedCalls).toBe(0);
    expect(s.reduction["fork-exec"]!["64"]).toBeGreaterThan(5);
    // A timer tick in a lazy section suspends lazy mode only until its handler returns: without
    // the resume, the rest of the section exited one update at a time (munmap 1.7x).
    expect(s.reduction["munmap"]!["64"]).toBeGreaterThan(5);
    // Native borrows the queue-1 run's page-table updates: its exits count them as traps.
    expect(runs[0]!.ptOps).toBe(q1!.ptOps);
  });
});
