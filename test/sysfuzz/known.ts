// Differences between vmi386 and the golden records that QEMU, not our core, gets wrong, and
// that touch so many steps (every fault's frame) that they are accepted here by rule instead of
// line by line in the golden files' sdm/qemu fields. An entry accepts a step only when every
// field that differs is one it explains.

import { RECORD_FIELDS, type StepRecord } from "./run.js";

export interface KnownMismatch {
  reason: string;
  /** Whether this difference in `field` (want: golden, got: ours) is the known bug. */
  explains(field: (typeof RECORD_FIELDS)[number], want: number, got: number, wantRec: StepRecord): boolean;
}

const FAULTS = [0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19];
const RF = 0x10000;

export const KNOWN: KnownMismatch[] = [
  {
    reason: "RF in the EFLAGS image pushed for a fault: set (SDM Vol. 3 17.3.1.1), as our core does; QEMU 7.2 leaves it clear",
    explains: (field, want, got, rec) => {
      const at = [8, 10, 11, 12, 13, 14, 17].includes(rec[0]) ? "f3" : "f2"; // after EIP and CS (and the error code)
      return FAULTS.includes(rec[0]) && field === at && (got & RF) !== 0 && (want ^ got) === RF;
    },
  },
];

/** The known mismatch that explains every differing field of a step, if one does. */
export function knownMismatch(want: StepRecord, got: StepRecord): KnownMismatch | undefined {
  const fields = RECORD_FIELDS.map((f, i) => [f, i] as const).filter(([, i]) => want[i] !== got[i]);
  if (fields.length === 0) return undefined;
  return KNOWN.find((k) => fields.every(([f, i]) => k.explains(f, want[i], got[i], want)));
}
