// QEMU's isa-debug-exit device: a guest that writes v to its port ends the emulator with exit
// status (v << 1) | 1, so a test guest can report pass/fail without a serial protocol. The
// status is always odd, so no guest value can be mistaken for a clean emulator exit (0).
// Accepts 1-, 2- and 4-byte writes; reads return 0, as QEMU's does.

import { type AccessWidth, type PortDevice, WIDTH_16, WIDTH_32, WIDTH_8 } from "./device.js";

export class DebugExit implements PortDevice {
  readonly name = "isa-debug-exit";
  readonly portCount = 1;
  readonly widths = WIDTH_8 | WIDTH_16 | WIDTH_32;

  /** `exit` is called with (v << 1) | 1, computed without 32-bit overflow; it should stop the CPU. */
  constructor(private readonly exit: (code: number) => void) {}

  reset(): void {}

  read(_offset: number, _width: AccessWidth): number {
    return 0;
  }

  write(_offset: number, value: number, _width: AccessWidth): void {
    this.exit((value >>> 0) * 2 + 1);
  }

  save(): Record<string, never> {
    return {};
  }

  restore(_state: unknown): void {}
}
