// The JIT changes nothing a guest can observe: each guest, run deterministically with the JIT
// compiling every block start at once (threshold 1) and without it, prints the same output and
// ends with every counter equal, the retired-instruction count first among them. The guests'
// own expected output (established under QEMU) is checked by test/guests/guests.test.ts, which
// runs with the JIT as VMI386_JIT says: at its default threshold, off (npm run test:interpreter)
// and compiling every block start (npm run test:jit).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";

const guests = join(dirname(fileURLToPath(import.meta.url)), "../guests");

async function run(image: string, jit: boolean) {
  const m = await Machine.create({ memSize: 32 << 20, deterministic: true, jit: jit ? { threshold: 1 } : false });
  loadMultiboot(m, new Uint8Array(readFileSync(join(guests, image))), { name: image });
  const r = await m.run({ maxInstructions: 400_000_000, wallTimeoutMs: 120_000 });
  const observed = { reason: r.reason, exitCode: r.exitCode, instructions: r.instructions, counters: r.counters, serial: m.serialOutput };
  return { observed, units: m.core.jit?.stats.unitsCompiled ?? 0, jitError: m.core.jit?.lastError };
}

describe("guests with and without the JIT", () => {
  for (const image of ["cpu-bound/cpu-bound-quick.elf", "smc/smc.elf", "timer/timer.elf", "exceptions/exceptions.elf", "paging/paging.elf",
    // Port I/O in a hot loop: units go on past the IN and OUT they hand to the interpreter.
    "../../bench/guests/io-loop.bin"]) {
    it(`${image}: the same output and counters`, async () => {
      const interpreted = await run(image, false);
      const compiled = await run(image, true);
      expect(compiled.units).toBeGreaterThan(0);
      // A compile that throws leaves the code to the interpreter: the same output, a JIT bug.
      expect(compiled.jitError?.stack, "a JIT compile failed").toBeUndefined();
      expect(compiled.observed).toEqual(interpreted.observed);
    }, 240_000);
  }
});
