// RDMSR/WRMSR (SDM Vol. 2 and Vol. 4 "Model-Specific Registers"): the MSRs a 686 kernel
// touches, and #GP(0) for any other.

import { describe, it, expect } from "vitest";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

async function run(code: number[]): Promise<Core> {
  const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
  core.ram.set(code, 0x10000);
  core.enterFlatProtectedMode(0x10000);
  core.trapExceptions = true;
  return core;
}

describe("RDMSR/WRMSR", () => {
  it("IA32_BIOS_SIGN_ID (0x8B): the write-0/CPUID/read sequence gives microcode revision 0", async () => {
    // mov ecx, 0x8b; xor eax, eax; xor edx, edx; wrmsr; mov eax, 1; cpuid
    // mov ecx, 0x8b; mov eax, 0x11111111; mov edx, 0x22222222; rdmsr; hlt
    const core = await run([
      0xb9, 0x8b, 0, 0, 0, 0x31, 0xc0, 0x31, 0xd2, 0x0f, 0x30, 0xb8, 1, 0, 0, 0, 0x0f, 0xa2,
      0xb9, 0x8b, 0, 0, 0, 0xb8, 0x11, 0x11, 0x11, 0x11, 0xba, 0x22, 0x22, 0x22, 0x22, 0x0f, 0x32, 0xf4,
    ]);
    expect(core.run(100)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.reg(0)).toBe(0); // EAX: reserved, reads 0
    expect(core.reg(2)).toBe(0); // EDX: the update revision; none loaded
  });

  it("an MSR that is not implemented raises #GP(0), for RDMSR and WRMSR alike", async () => {
    for (const op of [0x32, 0x30]) {
      // mov ecx, 0x186 (IA32_PERFEVTSEL0: not implemented); rdmsr/wrmsr
      const core = await run([0xb9, 0x86, 0x01, 0, 0, 0x0f, op, 0xf4]);
      expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
      expect(core.lastException).toEqual({ vector: 13, error: 0 });
      expect(core.eip).toBe(0x10005);
    }
  });
});
