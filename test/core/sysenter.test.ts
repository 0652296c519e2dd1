// SYSENTER/SYSEXIT (SDM Vol. 2): fixed flat descriptor caches derived from IA32_SYSENTER_CS,
// ESP/EIP from the MSRs on entry and from ECX/EDX on exit, CPL 0 and 3.

import { describe, it, expect } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

// nasm (ORG 0x10000, BITS 32):
//   wrmsr 0x174 <- 0x10; wrmsr 0x175 <- 0x8000; wrmsr 0x176 <- kentry
//   mov ecx, 0x9000; mov edx, user; sysexit
// user: mov eax, cs; mov ebx, ss; sysenter
// kentry: hlt
const CODE =
  "b97401000031d2b8100000000f30b975010000b8008000000f30b976010000b8380001000f30b900900000ba3200" +
  "01000f358cc88cd30f34f4";

describe("SYSENTER/SYSEXIT", () => {
  it("drops to ring 3 and comes back through the MSRs", async () => {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    core.ram.set(Buffer.from(CODE, "hex"), 0x10000);
    core.enterFlatProtectedMode(0x10000);
    core.eflags = 0x202;
    expect(core.run(100)).toBe(L.EXIT_HLT_DISABLED); // SYSENTER cleared IF
    expect(core.reg(0)).toBe(0x23); // CS in ring 3: SYSENTER_CS + 16, RPL 3
    expect(core.reg(3)).toBe(0x2b); // SS in ring 3: SYSENTER_CS + 24, RPL 3
    expect(core.cpl).toBe(0);
    expect(core.segment(Seg.CS)).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc09b });
    expect(core.segment(Seg.SS)).toEqual({ selector: 0x18, base: 0, limit: 0xffffffff, attr: 0xc093 });
    expect(core.reg(4)).toBe(0x8000);
    expect(core.eflags & 0x200).toBe(0); // SYSENTER clears IF
  });

  it("raises #GP(0) when IA32_SYSENTER_CS is null", async () => {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    core.ram.set([0x0f, 0x34], 0x10000);
    core.enterFlatProtectedMode(0x10000);
    core.trapExceptions = true;
    expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException).toEqual({ vector: 13, error: 0 });
    expect(core.eip).toBe(0x10000);
  });
});
