// RF in the EFLAGS image an external interrupt pushes (SDM Vol. 3 §17.3.1.1): 1 when it arrives
// between two iterations of a REP string instruction, which the handler's IRET resumes part
// done; otherwise RF as it is, 0 here. Faults and traps are in test/guests/corners.

import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

const RF = 0x10000;
const fixture = readFileSync(new URL("./fixtures/rep-interrupt.bin", import.meta.url));
const repAt = 0x1000 + fixture.indexOf(Buffer.from([0xf3, 0xa4])); // rep movsb

/** Runs the fixture one budget unit at a time up to the REP, then `more` units into it. */
async function interruptAt(more: number): Promise<Core> {
  let acks = 0;
  const core = await Core.load({ ramSize: 4 << 20, imports: { ...nullImports, ackInterrupt: () => (acks++ === 0 ? 0x20 : -1) } });
  core.ram.set(fixture, 0x1000);
  core.enterFlatProtectedMode(0x1000);
  for (let i = 0; i < 20 && core.eip !== repAt; i++) expect(core.run(1)).toBe(L.EXIT_BUDGET);
  expect(core.eip).toBe(repAt);
  for (let i = 0; i < more; i++) expect(core.run(1)).toBe(L.EXIT_BUDGET);
  core.intr = true;
  expect(core.run(1_000)).toBe(L.EXIT_HLT_DISABLED);
  return core;
}

describe("RF pushed by an external interrupt", () => {
  it("is 1 between two iterations of REP MOVSB", async () => {
    const core = await interruptAt(1);
    expect(core.reg(3)).toBe(repAt); // the REP, to be resumed
    expect(core.reg(1)).toBeGreaterThan(0); // ECX: iterations left
    expect(core.reg(1)).toBeLessThan(0x10000);
    expect(core.reg(2) & RF).toBe(RF);
  });

  it("is 0 before the REP's first iteration", async () => {
    const core = await interruptAt(0);
    expect(core.reg(3)).toBe(repAt);
    expect(core.reg(1)).toBe(0x10000);
    expect(core.reg(2) & RF).toBe(0);
  });
});
