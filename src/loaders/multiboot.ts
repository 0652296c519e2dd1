// Multiboot v1 (specification 0.6.96) loader: finds the OS image's multiboot header, loads the
// image either by the a.out kludge fields or by its ELF program headers, builds the multiboot
// information structure in guest RAM and leaves the CPU in the state of §3.2.
//
// The image is untrusted. Everything is checked first, in `planMultiboot`, which touches no
// guest memory; only a plan that passed every check is written (`writeMultiboot`), so a bad
// image is rejected with a LoadError before anything runs or any byte of RAM changes.
//
// Guest physical memory as we lay it out:
//   0x0000-0x0fff   left alone (real-mode IVT/BDA); the initial ESP is 0x1000, growing down here
//   0x1000-0x2fff   the multiboot info area: info structure, memory map, module list, strings
//   0x3000-0x9fbff  free conventional memory (an image may load here)
//   0x9fc00-0xfffff reserved (EBDA, VGA, option ROMs such as the VMI ROM, BIOS): never loaded
//   0x100000-       the image (usually), then the modules, page aligned

import type { Core } from "../core.js";
import { REG_EAX, REG_EBX, REG_ESP } from "../../assembly/layout.js";
import { formatSize } from "../size.js";
import { PT_LOAD, hasElfMagic, parseElf32, ELF32_EHDR_SIZE } from "./elf.js";
import { LoadError, hex } from "./load-error.js";

/** §3.1.2: the header's magic field. */
export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** §3.2: what EAX holds when the OS image is entered. */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** §3.1.1: the header lies 32-bit aligned, completely within the first 8192 bytes. */
export const MULTIBOOT_SEARCH_BYTES = 8192;

// §3.1.2 header flags. Bits 0-15 are requirements: a loader that does not understand one must
// fail. Bits 16-31 are optional features that a loader may ignore if it does not know them.
export const MB_PAGE_ALIGN = 1 << 0;
export const MB_MEMORY_INFO = 1 << 1;
export const MB_VIDEO_MODE = 1 << 2;
export const MB_AOUT_KLUDGE = 1 << 16;
const MB_REQUIRED_MASK = 0xffff;
const MB_REQUIRED_UNDERSTOOD = MB_PAGE_ALIGN | MB_MEMORY_INFO;

// §3.3 multiboot_info flags: which fields of the info structure are valid.
export const MBI_MEMORY = 1 << 0;
export const MBI_CMDLINE = 1 << 2;
export const MBI_MODS = 1 << 3;
export const MBI_MMAP = 1 << 6;
export const MBI_LOADER_NAME = 1 << 9;

/** §3.3 memory map entry types. */
export const MMAP_AVAILABLE = 1;
export const MMAP_RESERVED = 2;

/** Guest physical layout (see the map at the top of this file). */
export const LOW_RESERVED_END = 0x1000;
export const INFO_AREA_START = 0x1000;
export const INFO_AREA_END = 0x3000;
export const LOW_MEMORY_END = 0x9fc00;
export const HIGH_MEMORY_START = 0x100000;
/** Within the info area. The structure is 120 bytes with every §3.3 field up to the framebuffer's. */
export const INFO_ADDR = INFO_AREA_START;
export const INFO_SIZE = 0x80;
export const MMAP_ADDR = INFO_AREA_START + 0x80;
export const MMAP_ENTRY_SIZE = 24;
export const LOADER_NAME_ADDR = INFO_AREA_START + 0xe0;
export const MODS_ADDR = INFO_AREA_START + 0x100;
export const MOD_ENTRY_SIZE = 16;
export const MAX_MODULES = 16;
export const STRINGS_ADDR = MODS_ADDR + MAX_MODULES * MOD_ENTRY_SIZE;
export const LOADER_NAME = "vmi386";
/** §3.2 leaves ESP undefined; this gives an image that pushes before setting its own stack 4 KiB of harmless room. */
export const INITIAL_ESP = LOW_RESERVED_END;

export interface MultibootModule {
  data: Uint8Array;
  /** The module's string (§3.3 mods: "usually a command line"); default: its name, else "". */
  cmdline?: string;
  /** For messages. */
  name?: string;
}

export interface MultibootOptions {
  /** The image's file name, for messages. */
  name?: string;
  /** The boot command line (§3.3 cmdline). Default "". */
  cmdline?: string;
  /** Boot modules, loaded page aligned above the image (§3.3 mods). */
  modules?: readonly MultibootModule[];
}

export interface MultibootHeader {
  /** File offset of the magic field. */
  offset: number;
  flags: number;
  /** The a.out kludge address fields (§3.1.3), present when flags bit 16 is set. */
  kludge?: { headerAddr: number; loadAddr: number; loadEndAddr: number; bssEndAddr: number; entryAddr: number };
}

/** One range of guest RAM to fill: `fileSize` bytes from `fileOffset`, then zeros up to `memSize`. */
export interface LoadSegment {
  paddr: number;
  fileOffset: number;
  fileSize: number;
  memSize: number;
  /** "segment 1", "a.out kludge image", "module 0 (initrd.img)": for messages. */
  what: string;
}

export interface MultibootPlan {
  kind: "elf" | "aout-kludge";
  header: MultibootHeader;
  entry: number;
  segments: LoadSegment[];
  /** One past the highest byte of the image (segments, bss included). */
  imageEnd: number;
  modules: { start: number; end: number; data: Uint8Array; cmdline: string }[];
  cmdline: string;
  ramSize: number;
}

export interface MultibootLoadResult {
  kind: "elf" | "aout-kludge";
  entry: number;
  infoAddr: number;
  headerOffset: number;
  headerFlags: number;
  segments: { paddr: number; fileSize: number; memSize: number }[];
  imageEnd: number;
  modules: { start: number; end: number }[];
}

/** Anything that has the Core: a Machine, or the Core itself. */
export type MultibootTarget = Core | { readonly core: Core };

/**
 * Loads a multiboot v1 image into the target's guest RAM and sets up the CPU to enter it
 * (§3.2): EAX = 0x2BADB002, EBX = the info structure's physical address, flat protected mode,
 * paging and interrupts off. Throws LoadError, with guest RAM untouched, if the image is bad.
 */
export function loadMultiboot(target: MultibootTarget, image: Uint8Array, opts: MultibootOptions = {}): MultibootLoadResult {
  const core = "core" in target ? target.core : target;
  const plan = planMultiboot(image, core.ramSize, opts);
  writeMultiboot(core.ram, image, plan);
  core.ramWritten(0, core.ramSize);
  core.enterFlatProtectedMode(plan.entry);
  core.setReg(REG_EAX, MULTIBOOT_BOOTLOADER_MAGIC);
  core.setReg(REG_EBX, INFO_ADDR);
  core.setReg(REG_ESP, INITIAL_ESP);
  return {
    kind: plan.kind,
    entry: plan.entry,
    infoAddr: INFO_ADDR,
    headerOffset: plan.header.offset,
    headerFlags: plan.header.flags,
    segments: plan.segments.map((s) => ({ paddr: s.paddr, fileSize: s.fileSize, memSize: s.memSize })),
    imageEnd: plan.imageEnd,
    modules: plan.modules.map((m) => ({ start: m.start, end: m.end })),
  };
}

/**
 * Finds and checks the multiboot header (§3.1.1-3.1.2). A magic whose checksum does not match
 * is skipped, as a loader scanning for the header must; if no valid header follows, the error
 * mentions the first bad checksum, which is often the header that was meant.
 */
export function findMultibootHeader(image: Uint8Array, name: string): MultibootHeader {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const limit = Math.min(image.length, MULTIBOOT_SEARCH_BYTES);
  let badChecksumAt = -1;
  for (let off = 0; off + 12 <= limit; off += 4) {
    if (dv.getUint32(off, true) !== MULTIBOOT_HEADER_MAGIC) continue;
    const flags = dv.getUint32(off + 4, true);
    const checksum = dv.getUint32(off + 8, true);
    if (((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0) !== 0) {
      if (badChecksumAt < 0) badChecksumAt = off;
      continue;
    }
    return readHeaderFields(image, dv, off, flags, name);
  }
  if (image.length < 12) throw new LoadError(`${name} is truncated: ${image.length} bytes cannot hold a multiboot header`);
  // The magic can also turn up by chance (a symbol table holding the constant), so a bad
  // checksum is reported as a clue, not as the certain cause.
  let clue = "";
  if (badChecksumAt >= 0) {
    const flags = dv.getUint32(badChecksumAt + 4, true);
    const checksum = dv.getUint32(badChecksumAt + 8, true);
    clue = ` (the magic at offset ${hex(badChecksumAt)} has a bad checksum: magic + flags + checksum = ${hex((MULTIBOOT_HEADER_MAGIC + flags + checksum) >>> 0)}, must be 0)`;
  }
  throw new LoadError(`no multiboot header in the first ${MULTIBOOT_SEARCH_BYTES} bytes of ${name}${clue}`);
}

function readHeaderFields(image: Uint8Array, dv: DataView, off: number, flags: number, name: string): MultibootHeader {
  // Unknown requirement bits must make the load fail (§3.1.2); bit 2 asks for a graphics mode
  // and a VBE table, which a serial-console machine cannot honour.
  if (flags & MB_VIDEO_MODE) {
    throw new LoadError(`${name} requires a video mode (multiboot header flags bit 2), which vmi386 does not provide`);
  }
  const unknown = flags & MB_REQUIRED_MASK & ~MB_REQUIRED_UNDERSTOOD;
  if (unknown) {
    throw new LoadError(`${name} sets multiboot header flags ${hex(unknown)} in the required half (bits 0-15) that vmi386 does not know`);
  }
  const header: MultibootHeader = { offset: off, flags };
  if (flags & MB_AOUT_KLUDGE) {
    // §3.1.3: the five address fields follow the checksum.
    const end = off + 32;
    if (end > image.length) {
      throw new LoadError(`${name} is truncated: its multiboot header at ${hex(off)} sets flags bit 16 but the address fields run past the end of the file`);
    }
    if (end > MULTIBOOT_SEARCH_BYTES) {
      throw new LoadError(`${name}: the multiboot header at ${hex(off)} with its address fields is not completely within the first ${MULTIBOOT_SEARCH_BYTES} bytes`);
    }
    header.kludge = {
      headerAddr: dv.getUint32(off + 12, true),
      loadAddr: dv.getUint32(off + 16, true),
      loadEndAddr: dv.getUint32(off + 20, true),
      bssEndAddr: dv.getUint32(off + 24, true),
      entryAddr: dv.getUint32(off + 28, true),
    };
  }
  return header;
}

/** Checks the image and works out where everything goes; writes nothing. Throws LoadError. */
export function planMultiboot(image: Uint8Array, ramSize: number, opts: MultibootOptions = {}): MultibootPlan {
  const name = opts.name ?? "the image";
  if (image.length === 0) throw new LoadError(`${name} is empty`);
  if (hasElfMagic(image) && image.length < ELF32_EHDR_SIZE) {
    throw new LoadError(`${name} is truncated: ${image.length} bytes, less than the ${ELF32_EHDR_SIZE}-byte ELF header`);
  }
  const header = findMultibootHeader(image, name);
  const { kind, entry, segments } = header.kludge ? planKludge(image, header, name) : planElf(image, name);

  // Judged by what is loaded, not by the file's length: an ELF may carry megabytes of debug
  // sections that never reach RAM.
  const loadSize = segments.reduce((n, s) => n + s.memSize, 0);
  if (loadSize > ramSize) {
    throw new LoadError(`${name} needs ${loadSize} bytes of guest RAM to load, more than the ${formatSize(ramSize)} there is`);
  }
  let imageEnd = 0;
  for (const s of segments) {
    checkRange(s.paddr, s.memSize, `${name}: ${s.what}`, ramSize);
    imageEnd = Math.max(imageEnd, s.paddr + s.memSize);
  }
  const sorted = [...segments].sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1];
    const b = sorted[i];
    if (b.paddr < a.paddr + a.memSize) throw new LoadError(`${name}: ${a.what} and ${b.what} overlap at ${hex(b.paddr)}`);
  }

  const cmdline = opts.cmdline ?? "";
  checkString(cmdline, "the boot command line");
  const modSpecs = opts.modules ?? [];
  if (modSpecs.length > MAX_MODULES) throw new LoadError(`too many multiboot modules: ${modSpecs.length}, at most ${MAX_MODULES}`);
  const modules: MultibootPlan["modules"] = [];
  // Modules go above both the image and 1 MiB, each page aligned: §3.1.2 bit 0 asks for that
  // alignment, and giving it always costs under a page each.
  let next = pageUp(Math.max(imageEnd, HIGH_MEMORY_START));
  modSpecs.forEach((m, i) => {
    const what = `module ${i}${m.name ? ` (${m.name})` : ""}`;
    const modCmdline = m.cmdline ?? m.name ?? "";
    checkString(modCmdline, `the string of ${what}`);
    if (next + m.data.length > ramSize) {
      throw new LoadError(`${what} (${m.data.length} bytes) does not fit in guest RAM (${formatSize(ramSize)}) above ${hex(next)}`);
    }
    modules.push({ start: next, end: next + m.data.length, data: m.data, cmdline: modCmdline });
    next = pageUp(next + Math.max(m.data.length, 1));
  });
  const stringBytes = [cmdline, ...modules.map((m) => m.cmdline)].reduce((n, s) => n + utf8(s).length + 1, 0);
  if (STRINGS_ADDR + stringBytes > INFO_AREA_END) {
    throw new LoadError(
      `the boot command line and module strings take ${stringBytes} bytes; at most ${INFO_AREA_END - STRINGS_ADDR} fit in the multiboot info area`,
    );
  }
  return { kind, header, entry, segments, imageEnd, modules, cmdline, ramSize };
}

function planElf(image: Uint8Array, name: string): Pick<MultibootPlan, "kind" | "entry" | "segments"> {
  if (!hasElfMagic(image)) {
    throw new LoadError(`${name} is not an ELF file, and its multiboot header does not set flags bit 16 (a.out kludge) to say where to load it`);
  }
  const elf = parseElf32(image, name);
  const loads = elf.programHeaders.filter((ph) => ph.type === PT_LOAD && ph.memsz > 0);
  if (loads.length === 0) throw new LoadError(`${name} has no loadable (PT_LOAD) segments`);
  // §3.1.3 has the ELF loaded by its program headers; physical RAM is what the CPU sees with
  // paging off, so each segment goes to p_paddr.
  const segments: LoadSegment[] = loads.map((ph) => ({
    paddr: ph.paddr,
    fileOffset: ph.offset,
    fileSize: ph.filesz,
    memSize: ph.memsz,
    what: `segment ${ph.index}`,
  }));
  // e_entry is a virtual address. A kernel linked to run higher-half (p_vaddr != p_paddr) can
  // only be entered at the physical alias of its entry, so translate through the segment whose
  // virtual range holds it, as GRUB does; for identity-mapped kernels this changes nothing.
  let entry = elf.entry;
  const byVaddr = loads.find((ph) => elf.entry >= ph.vaddr && elf.entry < ph.vaddr + ph.memsz);
  if (byVaddr) entry = elf.entry - byVaddr.vaddr + byVaddr.paddr;
  if (!segments.some((s) => entry >= s.paddr && entry < s.paddr + s.fileSize)) {
    throw new LoadError(`${name}: entry point ${hex(elf.entry)} is outside the loaded image`);
  }
  return { kind: "elf", entry, segments };
}

function planKludge(image: Uint8Array, header: MultibootHeader, name: string): Pick<MultibootPlan, "kind" | "entry" | "segments"> {
  const k = header.kludge!;
  const what = "a.out kludge: ";
  // §3.1.3: header_addr is where the header itself lands; load_addr <= header_addr, and the
  // file offset loading starts from is the header's offset minus (header_addr - load_addr).
  if (k.loadAddr > k.headerAddr) {
    throw new LoadError(`${name}: ${what}load_addr ${hex(k.loadAddr)} is above header_addr ${hex(k.headerAddr)}`);
  }
  const fileOffset = header.offset - (k.headerAddr - k.loadAddr);
  if (fileOffset < 0) {
    throw new LoadError(
      `${name}: ${what}header_addr - load_addr = ${hex(k.headerAddr - k.loadAddr)} puts the load start before the beginning of the file (header at offset ${hex(header.offset)})`,
    );
  }
  const available = image.length - fileOffset;
  // load_end_addr 0 means the text and data run to the end of the file.
  let fileSize: number;
  if (k.loadEndAddr === 0) {
    fileSize = available;
  } else {
    if (k.loadEndAddr <= k.loadAddr) {
      throw new LoadError(`${name}: ${what}load_end_addr ${hex(k.loadEndAddr)} is not above load_addr ${hex(k.loadAddr)}`);
    }
    fileSize = k.loadEndAddr - k.loadAddr;
    if (fileSize > available) {
      throw new LoadError(
        `${name} is truncated: the a.out kludge loads ${hex(fileSize)} bytes from file offset ${hex(fileOffset)}, but only ${hex(available)} are there`,
      );
    }
  }
  const loadEnd = k.loadAddr + fileSize;
  // bss_end_addr 0 means no bss; otherwise the loader zeroes [load_end_addr, bss_end_addr).
  let memSize = fileSize;
  if (k.bssEndAddr !== 0) {
    if (k.bssEndAddr < loadEnd) {
      throw new LoadError(`${name}: ${what}bss_end_addr ${hex(k.bssEndAddr)} is below the end of the loaded data ${hex(loadEnd)}`);
    }
    memSize = k.bssEndAddr - k.loadAddr;
  }
  if (k.entryAddr < k.loadAddr || k.entryAddr >= loadEnd) {
    throw new LoadError(`${name}: entry point ${hex(k.entryAddr)} is outside the loaded image ${hex(k.loadAddr)}..${hex(loadEnd)}`);
  }
  return {
    kind: "aout-kludge",
    entry: k.entryAddr,
    segments: [{ paddr: k.loadAddr, fileOffset, fileSize, memSize, what: "the a.out kludge image" }],
  };
}

/** A load range must sit in guest RAM, clear of the low page, the info area and the reserved hole. */
function checkRange(paddr: number, size: number, what: string, ramSize: number): void {
  const end = paddr + size; // both < 2^32: exact
  const range = `${hex(paddr)}..${hex(end)}`;
  if (end > 2 ** 32) throw new LoadError(`${what} at ${range} runs past the 4 GiB physical address space`);
  if (paddr < LOW_RESERVED_END) throw new LoadError(`${what} at ${range} overlaps the first 4 KiB of memory`);
  if (paddr < INFO_AREA_END && end > INFO_AREA_START) {
    throw new LoadError(`${what} at ${range} overlaps the multiboot info area ${hex(INFO_AREA_START)}..${hex(INFO_AREA_END)}`);
  }
  if (paddr < HIGH_MEMORY_START && end > LOW_MEMORY_END) {
    throw new LoadError(`${what} at ${range} overlaps the reserved region ${hex(LOW_MEMORY_END)}..${hex(HIGH_MEMORY_START)}`);
  }
  if (end > ramSize) throw new LoadError(`${what} at ${range} lies outside guest RAM (${formatSize(ramSize)}, up to ${hex(ramSize)})`);
}

function checkString(s: string, what: string): void {
  // The info structure holds C strings (§3.3): a NUL inside would silently cut it short.
  if (s.includes("\0")) throw new LoadError(`${what} contains a NUL character`);
}

function pageUp(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Writes a checked plan into guest RAM: the image, the modules and the §3.3 info structure. */
export function writeMultiboot(ram: Uint8Array, image: Uint8Array, plan: MultibootPlan): void {
  for (const s of plan.segments) {
    ram.fill(0, s.paddr, s.paddr + s.memSize);
    ram.set(image.subarray(s.fileOffset, s.fileOffset + s.fileSize), s.paddr);
  }
  for (const m of plan.modules) ram.set(m.data, m.start);

  ram.fill(0, INFO_AREA_START, INFO_AREA_END);
  const dv = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const put32 = (addr: number, v: number) => dv.setUint32(addr, v >>> 0, true);
  let strings = STRINGS_ADDR;
  const putString = (s: string): number => {
    const addr = strings;
    const b = utf8(s);
    ram.set(b, addr);
    ram[addr + b.length] = 0;
    strings += b.length + 1;
    return addr;
  };

  const info = INFO_ADDR;
  put32(info + 0, MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME);
  // mem_lower/mem_upper in KiB: 640 below 1 MiB, and upper memory from 1 MiB to the first hole,
  // which for us is the end of RAM.
  put32(info + 4, 640);
  put32(info + 8, (plan.ramSize - HIGH_MEMORY_START) / 1024);
  put32(info + 16, putString(plan.cmdline));
  put32(info + 20, plan.modules.length);
  put32(info + 24, plan.modules.length ? MODS_ADDR : 0);
  plan.modules.forEach((m, i) => {
    const e = MODS_ADDR + i * MOD_ENTRY_SIZE;
    put32(e + 0, m.start);
    put32(e + 4, m.end);
    put32(e + 8, putString(m.cmdline));
  });

  // §3.3 memory map: each entry is a size field (bytes that follow it, 20) then base_addr and
  // length as 64-bit values and the type; mmap_addr points at the first size field.
  const ranges: [number, number, number][] = [
    [0, LOW_MEMORY_END, MMAP_AVAILABLE],
    [LOW_MEMORY_END, HIGH_MEMORY_START - LOW_MEMORY_END, MMAP_RESERVED],
    [HIGH_MEMORY_START, plan.ramSize - HIGH_MEMORY_START, MMAP_AVAILABLE],
  ];
  ranges.forEach(([base, length, type], i) => {
    const e = MMAP_ADDR + i * MMAP_ENTRY_SIZE;
    put32(e + 0, MMAP_ENTRY_SIZE - 4);
    dv.setBigUint64(e + 4, BigInt(base), true);
    dv.setBigUint64(e + 12, BigInt(length), true);
    put32(e + 20, type);
  });
  put32(info + 44, ranges.length * MMAP_ENTRY_SIZE);
  put32(info + 48, MMAP_ADDR);

  const name = utf8(LOADER_NAME);
  ram.set(name, LOADER_NAME_ADDR);
  put32(info + 64, LOADER_NAME_ADDR);
}
