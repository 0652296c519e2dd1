// A fault while delivering #DF shuts the processor down (SDM Vol. 3 §6.15, interrupt 8): the
// core must stop with EXIT_TRIPLE_FAULT, whether the first event was a fault or an INT.

import { describe, it, expect } from "vitest";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

async function withEmptyIdt(code: number[]): Promise<Core> {
  const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
  // lidt [0x2000] (limit 0, base 0), then the code under test
  core.ram.set([0x0f, 0x01, 0x1d, 0x00, 0x20, 0x00, 0x00, ...code], 0x1000);
  core.enterFlatProtectedMode(0x1000);
  core.setReg(4, 0x8000);
  return core;
}

describe("triple fault", () => {
  for (const [name, code] of [
    ["int3", [0xcc, 0xf4]],
    ["int 0x80", [0xcd, 0x80, 0xf4]],
    ["ud2", [0x0f, 0x0b, 0xf4]],
    ["divide by zero", [0x31, 0xc9, 0xf7, 0xf1, 0xf4]],
  ] as const) {
    it(`stops the machine after ${name} with no usable IDT`, async () => {
      const core = await withEmptyIdt([...code]);
      expect(core.run(1000)).toBe(L.EXIT_TRIPLE_FAULT);
      expect(core.counters().instructions).toBeLessThan(10);
    });
  }
});
