// The one shape every emulator under test has in the benchmark: run a multiboot image from
// power-on to its debug-exit, or boot a Linux bzImage with an initrd until its console prints
// given markers, and report what the emulator itself counted.

export interface GuestImage {
  /** File name, for messages and the report. */
  name: string;
  bytes: Uint8Array;
}

export interface EngineRun {
  /** Guest instructions retired, by the engine's own counter, from the guest's entry to its exit. */
  instructions: number;
  /** Host monotonic time over the same span (performance.now). */
  wallMs: number;
  /** The value the guest wrote to the isa-debug-exit port (0 = success by our guests' convention). */
  guestExitCode: number;
  /** Port accesses (IN and OUT) over the run, where the engine counts them. */
  portAccesses?: number;
  /** Everything the guest wrote to COM1. */
  serial: string;
  /** Linux boots: when each marker first appeared on COM1, in marker order. */
  marks?: Mark[];
  /** The count as the run went (every SAMPLE_EVERY_MS), for the steady-state rate (measure.ts). */
  samples?: Sample[];
  /** vmi386 with the JIT: its statistics at the end of the run (src/jit/jit.ts JitStats). */
  jit?: Record<string, number>;
}

/** The engine's count `instructions` at host ms `wallMs` since the run started. */
export interface Sample {
  wallMs: number;
  instructions: number;
}

/** A point on the way: host ms since the run started, and the engine's count then (if it can tell). */
export interface Mark {
  name: string;
  wallMs: number;
  instructions: number;
}

/**
 * A Linux boot: a bzImage, its initrd and command line, entered by each engine's own Linux
 * loader; the run ends when the last marker has appeared on COM1.
 */
export interface LinuxBoot {
  name: string;
  kernel: Uint8Array;
  initrd: Uint8Array;
  cmdline: string;
  memBytes: number;
  /** In order; each is searched for in COM1's output after the previous one's position. */
  markers: { name: string; text: string }[];
}

/**
 * The poll-based mark: the first sample (every PROGRESS_EVERY_MS) that finds CR0.PG set. A
 * 32-bit bzImage's decompressor runs with paging off and the kernel turns it on within its first
 * instructions, so this is where decompression (XZ in Debian's kernel) has ended, give or take
 * one sampling period.
 */
export const KERNEL_MARK = "kernel";
export const CR0_PG = 0x80000000;

/** Watches COM1's output for the markers in order; onMark(i) as each first appears. */
export function markerWatcher(markers: LinuxBoot["markers"], onMark: (index: number) => void): (text: string) => void {
  let buffer = "";
  let next = 0;
  return (text) => {
    if (next >= markers.length) return;
    buffer += text;
    while (next < markers.length) {
      const at = buffer.indexOf(markers[next]!.text);
      if (at < 0) break;
      buffer = buffer.slice(at + markers[next]!.text.length);
      onMark(next++);
    }
    // Keep only what could be the start of the next marker, split across chunks.
    if (next < markers.length) buffer = buffer.slice(Math.max(0, buffer.length - markers[next]!.text.length + 1));
  };
}

/** Called now and then during a run with the instructions retired so far. */
export type ProgressFn = (instructions: number) => void;

export interface Engine {
  /** Short stable key for the JSON report: "vmi386", "v86-interpreter", "v86-jit". */
  id: string;
  /** What the table shows. */
  label: string;
  run(image: GuestImage, progress?: ProgressFn): Promise<EngineRun>;
  /** Boot Linux until every marker has appeared; guestExitCode is 0 then. */
  bootLinux(boot: LinuxBoot, progress?: ProgressFn): Promise<EngineRun>;
}

/** The guest's RAM in every engine: what the multiboot guests assume, and v86's default. */
export const GUEST_MEMORY_BYTES = 64 * 1024 * 1024;

/** A run that takes longer than this is stuck, not slow. */
export const RUN_TIMEOUT_MS = 10 * 60 * 1000;

/** How often a running engine reports progress. */
export const PROGRESS_EVERY_MS = 200;

/**
 * How often a running engine's instruction count is sampled for the steady state
 * (measure.ts steadyState): often enough that a JIT's run of a few hundred milliseconds still
 * has a second half made of several samples.
 */
export const SAMPLE_EVERY_MS = 20;

/**
 * Where an engine's sampling timer puts what it reads: the count joins `samples`, and
 * `progress` hears of it every PROGRESS_EVERY_MS.
 */
export function sampleRecorder(samples: Sample[], progress?: ProgressFn): (wallMs: number, instructions: number) => void {
  let reported = 0;
  return (wallMs, instructions) => {
    samples.push({ wallMs, instructions });
    if (wallMs - reported >= PROGRESS_EVERY_MS) {
      reported = wallMs;
      progress?.(instructions);
    }
  };
}
