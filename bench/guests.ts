// The guests the benchmark runs, and how each one's output is checked: a run only counts if
// the guest did its work correctly on that engine.

import { existsSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { EngineRun, GuestImage, LinuxBoot } from "./engines/engine.js";

export type GuestKind = "cpu" | "io" | "boot";

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
  /** boot guests: what each engine boots, instead of `image` (which then holds the kernel, for the report). */
  linux?: LinuxBoot;
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

/** The Debian cache of scripts/fetch-debian.sh and scripts/build-initramfs.ts. */
export const DEFAULT_DEBIAN_CACHE = join(REPO, ".cache/debian");
export const FETCH_DEBIAN_COMMAND = "sh scripts/fetch-debian.sh && npm run initramfs";

/**
 * The kernel command line: test/linux's (console=ttyS0: the console is COM1; cryptomgr.notests:
 * skip the crypto self-tests, 3.7 G instructions of RSA) plus vmi386.shell, which only the
 * initramfs's /init reads: it starts a shell on the console instead of its scripted checks.
 */
export const LINUX_BOOT_CMDLINE = "console=ttyS0 cryptomgr.notests vmi386.shell";
/** v86 puts the initrd at 64 MiB, so both engines get the CLI's default 128 MiB. */
export const LINUX_BOOT_MEMORY_BYTES = 128 * 1024 * 1024;

/**
 * Debian bookworm's 686 kernel and the test initramfs, booted to busybox's shell prompt. Marks:
 * "init", the first line /init prints ("init: kernel <release> on <machine>", after it has
 * mounted proc, sys and devtmpfs: userspace is up), and "prompt", the interactive shell's
 * first prompt ("/ # ") after it. The run ends at the prompt.
 * Returns a reason instead when the files are not there.
 */
export function linuxBootGuest(cacheDir = DEFAULT_DEBIAN_CACHE, cmdline = LINUX_BOOT_CMDLINE): BenchGuest | { skip: string } {
  if (!/(^| )vmi386\.shell( |$)/.test(cmdline)) return { skip: `the command line must hold vmi386.shell (the run ends at the shell's prompt): "${cmdline}"` };
  const kernelPath = join(cacheDir, "vmlinuz");
  const initrdPath = join(cacheDir, "initramfs.cpio");
  const missing = [kernelPath, initrdPath].filter((f) => !existsSync(f));
  if (missing.length) {
    const show = (f: string): string => (relative(REPO, f).startsWith("..") ? f : relative(REPO, f));
    return { skip: `${missing.map(show).join(" and ")} not found; fetch Debian's kernel and build the initramfs with: ${FETCH_DEBIAN_COMMAND}` };
  }
  const kernel = readFileSync(kernelPath);
  const initrd = readFileSync(initrdPath);
  const versionFile = join(cacheDir, "version");
  const version = existsSync(versionFile) ? readFileSync(versionFile, "utf8").trim() : "version unknown";
  const rel = relative(REPO, cacheDir);
  return {
    id: "linux-boot",
    kind: "boot",
    path: `${rel.startsWith("..") ? cacheDir : rel}/{vmlinuz,initramfs.cpio}`,
    image: { name: "vmlinuz", bytes: kernel },
    what: `Debian's kernel to busybox's shell prompt (${version}; initramfs ${initrd.length.toLocaleString("en-US")} bytes; "${cmdline}")`,
    linux: {
      name: "vmlinuz",
      kernel,
      initrd,
      cmdline,
      memBytes: LINUX_BOOT_MEMORY_BYTES,
      markers: [
        { name: "init", text: "init: kernel " },
        { name: "prompt", text: "/ # " },
      ],
    },
    check(run) {
      const release = /^init: kernel (\S+) on (\S+)/m.exec(run.serial);
      if (!release || !/Linux version /.test(run.serial) || !/init: interactive shell/.test(run.serial)) {
        throw new Error(`linux-boot: COM1 lacks the kernel banner, /init's lines or the shell; got: ${run.serial.slice(-300)}`);
      }
      return `init: kernel ${release[1]} on ${release[2]}`;
    },
  };
}
