// The guests the batching benchmark runs: their paths (the one place that names them) and one
// helper that boots a multiboot guest on a fresh deterministic Machine and collects what it did.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Machine, type MachineOptions, type RunResult } from "../machine.js";
import { loadMultiboot } from "../loaders/multiboot.js";

/** The workload, one kernel built three ways (test/guests/pvkernel), by benchmark mode. */
export const PVKERNEL = {
  native: "test/guests/pvkernel/pvkernel-native.elf",
  vmi: "test/guests/pvkernel/pvkernel-vmi.elf",
  batched: "test/guests/pvkernel/pvkernel-batched.elf",
} as const;

/** The microbenchmark guest: one loop of a chosen ROM call (test/guests/vmibench/vmibench.c). */
export const VMIBENCH = "test/guests/vmibench/vmibench.elf";

/** Guest RAM for every benchmark run. */
export const BENCH_MEM = 64 << 20;

/** The checkout's root: the directory of the package.json named vmi386, above this file (src/ or dist/src/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "vmi386") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the vmi386 checkout (its package.json) above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function readGuest(path: string): Uint8Array {
  const full = join(repoRoot(), path);
  try {
    return new Uint8Array(readFileSync(full));
  } catch (e) {
    throw new Error(`cannot read the benchmark guest ${path}: ${(e as Error).message}`);
  }
}

export interface GuestRun {
  result: RunResult;
  /** COM1 output, CRs dropped. */
  serial: string;
  machine: Machine;
}

/**
 * Boots `image` (a multiboot ELF) with `cmdline` and runs it to its debug-exit. A run that ends
 * any other way, or with a non-zero guest code, or without PASS, is an error naming the guest.
 */
export async function runGuest(
  path: string,
  image: Uint8Array,
  cmdline: string,
  opts: Omit<MachineOptions, "memSize" | "deterministic"> & { beforeRun?: (m: Machine) => void } = {},
): Promise<GuestRun> {
  const { beforeRun, ...machineOpts } = opts;
  const machine = await Machine.create({ memSize: BENCH_MEM, deterministic: true, ...machineOpts });
  loadMultiboot(machine, image, { name: path, cmdline });
  beforeRun?.(machine);
  const result = await machine.run({ maxInstructions: 20e9, wallTimeoutMs: 30 * 60_000 });
  const serial = machine.serialOutput.replace(/\r/g, "");
  const passed = result.reason === "debug-exit" && result.exitCode === 1 && /^PASS$/m.test(serial);
  if (!passed) {
    const tail = serial.trimEnd().split("\n").slice(-4).join(" | ");
    throw new Error(
      `${path} (${cmdline || "no command line"}) did not pass: ${result.reason}` +
        `${result.exitCode !== undefined ? ` with exit code ${result.exitCode}` : ""}${result.message ? ` (${result.message})` : ""}; serial ends: ${tail}`,
    );
  }
  return { result, serial, machine };
}
