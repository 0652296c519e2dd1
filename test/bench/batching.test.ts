// `vmi386 bench batching --quick`, in-process: the three modes run and agree, and the table,
// JSON and SVG plots are written. The figures themselves (exits, times) are the benchmark's to
// report; what is checked here is that they are there, consistent with each other, and that a
// disagreement between the modes fails the run.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { EXIT_USAGE } from "../../src/cli.js";
import { type BatchingRun, ChecksumMismatch, MODES, QUICK_EXIT_COSTS, QUICK_QUEUES, checkChecksums } from "../../src/bench/batching.js";
import { MICRO_OPS, type MicroResult, formatMicro } from "../../src/bench/micro.js";
import type { BatchingReport } from "../../src/bench/report.js";
import { cli } from "../support/run-cli.js";

const out = mkdtempSync(join(tmpdir(), "vmi386-bench-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe("bench batching --quick", () => {
  let result: Awaited<ReturnType<typeof cli>>;

  it("runs every mode over the quick sweep and exits 0", async () => {
    result = await cli(["bench", "batching", "--quick", "--out", out]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^mode +queue +exit cost +exits +exits\/pt-op/m);
    expect(result.stdout).toMatch(/^checksum 0x[0-9a-f]{8}: the same in every run$/m);
    // The round trip is a difference of two runs' wall times: a figure (never negative), or,
    // when the measured difference fell below zero, the noise wording with that difference.
    const micro = (JSON.parse(readFileSync(join(out, "batching.json"), "utf8")) as BatchingReport).micro!;
    if (micro.roundTripNs >= 0) expect(result.stdout).toMatch(/^ +hypercall round trip +\d+\.\d ns +GetDR.*: (meets|misses)$/m);
    else expect(result.stdout).toMatch(/^ +hypercall round trip +below timing noise \(difference -\d+\.\d ns\) +GetDR.*: not measured$/m);
    expect(micro.batchedEntryHostNs).toBeGreaterThanOrEqual(0);
    expect(result.stdout).toMatch(/^ +batched PTE update, host +\d+\.\d ns /m);
    // Progress went to stderr, one line per run when it is not a terminal.
    expect(result.stderr).toMatch(/warm-up: native exit cost 0/);
  }, 50_000);

  it("writes the table, the JSON and three SVG plots", () => {
    for (const f of ["batching.txt", "batching.json", "exits.svg", "time.svg", "host-time.svg"]) expect(existsSync(join(out, f)), f).toBe(true);
    expect(readFileSync(join(out, "batching.txt"), "utf8")).toMatch(/^mode +queue +exit cost/);
    for (const f of ["exits.svg", "time.svg", "host-time.svg"]) {
      const svg = readFileSync(join(out, f), "utf8");
      expect(svg.startsWith("<svg"), f).toBe(true);
      expect(svg).toContain("queue size (entries)");
      for (const mode of ["native", "vmi (immediate)", "vmi-batched"]) expect(svg, `${f} legend`).toContain(`>${mode}<`);
    }
  });

  it("the JSON has every run of the sweep, one checksum, and consistent counts", () => {
    const report = JSON.parse(readFileSync(join(out, "batching.json"), "utf8")) as BatchingReport;
    expect(report.runs).toHaveLength(QUICK_EXIT_COSTS.length * (2 + QUICK_QUEUES.length));
    for (const mode of MODES) expect(report.runs.some((r) => r.mode === mode)).toBe(true);
    const sums = new Set(report.runs.map((r) => r.checksum));
    expect(sums.size).toBe(1);
    expect(report.summary!.checksum).toBe([...sums][0]);
    expect(new Set(report.runs.map((r) => r.ptOps)).size, "pt-ops are the same in every mode").toBe(1);
    for (const r of report.runs) {
      expect(r.exitsPerPtOp).toBeCloseTo(r.exits / r.ptOps, 10);
      if (r.mode === "native") expect(r.vmiExits + r.callsInRom + r.batches).toBe(0);
      else expect(r.exits).toBe(r.vmiExits);
      // Every batch's entries are accounted for in the size histogram.
      const fromSizes = Object.entries(r.batchSizes).reduce((n, [size, count]) => n + Number(size) * count, 0);
      expect(fromSizes).toBe(r.batchedEntries);
      if (r.mode === "batched") expect(r.maxBatch).toBeLessThanOrEqual(r.queue!);
      expect(r.modelledNs).toBeGreaterThanOrEqual(r.virtualNs);
    }
    const q = Math.max(...QUICK_QUEUES);
    const vmi = report.runs.find((r) => r.mode === "vmi" && r.exitCostCycles === 0)!;
    const batched = report.runs.find((r) => r.mode === "batched" && r.queue === q && r.exitCostCycles === 0)!;
    expect(batched.exits, "batched mode exits less than immediate calls").toBeLessThan(vmi.exits);
    expect(report.summary!.inRomCallExits).toBe(0);
    expect(report.micro?.ops.lazy.vmiBatchedEntries).toBeGreaterThanOrEqual(report.micro!.iterations);
  });

  it("a per-call cost below zero (timing noise) is never printed as a figure or as meeting its target", () => {
    const ops = Object.fromEntries(MICRO_OPS.map((op) => [op, { wallMs: [], bestMs: 0, instructions: 0, vmiExits: 0, vmiBatches: 0, vmiBatchedEntries: 0 }]));
    const m = {
      guest: "vmibench.elf", iterations: 1000, rounds: 1, queueCapacity: 256, ops,
      roundTripNs: -119.2, inRomCallNs: 322.6, batchedEntryNs: 208.7, batchedEntryHostNs: 13.5, immediateEntryNs: 445.4, batchedEntryGuestInstructions: 16,
    } as MicroResult;
    const text = formatMicro(m);
    expect(text).toMatch(/^ +hypercall round trip +below timing noise \(difference -119\.2 ns\) .*: not measured$/m);
    expect(text).not.toMatch(/round trip +-/);
    expect(text).toMatch(/^ +call served in the ROM +322\.6 ns /m);
    expect(formatMicro({ ...m, roundTripNs: 42 })).toMatch(/^ +hypercall round trip +42\.0 ns .*: meets$/m);
  });

  it("a checksum that differs between runs fails loudly, naming the runs", () => {
    const run = (mode: BatchingRun["mode"], checksum: string) => ({ mode, queue: null, exitCostCycles: 0, checksum }) as BatchingRun;
    expect(checkChecksums([run("native", "0x1"), run("vmi", "0x1")])).toBe("0x1");
    expect(() => checkChecksums([run("native", "0x1"), run("vmi", "0x2")])).toThrow(ChecksumMismatch);
    expect(() => checkChecksums([run("native", "0x1"), run("vmi", "0x2")])).toThrow(/checksum 0x2: vmi exit cost 0/);
  });

  it("bad options are one usage line and status 2", async () => {
    for (const args of [
      ["bench", "batching", "--scale", "0"],
      ["bench", "batching", "--runs", "x"],
      ["bench", "nosuch"],
    ]) {
      const r = await cli(args);
      expect(r.status, args.join(" ")).toBe(EXIT_USAGE);
      expect(r.stderr).toMatch(/^vmi386: error: [^\n]*\n$/);
    }
  });
});
