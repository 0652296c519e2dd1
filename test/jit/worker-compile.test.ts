// Units compiled on the JIT's compiler thread (JitOptions compile "worker"): the core interprets a
// hot block until its unit has arrived, and the host installs the unit between runs only if the
// guest bytes it was decoded from are unchanged. Expected values are the interpreter's: a core
// without the JIT given the same runs and the same host writes.

import { describe, it, expect } from "vitest";
import { Core } from "../../src/core.js";
import type { JitOptions } from "../../src/jit/jit.js";
import { nullImports } from "../support/null-imports.js";

const RAM = 0x200000;
const CODE = 0x10000;
const STACK = 0x80000;
const LOOPS = 200_000;
const INC_EAX = 0x40;
const INC_EDX = 0x42;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A core at CODE: mov ecx, LOOPS; loop: inc eax; dec ecx; jnz loop; hlt. */
async function loopCore(jit: JitOptions | false): Promise<Core> {
  const core = await Core.load({ ramSize: RAM, imports: nullImports, jit });
  core.reset();
  core.trapExceptions = true;
  core.enterFlatProtectedMode(CODE);
  core.ram.set([0xb9, LOOPS & 0xff, (LOOPS >> 8) & 0xff, LOOPS >>> 16, 0, INC_EAX, 0x49, 0x75, 0xfc, 0xf4], CODE);
  core.setReg(0, 0);
  core.setReg(2, 0);
  core.setReg(4, STACK);
  return core;
}

/** What a guest can see of `core`: registers, EIP and the retired-instruction count. */
function observed(core: Core) {
  return { eax: core.reg(0), ecx: core.reg(1), edx: core.reg(2), eip: core.eip, instructions: core.instructions };
}

/** Wait (polling between sleeps, as a machine does between slices) until no compile is outstanding. */
async function settle(core: Core): Promise<void> {
  for (let i = 0; i < 6000 && core.jit!.stats.pending > 0; i++) {
    await sleep(10);
    core.jit!.poll();
  }
  expect(core.jit!.stats.pending).toBe(0);
}

describe("the JIT's compiler thread", () => {
  it("installs the units it compiles, and the guest sees what the interpreter gives", async () => {
    const cores = [await loopCore(false), await loopCore({ threshold: 1, compile: "worker" })];
    const [interpreted, compiled] = cores;
    interpreted.run(10_000_000);
    // Into the loop, then (the thread's answers in) on to its HLT.
    compiled.run(50);
    expect(compiled.jit!.stats.pending).toBeGreaterThan(0);
    await settle(compiled);
    compiled.run(10_000_000);
    expect(observed(compiled)).toEqual(observed(interpreted));
    expect(compiled.reg(0)).toBe(LOOPS);
    const stats = compiled.jit!.stats;
    expect(stats.asyncCompiled).toBeGreaterThan(0);
    expect(stats.unitsCompiled).toBe(stats.asyncCompiled);
    expect(stats.failed).toBe(0);
    expect(stats.asyncStale).toBe(0);
  }, 120_000);

  it("does not install a unit whose block was rewritten between the request and the answer", async () => {
    const cores = [await loopCore(false), await loopCore({ threshold: 1, compile: "worker" })];
    for (const core of cores) {
      // Into the loop: both block starts (CODE and the loop) are now asked for.
      core.run(50);
      // The loop's first instruction becomes inc edx, as a host write (a loader, a DMA).
      core.ram[CODE + 5] = INC_EDX;
      core.ramWritten(CODE + 5, 1);
    }
    const [interpreted, compiled] = cores;
    expect(compiled.jit!.stats.pending).toBeGreaterThan(0);
    await settle(compiled);
    // The loop's unit came back decoded from inc eax: not installed (nor CODE's, if it came
    // back after the write: its decoding read the loop's bytes too).
    expect(compiled.jit!.stats.asyncStale).toBeGreaterThan(0);
    const installedBefore = compiled.jit!.stats.unitsCompiled;
    for (let i = 0; i < 100_000 && compiled.eip !== CODE + 10; i++) {
      compiled.run(2_000);
      if (compiled.jit!.stats.pending > 0) await sleep(1);
    }
    interpreted.run(10_000_000);
    expect(observed(compiled)).toEqual(observed(interpreted));
    // The rewritten loop counted in EDX from there on.
    expect(compiled.reg(0) + compiled.reg(2)).toBe(LOOPS);
    expect(compiled.reg(2)).toBeGreaterThan(LOOPS - 50);
    // The loop was compiled again from its new bytes.
    expect(compiled.jit!.stats.unitsCompiled).toBeGreaterThan(installedBefore);
    expect(compiled.jit!.stats.failed).toBe(0);
  }, 120_000);
});
