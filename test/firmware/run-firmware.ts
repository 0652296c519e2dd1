// Boots a firmware image on a deterministic machine and collects its ISA debug console, until
// the machine stops or the console has printed `until`: what both firmware tests need.
import { Machine, type RunResult } from "../../src/machine.js";

export interface FirmwareRun {
  machine: Machine;
  /** The debug console's bytes, as Latin-1 text. */
  log: string;
  /** Why the last slice stopped ("max-instructions" when `until` was printed). */
  last: RunResult;
}

export async function runFirmware(image: Uint8Array, opts: { until?: string; maxInstructions: number; memSize?: number }): Promise<FirmwareRun> {
  let log = "";
  const machine = await Machine.create({
    memSize: opts.memSize ?? 128 * 2 ** 20,
    deterministic: true,
    firmware: image,
    debugcon: (bytes) => (log += String.fromCharCode(...bytes)),
  });
  let last: RunResult;
  do {
    last = machine.runSync({ maxInstructions: 1_000_000 });
  } while (last.reason === "max-instructions" && !(opts.until !== undefined && log.includes(opts.until)) && machine.core.instructions < opts.maxInstructions);
  return { machine, log, last };
}
