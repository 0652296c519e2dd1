// RDPMC (SDM Vol. 2B RDPMC; CR4.PCE, Vol. 3 §2.5): allowed at CPL 0, or at any CPL when
// CR4.PCE is set, else #GP(0); on the P6 family ECX selects counter 0 or 1 and any other value
// raises #GP(0). Nothing is counted here, so the counters read 0.
//
// QEMU is no oracle for this one: under qemu-system-i386 7.2 (TCG) a guest's RDPMC raises #GP
// at CPL 3 with CR4.PCE clear, as here, but #UD in every other case (its helper is
// "unimplemented"). The SDM is followed.

import { describe, it, expect } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

const CODE = 0x10000;
const CR4_PCE = 0x100;

/** mov ecx, counter; mov eax, 0x11111111; mov edx, 0x22222222; rdpmc; hlt */
function rdpmcCode(counter: number): number[] {
  return [0xb9, counter & 0xff, 0, 0, 0, 0xb8, 0x11, 0x11, 0x11, 0x11, 0xba, 0x22, 0x22, 0x22, 0x22, 0x0f, 0x33, 0xf4];
}
const RDPMC_AT = CODE + 15;

async function run(code: number[], opts: { cpl3?: boolean; cr4?: number; real?: boolean } = {}): Promise<Core> {
  const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
  core.ram.set(code, CODE);
  if (opts.real) {
    core.setSegment(Seg.CS, CODE >> 4, CODE, 0xffff, 0x9b);
    core.eip = 0;
  } else {
    core.enterFlatProtectedMode(CODE);
    if (opts.cpl3) {
      // Ring 3 code and stack (DPL 3 descriptors in the caches, CPL 3).
      core.setSegment(Seg.CS, 0x1b, 0, 0xffffffff, 0xc0fb);
      core.setSegment(Seg.SS, 0x23, 0, 0xffffffff, 0xc0f3);
      core.u32[L.STATE_CPL >> 2] = 3;
    }
  }
  if (opts.cr4 !== undefined) core.setCr(4, opts.cr4);
  core.trapExceptions = true;
  return core;
}

describe("RDPMC", () => {
  it("at CPL 0 reads P6 counters 0 and 1 as 0 into EDX:EAX", async () => {
    for (const counter of [0, 1]) {
      const core = await run(rdpmcCode(counter));
      expect(core.run(100), `counter ${counter}`).toBe(L.EXIT_HLT_DISABLED);
      expect([core.reg(0), core.reg(2)]).toEqual([0, 0]);
    }
  });

  it("ECX other than 0 or 1 raises #GP(0) on the P6 family, at the RDPMC, registers untouched", async () => {
    for (const counter of [2, 0x40]) {
      const core = await run(rdpmcCode(counter));
      expect(core.run(100)).toBe(L.EXIT_EXCEPTION);
      expect(core.lastException).toEqual({ vector: 13, error: 0 });
      expect(core.eip).toBe(RDPMC_AT);
      expect([core.reg(0), core.reg(2)]).toEqual([0x11111111, 0x22222222]);
    }
  });

  it("at CPL 3: #GP(0) with CR4.PCE clear, the counter with CR4.PCE set", async () => {
    const denied = await run(rdpmcCode(0), { cpl3: true });
    expect(denied.run(100)).toBe(L.EXIT_EXCEPTION);
    expect(denied.lastException).toEqual({ vector: 13, error: 0 });
    expect(denied.eip).toBe(RDPMC_AT);
    const allowed = await run(rdpmcCode(0), { cpl3: true, cr4: CR4_PCE });
    // HLT at CPL 3 is #GP(0): it comes after RDPMC, which must have completed.
    expect(allowed.run(100)).toBe(L.EXIT_EXCEPTION);
    expect(allowed.eip).toBe(RDPMC_AT + 2);
    expect([allowed.reg(0), allowed.reg(2)]).toEqual([0, 0]);
  });

  it("in real-address mode reads the counter (no CPL check there)", async () => {
    // The 16-bit forms: mov cx, 1; mov ax/dx, junk; rdpmc; hlt.
    const core = await run([0xb9, 1, 0, 0xb8, 0x11, 0x11, 0xba, 0x22, 0x22, 0x0f, 0x33, 0xf4], { real: true });
    expect(core.run(100)).toBe(L.EXIT_HLT_DISABLED);
    expect([core.reg(0), core.reg(2)]).toEqual([0, 0]);
  });

  it("MOV CR4 accepts PCE (bit 8)", async () => {
    // mov eax, 0x100; mov cr4, eax; hlt
    const core = await run([0xb8, 0, 1, 0, 0, 0x0f, 0x22, 0xe0, 0xf4]);
    expect(core.run(100)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.cr(4)).toBe(CR4_PCE);
  });
});
