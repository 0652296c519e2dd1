// The core's map of compiled units is direct mapped (assembly/jit/units.ts): two hot block
// starts that share an entry take it from each other in turn. The unit of the one that comes
// back is still live in the host's table, so the host must hand it back (after checking that
// the guest bytes it was compiled from are unchanged) rather than compile it again.

import { describe, it, expect } from "vitest";
import { Core } from "../../src/core.js";
import { JIT_ENTRIES } from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

const RAM = 0x200000;
const CODE = 0x10000;
const STACK = 0x80000;
const LOOPS = 1000;

/** The core's entryFor: the map index of host address `ip`. */
const entryOf = (ip: number) => ((ip ^ (ip >>> 13)) & (JIT_ENTRIES - 1)) >>> 0;

describe("JIT unit map collisions", () => {
  it("gives a block start back its live unit after a colliding one took its entry, and recompiles changed code", async () => {
    const core = await Core.load({ ramSize: RAM, imports: nullImports, jit: { threshold: 1 } });
    const base = core.ram.byteOffset;
    // CODE: mov ecx, LOOPS; loop: call f; back: dec ecx; jnz loop; hlt. f, on a page of its own
    // whose map entry is that of `back`, where the run loop enters a unit after each return (its
    // unit goes on through the jump to the call): inc eax; ret.
    const loop = CODE + 5;
    const back = loop + 5;
    let f = CODE + 0x2000;
    while (entryOf(base + f) !== entryOf(base + back)) f++;
    const call = f - (loop + 5);
    core.reset();
    core.trapExceptions = true;
    core.enterFlatProtectedMode(CODE);
    core.ram.set([0xb9, LOOPS & 0xff, LOOPS >> 8, 0, 0, 0xe8, call & 0xff, (call >> 8) & 0xff, (call >> 16) & 0xff, call >>> 24, 0x49, 0x75, 0xf8, 0xf4], CODE);
    core.ram.set([0x40, 0xc3], f);
    core.setReg(0, 0);
    core.setReg(4, STACK);
    core.run(100_000);
    expect(core.reg(0)).toBe(LOOPS);
    const stats = core.jit!.stats;
    // The code after the call and f: each compiled once.
    expect(stats.unitsCompiled).toBeLessThan(10);
    expect(stats.reused).toBeGreaterThan(LOOPS);
    // f rewritten by the host (inc eax twice): its old unit must not come back.
    core.ram.set([0x40, 0x40, 0xc3], f);
    core.ramWritten(f, 3);
    core.enterFlatProtectedMode(CODE);
    core.setReg(0, 0);
    core.setReg(4, STACK);
    core.run(100_000);
    expect(core.reg(0)).toBe(2 * LOOPS);
  });
});
