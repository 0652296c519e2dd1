// End-of-run statistics: exits grouped by kind from the machine's counters, text and JSON.
import { describe, expect, it } from "vitest";
import { collectStats, formatStatsJson, formatStatsText } from "../../src/stats.js";

const result = {
  reason: "debug-exit" as const,
  exitCode: 0x43,
  message: "debug-exit: the guest wrote 33 to port 0xf4",
  instructions: 1234567,
  wallMs: 12.34567,
  mips: 100.0012345,
  counters: { instructions: 1234567, portIn: 5, portOut: 7, mmioRead: 1, mmioWrite: 2, hypercall: 3, interrupts: 11, exceptions: 13, tlbMisses: 99 },
};

describe("stats", () => {
  it("groups exits by kind and keeps every raw counter", () => {
    const s = collectStats(result);
    expect(s.exits).toEqual({ portIn: 5, portOut: 7, mmioRead: 1, mmioWrite: 2, interrupts: 11, exceptions: 13, hypercalls: 3, total: 42 });
    expect(s.counters.tlbMisses).toBe(99);
    expect(s.wallMs).toBe(12.346);
    expect(s.mips).toBe(100.001);
  });

  it("JSON is one line, reason first", () => {
    const text = formatStatsJson(collectStats(result));
    expect(text.endsWith("\n")).toBe(true);
    expect(text.trimEnd()).not.toContain("\n");
    expect(Object.keys(JSON.parse(text)).slice(0, 4)).toEqual(["reason", "exitCode", "message", "instructions"]);
  });

  it("text names every kind of exit", () => {
    const text = formatStatsText(collectStats(result));
    expect(text).toContain("instructions  1,234,567");
    for (const [label, n] of [["port in", 5], ["port out", 7], ["mmio read", 1], ["mmio write", 2], ["interrupts", 11], ["exceptions", 13], ["hypercalls", 3]] as const) {
      expect(text).toMatch(new RegExp(`^  ${label} +${n}$`, "m"));
    }
    expect(text).toMatch(/^guest MIPS +100\.00$/m);
  });

  it("text lists the VMI counters when the machine has the ROM, and only then", () => {
    const vmi = { ...result, counters: { ...result.counters, vmiExits: 12345, vmiCallsInRom: 678, vmiBatches: 9, vmiShadowHits: 4, vmiAlarms: 250 } };
    const text = formatStatsText(collectStats(vmi));
    expect(text).toMatch(/^VMI *$/m);
    expect(text).toMatch(/^ {2}exits +12,345$/m);
    expect(text).toMatch(/^ {2}calls in ROM +678$/m);
    expect(text).toMatch(/^ {2}batches +9$/m);
    expect(text).toMatch(/^ {2}shadow hits +4$/m);
    expect(text).toMatch(/^ {2}alarms +250$/m);
    expect(formatStatsText(collectStats(result))).not.toMatch(/^VMI/m);
  });

  it("missing counters count as zero", () => {
    const s = collectStats({ reason: "max-instructions", instructions: 10, wallMs: 1, mips: 0.01, counters: {} });
    expect(s.exits.total).toBe(0);
    expect(s.exitCode).toBeUndefined();
  });
});

describe("stats of a run that waited (real time, HLT)", () => {
  const waited = { ...result, instructions: 2_000_000, wallMs: 1000, mips: 2, haltedMs: 990 };

  it("busy MIPS counts only the time the CPU was not halted", () => {
    const s = collectStats(waited);
    expect(s.haltedMs).toBe(990);
    expect(s.busyMips).toBe(200); // 2 M instructions in the 10 ms it ran
    expect(JSON.parse(formatStatsJson(s))).toMatchObject({ mips: 2, haltedMs: 990, busyMips: 200 });
  });

  it("text shows busy MIPS beside the average", () => {
    expect(formatStatsText(collectStats(waited))).toMatch(/^guest MIPS +2\.00 \(busy 200\.00: halted 99\.0% of the time\)$/m);
  });

  it("a run that never waited has busy MIPS equal to the average, and the text only the average", () => {
    const s = collectStats(result);
    expect(s.busyMips).toBe(s.mips);
    expect(formatStatsText(s)).toMatch(/^guest MIPS +100\.00$/m);
  });
});
