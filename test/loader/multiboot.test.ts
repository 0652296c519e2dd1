// The multiboot v1 loader against hand-built images (elf-builder.ts) and the nasm-built
// fixtures. Expected values come from the multiboot 0.6.96 specification (§3.1 header and
// a.out kludge, §3.2 machine state, §3.3 information structure), not from the loader.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeEach, describe, expect, it } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { LoadError } from "../../src/loaders/load-error.js";
import { loadMultiboot, planMultiboot, type MultibootOptions } from "../../src/loaders/multiboot.js";
import { nullImports } from "../support/null-imports.js";
import { buildElf, concat, mbHeader, patch16, patch32, patch8 } from "./elf-builder.js";

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1 << 20;
const RAM = 8 * MiB;
const NAME = "k.elf";

const CODE = Uint8Array.from([0xfa, 0xf4, 0xeb, 0xfd]); // cli; hlt; jmp $-1
const DATA = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

/** A good two-segment kernel: text at 1 MiB (header first, entry right after it), data+bss at 2 MiB. */
function goodElf(opts: { flags?: number; entry?: number; dataMemsz?: number } = {}) {
  const text = concat(mbHeader(opts.flags ?? 3), CODE);
  return buildElf({
    entry: opts.entry ?? 0x10000c,
    segments: [
      { paddr: 0x100000, bytes: text },
      { paddr: 0x200000, bytes: DATA, memsz: opts.dataMemsz ?? 0x2000, flags: 6 },
    ],
  });
}

function expectLoadError(image: Uint8Array, pattern: RegExp, opts: MultibootOptions = {}, ramSize = RAM): void {
  let err: unknown;
  try {
    planMultiboot(image, ramSize, { name: NAME, ...opts });
  } catch (e) {
    err = e;
  }
  expect(err, `expected a LoadError matching ${pattern}`).toBeInstanceOf(LoadError);
  const msg = (err as Error).message;
  expect(msg).toMatch(pattern);
  expect(msg, "one line").not.toContain("\n");
}

function u32(ram: Uint8Array, addr: number): number {
  return new DataView(ram.buffer, ram.byteOffset).getUint32(addr, true);
}
function u64(ram: Uint8Array, addr: number): number {
  return Number(new DataView(ram.buffer, ram.byteOffset).getBigUint64(addr, true));
}
function cstr(ram: Uint8Array, addr: number): string {
  let end = addr;
  while (ram[end] !== 0) end++;
  return new TextDecoder().decode(ram.subarray(addr, end));
}

describe("multiboot loader: good images", () => {
  let core: Core;
  beforeEach(async () => {
    core = await Core.load({ ramSize: RAM, imports: nullImports });
  });

  it("loads ELF PT_LOAD segments at p_paddr, zero-fills p_memsz beyond p_filesz, and enters per §3.2", () => {
    const { bytes } = goodElf();
    core.ram.fill(0xaa, 0x200000, 0x203000); // stale bytes the bss must not keep
    const r = loadMultiboot(core, bytes, { name: NAME, cmdline: "console=ttyS0 quiet" });

    expect(r.kind).toBe("elf");
    expect(Array.from(core.ram.subarray(0x100000, 0x100010))).toEqual(Array.from(concat(mbHeader(3), CODE)));
    expect(Array.from(core.ram.subarray(0x200000, 0x200008))).toEqual(Array.from(DATA));
    expect(core.ram.subarray(0x200008, 0x202000).every((b) => b === 0)).toBe(true);
    expect(core.ram[0x202000]).toBe(0xaa); // memsz ends at 0x202000: nothing beyond is touched
    expect(r.segments).toEqual([
      { paddr: 0x100000, fileSize: 16, memSize: 16 },
      { paddr: 0x200000, fileSize: 8, memSize: 0x2000 },
    ]);
    expect(r.imageEnd).toBe(0x202000);

    // §3.2: EAX magic, EBX info address, flat 32-bit segments, PE on, PG off, IF and VM clear.
    expect(core.reg(L.REG_EAX)).toBe(0x2badb002);
    expect(core.reg(L.REG_EBX)).toBe(r.infoAddr);
    expect(core.eip).toBe(0x10000c);
    expect(core.cr(0) & 1).toBe(1);
    expect(core.cr(0) & 0x80000000).toBe(0);
    expect(core.eflags & ((1 << 9) | (1 << 17))).toBe(0);
    expect(core.segment(Seg.CS)).toMatchObject({ base: 0, limit: 0xffffffff });
    expect(core.segment(Seg.CS).attr & 0x400f).toBe(0x400b); // D=1, execute/read code, accessed
    for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) {
      expect(core.segment(s)).toMatchObject({ base: 0, limit: 0xffffffff });
      expect(core.segment(s).attr & 0x0a).toBe(0x02); // data, writable
    }
    // ESP is undefined by the spec; ours must at least be inside RAM and clear of image and info.
    const esp = core.reg(L.REG_ESP);
    expect(esp).toBeGreaterThan(0);
    expect(esp).toBeLessThanOrEqual(r.infoAddr);
  });

  it("builds the §3.3 information structure field by field", () => {
    const { bytes } = goodElf();
    const r = loadMultiboot(core, bytes, { name: NAME, cmdline: "console=ttyS0 quiet" });
    const ram = core.ram;
    const info = r.infoAddr;
    // The structure and everything it points at lie below the image and outside it.
    expect(info + 120).toBeLessThanOrEqual(0x100000);

    // flags: mem_* (0), cmdline (2), mods (3), mmap (6), boot_loader_name (9).
    expect(u32(ram, info + 0)).toBe((1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
    expect(u32(ram, info + 4)).toBe(640); // mem_lower, KiB
    expect(u32(ram, info + 8)).toBe((RAM - MiB) / 1024); // mem_upper: KiB from 1 MiB to the top
    expect(u32(ram, info + 12)).toBe(0); // boot_device: flag 1 clear
    expect(cstr(ram, u32(ram, info + 16))).toBe("console=ttyS0 quiet");
    expect(u32(ram, info + 20)).toBe(0); // mods_count
    expect(u32(ram, info + 24)).toBe(0); // mods_addr
    for (let o = 28; o < 44; o += 4) expect(u32(ram, info + o)).toBe(0); // syms: flags 4/5 clear

    const mmapLength = u32(ram, info + 44);
    const mmapAddr = u32(ram, info + 48);
    expect(mmapLength).toBe(3 * 24);
    const entries: { size: number; base: number; length: number; type: number }[] = [];
    for (let e = mmapAddr; e < mmapAddr + mmapLength; e += u32(ram, e) + 4) {
      entries.push({ size: u32(ram, e), base: u64(ram, e + 4), length: u64(ram, e + 12), type: u32(ram, e + 20) });
    }
    expect(entries).toEqual([
      { size: 20, base: 0, length: 0x9fc00, type: 1 },
      { size: 20, base: 0x9fc00, length: 0x100000 - 0x9fc00, type: 2 },
      { size: 20, base: 0x100000, length: RAM - 0x100000, type: 1 },
    ]);
    for (let o = 52; o < 64; o += 4) expect(u32(ram, info + o)).toBe(0); // drives, config_table
    expect(cstr(ram, u32(ram, info + 64))).toBe("vmi386");
    for (let o = 68; o < 120; o += 4) expect(u32(ram, info + o)).toBe(0); // apm, vbe, framebuffer

    // Nothing the structure points at overlaps the image.
    for (const p of [info, mmapAddr, u32(ram, info + 16), u32(ram, info + 64)]) {
      expect(p < 0x100000 || p >= r.imageEnd).toBe(true);
    }
  });

  it("an empty command line is still a valid (empty) string", () => {
    loadMultiboot(core, goodElf().bytes, { name: NAME });
    expect(cstr(core.ram, u32(core.ram, 0x1000 + 16))).toBe("");
  });

  it("translates a higher-half e_entry through its segment's p_vaddr to p_paddr", () => {
    const text = concat(mbHeader(3), CODE);
    const { bytes } = buildElf({ entry: 0xc010000c, segments: [{ paddr: 0x100000, vaddr: 0xc0100000, bytes: text }] });
    const r = loadMultiboot(core, bytes, { name: NAME });
    expect(r.entry).toBe(0x10000c);
    expect(core.eip).toBe(0x10000c);
    expect(core.ram[0x10000c]).toBe(0xfa);
  });

  it("places modules page aligned above the image and lists them in mods (§3.3)", () => {
    const mod0 = new Uint8Array(5000).fill(7);
    const mod1 = Uint8Array.from([9, 9, 9]);
    const r = loadMultiboot(core, goodElf().bytes, {
      name: NAME,
      modules: [{ data: mod0, name: "initrd", cmdline: "initrd root=/dev/ram0" }, { data: mod1, name: "extra" }],
    });
    expect(r.modules).toEqual([
      { start: 0x202000, end: 0x202000 + 5000 },
      { start: 0x204000, end: 0x204003 },
    ]);
    const info = r.infoAddr;
    expect(u32(core.ram, info + 20)).toBe(2);
    const mods = u32(core.ram, info + 24);
    expect(u32(core.ram, mods)).toBe(0x202000);
    expect(u32(core.ram, mods + 4)).toBe(0x202000 + 5000);
    expect(cstr(core.ram, u32(core.ram, mods + 8))).toBe("initrd root=/dev/ram0");
    expect(u32(core.ram, mods + 12)).toBe(0);
    expect(u32(core.ram, mods + 16)).toBe(0x204000);
    expect(cstr(core.ram, u32(core.ram, mods + 24))).toBe("extra");
    expect(core.ram.subarray(0x202000, 0x202000 + 5000).every((b) => b === 7)).toBe(true);
    expect(Array.from(core.ram.subarray(0x204000, 0x204003))).toEqual([9, 9, 9]);
  });

  it("loads an a.out-kludge image by its header's address fields (§3.1.3)", () => {
    // File: 0x20 bytes of prologue, the header at file offset 0x20, then code. load_addr
    // 0x180000, so the header lands at header_addr 0x180020; load_end covers the whole file;
    // bss_end adds 0x100 zero bytes.
    const code = CODE;
    const fileLen = 0x20 + 32 + code.length;
    const head = mbHeader(0x10003, [0x180020, 0x180000, 0x180000 + fileLen, 0x180000 + fileLen + 0x100, 0x180040]);
    const image = concat(new Uint8Array(0x20).fill(0x90), head, code);
    core.ram.fill(0xaa, 0x180000, 0x181000);
    const r = loadMultiboot(core, image, { name: "k.bin" });
    expect(r.kind).toBe("aout-kludge");
    expect(Array.from(core.ram.subarray(0x180000, 0x180000 + fileLen))).toEqual(Array.from(image));
    expect(core.ram.subarray(0x180000 + fileLen, 0x180000 + fileLen + 0x100).every((b) => b === 0)).toBe(true);
    expect(core.ram[0x180000 + fileLen + 0x100]).toBe(0xaa);
    expect(core.eip).toBe(0x180040);
    expect(core.reg(L.REG_EAX)).toBe(0x2badb002);
  });

  it("a.out kludge: load_end_addr 0 loads to the end of the file, bss_end_addr 0 means no bss", () => {
    const head = mbHeader(0x10000, [0x300000, 0x300000, 0, 0, 0x300020]);
    const image = concat(head, CODE);
    const r = loadMultiboot(core, image, { name: "k.bin" });
    expect(r.segments).toEqual([{ paddr: 0x300000, fileSize: image.length, memSize: image.length }]);
  });

  it("uses the kludge fields even in an ELF file when flags bit 16 is set (§3.1.3)", () => {
    const { bytes, offsets } = goodElf();
    // Overwrite the header in the text segment with a kludge header loading the whole file at
    // 0x400000 (the ELF program headers, which say 1 MiB, must then be ignored).
    const hdr = mbHeader(0x10000, [0x400000 + offsets[0], 0x400000, 0, 0, 0x400040]);
    const image = bytes.slice();
    image.set(hdr, offsets[0]);
    const r = loadMultiboot(core, image, { name: NAME });
    expect(r.kind).toBe("aout-kludge");
    expect(r.segments[0].paddr).toBe(0x400000);
  });

  it("finds a header at the last aligned slot of the first 8192 bytes, and not one past it", () => {
    const build = (headerOffset: number) => {
      const head = mbHeader(0x10000, [0x100000 + headerOffset, 0x100000, 0, 0, 0x100000]);
      const image = new Uint8Array(headerOffset + 32 + 4);
      image.set(head, headerOffset);
      return image;
    };
    // With bit 16 the header is 32 bytes; the whole of it must be in the first 8192 (§3.1.1).
    expect(planMultiboot(build(8192 - 32), RAM, { name: "k.bin" }).header.offset).toBe(8160);
    expectLoadError(build(8192 - 28), /not completely within the first 8192 bytes/);
    const plain = new Uint8Array(8192 + 64);
    plain.set(mbHeader(3), 8192);
    expectLoadError(plain, /^no multiboot header in the first 8192 bytes of k\.elf$/);
    const unaligned = new Uint8Array(64);
    unaligned.set(mbHeader(3), 2);
    expectLoadError(unaligned, /no multiboot header/);
  });

  it("ignores optional flag bits it does not know (bits 16-31, §3.1.2)", () => {
    expect(() => planMultiboot(goodElf({ flags: 0x00020003 }).bytes, RAM, { name: NAME })).not.toThrow();
  });

  it("loads the nasm-built fixtures (ELF and a.out kludge)", () => {
    for (const f of ["hi.elf", "hi-kludge.bin"]) {
      const bytes = new Uint8Array(readFileSync(join(here, "fixtures", f)));
      const r = loadMultiboot(core, bytes, { name: f });
      expect(r.entry).toBe(0x10000c + (f.endsWith(".bin") ? 20 : 0));
      expect(u32(core.ram, 0x100000)).toBe(0x1badb002);
    }
  });

  it("writes nothing to RAM when the image is rejected", () => {
    // Segment 0 is fine; segment 1 lies beyond RAM. The loader must not load segment 0 first.
    const text = concat(mbHeader(3), CODE);
    const { bytes } = buildElf({
      entry: 0x10000c,
      segments: [
        { paddr: 0x100000, bytes: text },
        { paddr: RAM - 0x100, bytes: DATA, memsz: 0x200 },
      ],
    });
    const before = core.ram.slice();
    expect(() => loadMultiboot(core, bytes, { name: NAME })).toThrow(LoadError);
    expect(core.ram.every((b, i) => b === before[i])).toBe(true);
    expect(core.eip).not.toBe(0x10000c);
  });
});

describe("multiboot loader: every bad image has its own message", () => {
  const good = goodElf().bytes;

  it("empty and truncated files", () => {
    expectLoadError(new Uint8Array(0), /^k\.elf is empty$/);
    expectLoadError(good.subarray(0, 30), /^k\.elf is truncated: 30 bytes, less than the 52-byte ELF header$/);
    expectLoadError(new Uint8Array(8), /^k\.elf is truncated: 8 bytes cannot hold a multiboot header$/);
    // Cut inside segment 1's data (the multiboot header, in segment 0, survives).
    const { offsets } = goodElf();
    expectLoadError(good.subarray(0, offsets[1] + 4), /^k\.elf is truncated: segment 1 needs file bytes 0x[0-9a-f]+\.\.0x[0-9a-f]+, but the file is \d+ bytes$/);
    expectLoadError(patch32(good, 28, 0x10000), /^k\.elf is truncated: its program header table ends at offset 0x10040/);
  });

  it("not an ELF, or not a 32-bit little-endian i386 executable", () => {
    const notElf = concat(new Uint8Array(16), mbHeader(3), CODE);
    expectLoadError(notElf, /^k\.elf is not an ELF file, and its multiboot header does not set flags bit 16/);
    expectLoadError(patch8(good, 4, 2), /^k\.elf is not a 32-bit ELF file \(EI_CLASS 2/);
    expectLoadError(patch8(good, 5, 2), /^k\.elf is not a little-endian ELF file/);
    expectLoadError(patch8(good, 6, 0), /^k\.elf has unknown ELF version 0/);
    expectLoadError(patch16(good, 18, 62), /^k\.elf is not an i386 ELF file \(e_machine 62, expected 3\)$/);
    expectLoadError(patch16(good, 16, 3), /^k\.elf is not an ELF executable \(e_type 3, expected 2 = ET_EXEC\)$/);
    expectLoadError(patch16(good, 44, 0), /^k\.elf has no program headers/);
    expectLoadError(patch16(good, 42, 16), /^k\.elf has e_phentsize 16, less than the 32 bytes/);
  });

  it("no loadable segments", () => {
    const { bytes } = buildElf({ entry: 0x100000, segments: [], extraPhdrTypes: [4] });
    const image = concat(bytes, mbHeader(3));
    expectLoadError(image, /^k\.elf has no loadable \(PT_LOAD\) segments$/);
  });

  it("no multiboot header, or a bad checksum", () => {
    const { bytes } = buildElf({ entry: 0x100000, segments: [{ paddr: 0x100000, bytes: CODE }] });
    expectLoadError(bytes, /^no multiboot header in the first 8192 bytes of k\.elf$/);
    const badSum = goodElf().bytes.slice();
    badSum.set(mbHeader(3, [], 0x12345678), goodElf().offsets[0]);
    expectLoadError(badSum, /^no multiboot header in the first 8192 bytes of k\.elf \(the magic at offset 0x100 has a bad checksum: magic \+ flags \+ checksum = 0x[0-9a-f]+, must be 0\)$/);
  });

  it("required flag bits it cannot honour (§3.1.2: bits 0-15 must be understood)", () => {
    expectLoadError(goodElf({ flags: 0x7 }).bytes, /^k\.elf requires a video mode \(multiboot header flags bit 2\)/);
    expectLoadError(goodElf({ flags: 0x23 }).bytes, /^k\.elf sets multiboot header flags 0x20 in the required half/);
  });

  it("segments outside guest RAM or on the low page, the info area, the reserved hole, or each other", () => {
    const seg = (paddr: number, memsz = 0x100, bytes = DATA) =>
      buildElf({
        entry: 0x10000c,
        segments: [
          { paddr: 0x100000, bytes: concat(mbHeader(3), CODE) },
          { paddr, bytes, memsz },
        ],
      }).bytes;
    expectLoadError(seg(RAM - 0x80), /^k\.elf: segment 1 at 0x7fff80\.\.0x800080 lies outside guest RAM \(8M, up to 0x800000\)$/);
    expectLoadError(seg(0x800), /^k\.elf: segment 1 at 0x800\.\.0x900 overlaps the first 4 KiB of memory$/);
    expectLoadError(seg(0x2f80), /^k\.elf: segment 1 at 0x2f80\.\.0x3080 overlaps the multiboot info area 0x1000\.\.0x3000$/);
    expectLoadError(seg(0xff000, 0x2000), /^k\.elf: segment 1 at 0xff000\.\.0x101000 overlaps the reserved region 0x9fc00\.\.0x100000$/);
    expectLoadError(seg(0xfffff000, 0x2000), /^k\.elf: segment 1 at 0xfffff000\.\.0x100001000 runs past the 4 GiB physical address space$/);
    expectLoadError(seg(0x100008), /^k\.elf: segment 0 and segment 1 overlap at 0x100008$/);
    // Low memory above the info area is fine.
    expect(() => planMultiboot(seg(0x8000), RAM, { name: NAME })).not.toThrow();
  });

  it("p_filesz larger than p_memsz", () => {
    expectLoadError(goodElf({ dataMemsz: 4 }).bytes, /^k\.elf: program header 1 has p_filesz 0x8 larger than p_memsz 0x4$/);
  });

  it("an image larger than guest RAM, judged by what is loaded, not by the file", () => {
    // An a.out kludge image is loaded whole.
    const big = new Uint8Array(MiB + 16);
    big.set(mbHeader(0x10000, [0x100000, 0x100000, 0, 0, 0x100020]));
    expectLoadError(big, /^k\.elf needs 1048592 bytes of guest RAM to load, more than the 1M there is$/, {}, MiB);
    // An ELF's segments (bss included) are what count.
    expectLoadError(goodElf({ dataMemsz: 16 * MiB }).bytes, /^k\.elf needs 16777232 bytes of guest RAM to load, more than the 8M there is$/);
    // A file longer than RAM whose segments fit (think debug sections) loads.
    const padded = new Uint8Array(RAM + 4096);
    padded.set(goodElf().bytes);
    expect(planMultiboot(padded, RAM, { name: NAME }).imageEnd).toBe(0x202000);
  });

  it("entry point outside the loaded image, or in its bss", () => {
    expectLoadError(goodElf({ entry: 0x300000 }).bytes, /^k\.elf: entry point 0x300000 is outside the loaded image$/);
    expectLoadError(goodElf({ entry: 0x201000 }).bytes, /^k\.elf: entry point 0x201000 is outside the loaded image$/);
  });

  it("a.out kludge fields that contradict each other or the file", () => {
    const kludge = (f: number[], prefix = 0) => concat(new Uint8Array(prefix), mbHeader(0x10000, f), CODE);
    expectLoadError(kludge([0x100000, 0x100010, 0, 0, 0x100020]), /^k\.elf: a\.out kludge: load_addr 0x100010 is above header_addr 0x100000$/);
    expectLoadError(kludge([0x100010, 0x100000, 0, 0, 0x100020]), /a\.out kludge: header_addr - load_addr = 0x10 puts the load start before the beginning of the file/);
    expectLoadError(kludge([0x100000, 0x100000, 0x100000, 0, 0x100020]), /a\.out kludge: load_end_addr 0x100000 is not above load_addr 0x100000/);
    expectLoadError(kludge([0x100000, 0x100000, 0x100100, 0, 0x100020]), /^k\.elf is truncated: the a\.out kludge loads 0x100 bytes from file offset 0x0, but only 0x24 are there$/);
    expectLoadError(kludge([0x100000, 0x100000, 0x100024, 0x100010, 0x100020]), /a\.out kludge: bss_end_addr 0x100010 is below the end of the loaded data 0x100024/);
    expectLoadError(kludge([0x100000, 0x100000, 0, 0, 0x100024]), /^k\.elf: entry point 0x100024 is outside the loaded image 0x100000\.\.0x100024$/);
    expectLoadError(kludge([0x1000, 0x1000, 0, 0, 0x1020]), /the a\.out kludge image at 0x1000\.\.0x1024 overlaps the multiboot info area/);
    expectLoadError(mbHeader(0x10000, [0x100000]), /^k\.elf is truncated: its multiboot header at 0x0 sets flags bit 16 but the address fields run past the end of the file$/);
  });

  it("command lines that cannot be represented", () => {
    expectLoadError(good, /the boot command line contains a NUL character/, { cmdline: "a\0b" });
    expectLoadError(good, /the boot command line and module strings take 9001 bytes; at most \d+ fit/, { cmdline: "x".repeat(9000) });
  });

  it("modules that do not fit", () => {
    expectLoadError(good, /^module 0 \(big\) \(8388608 bytes\) does not fit in guest RAM \(8M\) above 0x202000$/, {
      modules: [{ data: new Uint8Array(RAM), name: "big" }],
    });
  });
});
