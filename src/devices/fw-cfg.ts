// QEMU's firmware configuration device (fw_cfg) as a PC has it, at I/O ports 0x510–0x511: the
// way SeaBIOS and OVMF learn what QEMU would tell them (RAM size, CPU count, the memory map,
// boot settings). Layout facts from QEMU's fw_cfg specification (fw_cfg.rst in its documentation):
//
// - The selector (port 0x510) takes a 16-bit little-endian write: the item's key. Selecting
//   sets the item's read offset to 0.
// - The data port (0x511) reads the selected item a byte at a time, each read moving the
//   offset on; past the item's end, or for a key that names nothing, it reads 0.
// - Keys 0x0000–0x3fff are generic, 0x8000 up are the architecture's (x86: ACPI tables,
//   SMBIOS, IRQ0 override, e820); bit 14 asks for write access. Writes through the data port
//   are ignored here: every item is read-only, as QEMU's are to the traditional interface.
// - Numbers are little-endian, except in the file directory (key 0x19), which is big-endian:
//   a u32 count, then per file a u32 size, a u16 key, a u16 reserved and a 56-byte name.
// - The ID item (key 0x01) is a bit set: bit 0 the traditional (port) interface, bit 1 the DMA
//   interface. Only bit 0 is set, so firmware never tries the DMA port (0x514), which is absent.
//
// The items are those SeaBIOS reads on a machine without PCI (QEMU's isapc), with QEMU's
// values for a one-CPU PC; "etc/e820" gives it the RAM, "etc/boot-fail-wait" = -1 makes
// it stop at "No bootable device." instead of rebooting after 60 s, as under QEMU.

import { type AccessWidth, type PortDevice, WIDTH_16, WIDTH_8, checkedState } from "./device.js";

export const FW_CFG_SIGNATURE = 0x00;
export const FW_CFG_ID = 0x01;
export const FW_CFG_UUID = 0x02;
export const FW_CFG_RAM_SIZE = 0x03;
export const FW_CFG_NOGRAPHIC = 0x04;
export const FW_CFG_NB_CPUS = 0x05;
export const FW_CFG_BOOT_DEVICE = 0x0c;
export const FW_CFG_BOOT_MENU = 0x0e;
export const FW_CFG_MAX_CPUS = 0x0f;
export const FW_CFG_FILE_DIR = 0x19;
/** The first key given to a file (the directory lists them). */
export const FW_CFG_FILE_FIRST = 0x20;
export const FW_CFG_ACPI_TABLES = 0x8000;
export const FW_CFG_SMBIOS_ENTRIES = 0x8001;
export const FW_CFG_IRQ0_OVERRIDE = 0x8002;
/** Bit 14 of a key: the guest asks to write the item. It selects the same item. */
const FW_CFG_WRITE_CHANNEL = 0x4000;
/** ID bit 0: the traditional selector/data port interface. */
export const FW_CFG_VERSION = 1;
/** A directory entry's name field, NUL-padded. */
export const FW_CFG_FILE_NAME_SIZE = 56;
/** The e820 memory type of usable RAM (ACPI spec, "Address Range Types"). */
export const E820_RAM = 1;

export interface FwCfgConfig {
  /** Guest RAM in bytes, all of it below 4 GiB, from address 0. */
  ramSize: number;
  /** CPUs present and possible (QEMU's -smp). */
  cpus: number;
  /** QEMU's boot device letter: 'c' (first hard disk), QEMU's default for a PC. */
  bootDevice?: string;
}

interface FwCfgState {
  key: number;
  offset: number;
}

export class FwCfg implements PortDevice {
  readonly name = "QEMU fw_cfg";
  readonly portCount = 2;
  // Both widths reach the device whole: a 16-bit write is the selector whichever port it
  // names, a byte write is data; a 16-bit read is taken as two data bytes.
  readonly widths = WIDTH_8 | WIDTH_16;
  private readonly items = new Map<number, Uint8Array>();
  private s: FwCfgState = { key: 0, offset: 0 };

  constructor(config: FwCfgConfig) {
    this.items.set(FW_CFG_SIGNATURE, new TextEncoder().encode("QEMU"));
    this.items.set(FW_CFG_ID, le(4, FW_CFG_VERSION));
    this.items.set(FW_CFG_UUID, new Uint8Array(16));
    this.items.set(FW_CFG_RAM_SIZE, le(8, config.ramSize));
    this.items.set(FW_CFG_NOGRAPHIC, le(2, 0));
    this.items.set(FW_CFG_NB_CPUS, le(2, config.cpus));
    this.items.set(FW_CFG_MAX_CPUS, le(2, config.cpus));
    this.items.set(FW_CFG_BOOT_DEVICE, le(2, (config.bootDevice ?? "c").charCodeAt(0)));
    this.items.set(FW_CFG_BOOT_MENU, le(2, 0));
    this.items.set(FW_CFG_ACPI_TABLES, le(2, 0));
    this.items.set(FW_CFG_SMBIOS_ENTRIES, le(2, 0));
    this.items.set(FW_CFG_IRQ0_OVERRIDE, le(4, 1));
    const e820 = new Uint8Array(20); // u64 address, u64 length, u32 type
    e820.set(le(8, 0), 0);
    e820.set(le(8, config.ramSize), 8);
    e820.set(le(4, E820_RAM), 16);
    this.addFiles({ "etc/boot-fail-wait": le(4, 0xffffffff), "etc/e820": e820 });
  }

  /** The item `key` names, or undefined (tests; the guest reads zeros there). */
  item(key: number): Uint8Array | undefined {
    return this.items.get(key & ~FW_CFG_WRITE_CHANNEL);
  }

  /** Files get keys from FW_CFG_FILE_FIRST in name order, and the directory lists them so (as QEMU sorts it). */
  private addFiles(files: Record<string, Uint8Array>): void {
    const names = Object.keys(files).sort();
    const dir = new Uint8Array(4 + names.length * (8 + FW_CFG_FILE_NAME_SIZE));
    const view = new DataView(dir.buffer);
    view.setUint32(0, names.length); // big-endian
    names.forEach((name, i) => {
      const key = FW_CFG_FILE_FIRST + i;
      const at = 4 + i * (8 + FW_CFG_FILE_NAME_SIZE);
      view.setUint32(at, files[name].length);
      view.setUint16(at + 4, key);
      dir.set(new TextEncoder().encode(name).subarray(0, FW_CFG_FILE_NAME_SIZE - 1), at + 8);
      this.items.set(key, files[name]);
    });
    this.items.set(FW_CFG_FILE_DIR, dir);
  }

  reset(): void {
    this.s = { key: 0, offset: 0 };
  }

  read(_offset: number, width: AccessWidth): number {
    const lo = this.nextByte();
    return width === 1 ? lo : lo | (this.nextByte() << 8);
  }

  write(_offset: number, value: number, width: AccessWidth): void {
    if (width !== 2) return; // a data write: the items are read-only
    this.s = { key: value & ~FW_CFG_WRITE_CHANNEL, offset: 0 };
  }

  private nextByte(): number {
    const item = this.items.get(this.s.key);
    if (item === undefined || this.s.offset >= item.length) return 0;
    return item[this.s.offset++];
  }

  save(): FwCfgState {
    return { ...this.s };
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, { key: 0, offset: 0 }, state);
  }
}

/** `value` as `n` little-endian bytes (n up to 8; exact for values below 2^53). */
function le(n: number, value: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.floor(value / 2 ** (8 * i)) & 0xff;
  }
  return out;
}
