// The small ports: isa-debug-exit, the POST code port, system control ports A (0x92) and B (0x61).
import { describe, expect, it } from "vitest";
import { DebugExit } from "../../src/devices/debug-exit.js";
import { PostCode } from "../../src/devices/post-code.js";
import { Pit8254, pitTickStart } from "../../src/devices/pit8254.js";
import { SystemControlA, SystemControlB } from "../../src/devices/system-control.js";
import { FakeClock } from "./fake.js";

describe("isa-debug-exit", () => {
  it("reports (v << 1) | 1 for 1-, 2- and 4-byte writes, without 32-bit overflow", () => {
    const codes: number[] = [];
    const d = new DebugExit((c) => codes.push(c));
    d.write(0, 0, 1);
    d.write(0, 0x2a, 1);
    d.write(0, 0x1234, 2);
    d.write(0, 0xffffffff, 4);
    expect(codes).toEqual([1, 0x55, 0x2469, 0x1ffffffff]);
  });
});

describe("POST code port", () => {
  it("keeps the last code", () => {
    const p = new PostCode();
    p.write(0, 0x55, 1);
    expect(p.read(0, 1)).toBe(0x55);
  });
});

describe("system control port A (0x92)", () => {
  it("bit 0 requests a reset; bit 1 is the A20 gate", () => {
    let resets = 0;
    const a = new SystemControlA(() => resets++);
    expect(a.read(0, 1)).toBe(0x02);
    a.write(0, 0x00, 1);
    expect(a.a20).toBe(false);
    expect(resets).toBe(0);
    a.write(0, 0x03, 1);
    expect(resets).toBe(1);
    expect(a.read(0, 1)).toBe(0x02);
  });
});

describe("system control port B (0x61)", () => {
  it("bit 0 gates PIT counter 2, bit 5 reads its OUT, bit 4 toggles with refresh", () => {
    const clock = new FakeClock();
    const pit = new Pit8254(clock, () => {});
    const b = new SystemControlB(clock, pit);
    b.reset();
    expect(b.read(0, 1) & 0x01).toBe(0);
    b.write(0, 0x01, 1);
    expect(pit.gate(2)).toBe(true);
    pit.write(3, 0xb0, 1); // counter 2, mode 0
    pit.write(2, 10, 1);
    pit.write(2, 0, 1);
    expect(b.read(0, 1) & 0x20).toBe(0);
    clock.t = pitTickStart(11);
    expect(b.read(0, 1) & 0x20).toBe(0x20);
    clock.t = 0;
    const r0 = b.read(0, 1) & 0x10;
    clock.t = 15_100;
    expect(b.read(0, 1) & 0x10).toBe(r0 ^ 0x10);
  });
});
