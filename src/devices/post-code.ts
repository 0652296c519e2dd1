// Port 0x80, the POST diagnostic port: firmware and kernels write progress codes to it, and
// Linux uses writes to it as a short I/O delay. Nothing on our board displays the codes; the
// last one is kept for debugging. Reads return it too, as many chipsets latch the byte.

import { type AccessWidth, type PortDevice, WIDTH_8, checkedState } from "./device.js";

export class PostCode implements PortDevice {
  readonly name = "POST code port";
  readonly portCount = 1;
  readonly widths = WIDTH_8;
  s = { last: 0 };

  reset(): void {
    this.s = { last: 0 };
  }

  read(_offset: number, _width: AccessWidth): number {
    return this.s.last;
  }

  write(_offset: number, value: number, _width: AccessWidth): void {
    this.s.last = value & 0xff;
  }

  save(): { last: number } {
    return { ...this.s };
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, { last: 0 }, state);
  }
}
