// Re-runs a deterministic sample of every golden file through the harness under qemu-i386 now,
// so the committed expectations cannot drift from the oracle unnoticed. Needs qemu-i386 and
// gcc -m32; runs only in CI or with VMI386_LIVE_ORACLE set, and there fails when they are missing.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { GCC_M32, QEMU_I386, requiresTool } from "../support/requires-tool.js";
import { GOLDEN_DIR, REG_NAMES, hex, readGolden, runOracle, type GoldenCase } from "./cases.js";

const wanted = process.env.CI !== undefined || process.env.VMI386_LIVE_ORACLE !== undefined;
/** About this many cases in all, spread over the groups by a fixed stride. */
const SAMPLE = 400;

(wanted ? requiresTool(QEMU_I386, GCC_M32).describe : describe.skip)("golden files against live qemu-i386", () => {
  it("a sample of every group gives the recorded results", () => {
    const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".jsonl")).sort();
    const all = files.map((f) => readGolden(join(GOLDEN_DIR, f)));
    const total = all.reduce((n, cs) => n + cs.length, 0);
    const stride = Math.max(1, Math.floor(total / SAMPLE));
    // Every stride-th case of each file, starting at an offset that depends on the file, and
    // never one whose expectation comes from the SDM rather than QEMU.
    const sample: GoldenCase[] = [];
    all.forEach((cases, fi) => {
      for (let i = (fi * 7) % stride; i < cases.length; i += stride) if (!cases[i].override) sample.push(cases[i]);
    });
    const results = runOracle(sample);
    const bad: string[] = [];
    sample.forEach((c, i) => {
      const r = results[i];
      const regs: Record<string, string> = {};
      REG_NAMES.forEach((n, k) => {
        if (r.regs[k] !== parseInt(c.regs[k], 16)) regs[n] = hex(r.regs[k]);
      });
      const now = {
        regs,
        flags: hex(r.eflags),
        mem: r.mem.map(([a, b]) => [hex(a), b]),
        exception: r.exception,
        eip: r.exception === null ? undefined : hex(r.eip),
      };
      const then = { regs: c.out.regs, flags: c.out.flags, mem: c.out.mem ?? [], exception: c.out.exception, eip: c.out.eip };
      if (JSON.stringify(now) !== JSON.stringify(then)) bad.push(`${c.name} [${c.code}]\n  golden ${JSON.stringify(then)}\n  qemu   ${JSON.stringify(now)}`);
    });
    expect(sample.length).toBeGreaterThan(SAMPLE / 2);
    expect(bad, `${bad.length} of ${sample.length} sampled cases differ from live qemu-i386`).toEqual([]);
  });
});
