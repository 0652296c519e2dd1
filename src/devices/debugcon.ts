// QEMU's isa-debugcon (-debugcon), Bochs's "port E9 hack": every byte the guest writes to the
// port is console output, with no UART to program and nothing to wait for. A read returns
// 0xE9 (QEMU's default "readback" value, whatever port the device sits at), which is how a
// guest tells the console is there. Output is handed on a line at a time, and whatever is left
// when the machine stops (flush).

import { type AccessWidth, type PortDevice, WIDTH_8 } from "./device.js";

export const DEBUGCON_READBACK = 0xe9;

export class DebugCon implements PortDevice {
  readonly name = "ISA debug console";
  readonly portCount = 1;
  readonly widths = WIDTH_8;
  private buf = new Uint8Array(256);
  private len = 0;

  /** `out` receives the bytes written; the array is the callee's to keep. */
  constructor(private readonly out: (bytes: Uint8Array) => void) {}

  reset(): void {}

  read(_offset: number, _width: AccessWidth): number {
    return DEBUGCON_READBACK;
  }

  write(_offset: number, value: number, _width: AccessWidth): void {
    if (this.len === this.buf.length) this.flush();
    this.buf[this.len++] = value;
    if (value === 0x0a) this.flush();
  }

  /** Hand on what has been written since the last flush. */
  flush(): void {
    if (this.len === 0) return;
    const bytes = this.buf.slice(0, this.len);
    this.len = 0;
    this.out(bytes);
  }

  // Output already handed on is the host's: nothing of it is machine state.
  save(): Record<string, never> {
    this.flush();
    return {};
  }

  restore(_state: unknown): void {}
}
