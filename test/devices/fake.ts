// Test doubles for device tests: a settable virtual clock and a recording IRQ line.
import type { IrqLine, TimeSource } from "../../src/devices/device.js";

export class FakeClock implements TimeSource {
  t = 0;
  now(): number {
    return this.t;
  }
}

/** Records the level driven on a line and counts rising edges. */
export class RecordingLine {
  level = false;
  rises = 0;
  readonly line: IrqLine = (level) => {
    if (level && !this.level) this.rises++;
    this.level = level;
  };
}
