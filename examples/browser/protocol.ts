// The messages between the page (main.ts) and the worker that runs the machine (worker.ts).

import type { RunStats } from "vmi386";

export type ToWorker =
  /** Boot `image` (a multiboot kernel or a Linux bzImage; default: the demo guest). */
  | { kind: "start"; image?: ArrayBuffer; name: string; initrd?: ArrayBuffer; cmdline: string; memMiB: number }
  /** Keys typed into the terminal, for COM1's receive line. */
  | { kind: "input"; data: string }
  | { kind: "stop" };

export type FromWorker =
  /** Bytes COM1 transmitted. */
  | { kind: "serial"; bytes: Uint8Array }
  /** The statistics so far (`running`) or at the end. */
  | { kind: "stats"; stats: RunStats; running: boolean }
  | { kind: "error"; message: string };
