// Shadow translations against a plain page walk. Three address spaces share one page table
// and own one each; a random sequence of announced entry updates (the host's SetPxE path),
// directory changes, CR3 switches, guest loads and stores, and guest stores straight into the
// page tables (bypassing VMI). After every step, every translation the TLB holds for the test
// region must be the one a fresh walk of the guest's tables gives, and every load must read
// what the walk says. The walk here is the test's own, over guest RAM.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Machine } from "../../src/machine.js";
import { rng } from "../support/rng.js";

const MEM = 8 << 20;
const REGION = 0x40000000; // two directory slots: 0x100 (private tables), 0x101 (shared table)
const PAGES = 2048;
const PD = [0x100000, 0x101000, 0x102000];
const PRIVATE_PT = [0x110000, 0x111000, 0x112000, 0x113000];
const SHARED_PT = 0x118000;
const DATA = 0x200000; // 64 data pages, each filled with its own number
const P = 1, W = 2;


describe("shadow page tables", () => {
  it("agree with a plain page walk after 5,000 random updates, switches and direct stores", async () => {
    const m = await Machine.create({ memSize: MEM, deterministic: true, vmi: true });
    const core = m.core;
    const ram = new DataView(core.ram.buffer, core.ram.byteOffset, MEM);
    const x = core.exports;
    for (let i = 0; i < 64; i++) for (let w = 0; w < 1024; w++) ram.setUint32(DATA + i * 4096 + w * 4, (i << 16) | w, true);
    for (const pd of PD) {
      ram.setUint32(pd, 0x83 | 0, true); // 4 MiB identity page: code and the tables themselves
      ram.setUint32(pd + 0x100 * 4, PRIVATE_PT[PD.indexOf(pd)] | P | W, true);
      ram.setUint32(pd + 0x101 * 4, SHARED_PT | P | W, true);
      x.vmiAnnouncePage(pd >>> 12, L.PAGE_KIND_PD);
    }
    for (const pt of [...PRIVATE_PT, SHARED_PT]) {
      for (let i = 0; i < 1024; i++) ram.setUint32(pt + i * 4, i % 3 === 0 ? 0 : (DATA + ((i * 7) % 64) * 4096) | P | W, true);
      x.vmiAnnouncePage(pt >>> 12, L.PAGE_KIND_PT);
    }
    // Code: mov eax,[ebx] at 0x1000; mov [ebx],eax at 0x1010.
    core.ram.set([0x8b, 0x03], 0x1000);
    core.ram.set([0x89, 0x03], 0x1010);
    core.enterFlatProtectedMode(0x1000);
    core.u32[L.STATE_VMI_ACTIVE >> 2] = 1;
    expect(x.vmiWriteCr(4, 0x10)).toBe(0); // PSE
    expect(x.vmiWriteCr(3, PD[0])).toBe(0);
    expect(x.vmiWriteCr(0, 0x80010011)).toBe(0); // PG, WP, ET, PE
    core.trapExceptions = true;
    let cr3 = PD[0];

    const walk = (lin: number): number => {
      const pde = ram.getUint32(cr3 + (lin >>> 22) * 4, true);
      if (!(pde & P)) return -1;
      if (pde & 0x80) return ((pde & 0xffc00000) | (lin & 0x3fffff)) >>> 0;
      const pte = ram.getUint32((pde & 0xfffff000) + ((lin >>> 12) & 0x3ff) * 4, true);
      return pte & P ? ((pte & 0xfffff000) | (lin & 0xfff)) >>> 0 : -1;
    };
    const step = (eip: number, ebx: number, eax = 0): boolean => {
      core.eip = eip;
      core.setReg(3, ebx);
      core.setReg(0, eax);
      const exit = core.run(1);
      return exit !== L.EXIT_EXCEPTION;
    };
    const checkTlb = (what: string) => {
      for (let p = 0; p < PAGES; p++) {
        const lin = REGION + p * 4096;
        const e = core.u32[(L.TLB_BASE >> 2) + (lin >>> 12)];
        if (!(e & 1)) continue;
        const host = ((e & ~0xfff) ^ lin) >>> 0;
        const phys = walk(lin);
        if (phys < 0 || host !== L.RAM_BASE + phys) throw new Error(`${what}: TLB maps ${lin.toString(16)} to host ${host.toString(16)}, the walk says ${phys.toString(16)}`);
      }
    };

    const rnd = rng(42);
    const randomPte = () => (rnd() % 4 === 0 ? 0 : (DATA + (rnd() % 64) * 4096) | P | W);
    for (let s = 0; s < 5000; s++) {
      const op = rnd() % 10;
      let what = "";
      if (op <= 3) {
        // a guest load somewhere in the region: the value the walk predicts, or #PF
        const lin = REGION + (rnd() % PAGES) * 4096 + (rnd() % 1024) * 4;
        const phys = walk(lin);
        const ok = step(0x1000, lin);
        what = `load ${lin.toString(16)}`;
        expect(ok, what).toBe(phys >= 0);
        if (ok) expect(core.reg(0) >>> 0, what).toBe(ram.getUint32(phys, true));
      } else if (op === 4) {
        // an announced entry update (SetPxE's host path), in any space's table
        const pt = rnd() % 2 ? SHARED_PT : PRIVATE_PT[rnd() % PRIVATE_PT.length];
        const at = pt + (rnd() % 1024) * 4;
        ram.setUint32(at, randomPte(), true);
        x.vmiEntryWritten(at);
        what = `SetPxE ${at.toString(16)}`;
      } else if (op === 5) {
        // a directory entry: point a space's private slot at another table, or at nothing
        const pd = PD[rnd() % PD.length];
        const at = pd + 0x100 * 4;
        ram.setUint32(at, rnd() % 5 === 0 ? 0 : PRIVATE_PT[rnd() % PRIVATE_PT.length] | P | W, true);
        x.vmiEntryWritten(at);
        what = `PDE ${at.toString(16)}`;
      } else if (op <= 7) {
        cr3 = PD[rnd() % PD.length];
        expect(x.vmiWriteCr(3, cr3)).toBe(0);
        what = `CR3 ${cr3.toString(16)}`;
      } else if (op === 8) {
        // the guest stores into a page table itself (through the identity 4 MiB page)
        const pt = rnd() % 2 ? SHARED_PT : PRIVATE_PT[rnd() % PRIVATE_PT.length];
        const at = pt + (rnd() % 1024) * 4;
        const v = randomPte();
        expect(step(0x1010, at, v), "direct store").toBe(true);
        expect(ram.getUint32(at, true) >>> 0).toBe(v >>> 0);
        what = `direct store ${at.toString(16)}`;
      } else {
        // a guest store into the region
        const lin = REGION + (rnd() % PAGES) * 4096 + (rnd() % 1024) * 4;
        const phys = walk(lin);
        const v = rnd();
        const ok = step(0x1010, lin, v);
        what = `store ${lin.toString(16)}`;
        expect(ok, what).toBe(phys >= 0);
        if (ok) expect(ram.getUint32(phys, true), what).toBe(v);
      }
      checkTlb(`step ${s} (${what})`);
    }
    const c = core.vmiCounters();
    expect(c.shadowHits).toBeGreaterThan(500);
    expect(c.shadowRestored).toBeGreaterThan(1000);
    expect(c.directPageTableWrites).toBeGreaterThan(100);
    expect(c.shadowInvalidated).toBeGreaterThan(100);
  }, 60_000);
});
