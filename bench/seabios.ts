// Finds Debian's SeaBIOS images for booting v86 the long way (--v86-bios). Nothing is bundled:
// the directory comes from VMI386_SEABIOS_DIR or the usual install locations.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface BiosImages {
  bios: Uint8Array;
  vgaBios: Uint8Array;
  /** Where they were found, for the report. */
  dir: string;
}

const ENV_VAR = "VMI386_SEABIOS_DIR";
/** Debian's seabios package, and QEMU's copies on other distributions. */
const STANDARD_DIRS = ["/usr/share/seabios", "/usr/share/qemu", "/usr/share/qemu-kvm", "/usr/local/share/qemu"];
const BIOS_NAMES = ["bios.bin", "bios-256k.bin"];
/** v86's VGA is Bochs VBE compatible, which the stdvga build drives. */
const VGA_BIOS_NAMES = ["vgabios-stdvga.bin", "vgabios.bin"];

export function findSeaBios(): BiosImages {
  const fromEnv = process.env[ENV_VAR];
  const dirs = fromEnv ? [fromEnv] : STANDARD_DIRS;
  for (const dir of dirs) {
    const bios = BIOS_NAMES.map((n) => join(dir, n)).find(existsSync);
    const vga = VGA_BIOS_NAMES.map((n) => join(dir, n)).find(existsSync);
    if (bios && vga) return { bios: readFileSync(bios), vgaBios: readFileSync(vga), dir };
  }
  throw new Error(
    `SeaBIOS not found: looked for ${BIOS_NAMES.join(" or ")} and ${VGA_BIOS_NAMES.join(" or ")} in ${dirs.join(", ")}. ` +
      `Install it (Debian: apt-get install seabios) or set ${ENV_VAR} to the directory holding them.`,
  );
}
