// Near jumps on the run loop's fast path, which computes a jump's target as a host address on
// the code page's mapping: the corner cases where that address means something else.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Core } from "../../src/core.js";
import { nullImports } from "../support/null-imports.js";

const UD = 6;

async function flatCore(code: number[], at: number): Promise<Core> {
  const core = await Core.load({ ramSize: 2 << 20, imports: nullImports });
  core.ram.set(code, at);
  core.ramWritten(at, code.length);
  core.enterFlatProtectedMode(at);
  core.setReg(4, 0x8000);
  core.trapExceptions = true;
  return core;
}

function rel32(from: number, to: number): number[] {
  const r = (to - from) >>> 0;
  return [r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24];
}

describe("fast-path near jumps", () => {
  it("a CALL whose target maps to host address 0 pushes once and lands on its target", async () => {
    // Untranslated RAM: a target EIP's host address is RAM_BASE + EIP, which wraps to 0 here.
    // The fast path's 0 means "not handled"; taken as that, the CALL would run twice.
    const target = (2 ** 32 - L.RAM_BASE) >>> 0;
    // push eax; pop eax first: the stack page is then in the TLB, so the CALL takes the fast path.
    const core = await flatCore([0x50, 0x58, 0xe8, ...rel32(0x1007, target)], 0x1000);
    core.run(10);
    // Outside RAM every byte reads 0xFF: FF FF is FF /7, which is #UD, at the target.
    expect(core.lastException.vector).toBe(UD);
    expect(core.eip >>> 0).toBe(target);
    expect(core.reg(4), "ESP: one push").toBe(0x8000 - 4);
    expect(core.ram[0x7ffc]! | (core.ram[0x7ffd]! << 8), "the return address").toBe(0x1007);
  });

  it("a jump from an instruction that straddles a page end lands on its target", async () => {
    // 100ffb: test eax, eax (ZF = 0); 100ffd: jnz rel32 (0F 85 + 4 bytes, to 101003) back to
    // 1000: hlt. The jnz runs from a copy in the core's fetch scratch; measured from the copy,
    // this target is a host address low in the core's own memory, which the page check passes.
    const core = await flatCore([0x85, 0xc0, 0x0f, 0x85, ...rel32(0x101003, 0x1000)], 0x100ffb);
    core.ram[0x1000] = 0xf4;
    core.ramWritten(0x1000, 1);
    core.setReg(0, 1);
    core.run(10);
    expect(core.halted).toBe(true);
    expect(core.eip >>> 0).toBe(0x1001);
    expect(core.instructions).toBe(3);
  });
});
