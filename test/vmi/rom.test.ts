// The ROM image against the header layout of docs/vmi.md (the numbers Linux's check_vmi_rom reads), and
// its relocation table against the calling conventions (CALL_REL, JUMP_REL for IRET/SYSEXIT).
import { describe, expect, it } from "vitest";
import { buildRom, DEFAULT_VIRTUAL_TOP } from "../../src/vmi/rom.js";
import { Call, Reloc } from "../../assembly/vmi-abi.js";
import { CALL_NAMES } from "../../src/vmi/calls.js";
import * as L from "../../assembly/layout.js";

const rom = buildRom({ cycleFrequency: 100_000_000 });
const img = rom.image;
const dv = new DataView(img.buffer);

describe("VMI ROM image", () => {
  it("has the option-ROM header, signature and version docs/vmi.md gives", () => {
    expect(dv.getUint16(0, true)).toBe(0xaa55);
    expect(img[2] * 512).toBe(img.length);
    expect(dv.getUint32(8, true)).toBe(0x696d5663); // "cVmi"
    expect(img[13]).toBe(3); // API major
    expect(img[12]).toBe(0); // API minor
    expect(dv.getUint32(16, true)).toBe(DEFAULT_VIRTUAL_TOP);
  });

  it("sums to zero mod 256 over its whole length", () => {
    expect(img.reduce((s, b) => s + b, 0) % 256).toBe(0);
  });

  it("carries a PCI data structure with VMware's VMI IDs and a GPL v2 license string", () => {
    const pci = dv.getUint16(24, true);
    expect(String.fromCharCode(...img.subarray(pci, pci + 4))).toBe("PCIR");
    expect(dv.getUint16(pci + 4, true)).toBe(0x15ad);
    expect(dv.getUint16(pci + 6, true)).toBe(0x0801);
    const lic = dv.getUint16(22, true);
    expect(String.fromCharCode(...img.subarray(lic, lic + 7))).toBe("GPL v2\0");
  });

  it("has a PnP expansion header where Linux's check_vmi_rom finds the manufacturer and product", () => {
    // vrom_header.pnp_header_offs at 0x1a; struct pnp_header: manufacturer_offset at +0x0e,
    // product_offset at +0x10, both from the image's start (Linux 2.6.32 asm/vmi.h).
    const pnp = dv.getUint16(0x1a, true);
    expect(pnp).toBeGreaterThan(0);
    expect(pnp % 16).toBe(0);
    expect(String.fromCharCode(...img.subarray(pnp, pnp + 4))).toBe("$PnP");
    const len = img[pnp + 5] * 16;
    expect(img.subarray(pnp, pnp + len).reduce((s, b) => s + b, 0) % 256).toBe(0);
    const cstring = (at: number) => String.fromCharCode(...img.subarray(at, img.indexOf(0, at)));
    expect(cstring(dv.getUint16(pnp + 0x0e, true))).toBe("vmi386");
    expect(cstring(dv.getUint16(pnp + 0x10, true))).toBe("VMI ROM");
    // It lies in the header's reserved area, clear of vmi_init's slot at 0x80.
    expect(pnp + len).toBeLessThanOrEqual(0x80);
    expect(img.indexOf(0, dv.getUint16(pnp + 0x10, true))).toBeLessThan(0x80);
  });

  it("has vmi_init and get_reloc as 8-byte slots that jump above virtual_top without a register", () => {
    for (const at of [128, 136]) {
      expect(img[at]).toBe(0x68); // push imm32
      expect(dv.getUint32(at + 1, true)).toBeGreaterThanOrEqual(DEFAULT_VIRTUAL_TOP);
      expect(img[at + 5]).toBe(0xc3); // ret
    }
  });

  it("relocates every API 3.0 call, IRET and SYSEXIT as jumps, IODelay as a NOP, nothing else", () => {
    for (const [n, name] of CALL_NAMES) {
      const r = rom.relocs.get(n);
      expect(r, name).toBeDefined();
      const want = n === Call.IRET || n === Call.SYSEXIT ? Reloc.JUMP_REL : n === Call.IODelay ? Reloc.NOP : Reloc.CALL_REL;
      expect(r!.type, name).toBe(want);
      if (want !== Reloc.NOP) {
        expect(r!.target, name).toBeGreaterThanOrEqual(DEFAULT_VIRTUAL_TOP);
        expect(r!.target - DEFAULT_VIRTUAL_TOP, name).toBeLessThan(img.length);
      }
    }
    expect([...rom.relocs.keys()].every((n) => CALL_NAMES.has(n))).toBe(true);
  });

  it("fits the ROM pages the core maps, and every exit site is a hypercall instruction", () => {
    expect(img.length).toBeLessThanOrEqual(L.VMI_ROM_MAX_PAGES * 4096);
    for (const off of rom.exits.keys()) expect([...img.subarray(off, off + 3)]).toEqual([0x0f, 0x01, 0xc1]);
  });

  it("rejects a queue size that is not a power of two in 1..256", () => {
    for (const bad of [0, 3, 512, 1.5]) expect(() => buildRom({ cycleFrequency: 1, queueCapacity: bad })).toThrow(/power of two/);
  });
});
