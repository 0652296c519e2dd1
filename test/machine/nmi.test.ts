// The NMI input (SDM Vol. 3 §6.7.1) and the APIC paths to it: taken with IF clear and out of
// HLT, blocked from delivery until the handler's IRET; the board's NMI through port 0x70's gate
// and LINT1 as its LVT entry says; INIT to itself as a reset, as QEMU. Real-mode code: the IVT's
// vector 2 points at a handler that counts and returns. The whole-guest checks under QEMU are in
// test/guests/apic.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Seg } from "../../src/core.js";
import { APIC_ICR_LOW, APIC_LVT_LINT1 } from "../../src/devices/local-apic.js";
import { Machine } from "../../src/machine.js";

const CODE = 0x1000;
const HANDLER = 0x2000;
const COUNT = 0x3000;

/** cli; hlt; hlt; hlt at CODE, and vector 2's handler: inc word [COUNT]; iret. */
async function machine(apic: boolean): Promise<Machine> {
  const m = await Machine.create({ memSize: 1 << 20, deterministic: true, apic });
  m.ram.set([0xfa, 0xf4, 0xf4, 0xf4], CODE);
  m.ram.set([0xff, 0x06, COUNT & 0xff, COUNT >> 8, 0xcf], HANDLER);
  new DataView(m.ram.buffer, m.ram.byteOffset).setUint32(2 * 4, HANDLER, true); // IVT[2] = 0000:HANDLER
  const cs = m.core.segment(Seg.CS);
  m.core.setSegment(Seg.CS, 0, 0, cs.limit, cs.attr);
  m.core.eip = CODE;
  return m;
}

const count = (m: Machine) => new DataView(m.ram.buffer, m.ram.byteOffset).getUint16(COUNT, true);
const nmiState = (m: Machine) => m.core.u32[L.STATE_NMI >> 2];

describe("NMI", () => {
  it("wakes HLT with IF clear, runs vector 2's handler and returns to the next HLT", async () => {
    const m = await machine(false);
    expect((await m.run()).reason).toBe("hlt-disabled");
    expect(m.core.eip).toBe(CODE + 2);
    m.nmi();
    expect((await m.run()).reason).toBe("hlt-disabled");
    expect(count(m)).toBe(1);
    expect(m.core.eip).toBe(CODE + 3);
    expect(m.core.eflags & 0x200).toBe(0);
  });

  it("a second NMI during the handler waits for its IRET", async () => {
    const m = await machine(false);
    await m.run();
    m.nmi();
    m.core.run(1); // delivers the NMI, then the handler's INC
    expect(count(m)).toBe(1);
    m.nmi();
    expect(nmiState(m)).toBe(L.NMI_PENDING | L.NMI_BLOCKED);
    m.core.run(1); // the IRET, and right after it the second NMI
    expect(m.core.eip).toBe(HANDLER);
    expect(count(m)).toBe(1);
    expect(nmiState(m)).toBe(L.NMI_BLOCKED);
    const sp = m.core.segment(Seg.SS).base + (m.core.reg(L.REG_ESP) & 0xffff);
    expect(new DataView(m.ram.buffer, m.ram.byteOffset).getUint16(sp, true)).toBe(CODE + 2); // where it returns
    m.core.run(1);
    expect(count(m)).toBe(2);
  });

  it("from the board: gated by port 0x70 bit 7, then LINT1 as its LVT entry says", async () => {
    const m = await machine(true);
    await m.run();
    m.bus.write(0x70, 0x80, 1); // NMI masked at the chipset
    m.nmi();
    expect(nmiState(m)).toBe(0);
    m.bus.write(0x70, 0x00, 1);
    m.localApic!.write(APIC_LVT_LINT1, 0x10400, 4); // NMI, masked
    m.nmi();
    expect(nmiState(m)).toBe(0);
    m.localApic!.write(APIC_LVT_LINT1, 0x400, 4); // NMI, as the BIOS leaves it
    m.nmi();
    expect(nmiState(m)).toBe(L.NMI_PENDING);
    expect((await m.run()).reason).toBe("hlt-disabled");
    expect(count(m)).toBe(1);
  });

  it("self-IPIs: NMI raises one (the vector ignored); INIT resets the machine", async () => {
    const m = await machine(true);
    await m.run();
    m.localApic!.write(APIC_ICR_LOW, (1 << 18) | (4 << 8) | 0x33, 4);
    expect(nmiState(m)).toBe(L.NMI_PENDING);
    m.localApic!.write(APIC_ICR_LOW, (3 << 18) | (4 << 8), 4); // all excluding self: nobody
    await m.run();
    expect(count(m)).toBe(1);
    m.localApic!.write(APIC_ICR_LOW, (1 << 18) | (5 << 8), 4); // INIT level de-assert: nothing
    expect((await m.run()).reason).toBe("hlt-disabled");
    m.localApic!.write(APIC_ICR_LOW, (1 << 18) | (1 << 14) | (5 << 8), 4);
    const r = await m.run();
    expect(r.reason).toBe("reset");
    expect(r.message).toMatch(/INIT IPI to itself/);
  });
});
