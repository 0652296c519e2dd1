// Debian's kernel booted to its shell, saved at the prompt, restored into a fresh machine: the
// restored machine runs a command exactly as the original does when it goes on from the same
// point with the same input (deterministic mode), and the boot is not paid again.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine.js";
import { loadLinux } from "../../src/loaders/linux.js";
import { decodeSnapshot, encodeSnapshot } from "../../src/snapshot/file.js";
import { buildInitramfs } from "../../scripts/build-initramfs.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const CACHE = join(ROOT, ".cache/debian");
const TIMEOUT_MS = 900_000;
const PROMPT = "/ # ";
const SLICE = 20_000_000;

// Debian's kernel and busybox come from scripts/fetch-debian.sh (apt; see boot.test.ts, which
// skips when the mirror is unreachable outside CI). An initramfs of our own: boot.test.ts
// rewrites the shared one with extra programs.
const fetched = spawnSync("sh", [join(ROOT, "scripts/fetch-debian.sh")], { cwd: ROOT, encoding: "utf8" });
const unavailable = fetched.status !== 0 && !process.env.CI;
if (unavailable) console.warn("test/linux/snapshot: skipped: scripts/fetch-debian.sh could not fetch Debian's kernel");

describe.skipIf(unavailable)("Debian's kernel from a snapshot", () => {
  it(
    "saved at the shell prompt, restored, runs a command exactly as the original goes on",
    async () => {
      expect(fetched.status, fetched.stdout + fetched.stderr).toBe(0);
      const initrd = new Uint8Array(readFileSync(buildInitramfs({ cache: CACHE, output: "initramfs-snapshot.cpio" })));
      const kernel = new Uint8Array(readFileSync(join(CACHE, "vmlinuz")));
      const booted = await Machine.create({ memSize: 128 << 20, deterministic: true });
      loadLinux(booted, kernel, { name: "vmlinuz", initrd, cmdline: "console=ttyS0 cryptomgr.notests quiet vmi386.shell" });
      while (!booted.serialOutput.includes(PROMPT)) {
        const r = await booted.run({ maxInstructions: SLICE });
        expect(r.reason, booted.serialOutput.slice(-2000)).toBe("max-instructions");
      }
      const bootOutput = booted.serialOutput;
      const restored = await Machine.restore(await decodeSnapshot(await encodeSnapshot(booted.save())));
      expect(restored.restoredFrom?.instructions).toBe(booted.core.instructions);

      const command = "uname -a; echo sum $((6 * 7)); poweroff -f\n";
      const results = [];
      for (const m of [booted, restored]) {
        m.sendSerialInput(command);
        const r = await m.run({ maxInstructions: 2_000_000_000 });
        results.push({ reason: r.reason, counters: r.counters, eip: m.core.eip });
      }
      const restoredOutput = restored.serialOutput;
      expect(restoredOutput).toMatch(/Linux \(none\) 6\.1\.\d+-\d+-686 .* i686 GNU\/Linux/);
      expect(restoredOutput).toContain("sum 42");
      expect(results[0].reason).toBe("hlt-disabled");
      expect(results[1]).toEqual(results[0]);
      expect(bootOutput + restoredOutput).toBe(booted.serialOutput);
      expect(Buffer.compare(restored.ram, booted.ram)).toBe(0);
    },
    TIMEOUT_MS,
  );
});
