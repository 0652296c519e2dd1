// The Linux boot protocol loader against synthetic bzImages: a setup header built here field by
// field and the nasm-built probe payload (fixtures/linux-probe.asm). Expected values come from
// Documentation/arch/x86/boot.rst (setup header, "32-bit Boot Protocol") and zero-page.rst, not
// from the loader: the zero page is rebuilt here independently and compared byte for byte.

import { beforeEach, describe, expect, it } from "vitest";
import { Core, Seg } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { Machine } from "../../src/machine.js";
import { LoadError } from "../../src/loaders/load-error.js";
import { loadLinux, planLinux, type LinuxOptions } from "../../src/loaders/linux.js";
import { nullImports } from "../support/null-imports.js";
import { PROBE, bzImage } from "./bzimage-builder.js";

const MiB = 1 << 20;
const RAM = 32 * MiB;
const NAME = "bzImage";

function expectLoadError(kernel: Uint8Array, message: string, opts: LinuxOptions = {}, ramSize = RAM): void {
  let err: unknown;
  try {
    planLinux(kernel, ramSize, { name: NAME, ...opts });
  } catch (e) {
    err = e;
  }
  expect(err, `expected a LoadError: ${message}`).toBeInstanceOf(LoadError);
  expect((err as Error).message).toBe(message);
}

const dvOf = (ram: Uint8Array) => new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
function cstr(ram: Uint8Array, addr: number): string {
  let end = addr;
  while (ram[end] !== 0) end++;
  return new TextDecoder().decode(ram.subarray(addr, end));
}

/** The zero page boot.rst and zero-page.rst ask for, built without the loader. */
function expectedZeroPage(image: Uint8Array, f: { code32: number; ramdisk: number; ramdiskSize: number; ramSize: number; loadflags: number }): Uint8Array {
  const zp = new Uint8Array(4096);
  const dv = new DataView(zp.buffer);
  zp.set(image.subarray(0x1f1, 0x202 + image[0x201]), 0x1f1); // hdr, copied from the image
  zp[0x210] = 0xff; // type_of_loader
  zp[0x211] = f.loadflags;
  dv.setUint16(0x224, 0, true); // heap_end_ptr
  dv.setUint32(0x214, f.code32, true);
  dv.setUint32(0x218, f.ramdisk, true);
  dv.setUint32(0x21c, f.ramdiskSize, true);
  dv.setUint32(0x228, 0x20000, true); // cmd_line_ptr
  dv.setUint32(0x1e0, (f.ramSize - MiB) / 1024, true); // alt_mem_k
  zp[0x1e8] = 4; // e820_entries
  const e820: [number, number, number][] = [
    [0, 0x9fc00, 1],
    [0x9fc00, 0x400, 2],
    [0xf0000, 0x10000, 2],
    [0x100000, f.ramSize - 0x100000, 1],
  ];
  e820.forEach(([addr, size, type], i) => {
    dv.setUint32(0x2d0 + i * 20, addr, true);
    dv.setUint32(0x2d0 + i * 20 + 8, size, true);
    dv.setUint32(0x2d0 + i * 20 + 16, type, true);
  });
  return zp;
}

describe("Linux loader: good images", () => {
  let core: Core;
  beforeEach(async () => {
    core = await Core.load({ ramSize: RAM, imports: nullImports });
  });

  it("loads kernel, initrd and command line and fills the zero page byte for byte", () => {
    const image = bzImage({ loadflags: 0xc1 }); // LOADED_HIGH plus KEEP_SEGMENTS and CAN_USE_HEAP, both cleared
    const initrd = new Uint8Array(5000).map((_, i) => i & 0xff);
    core.ram.fill(0xaa, 0x10000, 0x11000); // stale bytes the zero page must not keep
    const r = loadLinux(core, image, { name: NAME, initrd, cmdline: "console=ttyS0 root=/dev/ram0" });

    const setupSize = 5 * 512;
    expect(r).toMatchObject({ protocol: 0x20f, setupSize, loadAddr: 0x100000, relocated: false, entry: 0x100000, zeroPage: 0x10000, cmdlineAddr: 0x20000 });
    expect(r.kernelEnd).toBe(0x100000 + 0x10000); // init_size 64 KiB exceeds the payload
    expect(Array.from(core.ram.subarray(0x100000, 0x100000 + image.length - setupSize))).toEqual(Array.from(image.subarray(setupSize)));
    // Highest page-aligned start with the end at or below the end of RAM (initrd_addr_max is higher).
    expect(r.initrd).toEqual({ start: RAM - 8192, end: RAM - 8192 + 5000 });
    expect(Array.from(core.ram.subarray(RAM - 8192, RAM - 8192 + 5000))).toEqual(Array.from(initrd));
    expect(cstr(core.ram, 0x20000)).toBe("console=ttyS0 root=/dev/ram0");

    const want = expectedZeroPage(image, { code32: 0x100000, ramdisk: RAM - 8192, ramdiskSize: 5000, ramSize: RAM, loadflags: 0x01 });
    const got = core.ram.subarray(0x10000, 0x11000);
    for (let i = 0; i < 4096; i++) if (got[i] !== want[i]) expect(`zero page byte ${i.toString(16)} = ${got[i].toString(16)}`).toBe(`zero page byte ${i.toString(16)} = ${want[i].toString(16)}`);
    // screen_info all zero, so orig_video_isVGA (0x0f) is 0: no console to speak of.
    expect(got.subarray(0, 0x40).every((b) => b === 0)).toBe(true);
    expect(r.e820).toEqual([
      { addr: 0, size: 0x9fc00, type: 1 },
      { addr: 0x9fc00, size: 0x400, type: 2 },
      { addr: 0xf0000, size: 0x10000, type: 2 },
      { addr: 0x100000, size: RAM - 0x100000, type: 1 },
    ]);
  });

  it("enters as the 32-bit boot protocol says: flat __BOOT_CS/__BOOT_DS, GDT entries 2 and 3, ESI = zero page", () => {
    for (let r = 0; r < 8; r++) core.setReg(r, 0xdeadbeef);
    loadLinux(core, bzImage(), { name: NAME });
    expect(core.eip).toBe(0x100000);
    expect(core.segment(Seg.CS)).toEqual({ selector: 0x10, base: 0, limit: 0xffffffff, attr: 0xc09b });
    for (const s of [Seg.DS, Seg.ES, Seg.SS]) expect(core.segment(s)).toEqual({ selector: 0x18, base: 0, limit: 0xffffffff, attr: 0xc093 });
    expect(core.reg(L.REG_ESI)).toBe(0x10000);
    for (const r of [L.REG_EBP, L.REG_EDI, L.REG_EBX]) expect(core.reg(r)).toBe(0);
    expect(core.eflags & 0x200).toBe(0); // IF
    expect(core.cr(0) & 1).toBe(1); // PE
    expect(core.cr(0) & 0x80000000).toBe(0); // PG
    // GDTR and the table: null, null, then 4 GiB flat code (execute/read) and data (read/write), DPL 0.
    expect(core.u32[L.STATE_GDTR_BASE >> 2]).toBe(0x1000);
    expect(core.u32[L.STATE_GDTR_LIMIT >> 2]).toBe(31);
    expect(Array.from(core.ram.subarray(0x1000, 0x1020))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0,
      0, 0, 0, 0, 0, 0, 0, 0,
      0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0,
      0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0,
    ]);
  });

  it("places the initrd below initrd_addr_max + 1, page aligned", () => {
    const initrd = new Uint8Array(0x1800);
    // initrd_addr_max is the highest byte the initrd may occupy.
    let r = loadLinux(core, bzImage({ initrdAddrMax: 0x7fffff }), { initrd });
    expect(r.initrd).toEqual({ start: 0x7fe000, end: 0x7ff800 });
    r = loadLinux(core, bzImage({ initrdAddrMax: 0x7ff7ff }), { initrd });
    expect(r.initrd).toEqual({ start: 0x7fe000, end: 0x7ff800 });
    r = loadLinux(core, bzImage({ initrdAddrMax: 0x7ff7fe }), { initrd });
    expect(r.initrd).toEqual({ start: 0x7fd000, end: 0x7fe800 });
    // Exactly down to the kernel's end (0x100000 + init_size).
    r = loadLinux(core, bzImage({ initrdAddrMax: 0x111800 - 1 }), { initrd });
    expect(r.initrd).toEqual({ start: 0x110000, end: 0x111800 });
    expect(dvOf(core.ram).getUint32(0x10000 + 0x218, true)).toBe(0x110000);
    expect(dvOf(core.ram).getUint32(0x10000 + 0x21c, true)).toBe(0x1800);
  });

  it("loads a relocatable kernel at pref_address when it fits and is aligned, else at 0x100000", () => {
    let r = loadLinux(core, bzImage({ relocatable: 1, prefAddress: 0x1000000, code32: 0x100010 }), {});
    expect(r).toMatchObject({ loadAddr: 0x1000000, relocated: true, entry: 0x1000010 });
    expect(core.eip).toBe(0x1000010);
    expect(dvOf(core.ram).getUint32(0x10000 + 0x214, true)).toBe(0x1000010); // code32_start adjusted
    expect(core.ram[0x1000000]).toBe(PROBE[0]);
    // Does not fit: init_size takes it past the end of RAM.
    r = loadLinux(core, bzImage({ relocatable: 1, prefAddress: 0x1000000, initSize: 0x1000001 }), {});
    expect(r).toMatchObject({ loadAddr: 0x100000, relocated: false });
    // Not aligned to kernel_alignment.
    r = loadLinux(core, bzImage({ relocatable: 1, prefAddress: 0x1100000 }), {});
    expect(r.loadAddr).toBe(0x100000);
    // Not relocatable: pref_address is ignored.
    r = loadLinux(core, bzImage({ relocatable: 0, prefAddress: 0x1000000 }), {});
    expect(r.loadAddr).toBe(0x100000);
    // Protocol 2.06-2.09 has no pref_address or init_size: header ends at 0x23c.
    r = loadLinux(core, bzImage({ version: 0x0206, jump: 0x3a, relocatable: 1 }), {});
    expect(r).toMatchObject({ protocol: 0x206, loadAddr: 0x100000, kernelEnd: 0x100000 + PROBE.length + ((16 - (PROBE.length % 16)) % 16) });
  });

  it("writes nothing to RAM when the input is rejected", () => {
    core.ram.fill(0x5a);
    expect(() => loadLinux(core, bzImage(), { cmdline: "x".repeat(3000) })).toThrow(LoadError);
    expect(() => loadLinux(core, bzImage({ initrdAddrMax: 0x100000 }), { initrd: new Uint8Array(10) })).toThrow(LoadError);
    expect(core.ram.every((b) => b === 0x5a)).toBe(true);
  });
});

describe("Linux loader: a real run of the probe kernel", () => {
  it("the probe finds ESI, the command line, the initrd and the e820 count, and exits 0x21", async () => {
    const m = await Machine.create({ memSize: RAM, deterministic: true });
    const initrd = new TextEncoder().encode("INITRD-CONTENTS");
    const r = loadLinux(m, bzImage({ relocatable: 1 }), { name: NAME, initrd, cmdline: "console=ttyS0 quiet", initrdName: "initrd.img" });
    expect(r.relocated).toBe(true); // and the position-independent probe still finds itself
    const result = await m.run({ maxInstructions: 1_000_000 });
    expect(m.serialOutput).toBe(
      [
        "esi=00010000",
        "cmdline=console=ttyS0 quiet",
        `initrd=${(RAM - 4096).toString(16).padStart(8, "0")}+0000000f`,
        "initrd-head=INIT",
        "e820=00000004",
        "",
      ].join("\n"),
    );
    expect(result).toMatchObject({ reason: "debug-exit", exitCode: 0x43 });
  });
});

describe("Linux loader: every bad input has its own message", () => {
  it("not a bzImage", () => {
    expectLoadError(new Uint8Array(100), "bzImage is not a bzImage: 100 bytes cannot hold a Linux setup header (boot.rst needs 520)");
    expectLoadError(bzImage({ magic: 0x12345678 }), 'bzImage is not a bzImage: no boot flag 0xaa55 at 0x1fe and "HdrS" at 0x202');
    expectLoadError(bzImage({ bootFlag: 0 }), 'bzImage is not a bzImage: no boot flag 0xaa55 at 0x1fe and "HdrS" at 0x202');
  });

  it("protocol too old, header too short or too long", () => {
    expectLoadError(bzImage({ version: 0x0205 }), "bzImage uses boot protocol 2.05; vmi386 boots Linux through the 32-bit entry, which needs 2.06 or later");
    expectLoadError(bzImage({ jump: 0x30 }), "bzImage: its setup header ends at 0x232 (0x202 + the byte at 0x201), but protocol 2.15 needs 0x264..0x290");
    expectLoadError(bzImage({ jump: 0x90 }), "bzImage: its setup header ends at 0x292 (0x202 + the byte at 0x201), but protocol 2.15 needs 0x264..0x290");
  });

  it("not loaded high", () => {
    expectLoadError(bzImage({ loadflags: 0 }), "bzImage is not loaded high (loadflags bit 0 clear): a zImage must go at 0x10000, which vmi386 does not support");
  });

  it("truncated setup or payload", () => {
    expectLoadError(bzImage({ setupSects: 8, truncate: 4000 }), "bzImage is truncated: its setup code needs 4608 bytes (setup_sects 8), the file has 4000");
    expectLoadError(bzImage({ setupSects: 0, truncate: 2000 }), "bzImage is truncated: its setup code needs 2560 bytes (setup_sects 4), the file has 2000");
    const full = bzImage();
    expectLoadError(bzImage({ truncate: full.length - 1 }), `bzImage is truncated: syssize says ${full.length - 2560} bytes of protected-mode kernel after the 2560-byte setup, the file has ${full.length - 2561}`);
    expectLoadError(bzImage({ syssize: 0 }), "bzImage: syssize is 0, so the header claims no protected-mode kernel");
  });

  it("bad code32_start or kernel_alignment", () => {
    expectLoadError(bzImage({ code32: 0x90000 }), `bzImage: code32_start 0x90000 is outside the protected-mode kernel 0x100000..0x${(0x100000 + bzImage().length - 2560).toString(16)}`);
    expectLoadError(bzImage({ relocatable: 1, alignment: 0x3000 }), "bzImage: kernel_alignment 0x3000 of a relocatable kernel is not a power of two of at least 4 KiB");
  });

  it("kernel larger than RAM", () => {
    expectLoadError(bzImage({ initSize: 0x800000 }), "bzImage needs 8388608 bytes of guest RAM from 0x100000 (max of the 496-byte kernel and init_size 0x800000), more than the 8M there is", {}, 8 * MiB);
    expectLoadError(bzImage(), "bzImage needs 65536 bytes of guest RAM from 0x100000 (max of the 496-byte kernel and init_size 0x10000), more than the 1M there is", {}, MiB);
  });

  it("command line longer than cmdline_size, or with a NUL", () => {
    expectLoadError(bzImage({ cmdlineSize: 10 }), "the kernel command line is 11 bytes, longer than bzImage's cmdline_size 10", { cmdline: "console=ttyS0".slice(0, 11) });
    expectLoadError(bzImage(), "the kernel command line contains a NUL character", { cmdline: "a\0b" });
    expect(() => planLinux(bzImage({ cmdlineSize: 11 }), RAM, { cmdline: "x".repeat(11) })).not.toThrow();
    // cmdline_size is the image's to say, but the line must still fit our low-memory area.
    expectLoadError(bzImage({ cmdlineSize: 0xffffffff }), "the kernel command line is 600000 bytes, more than fit below 0x9fc00", { cmdline: "x".repeat(600000) });
  });

  it("initrd empty, too big for RAM, or above initrd_addr_max", () => {
    const opts = { initrdName: "initrd.img" };
    expectLoadError(bzImage(), "initrd.img is empty", { ...opts, initrd: new Uint8Array(0) });
    expectLoadError(bzImage(), "initrd.img (33554432 bytes) does not fit in guest RAM (32M) above the kernel, which ends at 0x110000", { ...opts, initrd: new Uint8Array(RAM) });
    expectLoadError(bzImage({ initrdAddrMax: 0x1fffff }), "initrd.img (2097152 bytes) does not fit between the kernel's end 0x110000 and bzImage's initrd_addr_max 0x1fffff", { ...opts, initrd: new Uint8Array(2 * MiB) });
  });
});
