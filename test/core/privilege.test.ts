// Privilege transitions on a paged kernel whose GDT, IDT, TSS and kernel stack sit on
// supervisor-only pages: a ring-3 INT through a DPL-3 gate must still read them (implicit
// supervisor accesses, SDM Vol. 3 §4.6), and a far call through a call gate switches stacks (§5.8.5).

import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe("implicit supervisor accesses from ring 3", () => {
  it("delivers INT 0x80 from user mode through supervisor-only tables and returns", async () => {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    core.ram.set(fixture("ring3-kernel.bin"), 0x1000);
    core.ram.set(fixture("ring3-user.bin"), 0x5000);
    core.enterFlatProtectedMode(0x1000);
    // Only vectors 0x80 and 0x81 have gates: any fault would end in a triple fault.
    const reason = core.run(100_000);
    expect(reason).toBe(L.EXIT_HLT_DISABLED); // h81 is an interrupt gate: IF clear at its HLT
    expect(core.counters().exceptions).toBe(0);
    expect(core.reg(1)).toBe(0x1234); // the ring-0 handler's EBX, seen by user code after IRET
    expect(core.cpl).toBe(0);
    expect(core.segment(Seg.CS).selector).toBe(0x08);
    // the kernel stack holds the ring-3 frame of INT 0x81: EIP CS EFLAGS ESP SS
    const dv = new DataView(core.ram.buffer, core.ram.byteOffset);
    expect(core.reg(4)).toBe(0x8000 - 20);
    expect(dv.getUint32(0x8000 - 20, true)).toBe(0x5007);
    expect(dv.getUint32(0x8000 - 16, true)).toBe(0x1b);
    expect(dv.getUint32(0x8000 - 8, true)).toBe(0x7000 - 4);
    expect(dv.getUint32(0x8000 - 4, true)).toBe(0x23);
    expect(dv.getUint32(0x7000 - 4, true)).toBe(0x1234); // the user-mode push
  });
});

describe("call gates", () => {
  it("calls from ring 3 into ring 0 through a gate, copying parameters, and returns with RETF 8", async () => {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    core.ram.set(fixture("ring3-kernel.bin"), 0x1000);
    core.ram.set(fixture("ring3-callgate.bin"), 0x5000);
    core.enterFlatProtectedMode(0x1000);
    expect(core.run(100_000)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.counters().exceptions).toBe(0);
    expect(core.reg(0)).toBe(0x22); // [esp+8] on the ring-0 stack: the last parameter pushed
    expect(core.reg(2)).toBe(0x11);
    expect(core.reg(6)).toBe(0x10); // SS inside the gate: SS0 from the TSS
    expect(core.reg(3)).toBe(0x7000); // ring-3 ESP after RETF 8 released both parameters
  });
});
