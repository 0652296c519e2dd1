// The local APIC timer's rate in deterministic mode, counted per instruction budget: virtual time
// is 10 ns per instruction, the timer's input is a 1 GHz bus clock through the divide
// configuration register (SDM Vol. 3A §10.5.4, figure 10-10), so a periodic timer with initial
// count N and divide D interrupts every N x D ns. Fixture: test/core/fixtures/apic-timer.asm.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Machine } from "../../src/machine.js";

const LOAD = 0x10000;
const TICKS_ADDR = 0x1006c;
const BUDGET = 1_000_000;
const NS_PER_INSTRUCTION = 10;

async function run(initialCount: number, divideValue: number): Promise<number> {
  const m = await Machine.create({ memSize: 1 << 20, deterministic: true, apic: true });
  m.ram.set(readFileSync(new URL("../core/fixtures/apic-timer.bin", import.meta.url)), LOAD);
  m.core.enterFlatProtectedMode(LOAD);
  m.core.setReg(L.REG_ECX, initialCount);
  m.core.setReg(L.REG_EDX, divideValue);
  const r = await m.run({ maxInstructions: BUDGET });
  expect(r.reason).toBe("max-instructions");
  return new DataView(m.ram.buffer, m.ram.byteOffset).getUint32(TICKS_ADDR, true);
}

describe("local APIC timer in deterministic mode", () => {
  // The periods all come to 16 µs: 625 of them in the 10 ms the budget lasts, but for the few
  // instructions before the timer starts.
  for (const [count, value, divide] of [
    [16000, 0xb, 1],
    [8000, 0x0, 2],
    [1000, 0x3, 16],
    [125, 0xa, 128],
  ] as const) {
    it(`periodic, initial count ${count}, divide ${divide} (value ${value.toString(16)}): one interrupt per ${count * divide} ns`, async () => {
      const expected = Math.floor((BUDGET * NS_PER_INSTRUCTION) / (count * divide));
      const got = await run(count, value);
      expect(got).toBeGreaterThanOrEqual(expected - 1);
      expect(got).toBeLessThanOrEqual(expected);
    });
  }
});
