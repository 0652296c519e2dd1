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

describe("INT n from ring 3 through a DPL-0 gate", () => {
  // SDM Vol. 3 §6.12.1.1: #GP with error code n*8+2 (IDT bit set, EXT clear), pushed EIP that
  // of the INT instruction. It is a first exception: software interrupts are benign in the
  // double-fault table (§6.15, Table 6-5), so n = 8 or a contributory n changes nothing.
  for (const n of [0, 3, 4, 8, 10, 11, 12, 13, 14, 0x1f]) {
    it(`int ${n} gives #GP(${n * 8 + 2}) at the INT, not a double or triple fault`, async () => {
      const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
      core.ram.set(fixture("ring3-int-gp.bin"), 0x1000);
      core.ram.set([0xcd, n], 0x5000); // int n
      core.enterFlatProtectedMode(0x1000);
      expect(core.run(100_000)).toBe(L.EXIT_HLT_DISABLED);
      expect(core.counters().exceptions).toBe(1);
      expect(core.reg(0)).toBe(n * 8 + 2); // the #GP handler's error code
      expect(core.reg(3)).toBe(0x5000); // the faulting INT
      expect(core.reg(1)).toBe(0x1b); // from ring 3
    });
  }
});

describe("an external interrupt whose gate faults", () => {
  // IRQ0 at vector 8 (the PIC's BIOS mapping) through a not-present gate: #NP with error code
  // 8*8+2+1 (IDT and EXT set), a first exception, since external interrupts are benign in the
  // double-fault table (SDM Vol. 3 §6.15, Table 6-5): not a triple fault for "vector 8".
  it("raises #NP(0x43) for vector 8, delivered as a first exception", async () => {
    let acks = 0;
    const core = await Core.load({ ramSize: 1 << 20, imports: { ...nullImports, ackInterrupt: () => (acks++ === 0 ? 8 : -1) } });
    core.ram.set(fixture("ring3-int-gp.bin"), 0x1000);
    core.ram.set([0xeb, 0xfe], 0x5000); // jmp $ in ring 3, IF set
    const dv = new DataView(core.ram.buffer, core.ram.byteOffset);
    const idtr = dv.getUint32(0x100a, true); // lidt [idtr] is the second instruction: 0F 01 1D idtr
    const gate8 = dv.getUint32(idtr + 2, true) + 8 * 8;
    core.ram[gate8 + 5] &= 0x7f; // clear P
    core.enterFlatProtectedMode(0x1000);
    expect(core.run(1_000)).toBe(L.EXIT_BUDGET);
    core.intr = true;
    expect(core.run(1_000)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.reg(0)).toBe(0x43);
    expect(core.reg(1)).toBe(0x1b); // interrupted in ring 3
  });
});

describe("task gates and RDPMC from ring 3", () => {
  /** Runs `code` at ring 3, IDT gate 5 replaced by a DPL-3 task gate naming `tss` when asked. */
  async function ring3(code: number[], taskGate?: { tss: number; present: boolean }, onlyNp = false) {
    const core = await Core.load({ ramSize: 1 << 20, imports: nullImports });
    core.ram.set(fixture("ring3-int-gp.bin"), 0x1000);
    core.ram.set(code, 0x5000);
    const dv = new DataView(core.ram.buffer, core.ram.byteOffset);
    const idt = dv.getUint32(dv.getUint32(0x100a, true) + 2, true);
    if (taskGate) {
      dv.setUint32(idt + 5 * 8, taskGate.tss << 16, true);
      dv.setUint32(idt + 5 * 8 + 4, ((taskGate.present ? 0x80 : 0) | 0x65) << 8, true);
    }
    // #GP to the handler that leaves EAX = 0xdead (gate 0's), so only #NP records its error code
    if (onlyNp) core.ram.copyWithin(idt + 13 * 8, idt, idt + 8);
    core.enterFlatProtectedMode(0x1000);
    expect(core.run(100_000)).toBe(L.EXIT_HLT_DISABLED);
    return core;
  }

  // SDM Vol. 2A INT n, TASK-GATE: the gate's P is checked like any gate's (#NP(n*8+2)), then
  // the TSS selector: not an available TSS is #GP(TSS selector). QEMU 7.2 agrees.
  it("int 5 through a not-present DPL-3 task gate raises #NP(0x2a)", async () => {
    const core = await ring3([0xcd, 0x05], { tss: 0x28, present: false }, true);
    expect(core.counters().exceptions).toBe(1);
    expect(core.reg(0)).toBe(0x2a);
    expect(core.reg(3)).toBe(0x5000);
  });
  it("int 5 through a task gate naming a code segment or the busy TSS raises #GP(selector)", async () => {
    for (const tss of [0x08, 0x28]) {
      const core = await ring3([0xcd, 0x05], { tss, present: true });
      expect(core.reg(0)).toBe(tss);
      expect(core.reg(3)).toBe(0x5000);
    }
  });

  // SDM Vol. 2B RDPMC: outside ring 0 with CR4.PCE clear, #GP(0) (not #UD: the instruction exists).
  it("rdpmc at ring 3 raises #GP(0)", async () => {
    const core = await ring3([0x0f, 0x33]);
    expect(core.reg(0)).toBe(0);
    expect(core.reg(3)).toBe(0x5000);
    expect(core.reg(1)).toBe(0x1b);
  });
});
