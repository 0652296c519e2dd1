// Linux 2.6.32.69 built with CONFIG_VMI=y (kernel.ts says where it lives) running a busybox
// /init that keeps its page tables busy (./init: 150 fork+exec, tmpfs files, subshells,
// background jobs) and then sleeps 2 s, three ways: with the VMI ROM in real time, with the ROM
// in deterministic time, and without the ROM (native paravirt ops). Each prints what QEMU
// printed for the same kernel and initramfs (qemu.golden.txt; re-run live when
// qemu-system-i386 is installed). The real-time boots run beside a busy host process and
// check the clock: the sleep takes about 2 s of wall time, and the kernel that calibrates its
// TSC against the PIT (no ROM) finds the nominal 100 MHz.
//
// Without the kernel this skips with one line, except in CI (CI=true), where it fails.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { REALTIME_TSC_HZ } from "../../src/clock.js";
import { prepareDebian } from "../support/debian-cache.js";
import { startHostLoad } from "../support/host-load.js";
import { cli, timeOf, type TimedChunk } from "../support/run-cli.js";
import { APPEND, GOLDEN, MEM_MB, VMI_KERNEL, buildVmiInitramfs, consoleLog, initResults, qemuBoot } from "./kernel.js";

const BOOT_TIMEOUT_MS = 300_000;
const haveKernel = existsSync(VMI_KERNEL);
const missing = haveKernel ? null : `no CONFIG_VMI kernel at ${VMI_KERNEL} (set VMI386_LINUX_VMI_KERNEL)`;
if (missing && !process.env.CI) console.warn(`test/linux-vmi: skipping: ${missing}`);
const prepared = haveKernel ? await prepareDebian() : { ok: false, skip: true };
if (prepared.skip && haveKernel) console.warn(`test/linux-vmi: ${prepared.why}`);
const initrd = prepared.ok ? buildVmiInitramfs() : "";
const golden = readFileSync(GOLDEN, "utf8");
const expected = initResults(golden);

/** Boots through the CLI; `load`: with a busy host process beside it. */
async function boot(flags: string[], load: boolean): Promise<{ status: number; log: string; stderr: string; times: TimedChunk[] }> {
  if (missing) throw new Error(missing);
  if (!prepared.ok) throw new Error(prepared.why);
  const times: TimedChunk[] = [];
  const stopLoad = load ? startHostLoad() : () => {};
  try {
    const r = await cli(["run", "--kernel", VMI_KERNEL, "--initrd", initrd, "--append", APPEND, "--mem", `${MEM_MB}M`, "--timeout", "240", ...flags], null, {}, times);
    return { status: r.status, log: consoleLog(r.stdout), stderr: r.stderr, times };
  } finally {
    stopLoad();
  }
}

/** The sleep's wall time in seconds, from when its two lines reached stdout. */
function sleepSeconds(times: TimedChunk[]): number {
  return (timeOf(times, "vmi-init: sleep 2 ends") - timeOf(times, "vmi-init: sleep 2 begins")) / 1000;
}

describe.skipIf(!haveKernel && !process.env.CI)("Linux 2.6.32 built with CONFIG_VMI", () => {
  it("the golden file holds QEMU's run of ./init to its end", () => {
    expect(expected).toEqual([
      "vmi-init: kernel 2.6.32.69 on i686",
      expect.stringMatching(/^vmi-init: exec loop: 150 processes, sum \d+$/),
      expect.stringMatching(/^vmi-init: tmpfs: 10000 lines, sha256 [0-9a-f]{16}$/),
      "vmi-init: subshells: 204",
      expect.stringMatching(/^vmi-init: jobs: [0-9a-f]{16}$/),
      "vmi-init: done, reboot -f",
    ]);
    expect(golden).toContain("Booting paravirtualized kernel on bare hardware");
  });

  it.skipIf(spawnSync("qemu-system-i386", ["--version"]).status !== 0 && !process.env.CI)(
    "QEMU prints the same again (live)",
    () => {
      if (missing) throw new Error(missing);
      if (!prepared.ok) throw new Error(prepared.why);
      expect(initResults(qemuBoot(VMI_KERNEL, initrd))).toEqual(expected);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "with --vmi in real time: finds the ROM by name, runs ./init as QEMU does, sleeps 2 s of wall time on a busy host, and reboot -f ends the run with 0",
    async () => {
      const r = await boot(["--vmi"], true);
      expect(r.status, `${r.log.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(r.log).toMatch(/^\[ *0\.000000\] VMI: Found vmi386 VMI ROM, API version 3\.0, ROM version 1\.0$/m);
      expect(r.log).toContain("Booting paravirtualized kernel on vmi");
      expect(r.log).toMatch(/^\[ *\d+\.\d+\] Switching to clocksource vmi-timer$/m);
      expect(initResults(r.log)).toEqual(expected);
      const s = sleepSeconds(r.times);
      expect(s).toBeGreaterThan(1.7);
      expect(s).toBeLessThan(3);
      expect(r.stderr).toMatch(/reset: the guest requested a CPU reset through the keyboard controller/);
      // --stats text lists the ROM's counters.
      expect(r.stderr).toMatch(/^ {2}calls in ROM +[\d,]+$/m);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "with --vmi --deterministic: runs ./init as QEMU does",
    async () => {
      const r = await boot(["--vmi", "--deterministic"], false);
      expect(r.status, `${r.log.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(r.log).toContain("VMI: Found vmi386 VMI ROM");
      expect(initResults(r.log)).toEqual(expected);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "without the ROM in real time: calibrates the TSC at the nominal 100 MHz against the PIT on a busy host, runs ./init as QEMU does, sleeps 2 s",
    async () => {
      const r = await boot([], true);
      expect(r.status, `${r.log.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(r.log).toContain("Booting paravirtualized kernel on bare hardware");
      const mhz = /^\[ *0\.000000\] Detected (\d+\.\d+) MHz processor\.$/m.exec(r.log);
      expect(mhz, r.log.slice(0, 4000)).not.toBeNull();
      expect(Math.abs(Number(mhz![1]) / (REALTIME_TSC_HZ / 1e6) - 1)).toBeLessThan(0.03);
      expect(r.log).not.toMatch(/TSC unstable|Marking TSC unstable/);
      expect(initResults(r.log)).toEqual(expected);
      const s = sleepSeconds(r.times);
      expect(s).toBeGreaterThan(1.7);
      expect(s).toBeLessThan(3);
    },
    BOOT_TIMEOUT_MS,
  );
});
