// The port bus: unclaimed ports float to all ones, claims never overlap, and accesses of a
// width a device does not declare become byte cycles, as an ISA bus controller makes them.
import { describe, expect, it } from "vitest";
import { PortBus } from "../../src/devices/bus.js";
import { type AccessWidth, type PortDevice, WIDTH_32, WIDTH_8 } from "../../src/devices/device.js";

class Recorder implements PortDevice {
  readonly log: string[] = [];
  constructor(
    readonly name: string,
    readonly portCount: number,
    readonly widths: number,
  ) {}
  reset(): void {}
  read(offset: number, width: AccessWidth): number {
    this.log.push(`r${width}@${offset}`);
    return width === 1 ? 0x10 + offset : 0x11223344 & (width === 2 ? 0xffff : 0xffffffff);
  }
  write(offset: number, value: number, width: AccessWidth): void {
    this.log.push(`w${width}@${offset}=${value.toString(16)}`);
  }
  save(): unknown {
    return {};
  }
  restore(): void {}
}

describe("PortBus", () => {
  it("reads unclaimed ports as all ones of the access width and counts them", () => {
    const bus = new PortBus();
    expect(bus.read(0x1234, 1)).toBe(0xff);
    expect(bus.read(0x1234, 2)).toBe(0xffff);
    expect(bus.read(0xfffe, 4)).toBe(0xffffffff);
    expect(bus.stats.unclaimedReads).toBe(1 + 2 + 4);
  });

  it("drops writes to unclaimed ports and counts them", () => {
    const bus = new PortBus();
    bus.write(0x300, 0xab, 1);
    bus.write(0x300, 0xabcd, 2);
    expect(bus.stats.unclaimedWrites).toBe(3);
  });

  it("refuses a second claim on a port, naming both devices and the port, and claims nothing", () => {
    const bus = new PortBus();
    const a = new Recorder("COM1", 8, WIDTH_8);
    const b = new Recorder("other UART", 4, WIDTH_8);
    bus.claim(0x3f8, a);
    expect(() => bus.claim(0x3f6, b)).toThrow(/port 0x03f8 claimed twice: other UART .* conflicts with COM1/);
    expect(bus.deviceAt(0x3f6)).toBe(null);
    expect(() => bus.claim(0xfffe, new Recorder("wide", 4, WIDTH_8))).toThrow(/0x0000\.\.0xffff/);
  });

  it("gives devices offsets from their base, not absolute ports", () => {
    const bus = new PortBus();
    const d = new Recorder("d", 8, WIDTH_8);
    bus.claim(0x2f8, d);
    expect(bus.read(0x2fd, 1)).toBe(0x15);
    bus.write(0x2f8, 0x41, 1);
    expect(d.log).toEqual(["r1@5", "w1@0=41"]);
  });

  it("splits a 16- or 32-bit access to an 8-bit device into byte cycles, little-endian, across whatever decodes each port", () => {
    const bus = new PortBus();
    const d = new Recorder("d", 2, WIDTH_8);
    bus.claim(0x60, d);
    expect(bus.read(0x60, 2)).toBe(0x1110);
    // 0x62 and 0x63 are unclaimed: they float high.
    expect(bus.read(0x60, 4)).toBe(0xffff1110);
    bus.write(0x60, 0xbbaa, 2);
    expect(d.log).toEqual(["r1@0", "r1@1", "r1@0", "r1@1", "w1@0=aa", "w1@1=bb"]);
  });

  it("hands a declared width to the device whole, even past a one-port range", () => {
    const bus = new PortBus();
    const d = new Recorder("d", 1, WIDTH_8 | WIDTH_32);
    bus.claim(0xf4, d);
    bus.write(0xf4, 0x12345678, 4);
    expect(bus.read(0xf4, 4)).toBe(0x11223344);
    expect(d.log).toEqual(["w4@0=12345678", "r4@0"]);
  });

  it("floats a byte access to a device that declares no byte width (counted as a width mismatch)", () => {
    const bus = new PortBus();
    const d = new Recorder("dword-only", 4, WIDTH_32);
    bus.claim(0xcfc, d);
    expect(bus.read(0xcfd, 1)).toBe(0xff);
    bus.write(0xcfc, 1, 1);
    expect(d.log).toEqual([]);
    expect(bus.stats.widthMismatches).toBe(2);
  });

  it("wraps an access at port 0xffff to port 0", () => {
    const bus = new PortBus();
    const d = new Recorder("d", 1, WIDTH_8);
    bus.claim(0, d);
    expect(bus.read(0xffff, 2)).toBe(0x10ff);
  });
});
