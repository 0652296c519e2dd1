// The 82093AA I/O APIC (data sheet 290566) through IOREGSEL/IOWIN, as a driver programs it, with a
// recording local APIC; and the MP table that describes it (MP spec 1.4, chapter 4).
import { describe, expect, it } from "vitest";
import { IOREGSEL, IOWIN, IoApic } from "../../src/devices/io-apic.js";
import { MP_TABLE_BASE, buildMpTable } from "../../src/mp-table.js";

function make() {
  const sent: { vector: number; level: boolean }[] = [];
  const io = new IoApic({
    matchesDestination: (dest, logical) => (logical ? (dest & 1) !== 0 : dest === 0),
    accept: (vector, level) => sent.push({ vector, level }),
    acceptNmi: () => sent.push({ vector: 2, level: false }),
    routingChanged: () => {},
  });
  const reg = (i: number, v?: number) => {
    io.write(IOREGSEL, i, 4);
    if (v === undefined) return io.read(IOWIN, 4);
    io.write(IOWIN, v, 4);
    return 0;
  };
  return { io, sent, reg };
}

describe("I/O APIC", () => {
  it("has ID, version (0x11, 24 entries) and arbitration registers, every entry masked at reset", () => {
    const { reg } = make();
    expect(reg(1)).toBe(0x00170011);
    expect(reg(0) >>> 24).toBe(reg(2) >>> 24);
    for (let pin = 0; pin < 24; pin++) expect(reg(0x10 + 2 * pin) & (1 << 16)).not.toBe(0);
  });

  it("edge entry: one message per rising edge, none while masked or for another destination", () => {
    const { io, sent, reg } = make();
    reg(0x11 + 4, 0);
    reg(0x10 + 4, 0x62); // pin 2: fixed, edge, physical dest 0
    io.setInput(2, true);
    io.setInput(2, true);
    io.setInput(2, false);
    io.setInput(2, true);
    expect(sent).toEqual([{ vector: 0x62, level: false }, { vector: 0x62, level: false }]);
    reg(0x11 + 4, 0x05000000); // physical APIC ID 5: nobody here
    io.setInput(2, false);
    io.setInput(2, true);
    expect(sent.length).toBe(2);
  });

  it("NMI entry: an NMI message per rising edge, even programmed level (82093AA §3.2.4); no remote IRR", () => {
    const { io, sent, reg } = make();
    reg(0x11 + 4, 0);
    reg(0x10 + 4, (1 << 15) | (4 << 8) | 0x77); // pin 2: NMI, level, the vector ignored
    io.setInput(2, true);
    io.setInput(2, true);
    io.setInput(2, false);
    io.setInput(2, true);
    expect(sent).toEqual([{ vector: 2, level: false }, { vector: 2, level: false }]);
    expect(reg(0x10 + 4) & (1 << 14)).toBe(0);
  });

  it("ExtINT on pin 0 passes the 8259A's INT while unmasked and for our APIC; no message", () => {
    const { io, sent, reg } = make();
    expect(io.passesPic()).toBe(false);
    reg(0x11, 0);
    reg(0x10, 7 << 8);
    expect(io.passesPic()).toBe(true);
    io.setInput(0, true);
    expect(sent).toEqual([]);
    reg(0x11, 0x05000000);
    expect(io.passesPic()).toBe(false);
    reg(0x11, 0);
    reg(0x10, (1 << 16) | (7 << 8));
    expect(io.passesPic()).toBe(false);
  });

  it("level entry: remote IRR holds it until the EOI, which resends while the pin stays asserted", () => {
    const { io, sent, reg } = make();
    reg(0x11 + 8, 0x01000000);
    reg(0x10 + 8, (1 << 15) | (1 << 11) | 0x64); // pin 4: level, logical dest 1
    io.setInput(4, true);
    io.setInput(4, true);
    expect(sent).toEqual([{ vector: 0x64, level: true }]);
    expect(reg(0x10 + 8) & (1 << 14)).not.toBe(0);
    io.eoi(0x64);
    expect(sent.length).toBe(2);
    io.setInput(4, false);
    io.eoi(0x64);
    expect(sent.length).toBe(2);
    expect(reg(0x10 + 8) & (1 << 14)).toBe(0);
  });
});

describe("MP table", () => {
  it("has a floating pointer and a configuration table whose bytes each sum to 0 (MP spec 4.1, 4.2)", () => {
    const t = buildMpTable({ cpuSignature: 0x619, cpuFeatures: 0, localApicVersion: 0x10, ioApicId: 1, ioApicVersion: 0x11 });
    const text = (o: number, n: number) => String.fromCharCode(...t.subarray(o, o + n));
    const sum = (a: Uint8Array) => a.reduce((s, b) => (s + b) & 0xff, 0);
    expect(text(0, 4)).toBe("_MP_");
    expect(sum(t.subarray(0, 16))).toBe(0);
    const dv = new DataView(t.buffer);
    expect(dv.getUint32(4, true)).toBe(MP_TABLE_BASE + 16);
    expect(text(16, 4)).toBe("PCMP");
    const length = dv.getUint16(16 + 4, true);
    expect(16 + length).toBe(t.length);
    expect(sum(t.subarray(16))).toBe(0);
    // Entries: processor (20 bytes), bus, I/O APIC, 16 I/O interrupts (ExtINT + 15 ISA IRQs), 2 local.
    expect(dv.getUint16(16 + 34, true)).toBe(1 + 1 + 1 + 16 + 2);
    // IRQ 0 goes to pin 2.
    const irq0 = 16 + 44 + 20 + 8 + 8 + 8;
    expect([...t.subarray(irq0, irq0 + 8)]).toEqual([3, 0, 0, 0, 0, 0, 1, 2]);
  });
});
