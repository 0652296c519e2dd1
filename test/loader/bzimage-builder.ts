// Synthetic bzImages for the Linux loader and CLI tests: a boot sector and setup sectors holding
// a setup header at 0x1F1 (Documentation/arch/x86/boot.rst "The Real-Mode Kernel Header"),
// each field settable, then a protected-mode payload (by default the nasm-built probe,
// fixtures/linux-probe.asm) padded to syssize paragraphs.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const PROBE = new Uint8Array(readFileSync(join(here, "fixtures/linux-probe.bin")));

export interface BzOptions {
  setupSects?: number;
  version?: number;
  loadflags?: number;
  code32?: number;
  initrdAddrMax?: number;
  alignment?: number;
  relocatable?: number;
  cmdlineSize?: number;
  prefAddress?: number;
  initSize?: number;
  /** The byte at 0x201: the header ends at 0x202 + this. */
  jump?: number;
  payload?: Uint8Array;
  syssize?: number;
  /** Cut the file to this many bytes. */
  truncate?: number;
  magic?: number;
  bootFlag?: number;
}

/** A bzImage: boot sector + setup sectors with the header at 0x1F1, then the payload padded to syssize paragraphs. */
export function bzImage(o: BzOptions = {}): Uint8Array {
  const setupSects = o.setupSects ?? 4;
  const setupSize = ((setupSects || 4) + 1) * 512;
  const payload = o.payload ?? PROBE;
  const syssize = o.syssize ?? Math.ceil(payload.length / 16);
  const padded = Math.max(syssize * 16, payload.length);
  const img = new Uint8Array(setupSize + padded);
  img.fill(0xcc, 0, setupSize); // setup code: must never reach the zero page beyond the header
  img.fill(0, 0x1f1, 0x290);
  const dv = new DataView(img.buffer);
  img[0x1f1] = setupSects;
  dv.setUint16(0x1f2, 1, true); // root_flags
  dv.setUint32(0x1f4, syssize, true);
  dv.setUint16(0x1fa, 0xffff, true); // vid_mode: NORMAL_VGA
  dv.setUint16(0x1fc, 0x0801, true); // root_dev
  dv.setUint16(0x1fe, o.bootFlag ?? 0xaa55, true);
  img[0x200] = 0xeb;
  img[0x201] = o.jump ?? 0x6a; // header ends at 0x26c, as in 2.15 kernels
  dv.setUint32(0x202, o.magic ?? 0x53726448, true);
  dv.setUint16(0x206, o.version ?? 0x020f, true);
  dv.setUint16(0x20e, 0x0200, true); // kernel_version pointer
  img[0x211] = o.loadflags ?? 0x01;
  dv.setUint32(0x214, o.code32 ?? 0x100000, true);
  dv.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  dv.setUint32(0x230, o.alignment ?? 0x1000000, true);
  img[0x234] = o.relocatable ?? 0;
  img[0x235] = 0x15; // min_alignment
  dv.setUint16(0x236, 0x0002, true); // xloadflags
  dv.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  dv.setUint32(0x258, o.prefAddress ?? 0x1000000, true);
  dv.setUint32(0x260, o.initSize ?? 0x10000, true);
  dv.setUint32(0x264, 0x1234, true); // handover_offset
  img.set(payload, setupSize);
  return o.truncate === undefined ? img : img.slice(0, o.truncate);
}
