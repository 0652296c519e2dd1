// The I/O port bus: one 65,536-entry table from port to device, so a port access costs one
// array load. Unclaimed ports behave as on an ISA bus with nothing decoding the
// address: reads float to all ones, writes go nowhere (both are counted, because a guest
// probing for hardware we lack is worth seeing in the statistics; counted per byte).
//
// Widths: a device declares which access widths it handles (PortDevice.widths), and receives
// whole every access of such a width that starts in its range (isa-debug-exit is one port wide
// yet takes 4-byte writes). An access of another width is split into byte accesses at port,
// port+1, … each routed through the table on its own, little-endian. That is
// what the PC's bus controller does for an 8-bit ISA device: a 16-bit IN from an 8-bit card
// becomes two 8-bit cycles at consecutive addresses. A device that declares no byte width and
// receives a byte (or split) access sees nothing: the read floats to 0xFF and the write is
// dropped, counted as a width mismatch.

import { type AccessWidth, type PortDevice, WIDTH_8 } from "./device.js";

export const PORT_COUNT = 0x10000;

export interface PortBusStats {
  unclaimedReads: number;
  unclaimedWrites: number;
  widthMismatches: number;
}

export class PortBus {
  private readonly table: (PortDevice | null)[] = new Array<PortDevice | null>(PORT_COUNT).fill(null);
  /** The first port of the range each entry's device was claimed at: offset = port - base. */
  private readonly base = new Uint16Array(PORT_COUNT);
  private readonly claims: { base: number; device: PortDevice }[] = [];
  readonly stats: PortBusStats = { unclaimedReads: 0, unclaimedWrites: 0, widthMismatches: 0 };

  /**
   * Decode ports [base, base + device.portCount) to `device`. Throws, naming both devices and
   * the port, if any of them is already claimed; nothing is claimed in that case.
   */
  claim(base: number, device: PortDevice): void {
    const n = device.portCount;
    if (!Number.isInteger(base) || base < 0 || !Number.isInteger(n) || n < 1 || base + n > PORT_COUNT) {
      throw new Error(`${device.name}: cannot claim ${n} port(s) at ${hex(base)}: the range must lie within 0x0000..0xffff`);
    }
    for (let p = base; p < base + n; p++) {
      const other = this.table[p];
      if (other !== null) {
        throw new Error(
          `port ${hex(p)} claimed twice: ${device.name} (at ${hex(base)}..${hex(base + n - 1)}) conflicts with ${other.name} (at ${hex(this.base[p])})`,
        );
      }
    }
    for (let p = base; p < base + n; p++) {
      this.table[p] = device;
      this.base[p] = base;
    }
    this.claims.push({ base, device });
  }

  /** The device decoding `port`, or null. */
  deviceAt(port: number): PortDevice | null {
    return this.table[port & 0xffff];
  }

  /** Every claim, in claim order (for reset and save/restore walks). */
  devices(): readonly { base: number; device: PortDevice }[] {
    return this.claims;
  }

  read(port: number, width: AccessWidth): number {
    port &= 0xffff;
    const d = this.table[port];
    if (d === null) {
      if (width === 1) {
        this.stats.unclaimedReads++;
        return 0xff;
      }
    } else {
      const off = port - this.base[port];
      if ((d.widths & width) !== 0) return d.read(off, width) >>> 0;
      if (width === 1) {
        this.stats.widthMismatches++;
        return 0xff;
      }
    }
    let v = 0;
    for (let i = 0; i < width; i++) v |= this.readByte((port + i) & 0xffff) << (8 * i);
    return v >>> 0;
  }

  write(port: number, value: number, width: AccessWidth): void {
    port &= 0xffff;
    const d = this.table[port];
    if (d === null) {
      if (width === 1) {
        this.stats.unclaimedWrites++;
        return;
      }
    } else {
      const off = port - this.base[port];
      if ((d.widths & width) !== 0) {
        d.write(off, width === 4 ? value >>> 0 : value & (width === 2 ? 0xffff : 0xff), width);
        return;
      }
      if (width === 1) {
        this.stats.widthMismatches++;
        return;
      }
    }
    for (let i = 0; i < width; i++) this.writeByte((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    const d = this.table[port];
    if (d === null) {
      this.stats.unclaimedReads++;
      return 0xff;
    }
    if ((d.widths & WIDTH_8) === 0) {
      this.stats.widthMismatches++;
      return 0xff;
    }
    return d.read(port - this.base[port], 1) & 0xff;
  }

  private writeByte(port: number, value: number): void {
    const d = this.table[port];
    if (d === null) this.stats.unclaimedWrites++;
    else if ((d.widths & WIDTH_8) === 0) this.stats.widthMismatches++;
    else d.write(port - this.base[port], value, 1);
  }
}

function hex(p: number): string {
  return "0x" + p.toString(16).padStart(4, "0");
}
