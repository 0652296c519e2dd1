// The 8259A pair poked as a driver pokes it, expectations from the Intel 8259A data sheet.
import { beforeEach, describe, expect, it } from "vitest";
import { PortBus } from "../../src/devices/bus.js";
import { DualPic8259 } from "../../src/devices/pic8259.js";

let intr: boolean;
let pic: DualPic8259;
let bus: PortBus;
const out = (port: number, v: number) => bus.write(port, v, 1);
const inb = (port: number) => bus.read(port, 1);

/** The initialization Linux and our guests use: edge, cascade, ICW4; vectors 0x20/0x28; 8086 mode. */
function init(masterMask = 0x00, slaveMask = 0x00, icw4 = 0x01): void {
  out(0x20, 0x11);
  out(0xa0, 0x11);
  out(0x21, 0x20);
  out(0xa1, 0x28);
  out(0x21, 0x04);
  out(0xa1, 0x02);
  out(0x21, icw4);
  out(0xa1, icw4);
  out(0x21, masterMask);
  out(0xa1, slaveMask);
}
const pulse = (irq: number) => {
  pic.setIrq(irq, true);
  pic.setIrq(irq, false);
};
const readIsr = (port: number) => (out(port, 0x0b), inb(port));
const readIrr = (port: number) => (out(port, 0x0a), inb(port));

beforeEach(() => {
  intr = false;
  pic = new DualPic8259((level) => (intr = level));
  bus = new PortBus();
  bus.claim(0x20, pic.master);
  bus.claim(0xa0, pic.slave);
  bus.claim(0x4d0, pic.elcr);
});

describe("8259A pair", () => {
  it("ICW1 clears the IMR; OCW1 sets it; reads of A0=1 return it", () => {
    out(0x21, 0x5a);
    expect(inb(0x21)).toBe(0x5a);
    init(0xfb, 0xff);
    expect(inb(0x21)).toBe(0xfb);
    expect(inb(0xa1)).toBe(0xff);
  });

  it("delivers by fixed priority (IR0 highest), sets ISR and clears IRR on INTA, and nests only higher priorities", () => {
    init();
    pulse(3);
    pulse(1);
    expect(intr).toBe(true);
    expect(readIrr(0x20)).toBe(0x0a);
    expect(pic.acknowledge()).toBe(0x21);
    expect(readIsr(0x20)).toBe(0x02);
    expect(readIrr(0x20)).toBe(0x08);
    // IR3 waits: IR1 is in service and has higher priority.
    expect(intr).toBe(false);
    pulse(0);
    expect(intr).toBe(true); // IR0 outranks the in-service IR1
    expect(pic.acknowledge()).toBe(0x20);
    expect(readIsr(0x20)).toBe(0x03);
    out(0x20, 0x20); // non-specific EOI ends the highest in service: IR0
    expect(readIsr(0x20)).toBe(0x02);
    expect(intr).toBe(false);
    out(0x20, 0x20);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it("holds a masked request in IRR and delivers it once unmasked", () => {
    init(0x01);
    pulse(0);
    expect(intr).toBe(false);
    expect(readIrr(0x20)).toBe(0x01);
    out(0x21, 0x00);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("is edge triggered: a line held high requests once; it must fall and rise again", () => {
    init();
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0x20);
    pic.setIrq(0, true);
    expect(intr).toBe(false);
    pic.setIrq(0, false);
    pic.setIrq(0, true);
    expect(intr).toBe(true);
  });

  it("cascades the slave through IR2: the slave's vector, ISR bits in both chips, EOI to both", () => {
    init();
    pulse(10);
    expect(intr).toBe(true);
    expect(readIrr(0x20)).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(readIsr(0x20)).toBe(0x04);
    expect(readIsr(0xa0)).toBe(0x04);
    // IRQ 9 has higher priority than 10 inside the slave, but the master's IR2 is in service.
    pulse(9);
    expect(intr).toBe(false);
    out(0xa0, 0x20);
    out(0x20, 0x20);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it("masks the whole slave through the master's IR2 bit", () => {
    init(0x04);
    pulse(14);
    expect(intr).toBe(false);
    out(0x21, 0x00);
    expect(pic.acknowledge()).toBe(0x2e);
  });

  it("routes ISA IRQ2 to IRQ9, as the AT bus wires it", () => {
    init();
    pulse(2);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it("specific EOI ends the named level only", () => {
    init();
    pulse(5);
    pic.acknowledge();
    pulse(4);
    pic.acknowledge();
    expect(readIsr(0x20)).toBe(0x30);
    out(0x20, 0x65); // specific EOI, level 5
    expect(readIsr(0x20)).toBe(0x10);
  });

  it("rotates priorities: rotate on non-specific EOI makes the served level the lowest", () => {
    init();
    pulse(1);
    pic.acknowledge();
    out(0x20, 0xa0); // rotate on non-specific EOI: IR1 becomes lowest, IR2 highest
    pulse(1);
    pulse(3);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0xc4); // set priority: IR4 lowest → IR5 highest … IR1 before IR4
    out(0x20, 0x20);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it("auto-EOI leaves no ISR bit", () => {
    init(0, 0, 0x03);
    pulse(6);
    expect(pic.acknowledge()).toBe(0x26);
    expect(readIsr(0x20)).toBe(0x00);
  });

  it("answers a withdrawn request with the spurious IR7 vector and no ISR bit", () => {
    init();
    pulse(3);
    expect(intr).toBe(true);
    out(0x21, 0x08); // masked between INTR and INTA
    expect(pic.acknowledge()).toBe(0x27);
    expect(readIsr(0x20)).toBe(0);
  });

  it("special mask mode lets lower levels through a masked in-service level", () => {
    init();
    pulse(1);
    pic.acknowledge();
    pulse(5);
    expect(intr).toBe(false);
    out(0x21, 0x02); // mask IR1 (in service)
    out(0x20, 0x68); // OCW3: set special mask mode
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("poll command: the next read of A0=0 acknowledges and reports the level", () => {
    init();
    pulse(6);
    out(0x20, 0x0c); // OCW3 with P
    expect(inb(0x20)).toBe(0x86);
    expect(readIsr(0x20)).toBe(0x40);
    out(0x20, 0x0c);
    expect(inb(0x20)).toBe(0x00);
  });

  it("ELCR makes a line level triggered: IRR follows the level, and the reserved bits stay 0", () => {
    init();
    out(0x4d1, 0xff);
    expect(inb(0x4d1)).toBe(0xde);
    out(0x4d0, 0xff);
    expect(inb(0x4d0)).toBe(0xf8);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    out(0x20, 0x20);
    expect(intr).toBe(true); // still high: requests again without a new edge
    pic.setIrq(3, false);
    expect(intr).toBe(false);
    expect(readIrr(0x20)).toBe(0);
  });

  it("a slave request withdrawn before INTA leaves the master's latched IR2: the slave answers IR7 (spurious)", () => {
    init();
    out(0x4d1, 0x08);
    pic.setIrq(11, true);
    pic.setIrq(11, false);
    expect(readIrr(0xa0)).toBe(0);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x2f);
    expect(readIsr(0xa0)).toBe(0);
  });

  it("a second source's edge (the VMI alarm's) is latched while the pin's own driver holds it high", () => {
    init(0xfe);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0x20);
    // The pin stays high (the PIT in mode 5): its own driver can make no new edge...
    pic.setIrq(0, true);
    expect(intr).toBe(false);
    // ...but a pulse from another source is a request of its own.
    pic.pulseIrq(0);
    expect(intr).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
    out(0x20, 0x20);
    // In level-triggered mode the request is the level: a pulse that has ended asks for nothing.
    out(0x20, 0x19);
    out(0x21, 0x20);
    out(0x21, 0x04);
    out(0x21, 0x01);
    out(0x21, 0xfe);
    pic.setIrq(0, false);
    pic.pulseIrq(0);
    expect(readIrr(0x20)).toBe(0);
    expect(intr).toBe(false);
  });

  it("save/restore round-trips and refuses a malformed state", () => {
    init(0x12);
    pulse(0);
    const saved = JSON.parse(JSON.stringify(pic.save()));
    const other = new DualPic8259(() => {});
    other.restore(saved);
    expect(other.save()).toEqual(saved);
    expect(other.int).toBe(true);
    expect(() => other.restore({ master: saved.master, slave: { irr: "x" } })).toThrow(/slave\.irr is string, expected number/);
  });
});
