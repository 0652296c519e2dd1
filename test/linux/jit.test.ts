// Debian's i386 kernel under the JIT: the same deterministic boot as test/linux/boot.test.ts,
// once interpreted and once with the JIT at its default threshold (--jit-threshold 1 is the
// harsher setting, but compiling every block start of a boot takes minutes here). docs/jit.md
// promises that nothing a guest can observe changes with the JIT, so the console output and
// every counter must be identical.
//
// Skips only when the Debian mirror is unreachable and this is not CI (test/support/debian-cache.ts).

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "../support/run-cli.js";
import { DEBIAN_CACHE as CACHE, prepareDebian } from "../support/debian-cache.js";

const KERNEL = join(CACHE, "vmlinuz");
const INITRD = join(CACHE, "initramfs.cpio");
/** As in boot.test.ts: COM1 is the console, and the crypto self-tests are skipped. */
const APPEND = "console=ttyS0 cryptomgr.notests";
const BOOT_TIMEOUT_MS = 600_000;

const prepared = await prepareDebian();
if (prepared.skip) console.warn(`test/linux: ${prepared.why}`);

/** A deterministic boot to /init's poweroff: its console output and its stats (JSON on stderr). */
async function boot(engine: string[]) {
  const args = ["run", ...engine, "--kernel", KERNEL, "--initrd", INITRD, "--append", APPEND, "--mem", "128M", "--deterministic", "--stats", "json"];
  const r = await cli(args);
  const out = r.stdout.replace(/\r\n/g, "\n");
  expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
  return { out, stats: JSON.parse(r.stderr.slice(r.stderr.indexOf("{"))) };
}

describe.skipIf(prepared.skip === true)("Debian's i386 kernel under the JIT", () => {
  it(
    "boots to /init's poweroff with output and counters identical to the interpreter's",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      const interpreted = await boot(["--no-jit"]);
      const compiled = await boot(["--jit"]);
      expect(compiled.out).toContain("init: done, powering off\n");
      expect(compiled.stats.jit.unitsCompiled).toBeGreaterThan(0);
      expect(compiled.out).toBe(interpreted.out);
      expect(compiled.stats.reason).toBe(interpreted.stats.reason);
      expect(compiled.stats.message).toBe(interpreted.stats.message);
      expect(compiled.stats.counters).toEqual(interpreted.stats.counters);
    },
    BOOT_TIMEOUT_MS,
  );
});
