// A machine snapshot in memory (Machine.save / Machine.restore): plain data plus the core's
// memory as a sparse page image. The file format around it is snapshot/file.ts.

import type { CoreState } from "../core.js";
import type { VmiOptions, VmiState } from "../vmi/hypervisor.js";

/** A snapshot that cannot be used (malformed, or from another build), with a one-line reason. */
export class SnapshotError extends Error {}

/** Bumped whenever what a snapshot holds changes meaning. */
export const SNAPSHOT_FORMAT = 1;

/** The machine options a snapshot rebuilds its machine with (the JSON-able part of MachineOptions). */
export interface SavedMachineOptions {
  memSize: number;
  deterministic: boolean;
  debugCore: boolean;
  nsPerInstruction: number;
  nsPerPortAccess: number;
  vmi: boolean | VmiOptions;
  exitCostCycles: number;
  apic: boolean;
}

/** The machine's own state beside its devices' (machine.ts). */
export interface HostState {
  /** Deterministic mode: TSC ticks already added for time beyond instructions. */
  tscAdded: number;
  /** Real-time mode: the interpreter's measured speed, which sizes slices. */
  instructionsPerNs: number;
  mmioUnmappedReads: number;
  mmioUnmappedWrites: number;
  bus: { unclaimedReads: number; unclaimedWrites: number; widthMismatches: number };
  /** The 8259A pair's INT output, which the machine combines with the local APIC's into INTR. */
  picInt: boolean;
  vmi: VmiState | null;
}

export interface MachineSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  options: SavedMachineOptions;
  core: CoreState;
  devices: Record<string, unknown>;
  host: HostState;
  /** Instructions retired and virtual ns when saved (for statistics: the snapshot's part of the totals). */
  instructions: number;
  virtualNs: number;
}

/** `host` checked field by field (a snapshot file is untrusted); throws naming the bad field. */
export function checkHostState(host: HostState, vmi: boolean): HostState {
  const num = (v: unknown, what: string) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new SnapshotError(`the snapshot's ${what} is not a non-negative number`);
  };
  num(host?.tscAdded, "tscAdded");
  num(host.instructionsPerNs, "instructionsPerNs");
  num(host.mmioUnmappedReads, "mmioUnmappedReads");
  num(host.mmioUnmappedWrites, "mmioUnmappedWrites");
  num(host.bus?.unclaimedReads, "bus.unclaimedReads");
  num(host.bus.unclaimedWrites, "bus.unclaimedWrites");
  num(host.bus.widthMismatches, "bus.widthMismatches");
  if (typeof host.picInt !== "boolean") throw new SnapshotError("the snapshot's picInt is not a boolean");
  if (vmi !== (host.vmi !== null && host.vmi !== undefined)) throw new SnapshotError(`the snapshot's VMI state does not match its options`);
  return host;
}
