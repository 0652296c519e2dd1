// The one shape every emulator under test has in the benchmark: run a multiboot image from
// power-on to its debug-exit, and report what the emulator itself counted.

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
}

/** Called now and then during a run with the instructions retired so far. */
export type ProgressFn = (instructions: number) => void;

export interface Engine {
  /** Short stable key for the JSON report: "vmi386", "v86-interpreter", "v86-jit". */
  id: string;
  /** What the table shows. */
  label: string;
  run(image: GuestImage, progress?: ProgressFn): Promise<EngineRun>;
}

/** The guest's RAM in every engine: what the multiboot guests assume, and v86's default. */
export const GUEST_MEMORY_BYTES = 64 * 1024 * 1024;

/** A run that takes longer than this is stuck, not slow. */
export const RUN_TIMEOUT_MS = 10 * 60 * 1000;

/** How often a running engine reports progress. */
export const PROGRESS_EVERY_MS = 200;
