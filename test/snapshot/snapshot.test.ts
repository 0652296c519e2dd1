// Snapshots are exact: in deterministic mode, running N instructions, saving, restoring into a
// fresh machine and running M gives what running N+M straight gives — the same serial output,
// registers, counters, RAM and whole core memory. The guests keep timers and interrupts busy
// (timer: PIT and RTC interrupts; apic: the local APIC's timer and the I/O APIC; pvkernel under VMI: the ROM, its deferred queue, the alarm,
// shadow page tables), so a forgotten piece of state shows as a divergence.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine, type MachineOptions } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/file.js";

const guests = join(dirname(fileURLToPath(import.meta.url)), "../guests");

interface Case {
  name: string;
  image: string;
  opts: Partial<MachineOptions>;
  /** Instructions before the save, and the most after it (timer ends by debug-exit before that). */
  n: number;
  m: number;
}

const CASES: Case[] = [
  { name: "timer (PIT, RTC, HLT)", image: "timer/timer.elf", opts: {}, n: 1_234_567, m: 10_000_000 },
  { name: "apic (local APIC timer, I/O APIC)", image: "apic/apic.elf", opts: { apic: true }, n: 345_678, m: 10_000_000 },
  { name: "pvkernel under VMI (ROM, queue, alarm, shadow page tables)", image: "pvkernel/pvkernel-vmi.elf", opts: { vmi: true }, n: 2_345_678, m: 3_000_000 },
];

async function boot(c: Case): Promise<Machine> {
  const m = await Machine.create({ memSize: 32 << 20, deterministic: true, ...c.opts });
  loadMultiboot(m, new Uint8Array(readFileSync(join(guests, c.image))), { name: c.image, cmdline: "" });
  return m;
}

function fingerprint(m: Machine) {
  const regs = Array.from({ length: 8 }, (_, i) => m.core.reg(i));
  return { regs, eip: m.core.eip, eflags: m.core.eflags, counters: m.counters(), devices: JSON.stringify(m.saveDevices()) };
}

describe("snapshot: save at N, restore, run M = run N+M", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const straight = await boot(c);
      const r1 = await straight.run({ maxInstructions: c.n + c.m });

      const first = await boot(c);
      await first.run({ maxInstructions: c.n });
      const before = first.serialOutput;
      // Through the file format as well, so the encoding is exact too.
      const restored = await Machine.restore(await decodeSnapshot(await encodeSnapshot(first.save())));
      expect(restored.restoredFrom?.instructions).toBe(c.n);
      const r2 = await restored.run({ maxInstructions: c.m });
      expect({ reason: r2.reason, exitCode: r2.exitCode }).toEqual({ reason: r1.reason, exitCode: r1.exitCode });

      expect(straight.serialOutput.length).toBeGreaterThan(0);
      expect(before + restored.serialOutput).toBe(straight.serialOutput);
      expect(fingerprint(restored)).toEqual(fingerprint(straight));
      expect(Buffer.compare(restored.ram, straight.ram), "guest RAM").toBe(0);

      // The block cache depends on where runs end (a run that stops mid-block starts a new block
      // there), so the whole of the core's memory, caches included, is compared with a machine
      // that stopped at N too, and went on without a snapshot (after saving one, which must not
      // disturb it).
      const split = await boot(c);
      await split.run({ maxInstructions: c.n });
      split.save();
      await split.run({ maxInstructions: c.m });
      expect(fingerprint(split)).toEqual(fingerprint(straight));
      // Compiled units are not in snapshots: a restored machine with the JIT compiles again,
      // interpreting meanwhile, so its caches differ from one that ran on; what the guest sees is
      // compared above, and the whole memory with the JIT off (npm run test:interpreter).
      if (!split.core.jit) expect(Buffer.compare(restored.core.u8, split.core.u8), "the whole of the core's memory").toBe(0);
    });
  }
});
