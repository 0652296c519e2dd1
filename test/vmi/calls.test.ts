// Every VMI call through the ROM, from a guest (test/guests/vmicalls): the guest finds the ROM
// as Linux did, calls each entry point and checks its effect against the native instruction or
// architectural state it stands for, then plays hostile. Here we check what only the host can
// see: which calls exited and which were served in the ROM, batches, refusals, shadow contexts.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine, type RunResult } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { CALL_NAMES } from "../../src/vmi/calls.js";

const here = dirname(fileURLToPath(import.meta.url));
const GUEST = join(here, "../guests/vmicalls/vmicalls.elf");

async function run(cmdline = "", queueCapacity?: number): Promise<{ m: Machine; r: RunResult }> {
  const m = await Machine.create({ memSize: 32 << 20, deterministic: true, vmi: { queueCapacity } });
  loadMultiboot(m, new Uint8Array(readFileSync(GUEST)), { name: "vmicalls.elf", cmdline });
  const r = m.runSync({ maxInstructions: 100_000_000 });
  return { m, r };
}

describe("VMI calls through the ROM (vmicalls guest)", () => {
  it("passes its own checks, and every call number went through the ROM", async () => {
    const { m, r } = await run();
    const out = m.serialOutput;
    expect(out, out).toMatch(/PASS\s*$/);
    expect(r.reason).toBe("debug-exit");
    expect(r.exitCode).toBe(1);
    const v = m.vmi!;
    const inRom = v.inRomCounts();
    const reached = new Set([...Object.keys(v.stats.exits), ...Object.keys(inRom)]);
    // IODelay is a NOP relocation (patched out), Reboot and Shutdown end the run (below).
    const missing = [...CALL_NAMES.values()].filter((n) => !reached.has(n) && !["IODelay", "Reboot", "Shutdown"].includes(n));
    expect(missing).toEqual([]);
  });

  it("serves the shadow and interrupt-flag calls in the ROM with no exit", async () => {
    const { m } = await run();
    const exits = m.vmi!.stats.exits;
    for (const name of ["GetCR0", "GetCR2", "GetCR3", "GetCR4", "DisableInterrupts", "GetInterruptMask", "CPUID", "RDTSC", "GetCycleCounter", "IRET", "Halt"]) {
      expect(exits[name] ?? 0, name).toBe(0);
      expect(m.vmi!.inRomCounts()[name], name).toBeGreaterThan(0);
    }
    // Enable/SetInterruptMask exit only with an interrupt waiting: Enable twice in this guest
    // (after an alarm that came due with the virtual IF clear, and after a periodic alarm armed
    // at the current count, as Linux's clockevents arm it), SetInterruptMask once.
    expect(exits.EnableInterrupts).toBe(2);
    expect(exits.SetInterruptMask).toBe(1);
  });

  it("batches lazy updates: 300 queued SetPxE in drains of the queue's size, not 300 exits", async () => {
    const { m } = await run("", 64);
    const s = m.vmi!.stats;
    // Two runs of 300 queued entries (the lazy-mode part's SetPxEs; the register checks' 100 each
    // of SetPxE, UpdatePxE and InvalPage): 4 full queues each.
    expect(s.batchSizes["64"]).toBe(8);
    // SetPxE: 300 + 1 in the lazy-mode part, 2 through Linux's linear mappings, all 768 of the
    // lazy-mode interrupt sweep's runs (those made before their alarm, and those after it: the
    // handler's IRET back resumed lazy mode), 100 in the register checks, 5 in the hostile part's
    // refused batches
    expect(m.vmi!.queued(38)).toBe(1176);
    // 19 in the other parts (immediate calls, and full queues' drains); in the interrupt sweep, the
    // handler's 96 (lazy mode is suspended while it runs).
    expect(s.exits.SetPxE).toBe(19 + 96);
    const c = m.counters();
    // the sweep's 96 alarms, and the #GP of the hostile part's refused batch made in lazy mode
    // (events that suspended lazy mode)
    expect(c.vmiLazyModeEndedByEvent).toBe(97);
    expect(c.vmiRefusedBatches).toBe(5); // the hostile part: unannounced target, half-bad batch, unmapped and out-of-RAM pointers, garbage tail
    expect(c.vmiDirectPageTableWrites).toBeGreaterThan(0);
    expect(c.vmiShadowHits).toBeGreaterThan(0);
    expect(c.vmiShadowRestored).toBeGreaterThan(0);
  });

  it("a queue of four entries gives the same results in more, smaller batches", async () => {
    const { m, r } = await run("", 4);
    expect(m.serialOutput).toMatch(/PASS\s*$/);
    expect(r.exitCode).toBe(1);
    expect(m.vmi!.stats.batchSizes["4"]).toBe(254);
  });

  it("is deterministic: two runs, identical output and counters", async () => {
    const a = await run();
    const b = await run();
    expect(b.m.serialOutput).toBe(a.m.serialOutput);
    expect(b.r.counters).toEqual(a.r.counters);
  });

  it("Shutdown ends the run cleanly; Reboot resets the machine", async () => {
    const s = await run("shutdown");
    expect(s.r.reason).toBe("shutdown");
    expect(s.m.serialOutput).toContain("hostile ok");
    const b = await run("reboot");
    expect(b.r.reason).toBe("reset");
    expect(b.r.message).toContain("VMI Reboot");
  });

  it("without --vmi there is no ROM, and the guest says so", async () => {
    const m = await Machine.create({ memSize: 32 << 20, deterministic: true });
    loadMultiboot(m, new Uint8Array(readFileSync(GUEST)), { name: "vmicalls.elf" });
    const r = m.runSync({ maxInstructions: 10_000_000 });
    expect(m.serialOutput).toContain("no VMI ROM in 0xC0000-0xDFFFF");
    expect(r.exitCode).not.toBe(1);
  });
});
