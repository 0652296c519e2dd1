// The PC chipset's two system control ports (bit meanings as in the IBM PS/2 and AT technical
// references, and Intel's PIIX data sheet):
//   port A (0x92): bit 0 fast reset (writing 1 resets the CPU), bit 1 A20 gate;
//   port B (0x61): bit 0 counter 2 GATE, bit 1 speaker data enable, bit 4 refresh request
//   toggle (read-only, flips every 15.085 µs), bit 5 counter 2 OUT (read-only).

import { type AccessWidth, type PortDevice, type TimeSource, WIDTH_8, checkedState } from "./device.js";
import type { Pit8254 } from "./pit8254.js";

/** Port B bit 4 flips once per DRAM refresh cycle (PIT counter 1 at count 18: 15.085 µs). */
const REFRESH_PERIOD_NS = (18 * 1e9) / 1193182;

export class SystemControlA implements PortDevice {
  readonly name = "system control port A";
  readonly portCount = 1;
  readonly widths = WIDTH_8;
  s = { a20: true };

  /** `resetRequest` runs when the guest sets bit 0: the machine reports a reset. */
  constructor(private readonly resetRequest: () => void) {}

  reset(): void {
    // A20 is enabled here from power-on: no BIOS-less guest of ours expects the 8086 wrap.
    this.s = { a20: true };
  }

  read(_offset: number, _width: AccessWidth): number {
    return this.s.a20 ? 0x02 : 0;
  }

  write(_offset: number, value: number, _width: AccessWidth): void {
    // The core does not mask address line 20, so the A20 bit is only remembered.
    this.s.a20 = (value & 0x02) !== 0;
    if (value & 0x01) this.resetRequest();
  }

  /** The A20 gate as the guest last set it. */
  get a20(): boolean {
    return this.s.a20;
  }

  save(): { a20: boolean } {
    return { ...this.s };
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, { a20: true }, state);
  }
}

export class SystemControlB implements PortDevice {
  readonly name = "system control port B";
  readonly portCount = 1;
  readonly widths = WIDTH_8;
  s = { speakerData: false };

  constructor(
    private readonly clock: TimeSource,
    private readonly pit: Pit8254,
  ) {}

  reset(): void {
    this.s = { speakerData: false };
    this.pit.setGate(2, false);
  }

  read(_offset: number, _width: AccessWidth): number {
    const refresh = Math.floor(this.clock.now() / REFRESH_PERIOD_NS) & 1;
    return (this.pit.gate(2) ? 0x01 : 0) | (this.s.speakerData ? 0x02 : 0) | (refresh << 4) | (this.pit.out(2) ? 0x20 : 0);
  }

  write(_offset: number, value: number, _width: AccessWidth): void {
    this.s.speakerData = (value & 0x02) !== 0;
    this.pit.setGate(2, (value & 0x01) !== 0);
  }

  save(): { speakerData: boolean } {
    return { ...this.s };
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, { speakerData: false }, state);
  }
}
