// Random bytes as code: whatever the guest executes, the core must stay consistent. After
// every run we check invariants that no guest may break: the run returns a known exit
// reason, CPL and EIP are sane, every valid TLB entry points into guest RAM (or is marked
// MMIO), and the core's own static data below the layout base is untouched.

import { describe, it, expect, beforeAll } from "vitest";
import { createHash } from "node:crypto";
import { Core } from "../../src/core.js";
import { jitOptionsFromEnvironment } from "../../src/jit/jit.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";
import { rng } from "../support/rng.js";

const RAM = 4 << 20;
const CODE = 0x100000;
/**
 * With the JIT at threshold 1 (VMI386_JIT=1, the suite's JIT-forced pass) every stream is new
 * code compiled before it runs, about ten times an interpreted stream's cost: a tenth as many
 * streams keeps the test within its time.
 */
const jit = jitOptionsFromEnvironment();
const COMPILES_EVERY_STREAM = jit ? jit.threshold === 1 : false;
const RUNS = Number(process.env.VMI386_FUZZ_RUNS ?? (COMPILES_EVERY_STREAM ? 20_000 : 200_000));


let core: Core;
let staticHash: string;
const EXITS = new Set([L.EXIT_BUDGET, L.EXIT_HLT, L.EXIT_HLT_DISABLED, L.EXIT_TRIPLE_FAULT, L.EXIT_EXCEPTION, L.EXIT_STOP]);

function hashStatic(): string {
  return createHash("sha256").update(core.u8.subarray(0, L.LAYOUT_BASE)).digest("hex");
}

function checkInvariants(seed: number, reason: number): void {
  const where = `seed ${seed}`;
  if (!EXITS.has(reason)) throw new Error(`${where}: unknown exit reason ${reason}`);
  if (core.cpl < 0 || core.cpl > 3) throw new Error(`${where}: CPL ${core.cpl}`);
  // Every filled TLB entry must map to a page of guest RAM, or be flagged MMIO.
  const list = L.TLB_LIST_BASE >> 2;
  for (let i = 0; i < 64; i++) {
    const vpn = core.u32[list + i];
    const e = core.u32[(L.TLB_BASE >> 2) + vpn];
    if ((e & 1) === 0 || (e & 0x10) !== 0) continue;
    const host = ((e & ~0xfff) ^ (vpn << 12)) >>> 0;
    const inRam = host >= L.RAM_BASE && host < L.RAM_BASE + RAM;
    const inVmiArea = host >= L.VMI_AREA_BASE && host < L.VMI_AREA_BASE + L.VMI_AREA_SIZE;
    if (!inRam && !inVmiArea) {
      throw new Error(`${where}: TLB entry for page ${vpn.toString(16)} points outside RAM (${host.toString(16)})`);
    }
  }
}

describe("random instruction streams", () => {
  beforeAll(async () => {
    core = await Core.load({
      ramSize: RAM,
      imports: nullImports,
    });
    staticHash = hashStatic();
  });

  it(`survives ${RUNS} random streams with its invariants intact`, () => {
    const next = rng(0x5eed);
    const bytes = new Uint8Array(32);
    let exceptions = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = next();
      const r = rng(seed);
      core.reset();
      core.trapExceptions = true;
      core.enterFlatProtectedMode(CODE);
      for (let i = 0; i < 8; i++) core.setReg(i, r() & (r() & 1 ? 0xfff : 0xffffffff));
      core.setReg(4, 0x200000 + (r() & 0xffc));
      core.eflags = r() & 0xcd5;
      for (let i = 0; i < bytes.length; i++) bytes[i] = r() & 0xff;
      core.ram.set(bytes, CODE);
      const reason = core.run(64);
      if (reason === L.EXIT_EXCEPTION) exceptions++;
      checkInvariants(seed, reason);
    }
    // A stream of random bytes faults often; if it never does, the core is not checking.
    expect(exceptions).toBeGreaterThan(RUNS / 10);
    expect(hashStatic()).toBe(staticHash);
    // The JIT, when on, falls back to the interpreter on a compile that throws: a bug to report.
    if (core.jit) expect(core.jit.lastError?.stack, "a JIT compile failed").toBeUndefined();
  }, 300_000);

  it("survives hostile system state: random IDT, GDT and page tables, exceptions delivered", () => {
    const next = rng(0xbad5eed);
    const runs = Math.max(1000, RUNS / 10);
    const page = new Uint8Array(4096);
    let triple = 0;
    for (let run = 0; run < runs; run++) {
      const seed = next();
      const r = rng(seed);
      core.reset();
      core.trapExceptions = false;
      core.enterFlatProtectedMode(CODE);
      for (let i = 0; i < 8; i++) core.setReg(i, r());
      core.setReg(4, 0x200000 + (r() & 0xffc));
      // Descriptor tables and a page directory full of garbage, somewhere in (or beyond) RAM.
      for (let i = 0; i < page.length; i++) page[i] = r() & 0xff;
      core.ram.set(page, 0x300000);
      core.ram.set(page.subarray(0, 64), CODE);
      const tbl = r() & 1 ? 0x300000 + (r() & 0xf00) : r();
      core.u32[L.STATE_IDTR_BASE >> 2] = tbl;
      core.u32[L.STATE_IDTR_LIMIT >> 2] = r() & 0x7ff;
      core.u32[L.STATE_GDTR_BASE >> 2] = 0x300000 + (r() & 0xff8);
      core.u32[L.STATE_GDTR_LIMIT >> 2] = r() & 0xfff;
      if (r() & 1) {
        core.u32[L.STATE_CR3 >> 2] = r() & 1 ? 0x300000 : r() & ~0xfff;
        core.u32[L.STATE_CR4 >> 2] = r() & 0x90;
        core.setCr(0, core.cr(0) | 0x80000000);
      }
      const reason = core.run(256);
      if (reason === L.EXIT_TRIPLE_FAULT) triple++;
      checkInvariants(seed, reason);
    }
    // Garbage tables make many deliveries fail twice over: triple faults must happen, and be reported.
    expect(triple).toBeGreaterThan(0);
    expect(hashStatic()).toBe(staticHash);
  }, 300_000);
});
