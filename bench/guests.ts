// The guests the benchmark runs, and how each one's output is checked: a run only counts if
// the guest did its work correctly on that engine.

import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { EngineRun, GuestImage } from "./engines/engine.js";

export type GuestKind = "cpu" | "io";

export interface BenchGuest {
  id: string;
  kind: GuestKind;
  /** Repository-relative path, for the report. */
  path: string;
  image: GuestImage;
  what: string;
  /** Throws if the run's output shows the guest misbehaved; returns a result line to compare across engines. */
  check(run: EngineRun): string;
  /** Port accesses the guest makes by construction (io guests), to check engines that count them. */
  portAccesses?: number;
}

const REPO = fileURLToPath(new URL("..", import.meta.url));

function load(path: string): GuestImage {
  try {
    return { name: basename(path), bytes: readFileSync(REPO + path) };
  } catch (e) {
    throw new Error(`cannot read the benchmark guest ${path}: ${(e as Error).message}`);
  }
}

function mustExitZero(run: EngineRun, name: string): void {
  if (run.guestExitCode !== 0) {
    const tail = run.serial.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`${name} exited with guest code ${run.guestExitCode}${tail ? `; serial ends: ${tail}` : ""}`);
  }
}

/** test/guests/cpu-bound: CRC32, sorting, a sieve, matrix multiply, 64-bit arithmetic, memcpy. */
export function cpuBoundGuest(quick: boolean): BenchGuest {
  const path = `test/guests/cpu-bound/${quick ? "cpu-bound-quick" : "cpu-bound"}.elf`;
  const image = load(path);
  return {
    id: quick ? "cpu-bound-quick" : "cpu-bound",
    kind: "cpu",
    path,
    image,
    what: "CPU-bound C workload (multiboot ELF)",
    check(run) {
      mustExitZero(run, image.name);
      const sum = /checksum=0x[0-9a-f]+/.exec(run.serial);
      if (!sum || !/^PASS$/m.test(run.serial)) throw new Error(`${image.name}: no checksum and PASS line on COM1; got: ${run.serial.slice(-200)}`);
      return sum[0];
    },
  };
}

/** bench/guests/io-loop: one OUT and one IN per round, 1,000,000 rounds, then debug-exit. */
export function ioLoopGuest(): BenchGuest {
  const path = "bench/guests/io-loop.bin";
  const image = load(path);
  const rounds = 1_000_000;
  return {
    id: "io-loop",
    kind: "io",
    path,
    image,
    what: "port I/O micro-guest (out 0x80 / in 0x71 loop, nasm)",
    portAccesses: 2 * rounds + 1,
    check(run) {
      mustExitZero(run, image.name);
      return "exit 0";
    },
  };
}
