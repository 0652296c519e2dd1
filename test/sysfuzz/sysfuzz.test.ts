// The system-level differential fuzz: every sequence of the golden files (recorded from
// qemu-system-i386 by `npm run sysfuzz:generate`, the SDM's record where QEMU is known to depart
// from it) runs through harness.elf on vmi386, one boot per family, and each step's record must
// match. In CI (or with VMI386_LIVE_SYSFUZZ set) a random sample also runs under live QEMU, so
// the golden files cannot rot.

import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fromGolden, qemuRecords, readGoldenFiles, recordDiff } from "./golden.js";
import { knownMismatch } from "./known.js";
import { runQemu, runVmi386, type Sequence, type StepRecord } from "./run.js";

const files = readGoldenFiles();

describe("system-level sequences against the golden records", () => {
  for (const { file, lines } of files) {
    it(`${file}: ${lines.length} sequences`, async () => {
      const cases = lines.map(fromGolden);
      const r = await runVmi386(cases.map((c) => c.seq));
      const bad: string[] = [];
      const known = new Map<string, number>();
      cases.forEach(({ seq, records }, i) => {
        records.forEach((want, j) => {
          const got = r.records[i][j];
          const diff = recordDiff(want, got);
          if (diff.length === 0) return;
          const k = got && knownMismatch(want, got);
          if (k) known.set(k.reason, (known.get(k.reason) ?? 0) + 1);
          else bad.push(`${seq.name} step ${j}${lines[i].sdm?.[j] ? ` (SDM: ${lines[i].sdm![j]})` : ""}: ${diff.join(" ")}`);
        });
      });
      for (const [reason, n] of known) console.log(`${file}: ${n} known mismatches: ${reason}`);
      expect(r.stop, "the run ended before the last sequence").toBeUndefined();
      expect(bad.slice(0, 40), `${bad.length} steps differ (the first 40 listed)`).toEqual([]);
    }, 60_000);
  }
});

const qemuPresent = spawnSync("sh", ["-c", "command -v qemu-system-i386"], { stdio: "ignore" }).status === 0;
const live = process.env.CI !== undefined || process.env.VMI386_LIVE_SYSFUZZ !== undefined;
/** Sequences re-run under QEMU per CI build, drawn at random from all families. */
const SAMPLE = 200;

describe.runIf(live)("golden records against live qemu-system-i386", () => {
  it("QEMU is installed (Debian package qemu-system-x86)", () => {
    expect(qemuPresent).toBe(true);
  });
  it.runIf(qemuPresent)(`a random sample of ${SAMPLE} sequences gives the recorded results`, () => {
    const all = files.flatMap(({ lines }) => lines);
    const seed = Date.now() >>> 0;
    let x = seed || 1;
    const picks = new Set<number>();
    while (picks.size < Math.min(SAMPLE, all.length)) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      picks.add(x % all.length);
    }
    const sample = [...picks].map((i) => all[i]);
    const seqs: Sequence[] = sample.map((g) => fromGolden(g).seq);
    const r = runQemu(seqs);
    const bad: string[] = [];
    sample.forEach((g, i) => {
      const want: StepRecord[] = qemuRecords(g);
      want.forEach((w, j) => {
        const diff = recordDiff(w, r.records[i][j]);
        if (diff.length) bad.push(`${g.name} step ${j}: ${diff.join(" ")}`);
      });
    });
    expect(bad.slice(0, 40), `sample seed ${seed}: ${bad.length} steps differ from the golden files`).toEqual([]);
  }, 120_000);
});
