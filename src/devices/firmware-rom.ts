// The firmware ROM as a PC chipset decodes it: the whole image ends at 4 GiB, where the CPU's
// first fetch after RESET lands (CS base 0xFFFF0000 + EIP 0xFFF0), and its last 128 KiB also
// answer at 0xE0000–0xFFFFF, the "ISA BIOS" area real-mode code runs in. A 128 KiB image is
// there whole; of a bigger one only the top 128 KiB (QEMU's isa-bios alias does the same).
//
// The high mapping is ROM: reads come from the image, writes are dropped. The low one is RAM
// preloaded with the image, always writable. That is QEMU's "isapc" board, which has no PCI
// host bridge and so no PAM registers to switch the area between ROM and shadow RAM: QEMU maps
// the firmware writable there, and SeaBIOS, finding no i440FX ("Unable to unlock ram - bridge
// not found"), runs from that RAM and keeps its variables in it. Our board has no PCI either,
// and this is all SeaBIOS needs from it.

import type { AccessWidth } from "./device.js";

/** The ISA BIOS area: 0xE0000–0xFFFFF. */
export const LOW_ALIAS_END = 0x100000;
export const LOW_ALIAS_SIZE = 0x20000;

export class FirmwareRom {
  /** Physical address of the image's first byte: 4 GiB minus its size. */
  readonly base: number;

  constructor(private readonly image: Uint8Array) {
    this.base = 2 ** 32 - image.length;
  }

  /** Whether `addr` (a physical address outside RAM) is in the high mapping. */
  contains(addr: number): boolean {
    return addr >= this.base;
  }

  /** A little-endian read at `addr`; bytes past 4 GiB (an access that wraps) read as all ones. */
  read(addr: number, size: AccessWidth): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) {
      const off = addr + i - this.base;
      v = (v << 8) | (off < this.image.length ? this.image[off] : 0xff);
    }
    return v >>> 0;
  }

  /** The bytes that appear at 0xE0000–0xFFFFF (ending at 1 MiB), and where they start. */
  lowAlias(): { addr: number; bytes: Uint8Array } {
    const n = Math.min(LOW_ALIAS_SIZE, this.image.length);
    return { addr: LOW_ALIAS_END - n, bytes: this.image.subarray(this.image.length - n) };
  }
}
