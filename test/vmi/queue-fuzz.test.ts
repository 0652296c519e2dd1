// The deferred queue as an attack surface: random batches, written straight into the shared
// area as a hostile guest would, drained by the host. Each batch must be either refused whole
// (guest RAM and the core's state exactly as before) or applied exactly (RAM equal to a model
// that applies the entries in order); the core's state outside RAM never moves either way.
import { describe, expect, it } from "vitest";
import * as L from "../../assembly/layout.js";
import { Machine } from "../../src/machine.js";
import { Call } from "../../assembly/vmi-abi.js";
import { checkEntry } from "../support/queue-model.js";
import { rng } from "../support/rng.js";

const BATCHES = 100_000;
const MEM = 4 << 20;


describe("VMI queue fuzz", () => {
  it(`${BATCHES} random batches: each refused whole or applied exactly`, async () => {
    const m = await Machine.create({ memSize: MEM, deterministic: true, vmi: { queueCapacity: 16 } });
    const core = m.core;
    const vmi = m.vmi!;
    // Two announced page tables and a directory; the rest of RAM is ordinary memory.
    const PT1 = 0x200, PT2 = 0x201, PD = 0x202;
    core.exports.vmiAnnouncePage(PT1, L.PAGE_KIND_PT);
    core.exports.vmiAnnouncePage(PT2, L.PAGE_KIND_PT);
    core.exports.vmiAnnouncePage(PD, L.PAGE_KIND_PD);
    const shared = (L.VMI_AREA_BASE + L.VMI_SHARED_OFFSET) >> 2;
    const cap = 16;
    const rnd = rng(0x5eed);
    const pick = <T>(xs: readonly T[]) => xs[rnd() % xs.length];
    const pages = [PT1, PT2, PD, 0x10, 0x3ff, MEM >> 12, 0xfffff];
    const ops = [Call.SetPxE, Call.SetPxE, Call.SetPxE, Call.UpdatePxE, Call.InvalPage, 7, 0xffffffff];
    const levels = [1, 1, 2, 0, 4, 0x11, 0x31];
    const ctx = { ramSize: MEM, virtualTop: vmi.rom.virtualTop, pageKind: (p: number) => (p === PD ? L.PAGE_KIND_PD : p === PT1 || p === PT2 ? L.PAGE_KIND_PT : 0) };
    const goodEntry = () => {
      const k = rnd() % 4;
      if (k === 0) return { op: Call.InvalPage, target: 0, value: rnd(), flags: 0 };
      const page = pick([PT1, PT2, PD]);
      const slot = page === PD ? rnd() % 1008 : rnd() % 1024; // never over the reserved range
      const op = k === 1 ? Call.UpdatePxE : Call.SetPxE;
      return { op, target: page * 4096 + slot * 4, value: op === Call.UpdatePxE ? 0 : rnd(), flags: (page === PD && rnd() % 2 ? 2 : 1) | (rnd() % 2 ? 0x10 | (rnd() & 0xfffff000) : 0) };
    };
    const junkEntry = () => {
      const op = pick(ops);
      const inval = op === Call.InvalPage;
      return {
        op,
        target: inval && rnd() % 4 !== 0 ? 0 : pick(pages) * 4096 + (rnd() % 1024) * 4 + (rnd() % 16 === 0 ? 2 : 0),
        value: op === Call.UpdatePxE && rnd() % 4 !== 0 ? 0 : rnd(),
        flags: inval && rnd() % 4 !== 0 ? 0 : pick(levels) | (rnd() % 2 ? 0x10 | (rnd() & 0xfffff000) : 0),
      };
    };
    const state = () => core.u8.slice(L.STATE_BASE, L.STATE_BASE + 0x1a0); // registers, segments, CRs, counters
    let applied = 0;
    let refused = 0;
    for (let b = 0; b < BATCHES; b++) {
      const head = core.u32[shared + (L.SP_QUEUE_HEAD >> 2)];
      const n = rnd() % 8 === 0 ? cap + 1 + (rnd() % 4) : 1 + (rnd() % cap);
      const entries = [];
      // Half the batches are well formed throughout; the rest draw every field from junk too.
      const clean = rnd() % 2 === 0;
      for (let i = 0; i < Math.min(n, cap); i++) {
        const e = clean ? goodEntry() : junkEntry();
        entries.push(e);
        const at = shared + ((L.SP_QUEUE + ((head + i) & (cap - 1)) * L.SP_QUEUE_ENTRY_SIZE) >> 2);
        core.u32[at] = e.op;
        core.u32[at + 1] = e.target;
        core.u32[at + 2] = e.value;
        core.u32[at + 3] = e.flags;
      }
      core.u32[shared + (L.SP_QUEUE_TAIL >> 2)] = (head + n) >>> 0;
      const ramBefore = core.ram.slice(PT1 * 4096, (PD + 1) * 4096);
      const stateBefore = state();
      const model = ramBefore.slice();
      const valid = n <= cap && entries.every((e) => checkEntry(e, ctx) === null);
      if (valid) for (const e of entries) if (e.op === Call.SetPxE) new DataView(model.buffer).setUint32(e.target - PT1 * 4096, e.value, true);
      const ok = vmi.drain();
      core.u32[L.STATE_HYPERCALL_FAULT >> 2] = 0;
      expect(ok).toBe(valid);
      expect(Buffer.compare(core.ram.slice(PT1 * 4096, (PD + 1) * 4096), model), `batch ${b}`).toBe(0);
      expect(Buffer.compare(state(), stateBefore), `core state after batch ${b}`).toBe(0);
      expect(core.u32[shared + (L.SP_QUEUE_HEAD >> 2)]).toBe((head + n) >>> 0);
      if (ok) applied++;
      else refused++;
    }
    // Both outcomes were exercised in earnest.
    expect(applied).toBeGreaterThan(BATCHES / 20);
    expect(refused).toBeGreaterThan(BATCHES / 20);
    expect(vmi.stats.refusedBatches).toBe(refused);
  }, 120_000);
});
