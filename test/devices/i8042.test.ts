// The 8042 keyboard controller poked as Linux's i8042 driver and atkbd poke it; expectations from
// the IBM PC AT Technical Reference ("Keyboard Controller": status bits, commands, output port)
// and the IBM keyboard's command set (ACK 0xFA, BAT 0xAA, MF2 ID 0xAB 0x83).
import { beforeEach, describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { PortBus } from "../../src/devices/bus.js";
import { I8042 } from "../../src/devices/i8042.js";
import { Machine } from "../../src/machine.js";
import { RecordingLine } from "./fake.js";

let kbc: I8042;
let bus: PortBus;
let irq1: RecordingLine;
let irq12: RecordingLine;
let resets: number;

beforeEach(() => {
  irq1 = new RecordingLine();
  irq12 = new RecordingLine();
  resets = 0;
  kbc = new I8042(() => resets++, irq1.line, irq12.line);
  bus = new PortBus();
  bus.claim(0x60, kbc.dataPort);
  bus.claim(0x64, kbc.commandPort);
});

const status = () => bus.read(0x64, 1);
const command = (c: number) => bus.write(0x64, c, 1);
const data = (v: number) => bus.write(0x60, v, 1);
/** Everything waiting in the output buffer, read as Linux's i8042_flush does (while OBF). */
function drain(): number[] {
  const out: number[] = [];
  while (status() & 0x01) out.push(bus.read(0x60, 1));
  return out;
}
/** Linux's i8042_command: write the command, the parameter (if any), read the reply bytes. */
function i8042Command(c: number, param?: number): number[] {
  command(c);
  if (param !== undefined) data(param);
  return drain();
}

describe("8042 keyboard controller", () => {
  it("status after power-on: output buffer empty, input buffer empty, system flag set, not inhibited", () => {
    const st = status();
    expect(st & 0x01).toBe(0); // OBF
    expect(st & 0x02).toBe(0); // IBF
    expect(st & 0x04).toBe(0x04); // SYS
    expect(st & 0x10).toBe(0x10);
    expect(st).not.toBe(0xff); // Linux: "No controller found" if the status reads 0xFF
  });

  it("Linux's probe: self test, command byte read and write, keyboard interface test", () => {
    expect(i8042Command(0xaa)).toEqual([0x55]);
    const ctr = i8042Command(0x20);
    expect(ctr).toHaveLength(1);
    expect(ctr[0] & 0x01).toBe(0x01); // keyboard interrupt enabled as a BIOS leaves it
    expect(status() & 0x08).toBe(0x08); // last write was a command
    expect(i8042Command(0x60, 0x47)).toEqual([]);
    expect(status() & 0x08).toBe(0); // last write was data
    expect(i8042Command(0x20)).toEqual([0x47]);
    expect(i8042Command(0xab)).toEqual([0x00]);
  });

  it("aux: 0xA9 test passes, 0xA7/0xA8 toggle command byte bit 5, 0xD4 bytes get 0xFE from the aux port", () => {
    expect(i8042Command(0xa9)).toEqual([0x00]);
    i8042Command(0xa7);
    expect(i8042Command(0x20)[0] & 0x20).toBe(0x20);
    i8042Command(0xa8);
    expect(i8042Command(0x20)[0] & 0x20).toBe(0);
    command(0xd4);
    data(0xff);
    expect(status() & 0x21).toBe(0x21); // OBF with the aux-data bit
    expect(bus.read(0x60, 1)).toBe(0xfe);
    expect(status() & 0x21).toBe(0);
  });

  it("0xAD/0xAE disable and enable the keyboard (command byte bit 4)", () => {
    i8042Command(0xad);
    expect(i8042Command(0x20)[0] & 0x10).toBe(0x10);
    i8042Command(0xae);
    expect(i8042Command(0x20)[0] & 0x10).toBe(0);
  });

  it("keyboard commands on port 0x60: reset, identify, enable/disable, LEDs, unknown", () => {
    data(0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
    data(0xf5);
    expect(drain()).toEqual([0xfa]);
    data(0xf4);
    expect(drain()).toEqual([0xfa]);
    data(0xed);
    expect(drain()).toEqual([0xfa]);
    data(0x07);
    expect(drain()).toEqual([0xfa]);
    data(0xf6);
    expect(drain()).toEqual([0xfa]);
  });

  it("IRQ1 for each byte while the command byte enables it; none when disabled", () => {
    command(0x60);
    data(0x45); // keyboard interrupt on
    data(0xff); // two reply bytes
    expect(irq1.rises).toBe(1);
    expect(irq1.level).toBe(true);
    bus.read(0x60, 1);
    expect(irq1.rises).toBe(2); // the second byte is a new buffer-full edge
    bus.read(0x60, 1);
    expect(irq1.level).toBe(false);
    command(0x60);
    data(0x44); // keyboard interrupt off
    data(0xf4);
    expect(irq1.rises).toBe(2);
    expect(drain()).toEqual([0xfa]);
    expect(irq12.rises).toBe(0);
  });

  it("IRQ12 for aux bytes when command byte bit 1 is set", () => {
    command(0x60);
    data(0x47);
    command(0xd4);
    data(0xf2);
    expect(irq12.rises).toBe(1);
    expect(irq1.rises).toBe(0);
    expect(drain()).toEqual([0xfe]);
    expect(irq12.level).toBe(false);
  });

  it("output port: 0xD0 reads it (reset high, A20), 0xD1 writes A20 and resets on bit 0 = 0, 0xFE pulses reset", () => {
    const op = i8042Command(0xd0)[0];
    expect(op & 0x03).toBe(0x03);
    i8042Command(0xd1, 0x01);
    expect(kbc.a20).toBe(false);
    expect(resets).toBe(0);
    expect(i8042Command(0xd0)[0] & 0x03).toBe(0x01);
    i8042Command(0xd1, 0x02);
    expect(resets).toBe(1);
    command(0xfe);
    expect(resets).toBe(2);
    command(0xff); // pulses nothing
    expect(resets).toBe(2);
  });

  it("a read with nothing waiting returns the last byte again", () => {
    i8042Command(0xaa);
    expect(bus.read(0x60, 1)).toBe(0x55);
  });

  it("save/restore keeps the command byte and waiting bytes", () => {
    command(0x60);
    data(0x44);
    data(0xf2);
    const saved = kbc.save();
    const other = new I8042(() => {});
    other.restore(saved);
    expect(other.commandByte).toBe(0x44);
    expect([other.read(0, 1), other.read(0, 1), other.read(0, 1)]).toEqual([0xfa, 0xab, 0x83]);
    expect(() => other.restore({})).toThrow(/cannot restore/);
  });

  it("the machine: ports 0x60/0x64 decode to the controller, and OUT 0x64 of 0xFE stops with reason reset", async () => {
    const m = await Machine.create({ memSize: 2 << 20, deterministic: true });
    expect(m.bus.deviceAt(0x60)).toBe(m.i8042.dataPort);
    expect(m.bus.deviceAt(0x64)).toBe(m.i8042.commandPort);
    expect(m.bus.deviceAt(0x61)).toBe(m.systemControlB);
    m.ram.set(Buffer.from("b0fee664ebfe", "hex"), 0x10000); // mov al,0xfe; out 0x64,al; jmp $
    m.core.enterFlatProtectedMode(0x10000);
    m.core.setReg(L.REG_EBX, 0);
    const r = await m.run({ maxInstructions: 1000 });
    expect(r.reason).toBe("reset");
    expect(r.message).toContain("keyboard controller");
  });
});
