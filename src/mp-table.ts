// The Intel MultiProcessor Specification 1.4 tables a PC BIOS leaves in its ROM area to describe
// the APICs (MP spec chapter 4): an MP floating pointer structure, found by its "_MP_" signature
// on a 16-byte boundary in 0xF0000-0xFFFFF, pointing at an MP configuration table with one entry
// per processor, bus, I/O APIC and interrupt wire. Linux reads it when there is no ACPI.
//
// The board it describes: one CPU (local APIC ID 0), one ISA bus, one I/O APIC, the 8259A pair
// on I/O APIC pin 0 (ExtINT) and on LINT0 (virtual wire), NMI on LINT1, and ISA IRQ n on pin n,
// but for the timer's IRQ 0, which arrives on pin 2 (the convention ACPI's interrupt source
// override and QEMU/SeaBIOS use as well).

import { APIC_BASE_RESET } from "../assembly/layout.js";

/** Where the floating pointer goes, with the configuration table right after it. */
export const MP_TABLE_BASE = 0xf0000;
/** Where IA32_APIC_BASE puts the local APIC at reset. */
export const LOCAL_APIC_ADDRESS = (APIC_BASE_RESET & 0xfffff000) >>> 0;
export const IOAPIC_ADDRESS = 0xfec00000;

export interface MpBoard {
  cpuSignature: number;
  cpuFeatures: number;
  localApicVersion: number;
  ioApicId: number;
  ioApicVersion: number;
}

const ENTRY_PROCESSOR = 0;
const ENTRY_BUS = 1;
const ENTRY_IOAPIC = 2;
const ENTRY_IO_INTERRUPT = 3;
const ENTRY_LOCAL_INTERRUPT = 4;
const INT_INT = 0;
const INT_NMI = 1;
const INT_EXTINT = 3;
const ISA_BUS = 0;

/** ISA IRQ → I/O APIC pin: identity, but IRQ 0 → pin 2 and no IRQ 2 (the cascade). */
export function isaIrqToIoApicPin(irq: number): number {
  return irq === 0 ? 2 : irq;
}

/** The floating pointer and configuration table, as they sit at MP_TABLE_BASE. */
export function buildMpTable(board: MpBoard): Uint8Array {
  const entries: number[][] = [];
  const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  const text = (s: string, n: number) => Array.from(s.padEnd(n, " ").slice(0, n), (c) => c.charCodeAt(0));
  // Processor (§4.3.1): enabled, bootstrap.
  entries.push([ENTRY_PROCESSOR, 0, board.localApicVersion, 0x03, ...u32(board.cpuSignature), ...u32(board.cpuFeatures), ...new Array<number>(8).fill(0)]);
  entries.push([ENTRY_BUS, ISA_BUS, ...text("ISA", 6)]);
  entries.push([ENTRY_IOAPIC, board.ioApicId, board.ioApicVersion, 0x01, ...u32(IOAPIC_ADDRESS)]);
  // I/O interrupt assignments (§4.3.4); flags 0 = the bus's own polarity and trigger (ISA: high, edge).
  const io = (type: number, irq: number, pin: number) => [ENTRY_IO_INTERRUPT, type, 0, 0, ISA_BUS, irq, board.ioApicId, pin];
  entries.push(io(INT_EXTINT, 0, 0));
  for (let irq = 0; irq < 16; irq++) if (irq !== 2) entries.push(io(INT_INT, irq, isaIrqToIoApicPin(irq)));
  // Local interrupt assignments (§4.3.5): to every local APIC (0xFF).
  entries.push([ENTRY_LOCAL_INTERRUPT, INT_EXTINT, 0, 0, ISA_BUS, 0, 0xff, 0]);
  entries.push([ENTRY_LOCAL_INTERRUPT, INT_NMI, 0, 0, ISA_BUS, 0, 0xff, 1]);

  const body = entries.flat();
  const header = [
    ...text("PCMP", 4),
    0, 0, // base table length, below
    4, // spec revision 1.4
    0, // checksum, below
    ...text("VMI386", 8),
    ...text("PC", 12),
    ...u32(0), // no OEM table
    0, 0,
    entries.length & 0xff, entries.length >> 8,
    ...u32(LOCAL_APIC_ADDRESS),
    0, 0, 0, 0, // no extended table
  ];
  const config = [...header, ...body];
  config[4] = config.length & 0xff;
  config[5] = config.length >> 8;
  config[7] = checksumByte(config);

  // Floating pointer (§4.1): length 1 (16 bytes), revision 1.4, feature byte 1 = 0 (a table
  // follows), feature byte 2 = 0 (virtual wire mode: no IMCR to switch).
  const pointer = [...text("_MP_", 4), ...u32(MP_TABLE_BASE + 16), 1, 4, 0, 0, 0, 0, 0, 0];
  pointer[10] = checksumByte(pointer);
  return new Uint8Array([...pointer, ...config]);
}

/** The byte that makes a structure's bytes sum to 0 mod 256 (with that byte itself 0 in `bytes`). */
function checksumByte(bytes: number[]): number {
  let sum = 0;
  for (const b of bytes) sum += b;
  return (256 - (sum & 0xff)) & 0xff;
}
