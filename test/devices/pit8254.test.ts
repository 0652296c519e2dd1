// The 8254 poked as a driver pokes it; expectations from the Intel 8254 data sheet (counter
// loaded on the CLK pulse after the count is written, then decremented once per CLK).
import { beforeEach, describe, expect, it } from "vitest";
import { PortBus } from "../../src/devices/bus.js";
import { PIT_HZ, Pit8254, pitTickStart, pitTicks } from "../../src/devices/pit8254.js";
import { FakeClock, RecordingLine } from "./fake.js";

let clock: FakeClock;
let irq0: RecordingLine;
let pit: Pit8254;
let bus: PortBus;
const out = (port: number, v: number) => bus.write(port, v, 1);
const inb = (port: number) => bus.read(port, 1);
/** Move virtual time to the start of input-clock tick `t`. */
const at = (t: number) => (clock.t = pitTickStart(t));
const read16 = (port: number) => inb(port) | (inb(port) << 8);
const latch0 = () => (out(0x43, 0x00), read16(0x40));

beforeEach(() => {
  clock = new FakeClock();
  irq0 = new RecordingLine();
  pit = new Pit8254(clock, irq0.line);
  bus = new PortBus();
  bus.claim(0x40, pit);
});

/** Tick the PIT at each of its deadlines up to virtual time `end`; returns the IRQ0 edges. */
function runUntil(end: number): number {
  const before = irq0.rises;
  for (;;) {
    const d = pit.nextDeadline(clock.t);
    if (d > end) break;
    clock.t = d;
    pit.tick(d);
  }
  clock.t = end;
  pit.tick(end);
  return irq0.rises - before;
}

describe("8254 PIT", () => {
  it("converts virtual time to input clocks at 1.193182 MHz", () => {
    expect(pitTicks(1e9)).toBe(PIT_HZ);
    for (const t of [0, 1, 2, 12345, 1193182, 99999999]) {
      expect(pitTicks(pitTickStart(t))).toBe(t);
      if (t > 0) expect(pitTicks(pitTickStart(t) - 1)).toBe(t - 1);
    }
  });

  it("mode 2: counts N..1 from the clock after the write, reloads, and pulses OUT (IRQ0) once per N clocks", () => {
    at(1000);
    out(0x43, 0x34);
    out(0x40, 100);
    out(0x40, 0);
    at(1001);
    expect(latch0()).toBe(100);
    at(1050);
    expect(latch0()).toBe(51);
    at(1100);
    expect(latch0()).toBe(1);
    at(1101);
    expect(latch0()).toBe(100);
    // Ten periods, ten rising edges of OUT, each at the reload.
    clock.t = pitTickStart(1000);
    pit.tick(clock.t);
    expect(runUntil(pitTickStart(2001) - 1)).toBe(9);
    expect(runUntil(pitTickStart(2001))).toBe(1);
    expect(pit.nextDeadline(clock.t)).toBe(pitTickStart(2101));
  });

  it("latch command: the count is frozen until read (LSB then MSB), a second latch before that is ignored", () => {
    at(0);
    out(0x43, 0x34);
    out(0x40, 0x00);
    out(0x40, 0x10); // 4096
    at(31);
    out(0x43, 0x00);
    at(500);
    out(0x43, 0x00);
    expect(inb(0x40)).toBe((4096 - 30) & 0xff);
    at(900);
    expect(inb(0x40)).toBe((4096 - 30) >> 8);
    expect(read16(0x40)).toBe(4096 - 899);
  });

  it("reads the live count LSB then MSB, toggling between reads", () => {
    at(0);
    out(0x43, 0x34);
    out(0x40, 0x34);
    out(0x40, 0x12);
    at(1);
    expect(inb(0x40)).toBe(0x34);
    expect(inb(0x40)).toBe(0x12);
  });

  it("mode 3: a square wave, OUT high for the first half of N and low for the second, counting down by two", () => {
    const line = new RecordingLine();
    const p = new Pit8254(clock, line.line);
    const b = new PortBus();
    b.claim(0x40, p);
    at(0);
    b.write(0x43, 0x36, 1);
    b.write(0x40, 10, 1);
    b.write(0x40, 0, 1);
    const outs: boolean[] = [];
    const vals: number[] = [];
    for (let t = 1; t <= 11; t++) {
      at(t);
      outs.push(p.out(0));
      b.write(0x43, 0x00, 1);
      vals.push(b.read(0x40, 1) | (b.read(0x40, 1) << 8));
    }
    expect(outs).toEqual([true, true, true, true, true, false, false, false, false, false, true]);
    expect(vals).toEqual([10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10]);
  });

  it("mode 0: OUT low from the control word, high at terminal count (one IRQ0 edge), the count then wraps", () => {
    at(0);
    out(0x43, 0x30);
    expect(pit.out(0)).toBe(false);
    out(0x40, 50);
    out(0x40, 0);
    at(50);
    expect(pit.out(0)).toBe(false);
    expect(latch0()).toBe(1);
    at(51);
    expect(pit.out(0)).toBe(true);
    expect(latch0()).toBe(0);
    at(52);
    expect(latch0()).toBe(0xffff);
    clock.t = 0;
    expect(runUntil(pitTickStart(100000))).toBe(1);
  });

  it("mode 0: writing the LSB stops the count; the MSB starts it again", () => {
    at(0);
    out(0x43, 0x30);
    out(0x40, 0x00);
    out(0x40, 0x01); // 256
    at(11);
    out(0x40, 0x80);
    at(100);
    expect(latch0()).toBe(246);
    out(0x40, 0x00); // count 0x0080, loaded on the next clock
    at(101);
    expect(latch0()).toBe(0x80);
  });

  it("read-back: status (OUT, null count, RW, mode, BCD) before the count", () => {
    at(0);
    out(0x43, 0x34);
    out(0x43, 0xe2); // read back the status of counter 0
    expect(inb(0x40)).toBe(0x80 | 0x40 | 0x30 | 0x04); // OUT high, null count (no count yet), LSB/MSB, mode 2
    out(0x40, 200);
    out(0x40, 0);
    at(5);
    out(0x43, 0xc2); // status and count
    expect(inb(0x40)).toBe(0x80 | 0x30 | 0x04);
    expect(read16(0x40)).toBe(196);
    out(0x43, 0xe2); // status only (COUNT bit set = no count latch)
    expect(inb(0x40)).toBe(0xb4);
  });

  it("LSB-only and MSB-only access modes, and BCD counting", () => {
    at(0);
    out(0x43, 0x14); // counter 0, LSB only, mode 2
    out(0x40, 50);
    at(11);
    expect(inb(0x40)).toBe(40);
    expect(inb(0x40)).toBe(40);
    out(0x43, 0x24); // MSB only
    out(0x40, 0x02); // 512
    at(112);
    expect(inb(0x40)).toBe(0x01); // 412 = 0x19c
    out(0x43, 0x35); // LSB/MSB, mode 2, BCD
    out(0x40, 0x00);
    out(0x40, 0x10); // 1000 decimal
    at(113 + 1);
    expect(read16(0x40)).toBe(0x0999);
  });

  it("a new count in mode 2 takes effect at the end of the current period", () => {
    at(0);
    out(0x43, 0x34);
    out(0x40, 100);
    out(0x40, 0);
    at(31);
    out(0x40, 10);
    out(0x40, 0);
    at(100);
    expect(latch0()).toBe(1);
    at(101);
    expect(latch0()).toBe(10);
    at(111);
    expect(latch0()).toBe(10);
  });

  it("counter 2's gate: mode 0 pauses while GATE is low; mode 2 restarts on the rising edge", () => {
    at(0);
    pit.setGate(2, true);
    out(0x43, 0xb0); // counter 2, LSB/MSB, mode 0
    out(0x42, 100);
    out(0x42, 0);
    at(21);
    pit.setGate(2, false);
    at(500);
    out(0x43, 0x80);
    expect(read16(0x42)).toBe(80);
    pit.setGate(2, true);
    at(501 + 80);
    expect(pit.out(2)).toBe(true);
    at(1000);
    out(0x43, 0xb4); // mode 2, count 10
    out(0x42, 10);
    out(0x42, 0);
    at(1005);
    pit.setGate(2, false);
    expect(pit.out(2)).toBe(true);
    pit.setGate(2, true);
    at(1006);
    out(0x43, 0x80);
    expect(read16(0x42)).toBe(10);
  });

  it("a control word puts its mode's OUT on IRQ0 at once: low for mode 0, high for mode 5 (Linux's way to stop the PIT)", () => {
    at(100);
    out(0x43, 0x30);
    expect(irq0.level).toBe(false);
    const rises = irq0.rises;
    at(200);
    out(0x43, 0x3a);
    expect(irq0.level).toBe(true);
    expect(irq0.rises).toBe(rises + 1);
    // Mode 5 waits for a count and a gate trigger: no more edges.
    expect(runUntil(1e9)).toBe(0);
  });

  it("is programmed by the BIOS at reset: counter 0 in mode 3 at 18.2 Hz", () => {
    expect(runUntil(1e9)).toBe(18);
  });

  it("save/restore round-trips through JSON", () => {
    at(0);
    out(0x43, 0x34);
    out(0x40, 0x9c);
    out(0x40, 0x2e);
    at(777);
    const saved = JSON.parse(JSON.stringify(pit.save()));
    const other = new Pit8254(clock, () => {});
    other.restore(saved);
    expect(other.save()).toEqual(saved);
    expect(other.nextDeadline(clock.t)).toBe(pit.nextDeadline(clock.t));
  });
});
