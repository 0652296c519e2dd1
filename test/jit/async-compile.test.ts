// Units compiled asynchronously (JitOptions compile "async", the path Chromium's main thread
// takes for modules over 4 KB): the core interprets a hot block until its unit is ready and the
// host installs it into the core's map when WebAssembly.instantiate resolves. Nothing a guest
// observes changes: output and every counter equal the interpreter's, and units did get
// installed that way.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import type { JitOptions } from "../../src/jit/jit.js";

const guests = join(dirname(fileURLToPath(import.meta.url)), "../guests");

async function run(image: string, jit: JitOptions | false) {
  const m = await Machine.create({ memSize: 32 << 20, deterministic: true, jit });
  loadMultiboot(m, new Uint8Array(readFileSync(join(guests, image))), { name: image });
  const r = await m.run({ maxInstructions: 400_000_000, wallTimeoutMs: 120_000 });
  const observed = { reason: r.reason, exitCode: r.exitCode, instructions: r.instructions, counters: r.counters, serial: m.serialOutput };
  return { observed, stats: m.core.jit?.stats };
}

describe("the JIT compiling asynchronously", () => {
  // The full cpu-bound guest (about a second): with the short one the run could end before a
  // loaded host's background compiler finished any module, and nothing would be installed.
  for (const image of ["cpu-bound/cpu-bound.elf", "timer/timer.elf"]) {
    it(`${image}: the same output and counters as the interpreter, units installed late`, async () => {
      const interpreted = await run(image, false);
      const compiled = await run(image, { threshold: 1, compile: "async" });
      expect(compiled.observed).toEqual(interpreted.observed);
      expect(compiled.stats!.asyncCompiled).toBeGreaterThan(0);
      expect(compiled.stats!.unitsCompiled).toBe(compiled.stats!.asyncCompiled);
      expect(compiled.stats!.failed).toBe(0);
    }, 240_000);
  }
});
