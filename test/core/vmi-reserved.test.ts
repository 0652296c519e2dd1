// The VMI reserved range in the core: above virtual_top every address space sees the ROM's
// code pages (supervisor, read-only) and the shared page (supervisor, read/write), whatever the
// guest's page tables say; VMCALL is a hypercall only from ROM code below CPL 3 (docs/vmi.md).

import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const TOP = 0xfc000000;

/** A core with the ROM installed; `active`: the guest has called vmi_init (the host's Init). */
async function vmiCore(hypercall: (core: Core, offset: number) => void, active = true): Promise<Core> {
  let core!: Core;
  core = await Core.load({ ramSize: 1 << 20, imports: { ...nullImports, hypercall: (off) => hypercall(core, off) } });
  const ram = new DataView(core.ram.buffer, core.ram.byteOffset);
  // PD at 0x10000: PDE 0 → PT 0x11000 (identity, first 4 MiB); PDE for 0xFC000000 → PT 0x12000,
  // whose PTE 0 tries to map the reserved range onto guest page 0x20000.
  ram.setUint32(0x10000, 0x11003, true);
  for (let i = 0; i < 256; i++) ram.setUint32(0x11000 + i * 4, (i << 12) | 3, true);
  ram.setUint32(0x10000 + (TOP >>> 22) * 4, 0x12003, true);
  ram.setUint32(0x12000, 0x20003, true);
  ram.setUint32(0x20000, 0xbadbad, true);
  core.ram.set(fixture("vmi-kernel.bin"), 0x1000);
  core.u8.set(fixture("vmi-rom.bin"), L.VMI_AREA_BASE);
  core.u32[L.STATE_VMI_TOP >> 2] = TOP;
  core.u32[L.STATE_VMI_ROM_PAGES >> 2] = 1;
  core.u32[L.STATE_VMI_ACTIVE >> 2] = active ? 1 : 0;
  core.enterFlatProtectedMode(0x1000);
  core.setReg(4, 0x8000);
  core.u32[L.STATE_CR3 >> 2] = 0x10000;
  core.setCr(0, core.cr(0) | 0x80000000);
  return core;
}

describe("VMI reserved range and hypercalls", () => {
  it("calls the host from a ROM slot and maps the ROM and shared page over the guest's tables", async () => {
    const seen: number[] = [];
    const core = await vmiCore((c, off) => {
      seen.push(off, c.reg(1), c.eip);
      c.setReg(0, 42);
    });
    new DataView(core.u8.buffer).setUint32(L.VMI_AREA_BASE + L.VMI_SHARED_OFFSET, 0x600d, true);
    expect(core.run(1000)).toBe(L.EXIT_HLT_DISABLED);
    expect(seen).toEqual([0x10, 0x5a5a5a5a, TOP + 0x13]); // offset of the VMCALL; EIP after it
    expect(core.reg(6)).toBe(42);
    expect(core.reg(3)).toBe(0x600d);
    expect(new DataView(core.u8.buffer).getUint32(L.VMI_AREA_BASE + L.VMI_SHARED_OFFSET + 0x30, true)).toBe(0x5a5a5a5a);
    expect(core.reg(2)).toBe(0x4d4f5221); // the ROM's signature, not 0xbadbad
    expect(core.counters().hypercall).toBe(1);
  });

  it("before vmi_init, overlays only the ROM's code pages: the rest of the range is the guest's", async () => {
    // A kernel that never initializes the ROM (any non-VMI Linux) keeps its fixmap up there.
    const core = await vmiCore(() => {}, false);
    core.trapExceptions = true;
    const ram = new DataView(core.ram.buffer, core.ram.byteOffset);
    ram.setUint32(0x12000 + 8 * 4, 0x21003, true); // TOP + 0x8000 (the shared page's place) → guest page 0x21000
    ram.setUint32(0x21000, 0x600df00d, true);
    core.ram.set([0xa1, 0x00, 0x80, 0x00, 0xfc, 0x8b, 0x1d, 0x00, 0x00, 0x00, 0xfc, 0xf4], 0x3000); // mov eax, [TOP + 0x8000]; mov ebx, [TOP]; hlt
    core.eip = 0x3000;
    expect(core.run(10)).toBe(L.EXIT_HLT_DISABLED);
    expect(core.reg(0)).toBe(0x600df00d); // the guest's own page
    expect(core.reg(3)).toBe(0x4d4f5221); // the ROM's signature, not 0xbadbad: its code pages are always there
  });

  it("raises the fault the host asks for at the VMCALL", async () => {
    const core = await vmiCore((c) => {
      c.u32[L.STATE_HYPERCALL_FAULT >> 2] = 13 + 1;
      c.u32[L.STATE_HYPERCALL_ERROR >> 2] = 0;
    });
    core.trapExceptions = true;
    expect(core.run(1000)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException).toEqual({ vector: 13, error: 0 });
    expect(core.eip).toBe(TOP + 0x10);
  });

  it("refuses VMCALL outside the ROM (#UD) and writes to the ROM (#PF)", async () => {
    const core = await vmiCore(() => {
      throw new Error("no hypercall may reach the host");
    });
    core.trapExceptions = true;
    core.ram.set([0x0f, 0x01, 0xc1], 0x3000); // VMCALL in ordinary guest memory
    core.eip = 0x3000;
    expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException.vector).toBe(6);
    core.ram.set([0xc7, 0x05, 0x10, 0x00, 0x00, 0xfc, 0x90, 0x90, 0x90, 0x90], 0x3000); // mov dword [0xfc000010], 0x90909090
    core.eip = 0x3000;
    expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException).toEqual({ vector: 14, error: 3 }); // present, write, supervisor
    expect(core.cr(2)).toBe(TOP + 0x10);
    core.ram.set([0xa1, 0x00, 0x00, 0x01, 0xfc], 0x3000); // mov eax, [0xfc010000]: nothing there
    core.eip = 0x3000;
    expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException).toEqual({ vector: 14, error: 0 });
  });

  it("keeps ring 3 out: the ROM's pages are supervisor-only, so a user jump there is a #PF before any VMCALL", async () => {
    const core = await vmiCore(() => {
      throw new Error("no hypercall may reach the host from ring 3");
    });
    core.trapExceptions = true;
    core.setSegment(1, 0x1b, 0, 0xffffffff, 0xc0fb); // CS: ring-3 code
    core.setSegment(2, 0x23, 0, 0xffffffff, 0xc0f3); // SS: ring-3 data
    core.u32[L.STATE_CPL >> 2] = 3;
    core.eip = TOP + 0x10;
    expect(core.run(10)).toBe(L.EXIT_EXCEPTION);
    expect(core.lastException).toEqual({ vector: 14, error: 5 }); // present, read, user
    expect(core.counters().hypercall).toBe(0);
  });
});
