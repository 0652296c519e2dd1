// The golden files: one JSON line per sequence, its input (patches, code, steps) and what
// qemu-system-i386 recorded for each step, so that the test needs neither the generator nor QEMU.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, RECORD_FIELDS, type Sequence, type StepRecord } from "./run.js";

export interface GoldenLine {
  name: string;
  patches: [string, string][];
  /** The code page: its length and the runs that are not NOP fill, as [offset, bytes] in hex. */
  code: { length: number; runs: [string, string][] };
  steps: { cpl: number; eip: string; eflags: string; regs: string[] }[];
  /** Per step, the record's words in hex, space-separated (RECORD_FIELDS order): the SDM's where it and QEMU part. */
  out: string[];
  /** Steps where QEMU departs from the SDM: the reference, and what QEMU recorded. */
  sdm?: Record<number, string>;
  qemu?: Record<number, string>;
}

const hex = (v: number): string => (v >>> 0).toString(16);
const num = (h: string): number => parseInt(h, 16) >>> 0;

const NOP = 0x90;

/** The code without its NOP fill: runs separated by 8 NOPs or more. */
function codeRuns(code: number[]): GoldenLine["code"] {
  const runs: [string, string][] = [];
  let i = 0;
  while (i < code.length) {
    if (code[i] === NOP) {
      i++;
      continue;
    }
    let end = i;
    for (let j = i; j < code.length && j < end + 8; j++) if (code[j] !== NOP) end = j;
    runs.push([hex(i), Buffer.from(code.slice(i, end + 1)).toString("hex")]);
    i = end + 1;
  }
  return { length: code.length, runs };
}

function codeBytes(c: GoldenLine["code"]): number[] {
  const out = new Array<number>(c.length).fill(NOP);
  for (const [at, bytes] of c.runs) Buffer.from(bytes, "hex").forEach((b, k) => (out[num(at) + k] = b));
  return out;
}

const words = (r: StepRecord): string => r.map(hex).join(" ");

/** The golden line of a sequence from QEMU's records, the SDM's where the step knows QEMU departs from it. */
export function toGolden(seq: Sequence, qemu: StepRecord[]): GoldenLine {
  const g: GoldenLine = {
    name: seq.name,
    patches: seq.patches.map(([a, v]) => [hex(a), hex(v)]),
    code: codeRuns(seq.code),
    steps: seq.steps.map((s) => ({ cpl: s.cpl, eip: hex(s.eip), eflags: hex(s.eflags), regs: s.regs.map(hex) })),
    out: qemu.map(words),
  };
  seq.steps.forEach((s, i) => {
    const fixed = s.sdm?.(qemu[i]);
    if (!fixed) return;
    g.out[i] = words(fixed.rec);
    (g.sdm ??= {})[i] = fixed.note;
    (g.qemu ??= {})[i] = words(qemu[i]);
  });
  return g;
}

export function fromGolden(g: GoldenLine): { seq: Sequence; records: StepRecord[] } {
  return {
    seq: {
      name: g.name,
      patches: g.patches.map(([a, v]) => [num(a), num(v)]),
      code: codeBytes(g.code),
      steps: g.steps.map((s) => ({ cpl: s.cpl, eip: num(s.eip), eflags: num(s.eflags), regs: s.regs.map(num) })),
    },
    records: g.out.map((line) => line.split(" ").map(num)),
  };
}

/** What QEMU itself recorded for each step (the golden's own record unless the SDM overrode it). */
export function qemuRecords(g: GoldenLine): StepRecord[] {
  return g.out.map((line, i) => (g.qemu?.[i] ?? line).split(" ").map(num));
}

export function readGoldenFiles(): { file: string; lines: GoldenLine[] }[] {
  return readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith(".jsonl"))
    .sort()
    .map((file) => ({
      file,
      lines: readFileSync(join(GOLDEN_DIR, file), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as GoldenLine),
    }));
}

/** The fields where two records differ, as "name want->got". */
export function recordDiff(want: StepRecord | undefined, got: StepRecord | undefined): string[] {
  if (!want || !got) return [`record ${want ? "missing" : "unexpected"}`];
  const out: string[] = [];
  RECORD_FIELDS.forEach((f, i) => {
    if (want[i] !== got[i]) out.push(`${f} ${hex(want[i])}->${hex(got[i])}`);
  });
  return out;
}
