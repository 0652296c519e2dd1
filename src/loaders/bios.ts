// Firmware images (--bios): what makes a file usable as the PC's boot ROM. The image is mapped
// whole below 4 GiB and its last 128 KiB at 0xE0000 (src/devices/firmware-rom.ts), so the
// checks here are about sizes that mapping can take, made before any Machine exists.

import { LoadError, hex } from "./load-error.js";

/** Firmware flash comes in 64 KiB blocks: SeaBIOS's bios.bin is 128 KiB, bios-256k.bin 256 KiB. */
export const BIOS_SIZE_UNIT = 0x10000;
/**
 * The largest image: 16 MiB, 0xFF000000–0xFFFFFFFF, which stays clear of the local APIC
 * (0xFEE00000) and the I/O APIC (0xFEC00000) below it, as a PC's firmware hub decode does.
 */
export const BIOS_MAX_SIZE = 0x1000000;

/** Throws a LoadError naming `name` unless `image` can be the machine's firmware. */
export function checkBiosImage(image: Uint8Array, name: string): void {
  if (image.length === 0 || image.length % BIOS_SIZE_UNIT !== 0) {
    throw new LoadError(`${name}: a firmware image must be a whole number of 64 KiB blocks, and this one is ${image.length} bytes`);
  }
  if (image.length > BIOS_MAX_SIZE) {
    throw new LoadError(`${name}: a firmware image can be at most ${BIOS_MAX_SIZE / 0x100000} MiB (${hex(BIOS_MAX_SIZE)} bytes), and this one is ${image.length} bytes`);
  }
}
