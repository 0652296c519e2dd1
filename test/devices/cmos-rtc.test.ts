// The MC146818A poked as Linux's mc146818 helpers and rtc-cmos driver poke it; expectations
// from the Motorola MC146818A data sheet (address map, registers A–D, periodic rate table) and
// the IBM PC AT Technical Reference (CMOS RAM layout).
import { beforeEach, describe, expect, it } from "vitest";
import { PortBus } from "../../src/devices/bus.js";
import { CmosRtc, DETERMINISTIC_EPOCH_MS } from "../../src/devices/cmos-rtc.js";
import { Machine } from "../../src/machine.js";
import { FakeClock, RecordingLine } from "./fake.js";

const MiB = 1024 * 1024;
let clock: FakeClock;
let irq8: RecordingLine;
let rtc: CmosRtc;
let bus: PortBus;

function make(memSize = 64 * MiB): void {
  clock = new FakeClock();
  irq8 = new RecordingLine();
  rtc = new CmosRtc(clock, irq8.line, { memSize, epochMs: () => DETERMINISTIC_EPOCH_MS + clock.t / 1e6 });
  bus = new PortBus();
  bus.claim(0x70, rtc);
}

const cmosRead = (reg: number) => (bus.write(0x70, reg, 1), bus.read(0x71, 1));
const cmosWrite = (reg: number, v: number) => (bus.write(0x70, reg, 1), bus.write(0x71, v, 1));
const sec = (s: number) => (clock.t = s * 1e9);

/** Linux mc146818_get_time: wait out UIP, then read the time registers in order. */
function getTime(): number[] {
  while (cmosRead(0x0a) & 0x80) clock.t += 1000; // each port access takes a while
  return [0x00, 0x02, 0x04, 0x06, 0x07, 0x08, 0x09, 0x32].map(cmosRead);
}

/** Tick the RTC at each deadline up to `end` (ns); `handler` runs on each IRQ8 rise. */
function runUntil(end: number, handler?: () => void): number {
  const before = irq8.rises;
  for (;;) {
    const d = rtc.nextDeadline(clock.t);
    if (d > end) break;
    clock.t = d;
    const r = irq8.rises;
    rtc.tick(d);
    if (irq8.rises !== r && handler) handler();
  }
  clock.t = end;
  rtc.tick(end);
  return irq8.rises - before;
}

beforeEach(() => make());

describe("MC146818 RTC", () => {
  it("reads the time of day in BCD, 24-hour mode from the epoch source (2026-01-01 is a Thursday: day 5)", () => {
    sec(3723.5); // 01:02:03.5
    expect(cmosRead(0x0b)).toBe(0x02); // 24-hour, BCD
    expect(getTime()).toEqual([0x03, 0x02, 0x01, 0x05, 0x01, 0x01, 0x26, 0x20]);
    expect(cmosRead(0x0d)).toBe(0x80); // VRT
  });

  it("binary and 12-hour modes: hour 1–12 with bit 7 for PM", () => {
    sec(13 * 3600 + 45 * 60 + 7);
    cmosWrite(0x0b, 0x04); // DM = binary, 12-hour
    expect(cmosRead(0x04)).toBe(0x81);
    expect(cmosRead(0x02)).toBe(45);
    expect(cmosRead(0x00)).toBe(7);
    expect(cmosRead(0x09)).toBe(26);
    cmosWrite(0x0b, 0x00); // BCD, 12-hour
    expect(cmosRead(0x04)).toBe(0x81);
    sec(30 * 60);
    expect(cmosRead(0x04)).toBe(0x12); // 12 AM
    cmosWrite(0x0b, 0x02);
    expect(cmosRead(0x04)).toBe(0x00);
  });

  it("UIP is set for the 244 µs before each update and clear otherwise", () => {
    sec(0.5);
    expect(cmosRead(0x0a)).toBe(0x26);
    sec(0.9998);
    expect(cmosRead(0x0a)).toBe(0xa6);
    sec(1.0001);
    expect(cmosRead(0x0a)).toBe(0x26);
  });

  it("sets the time as Linux's mc146818_set_time does: SET, divider reset, fields, clear SET", () => {
    sec(10);
    const b = cmosRead(0x0b);
    cmosWrite(0x0b, b | 0x80);
    const a = cmosRead(0x0a);
    cmosWrite(0x0a, a | 0x70); // RTC_DIV_RESET2
    cmosWrite(0x09, 0x30);
    cmosWrite(0x08, 0x06);
    cmosWrite(0x07, 0x15);
    cmosWrite(0x04, 0x23);
    cmosWrite(0x02, 0x59);
    cmosWrite(0x00, 0x58);
    sec(15); // SET holds the time
    expect(cmosRead(0x00)).toBe(0x58);
    expect(cmosRead(0x0a) & 0x80).toBe(0); // no update cycles while SET
    cmosWrite(0x0a, a);
    cmosWrite(0x0b, b);
    sec(18); // three seconds later: 2030-06-16 00:00:01, a Sunday (day 1)
    expect(getTime()).toEqual([0x01, 0x00, 0x00, 0x01, 0x16, 0x06, 0x30, 0x20]);
  });

  it("a write to a time register while running moves the clock from there", () => {
    sec(100); // 00:01:40
    cmosWrite(0x04, 0x07);
    sec(101);
    expect(cmosRead(0x04)).toBe(0x07);
    expect(cmosRead(0x02)).toBe(0x01);
    expect(cmosRead(0x00)).toBe(0x41);
  });

  it("periodic interrupt at the rate of register A: 1024 Hz gives 102 interrupts in 100 ms", () => {
    cmosWrite(0x0a, 0x26);
    cmosWrite(0x0b, 0x42); // PIE, 24-hour, BCD
    const n = runUntil(100e6, () => expect(cmosRead(0x0c) & 0xc0).toBe(0xc0)); // IRQF | PF
    // 976.5625 µs period: 100 ms / 0.9765625 ms = 102.4
    expect(n).toBe(102);
  });

  it("periodic rates from the data sheet table: RS = 15 is 2 Hz, RS = 1 is 256 Hz", () => {
    cmosWrite(0x0a, 0x2f);
    cmosWrite(0x0b, 0x42);
    expect(runUntil(10e9, () => cmosRead(0x0c))).toBe(20);
    cmosWrite(0x0a, 0x21);
    const start = clock.t;
    expect(runUntil(start + 1e9, () => cmosRead(0x0c))).toBe(256);
  });

  it("reading C clears the flags and drops IRQ8; without the read the line stays high (one edge)", () => {
    cmosWrite(0x0b, 0x42);
    expect(runUntil(10e6)).toBe(1); // no handler: IRQF stays set, no further edges
    expect(irq8.level).toBe(true);
    expect(cmosRead(0x0c)).toBe(0xc0);
    expect(irq8.level).toBe(false);
    expect(cmosRead(0x0c)).toBe(0x00);
  });

  it("PF is set at the rate even with PIE clear, without an interrupt", () => {
    cmosWrite(0x0a, 0x26);
    clock.t = 2e6;
    expect(runUntil(2e6)).toBe(0);
    expect(cmosRead(0x0c)).toBe(0x40);
    expect(cmosRead(0x0c)).toBe(0x00);
    expect(irq8.rises).toBe(0);
  });

  it("update-ended interrupt once a second with UIE; setting SET clears UIE", () => {
    sec(0.25);
    cmosWrite(0x0a, 0x20); // no periodic rate
    cmosWrite(0x0b, 0x12); // UIE
    cmosRead(0x0c); // PF from the default 1024 Hz rate before it was turned off
    expect(runUntil(5.5e9, () => expect(cmosRead(0x0c)).toBe(0x90))).toBe(5);
    cmosWrite(0x0b, 0x92);
    expect(cmosRead(0x0b)).toBe(0x82);
  });

  it("alarm interrupt when the time matches the alarm registers (0xC0–0xFF: don't care)", () => {
    cmosWrite(0x0a, 0x20);
    cmosWrite(0x01, 0x05);
    cmosWrite(0x03, 0xc0);
    cmosWrite(0x05, 0xff);
    cmosWrite(0x0b, 0x22); // AIE
    let flags = 0;
    expect(runUntil(4.5e9)).toBe(0);
    expect(
      runUntil(5.5e9, () => {
        flags = cmosRead(0x0c);
      }),
    ).toBe(1);
    expect(flags).toBe(0xb0); // IRQF | AF | UF
  });

  it("memory sizes, equipment byte and checksum (IBM AT CMOS layout)", () => {
    make(128 * MiB);
    expect([cmosRead(0x15), cmosRead(0x16)]).toEqual([0x80, 0x02]); // 640 KiB
    expect([cmosRead(0x17), cmosRead(0x18)]).toEqual([0xff, 0xff]); // 127 MiB capped at 65535 KiB
    expect([cmosRead(0x30), cmosRead(0x31)]).toEqual([0xff, 0xff]);
    expect([cmosRead(0x34), cmosRead(0x35)]).toEqual([0x00, 0x07]); // 112 MiB / 64 KiB = 1792
    make(8 * MiB);
    expect([cmosRead(0x17), cmosRead(0x18)]).toEqual([0x00, 0x1c]); // 7168 KiB
    expect([cmosRead(0x34), cmosRead(0x35)]).toEqual([0x00, 0x00]);
    expect(cmosRead(0x14) & 0x02).toBe(0x02); // coprocessor present
    let sum = 0;
    for (let r = 0x10; r <= 0x2d; r++) sum += cmosRead(r);
    expect((cmosRead(0x2e) << 8) | cmosRead(0x2f)).toBe(sum);
  });

  it("index bit 7 masks NMI and is not part of the register number; RAM bytes hold what is written", () => {
    cmosWrite(0x80 | 0x40, 0x5a);
    expect(rtc.nmiMasked).toBe(true);
    expect(cmosRead(0x40)).toBe(0x5a);
    expect(rtc.nmiMasked).toBe(false);
    expect(bus.read(0x70, 1)).toBe(0xff); // index port is write-only
  });

  it("RESET clears the interrupt enables and flags but keeps the time", () => {
    sec(61);
    cmosWrite(0x0b, 0x72);
    runUntil(62e9);
    rtc.reset();
    expect(cmosRead(0x0b)).toBe(0x02);
    expect(irq8.level).toBe(false);
    expect(cmosRead(0x02)).toBe(0x01);
  });

  it("save/restore round-trips the registers and the guest's time offset", () => {
    sec(5);
    cmosWrite(0x04, 0x11);
    cmosWrite(0x50, 0x77);
    const saved = rtc.save();
    make();
    sec(5);
    rtc.restore(saved);
    expect(cmosRead(0x04)).toBe(0x11);
    expect(cmosRead(0x50)).toBe(0x77);
    expect(() => rtc.restore({ index: 0 })).toThrow(/cannot restore/);
  });

  it("the machine: ports 0x70/0x71, memory size from memSize, 2026-01-01 in deterministic mode", async () => {
    const m = await Machine.create({ memSize: 32 * MiB, deterministic: true });
    expect(m.bus.deviceAt(0x70)).toBe(m.rtc);
    expect(m.bus.deviceAt(0x71)).toBe(m.rtc);
    const rd = (reg: number) => (m.bus.write(0x70, reg, 1), m.bus.read(0x71, 1));
    expect([rd(0x17), rd(0x18)]).toEqual([0x00, 0x7c]); // 31 MiB = 31744 KiB
    expect([rd(0x34), rd(0x35)]).toEqual([0x00, 0x01]); // 16 MiB / 64 KiB = 256
    expect([rd(0x09), rd(0x08), rd(0x07), rd(0x32)]).toEqual([0x26, 0x01, 0x01, 0x20]);
    const fixed = await Machine.create({ memSize: 2 * MiB, rtcEpochMs: () => Date.UTC(1999, 11, 31, 23, 59, 59) });
    fixed.bus.write(0x70, 0x09, 1);
    expect(fixed.bus.read(0x71, 1)).toBe(0x99);
  });
});
