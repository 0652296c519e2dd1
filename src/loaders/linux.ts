// Linux/x86 boot protocol loader (Documentation/arch/x86/boot.rst), 32-bit boot path: there is
// no BIOS, so the kernel's real-mode setup code never runs. We parse the bzImage's setup header
// ("The Real-Mode Kernel Header"), load the protected-mode kernel, the initrd and the command
// line, fill in the zero page (struct boot_params) ourselves as the real-mode setup would have,
// and enter at code32_start as "32-bit Boot Protocol" describes.
//
// The image is untrusted. Everything is checked first, in `planLinux`, which touches no guest
// memory; only a plan that passed every check is written (`writeLinux`), so a bad image is
// rejected with a LoadError before anything runs or any byte of RAM changes.
//
// Guest physical memory as we lay it out:
//   0x0000-0x0fff    left alone (real-mode IVT/BDA)
//   0x1000-0x101f    our GDT: entries 2 and 3 are __BOOT_CS (0x10) and __BOOT_DS (0x18)
//   0x10000-0x10fff  the zero page (struct boot_params); the initial ESP is its address
//   0x20000-         the command line, NUL-terminated (at most cmdline_size + 1 bytes)
//   0x9fc00-0xfffff  reserved (EBDA, VGA, ROMs), as the e820 map says
//   load address-    the protected-mode kernel: 0x100000, or pref_address (see planLinux)
//   top of RAM       the initrd, as high as initrd_addr_max allows, page aligned

import type { Core } from "../core.js";
import { Seg } from "../core.js";
import * as L from "../../assembly/layout.js";
import { formatSize } from "../size.js";
import { LoadError, hex } from "./load-error.js";

// ---- setup header offsets (boot.rst "The Real-Mode Kernel Header"), within the file and ----
// ---- within boot_params alike: the header sits at 0x1F1 in both ----------------------------
export const HDR_START = 0x1f1;
export const OFF_SETUP_SECTS = 0x1f1;
export const OFF_SYSSIZE = 0x1f4;
export const OFF_BOOT_FLAG = 0x1fe;
export const OFF_JUMP = 0x200;
export const OFF_HEADER = 0x202;
export const OFF_VERSION = 0x206;
export const OFF_TYPE_OF_LOADER = 0x210;
export const OFF_LOADFLAGS = 0x211;
export const OFF_CODE32_START = 0x214;
export const OFF_RAMDISK_IMAGE = 0x218;
export const OFF_RAMDISK_SIZE = 0x21c;
export const OFF_HEAP_END_PTR = 0x224;
export const OFF_EXT_LOADER_VER = 0x226;
export const OFF_EXT_LOADER_TYPE = 0x227;
export const OFF_CMD_LINE_PTR = 0x228;
export const OFF_INITRD_ADDR_MAX = 0x22c;
export const OFF_KERNEL_ALIGNMENT = 0x230;
export const OFF_RELOCATABLE_KERNEL = 0x234;
export const OFF_CMDLINE_SIZE = 0x238;
export const OFF_HARDWARE_SUBARCH = 0x23c;
export const OFF_SETUP_DATA = 0x250;
export const OFF_PREF_ADDRESS = 0x258;
export const OFF_INIT_SIZE = 0x260;

// ---- other zero-page fields (Documentation/arch/x86/zero-page.rst) --------------------------
export const ZP_ALT_MEM_K = 0x1e0;
export const ZP_E820_ENTRIES = 0x1e8;
export const ZP_E820_TABLE = 0x2d0;
export const E820_ENTRY_SIZE = 20;
/** E820_MAX_ENTRIES_ZEROPAGE: the table holds 128 entries, up to 0xcd0. */
export const E820_MAX_ENTRIES = 128;
/** boot_params.hdr is followed by padding up to edd_mbr_sig_buffer at 0x290: no header may reach past it. */
export const HDR_LIMIT = 0x290;
export const ZERO_PAGE_SIZE = 0x1000;

export const BOOT_FLAG = 0xaa55;
/** "HdrS", read as a little-endian u32. */
export const HDRS_MAGIC = 0x53726448;
/** Protocol 2.06 is the first with cmdline_size; initrd_addr_max (2.03), kernel_alignment and relocatable_kernel (2.05) come with it. */
export const MIN_PROTOCOL = 0x0206;
/** Protocol 2.10 added pref_address and init_size. */
export const PROTOCOL_PREF_ADDRESS = 0x020a;

// loadflags bits (boot.rst "Details of Header Fields": loadflags).
export const LOADED_HIGH = 0x01;
export const KEEP_SEGMENTS = 0x40;
export const CAN_USE_HEAP = 0x80;

/** type_of_loader 0xFF: "undefined" boot loader (boot.rst: type_of_loader). */
export const TYPE_OF_LOADER = 0xff;

/** e820 types. */
export const E820_RAM = 1;
export const E820_RESERVED = 2;

/** Guest physical layout (see the map at the top of this file). */
export const GDT_ADDR = 0x1000;
export const GDT_ENTRIES = 4;
export const ZERO_PAGE_ADDR = 0x10000;
export const CMDLINE_ADDR = 0x20000;
export const LOW_MEMORY_END = 0x9fc00;
export const BIOS_ROM_START = 0xf0000;
export const HIGH_MEMORY_START = 0x100000;
/** The traditional load address of a bzImage's protected-mode kernel (boot.rst "Loading The Rest of The Kernel"). */
export const DEFAULT_LOAD_ADDR = 0x100000;
/** __BOOT_CS / __BOOT_DS (boot.rst "32-bit Boot Protocol"). */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** The flat descriptors in our GDT; the caches we load hold the same (accessed bit set). */
export const GDT_CODE = 0x00cf9b000000ffffn;
export const GDT_DATA = 0x00cf93000000ffffn;
const CACHE_CODE_ATTR = 0xc09b;
const CACHE_DATA_ATTR = 0xc093;

const PAGE = 4096;

export interface LinuxOptions {
  initrd?: Uint8Array;
  /** The kernel command line. Default "". */
  cmdline?: string;
  /** The kernel's file name, for messages. */
  name?: string;
  /** The initrd's file name, for messages. */
  initrdName?: string;
}

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

export interface LinuxPlan {
  /** Boot protocol version, e.g. 0x20f for 2.15. */
  protocol: number;
  /** (setup_sects + 1) * 512: the file bytes before the protected-mode kernel. */
  setupSize: number;
  /** One past the setup header in the file (0x202 + the byte at 0x201). */
  headerEnd: number;
  /** Where the protected-mode kernel goes, and whether that is pref_address rather than 0x100000. */
  loadAddr: number;
  relocated: boolean;
  /** The file's bytes from setupSize on. */
  payloadOffset: number;
  payloadSize: number;
  /** Bytes the kernel needs from loadAddr: max(payload, init_size). */
  kernelSize: number;
  entry: number;
  cmdline: Uint8Array;
  initrd?: { start: number; size: number; data: Uint8Array };
  e820: E820Entry[];
  ramSize: number;
}

export interface LinuxLoadResult {
  protocol: number;
  setupSize: number;
  loadAddr: number;
  relocated: boolean;
  kernelEnd: number;
  entry: number;
  zeroPage: number;
  cmdlineAddr: number;
  initrd?: { start: number; end: number };
  e820: E820Entry[];
}

export type LinuxTarget = Core | { readonly core: Core };

/**
 * Loads a bzImage (and initrd and command line) into the target's guest RAM and sets up the CPU
 * for the 32-bit boot protocol. Throws LoadError, with guest RAM untouched, if anything is bad.
 */
export function loadLinux(target: LinuxTarget, kernel: Uint8Array, opts: LinuxOptions = {}): LinuxLoadResult {
  const core = "core" in target ? target.core : target;
  const plan = planLinux(kernel, core.ramSize, opts);
  writeLinux(core.ram, kernel, plan);
  core.ramWritten(0, core.ramSize);
  enterLinux(core, plan);
  return {
    protocol: plan.protocol,
    setupSize: plan.setupSize,
    loadAddr: plan.loadAddr,
    relocated: plan.relocated,
    kernelEnd: plan.loadAddr + plan.kernelSize,
    entry: plan.entry,
    zeroPage: ZERO_PAGE_ADDR,
    cmdlineAddr: CMDLINE_ADDR,
    initrd: plan.initrd && { start: plan.initrd.start, end: plan.initrd.start + plan.initrd.size },
    e820: plan.e820,
  };
}

/** Checks the image, initrd and command line and works out where everything goes; writes nothing. */
export function planLinux(kernel: Uint8Array, ramSize: number, opts: LinuxOptions = {}): LinuxPlan {
  const name = opts.name ?? "the kernel";
  const dv = new DataView(kernel.buffer, kernel.byteOffset, kernel.byteLength);
  const u8 = (o: number) => dv.getUint8(o);
  const u16 = (o: number) => dv.getUint16(o, true);
  const u32 = (o: number) => dv.getUint32(o, true);

  // "The Real-Mode Kernel Header": boot_flag 0xAA55 at 0x1FE and "HdrS" at 0x202 identify a
  // kernel with a setup header; we read up to version at 0x206 before trusting anything else.
  if (kernel.length < OFF_VERSION + 2) {
    throw new LoadError(`${name} is not a bzImage: ${kernel.length} bytes cannot hold a Linux setup header (boot.rst needs ${OFF_VERSION + 2})`);
  }
  if (u16(OFF_BOOT_FLAG) !== BOOT_FLAG || u32(OFF_HEADER) !== HDRS_MAGIC) {
    throw new LoadError(`${name} is not a bzImage: no boot flag 0xaa55 at 0x1fe and "HdrS" at 0x202`);
  }
  const protocol = u16(OFF_VERSION);
  const ver = `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, "0")}`;
  if (protocol < MIN_PROTOCOL) {
    throw new LoadError(`${name} uses boot protocol ${ver}; vmi386 boots Linux through the 32-bit entry, which needs 2.06 or later`);
  }
  // The header ends at 0x202 + the byte at 0x201 (the jump's displacement; boot.rst "64-bit/32-bit
  // Boot Protocol"). It must hold every field the version promises and fit boot_params.hdr.
  const headerEnd = OFF_HEADER + u8(OFF_JUMP + 1);
  const needEnd = protocol >= PROTOCOL_PREF_ADDRESS ? OFF_INIT_SIZE + 4 : OFF_CMDLINE_SIZE + 4;
  if (headerEnd < needEnd || headerEnd > HDR_LIMIT) {
    throw new LoadError(
      `${name}: its setup header ends at ${hex(headerEnd)} (0x202 + the byte at 0x201), but protocol ${ver} needs ${hex(needEnd)}..${hex(HDR_LIMIT)}`,
    );
  }
  // setup_sects: 0 means 4 (boot.rst "Details of Header Fields"); the boot sector adds one.
  const setupSects = u8(OFF_SETUP_SECTS) || 4;
  const setupSize = (setupSects + 1) * 512;
  // (At least 2560 bytes, so the header, which ends by 0x290, always lies within it.)
  if (kernel.length < setupSize) {
    throw new LoadError(`${name} is truncated: its setup code needs ${setupSize} bytes (setup_sects ${setupSects}), the file has ${kernel.length}`);
  }
  const loadflags = u8(OFF_LOADFLAGS);
  if (!(loadflags & LOADED_HIGH)) {
    throw new LoadError(`${name} is not loaded high (loadflags bit 0 clear): a zImage must go at 0x10000, which vmi386 does not support`);
  }
  // syssize: the protected-mode code in 16-byte paragraphs (32 bits wide from 2.04).
  const payloadOffset = setupSize;
  const payloadSize = kernel.length - setupSize;
  const syssize = u32(OFF_SYSSIZE);
  if (syssize === 0) throw new LoadError(`${name}: syssize is 0, so the header claims no protected-mode kernel`);
  if (payloadSize < syssize * 16) {
    throw new LoadError(
      `${name} is truncated: syssize says ${syssize * 16} bytes of protected-mode kernel after the ${setupSize}-byte setup, the file has ${payloadSize}`,
    );
  }

  const relocatable = u8(OFF_RELOCATABLE_KERNEL) !== 0;
  const alignment = u32(OFF_KERNEL_ALIGNMENT);
  if (relocatable && (alignment < PAGE || (alignment & (alignment - 1)) !== 0)) {
    throw new LoadError(`${name}: kernel_alignment ${hex(alignment)} of a relocatable kernel is not a power of two of at least 4 KiB`);
  }
  const hasPref = protocol >= PROTOCOL_PREF_ADDRESS;
  // pref_address is a u64; a value at or above 4 GiB can never be used on i386.
  const prefLo = hasPref ? u32(OFF_PREF_ADDRESS) : 0;
  const prefHi = hasPref ? u32(OFF_PREF_ADDRESS + 4) : 0;
  // init_size (2.10): the linear memory the kernel needs from its load address while it
  // decompresses and starts; before 2.10 all we know is the payload's size.
  const initSize = hasPref ? u32(OFF_INIT_SIZE) : 0;
  const kernelSize = Math.max(payloadSize, initSize);

  // Load address. boot.rst (pref_address): "a relocating boot loader should attempt to load at
  // this address if possible". We do, when the kernel is relocatable, the address is above 1
  // MiB, aligned to kernel_alignment and the kernel fits there: that spares the decompressor
  // moving itself. Otherwise 0x100000, where a non-relocatable bzImage must go and any other
  // one may ("Loading The Rest of The Kernel").
  let loadAddr = DEFAULT_LOAD_ADDR;
  let relocated = false;
  if (relocatable && hasPref && prefHi === 0 && prefLo > DEFAULT_LOAD_ADDR && prefLo % alignment === 0 && prefLo + kernelSize <= ramSize) {
    loadAddr = prefLo;
    relocated = true;
  }
  if (loadAddr + kernelSize > ramSize) {
    throw new LoadError(
      `${name} needs ${kernelSize} bytes of guest RAM from ${hex(loadAddr)} (max of the ${payloadSize}-byte kernel and init_size ${hex(initSize)}), more than the ${formatSize(ramSize)} there is`,
    );
  }
  // code32_start: the 32-bit entry, by default the load address 0x100000. A loader that puts
  // the kernel elsewhere adjusts it by the same amount (boot.rst: code32_start).
  const code32 = u32(OFF_CODE32_START);
  if (code32 < DEFAULT_LOAD_ADDR || code32 >= DEFAULT_LOAD_ADDR + payloadSize) {
    throw new LoadError(`${name}: code32_start ${hex(code32)} is outside the protected-mode kernel ${hex(DEFAULT_LOAD_ADDR)}..${hex(DEFAULT_LOAD_ADDR + payloadSize)}`);
  }
  const entry = code32 - DEFAULT_LOAD_ADDR + loadAddr;

  // Command line: cmdline_size is its maximum length without the terminating NUL (2.06+).
  const cmdlineText = opts.cmdline ?? "";
  if (cmdlineText.includes("\0")) throw new LoadError(`the kernel command line contains a NUL character`);
  const cmdline = new TextEncoder().encode(cmdlineText);
  const cmdlineSize = u32(OFF_CMDLINE_SIZE);
  if (cmdline.length > cmdlineSize) {
    throw new LoadError(`the kernel command line is ${cmdline.length} bytes, longer than ${name}'s cmdline_size ${cmdlineSize}`);
  }
  if (CMDLINE_ADDR + cmdline.length + 1 > LOW_MEMORY_END) {
    throw new LoadError(`the kernel command line is ${cmdline.length} bytes, more than fit below ${hex(LOW_MEMORY_END)}`);
  }

  // Initrd (boot.rst "Details of Header Fields": initrd_addr_max; "Sample Boot Configuration"):
  // as high as possible, page aligned, ending at or below initrd_addr_max + 1 and the end of
  // RAM, and clear of everything the kernel needs (from its load address, init_size bytes).
  let initrd: LinuxPlan["initrd"];
  if (opts.initrd) {
    const data = opts.initrd;
    const iname = opts.initrdName ?? "the initrd";
    if (data.length === 0) throw new LoadError(`${iname} is empty`);
    const floor = pageUp(loadAddr + kernelSize);
    const maxAddr = u32(OFF_INITRD_ADDR_MAX);
    const top = Math.min(maxAddr + 1, ramSize);
    const start = Math.floor((top - data.length) / PAGE) * PAGE;
    if (start < floor) {
      const ramStart = Math.floor((ramSize - data.length) / PAGE) * PAGE;
      if (ramStart < floor) {
        throw new LoadError(`${iname} (${data.length} bytes) does not fit in guest RAM (${formatSize(ramSize)}) above the kernel, which ends at ${hex(floor)}`);
      }
      throw new LoadError(`${iname} (${data.length} bytes) does not fit between the kernel's end ${hex(floor)} and ${name}'s initrd_addr_max ${hex(maxAddr)}`);
    }
    initrd = { start, size: data.length, data };
  }

  // The e820 map we promise (Documentation/arch/x86/zero-page.rst e820_table): conventional
  // memory below the EBDA, the EBDA, the BIOS ROM area, and RAM from 1 MiB to the end. The
  // VGA/option-ROM hole 0xA0000-0xF0000 is simply not listed.
  const e820: E820Entry[] = [
    { addr: 0, size: LOW_MEMORY_END, type: E820_RAM },
    { addr: LOW_MEMORY_END, size: 0xa0000 - LOW_MEMORY_END, type: E820_RESERVED },
    { addr: BIOS_ROM_START, size: HIGH_MEMORY_START - BIOS_ROM_START, type: E820_RESERVED },
  ];
  if (ramSize > HIGH_MEMORY_START) e820.push({ addr: HIGH_MEMORY_START, size: ramSize - HIGH_MEMORY_START, type: E820_RAM });

  return { protocol, setupSize, headerEnd, loadAddr, relocated, payloadOffset, payloadSize, kernelSize, entry, cmdline, initrd, e820, ramSize };
}

/** Writes a checked plan into guest RAM: kernel, initrd, command line, GDT and zero page. */
export function writeLinux(ram: Uint8Array, kernel: Uint8Array, plan: LinuxPlan): void {
  ram.set(kernel.subarray(plan.payloadOffset, plan.payloadOffset + plan.payloadSize), plan.loadAddr);
  if (plan.initrd) ram.set(plan.initrd.data, plan.initrd.start);
  ram.set(plan.cmdline, CMDLINE_ADDR);
  ram[CMDLINE_ADDR + plan.cmdline.length] = 0;

  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  // GDT: entries 0 and 1 null, 2 = __BOOT_CS, 3 = __BOOT_DS, both flat 4 GiB.
  for (let i = 0; i < GDT_ENTRIES; i++) dv.setBigUint64(GDT_ADDR + i * 8, 0n, true);
  dv.setBigUint64(GDT_ADDR + (BOOT_CS >> 3) * 8, GDT_CODE, true);
  dv.setBigUint64(GDT_ADDR + (BOOT_DS >> 3) * 8, GDT_DATA, true);

  // "64-bit/32-bit Boot Protocol": allocate boot_params, zero it, copy the setup header from
  // the image at 0x1F1 into it, then fill in the fields a boot loader writes.
  const zp = ZERO_PAGE_ADDR;
  ram.fill(0, zp, zp + ZERO_PAGE_SIZE);
  ram.set(kernel.subarray(HDR_START, plan.headerEnd), zp + HDR_START);
  const put8 = (o: number, v: number) => dv.setUint8(zp + o, v);
  const put16 = (o: number, v: number) => dv.setUint16(zp + o, v, true);
  const put32 = (o: number, v: number) => dv.setUint32(zp + o, v >>> 0, true);
  put8(OFF_TYPE_OF_LOADER, TYPE_OF_LOADER);
  put8(OFF_EXT_LOADER_VER, 0);
  put8(OFF_EXT_LOADER_TYPE, 0);
  // The heap (heap_end_ptr, CAN_USE_HEAP) belongs to the real-mode setup code, which the 32-bit
  // path skips: say there is none. KEEP_SEGMENTS stays clear: our GDT lets the kernel reload.
  put8(OFF_LOADFLAGS, dv.getUint8(zp + OFF_LOADFLAGS) & ~(CAN_USE_HEAP | KEEP_SEGMENTS));
  put16(OFF_HEAP_END_PTR, 0);
  put32(OFF_CODE32_START, plan.entry);
  put32(OFF_RAMDISK_IMAGE, plan.initrd ? plan.initrd.start : 0);
  put32(OFF_RAMDISK_SIZE, plan.initrd ? plan.initrd.size : 0);
  put32(OFF_CMD_LINE_PTR, CMDLINE_ADDR);
  // hardware_subarch 0: a normal PC (2.07+); no setup_data list (2.09+). Written even if the
  // image said otherwise: they describe the platform, which is ours to say.
  if (plan.headerEnd >= OFF_HARDWARE_SUBARCH + 12) {
    put32(OFF_HARDWARE_SUBARCH, 0);
    put32(OFF_HARDWARE_SUBARCH + 4, 0);
    put32(OFF_HARDWARE_SUBARCH + 8, 0);
  }
  if (plan.headerEnd >= OFF_SETUP_DATA + 8) {
    put32(OFF_SETUP_DATA, 0);
    put32(OFF_SETUP_DATA + 4, 0);
  }
  // alt_mem_k: KiB of memory above 1 MiB. screen_info stays zero (orig_video_isVGA 0: no console).
  put32(ZP_ALT_MEM_K, Math.max(0, plan.ramSize - HIGH_MEMORY_START) / 1024);
  put8(ZP_E820_ENTRIES, plan.e820.length);
  plan.e820.forEach((e, i) => {
    const o = zp + ZP_E820_TABLE + i * E820_ENTRY_SIZE;
    dv.setBigUint64(o, BigInt(e.addr), true);
    dv.setBigUint64(o + 8, BigInt(e.size), true);
    dv.setUint32(o + 16, e.type, true);
  });
}

/**
 * The CPU state of boot.rst "32-bit Boot Protocol": protected mode, paging off, a GDT holding
 * flat __BOOT_CS/__BOOT_DS, CS = 0x10, DS = ES = SS = 0x18, interrupts off, ESI = boot_params,
 * EBP = EDI = EBX = 0, EIP = code32_start.
 */
export function enterLinux(core: Core, plan: LinuxPlan): void {
  core.enterFlatProtectedMode(plan.entry);
  core.setSegment(Seg.CS, BOOT_CS, 0, 0xffffffff, CACHE_CODE_ATTR);
  for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) core.setSegment(s, BOOT_DS, 0, 0xffffffff, CACHE_DATA_ATTR);
  core.u32[L.STATE_GDTR_BASE >> 2] = GDT_ADDR;
  core.u32[L.STATE_GDTR_LIMIT >> 2] = GDT_ENTRIES * 8 - 1;
  for (let r = 0; r < 8; r++) core.setReg(r, 0);
  core.setReg(L.REG_ESI, ZERO_PAGE_ADDR);
  // The protocol leaves ESP undefined; the zero page's address gives a kernel that pushes
  // early 60 KiB of harmless room below it.
  core.setReg(L.REG_ESP, ZERO_PAGE_ADDR);
  core.eflags = 0x2;
}

function pageUp(n: number): number {
  return Math.ceil(n / PAGE) * PAGE;
}
