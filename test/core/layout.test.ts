// The layout file is the one map of linear memory, read by core and host alike: regions must not overlap, the
// host's views must sit where the core writes, and bad RAM sizes must be refused up front.

import { describe, it, expect } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";


describe("layout", () => {
  it("orders its regions without overlap, RAM page aligned", () => {
    const regions: [string, number, number][] = [
      ["state", L.STATE_BASE, L.STATE_SIZE],
      ["tlb", L.TLB_BASE, L.TLB_SIZE],
      ["tlb list", L.TLB_LIST_BASE, L.TLB_LIST_SIZE],
      ["vmi pages", L.VMI_AREA_BASE, L.VMI_AREA_SIZE],
    ];
    let end = L.LAYOUT_BASE;
    for (const [name, base, size] of regions) {
      expect(base, name).toBeGreaterThanOrEqual(end);
      end = base + size;
    }
    expect(L.RAM_BASE).toBeGreaterThanOrEqual(end);
    expect(L.RAM_BASE % 4096).toBe(0);
    // every state field lies inside the state block
    for (const [name, off] of Object.entries(L)) {
      if (name.startsWith("STATE_") && name !== "STATE_BASE" && name !== "STATE_SIZE" && typeof off === "number") {
        expect(off - L.STATE_BASE, name).toBeLessThan(L.STATE_SIZE);
      }
    }
    // no two state fields share an offset
    const fields = Object.entries(L).filter(
      ([n, v]) => typeof v === "number" && /^STATE_/.test(n) && !["STATE_BASE", "STATE_SIZE"].includes(n),
    );
    const byOffset = new Map<number, string>();
    for (const [n, v] of fields) {
      expect(byOffset.get(v as number), `${n} collides`).toBeUndefined();
      byOffset.set(v as number, n);
    }
    expect(L.COUNTER_NAMES.split(",").length).toBe(L.COUNTER_COUNT);
    expect(L.COUNTER_BASE + L.COUNTER_COUNT * 8).toBeLessThanOrEqual(L.FPU_BASE);
  });

  it("gives the host views onto exactly what the core executes", async () => {
    const core = await Core.load({ ramSize: 2 << 20, imports: nullImports });
    // mov eax, [0x1000]; add eax, ebx; mov [0x1004], eax; hlt
    core.ram.set([0xa1, 0x00, 0x10, 0, 0, 0x01, 0xd8, 0xa3, 0x04, 0x10, 0, 0, 0xf4], 0x8000);
    new DataView(core.ram.buffer, core.ram.byteOffset).setUint32(0x1000, 0x11223344, true);
    core.enterFlatProtectedMode(0x8000);
    core.setReg(3, 0x01010101);
    expect(core.run(100)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.reg(0)).toBe(0x12233445);
    expect(new DataView(core.ram.buffer, core.ram.byteOffset).getUint32(0x1004, true)).toBe(0x12233445);
    expect(core.eip).toBe(0x800d);
    expect(core.segment(Seg.CS)).toEqual({ selector: 0x08, base: 0, limit: 0xffffffff, attr: 0xc09b });
    expect(core.counters().instructions).toBe(4);
  });

  it("refuses RAM sizes it cannot map", async () => {
    for (const bad of [0, 4095, L.RAM_MIN - 4096, L.RAM_MAX + 4096, 1.5 * 2 ** 20 + 1]) {
      await expect(Core.load({ ramSize: bad, imports: nullImports })).rejects.toThrow(/guest RAM size/);
    }
  });

  it("starts in real mode at F000:FFF0 after reset (SDM Vol. 3 §9.1.1)", async () => {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    expect(core.eip).toBe(0xfff0);
    expect(core.segment(Seg.CS).base).toBe(0xffff0000);
    expect(core.cr(0)).toBe(0x60000010);
    expect(core.eflags).toBe(2);
  });
});
