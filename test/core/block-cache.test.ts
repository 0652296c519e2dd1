// The decoded-block cache (assembly/blocks.ts): blocks are cached per physical page, a write
// to the page discards them (from the guest's slow-path stores, and from the host through
// ramWritten), a page whose code shares it with written data stops being cached, and running
// out of block tables starts over without losing the instruction stream. Self-modifying code
// as the guest sees it is test/guests/smc (checked against the SDM's rules there).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Core } from "../../src/core.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { Machine } from "../../src/machine.js";
import { nullImports } from "../support/null-imports.js";

const CODE = 0x1000;

async function flatCore(ramSize: number, code: number[], at = CODE): Promise<Core> {
  const core = await Core.load({ ramSize, imports: nullImports });
  core.ram.set(code, at);
  core.ramWritten(at, code.length);
  core.enterFlatProtectedMode(at);
  return core;
}

function runToHlt(core: Core): void {
  for (let i = 0; i < 1000 && !core.halted; i++) core.run(100_000);
  expect(core.halted, "reached HLT").toBe(true);
}

/** The block-table word of guest physical page `pfn`: table index + 1 (low 16 bits), discards above. */
function codeMap(core: Core, pfn: number): number {
  return core.u32[(L.CODE_MAP_BASE >> 2) + pfn]!;
}

function invalidations(core: Core): number {
  return core.u32[L.COUNTER_CODE_INVALIDATIONS >> 2]!;
}

describe("decoded-block cache", () => {
  it("caches the blocks of an executed page, and a host write through ramWritten discards them", async () => {
    // mov eax, 1; add eax, 2; nop; hlt
    const core = await flatCore(1 << 20, [0xb8, 1, 0, 0, 0, 0x83, 0xc0, 2, 0x90, 0xf4]);
    runToHlt(core);
    expect(core.reg(0)).toBe(3);
    expect(codeMap(core, CODE >> 12) & 0xffff, "page 1 owns a block table").not.toBe(0);
    expect(codeMap(core, 0x80000 >> 12), "a page never executed owns none").toBe(0);

    core.ram[CODE + 1] = 5; // mov eax, 5
    core.ramWritten(CODE + 1, 1);
    expect(codeMap(core, CODE >> 12) & 0xffff, "the write discarded the table").toBe(0);
    expect(invalidations(core)).toBe(1);
    core.enterFlatProtectedMode(CODE);
    runToHlt(core);
    expect(core.reg(0)).toBe(7);
  });

  it("discards a page's blocks on a guest store to it, and stops caching a page whose code and data keep meeting", async () => {
    // 1000: mov [0x1800], ecx ; dec ecx ; jnz 1000 ; hlt   (ECX = 100: 100 stores into the code page)
    const core = await flatCore(1 << 20, [0x89, 0x0d, 0x00, 0x18, 0x00, 0x00, 0x49, 0x75, 0xf7, 0xf4]);
    core.setReg(1, 100);
    runToHlt(core);
    expect(core.reg(1), "ECX").toBe(0);
    expect(core.ram[0x1800], "the last store").toBe(1);
    // Each discard frees the table; the page's next block makes a new one, until the eighth.
    expect(invalidations(core)).toBe(8);
    expect(codeMap(core, 1), "uncached after 8 discards").toBe((8 << 16) | L.CODE_UNCACHED);
  });

  it("starts over when every block table is in use, and the code still runs in order", async () => {
    // A chain of JMP rel32 through more pages than there are tables, ending in INC EAX; HLT.
    const pages = L.CODE_TABLES + 100;
    const base = 0x100000;
    const core = await Core.load({ ramSize: base + (pages + 1) * 0x1000, imports: nullImports });
    for (let i = 0; i < pages; i++) {
      const at = base + i * 0x1000 + (i % 7) * 16;
      const target = base + (i + 1) * 0x1000 + ((i + 1) % 7) * 16;
      const rel = (target - (at + 5)) >>> 0;
      core.ram.set([0xe9, rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, rel >>> 24], at);
    }
    const end = base + pages * 0x1000 + (pages % 7) * 16;
    core.ram.set([0x40, 0xf4], end);
    core.ramWritten(base, (pages + 1) * 0x1000);
    for (let round = 1; round <= 2; round++) {
      core.enterFlatProtectedMode(base);
      core.setReg(0, 0);
      runToHlt(core);
      expect(core.reg(0), `round ${round}: INC EAX ran once`).toBe(1);
      expect(core.eip, `round ${round}: stopped after the HLT`).toBe(end + 2);
    }
    expect(invalidations(core), "starting over is not a discard").toBe(0);
  });

  // The debug build asserts, after every instruction inside a block, that the block is still on
  // its page: a disagreement between the block builder's lengths and the fast path's would
  // show there. Whole guests on that build: self-modifying code, paging, and compiled C.
  for (const image of ["smc/smc.elf", "paging/paging.elf", "cpu-bound/cpu-bound-quick.elf"]) {
    it(`runs ${image} on the debug build without a block leaving its page`, async () => {
      const m = await Machine.create({ memSize: 32 << 20, deterministic: true, debugCore: true });
      loadMultiboot(m, new Uint8Array(readFileSync(new URL(`../guests/${image}`, import.meta.url))), { name: image });
      const r = await m.run({ maxInstructions: 100_000_000, wallTimeoutMs: 120_000 });
      expect({ reason: r.reason, exitCode: r.exitCode }, r.message).toEqual({ reason: "debug-exit", exitCode: 1 });
      expect(m.serialOutput.trimEnd().split("\n").at(-1)).toBe("PASS");
    }, 120_000);
  }
});
