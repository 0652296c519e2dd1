// The CLI's snapshots: save at an instruction count or at a string on the console, restore,
// and the restored run prints exactly the rest of what a straight run prints.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConsoleKeys } from "../../src/cli.js";
import { cli } from "../support/run-cli.js";

const TIMER = join(dirname(fileURLToPath(import.meta.url)), "../guests/timer/timer.elf");
const dir = mkdtempSync(join(tmpdir(), "vmi386-snapshot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("vmi386 run: snapshots", () => {
  it("--save-at-instructions, then --restore: the rest of the output, the same exit status", async () => {
    const straight = await cli(["run", "--deterministic", "--stats", "json", TIMER]);
    const file = join(dir, "at.snap");
    const saving = await cli(["run", "--deterministic", "--stats", "json", "--save-at-instructions", "1234567", file, TIMER]);
    expect(saving.stdout).toBe(straight.stdout);
    expect(saving.status).toBe(straight.status);
    expect(saving.stderr).toMatch(/^vmi386: saved the machine to .*at\.snap at 1,234,567 instructions/);

    const restored = await cli(["run", "--restore", file, "--stats", "json"]);
    expect(restored.status).toBe(straight.status);
    expect(restored.stdout.length).toBeGreaterThan(0);
    expect(restored.stdout.length).toBeLessThan(straight.stdout.length);
    expect(straight.stdout.endsWith(restored.stdout)).toBe(true);
    const stats = JSON.parse(restored.stderr);
    const straightStats = JSON.parse(straight.stderr.trim().split("\n").at(-1)!);
    expect(stats.restoredFrom.instructions).toBe(1234567);
    expect(stats.instructions + 1234567).toBe(straightStats.instructions);
    expect(stats.counters).toEqual(straightStats.counters);
  });

  it("--save-on-output saves when the console first prints the string", async () => {
    const straight = await cli(["run", "--deterministic", TIMER]);
    const marker = "ok   IRQ0 held";
    const file = join(dir, "output.snap");
    const saving = await cli(["run", "--deterministic", "--save-on-output", marker, file, TIMER]);
    expect(saving.stdout).toBe(straight.stdout);
    const restored = await cli(["run", "--restore", file]);
    expect(straight.stdout.endsWith(restored.stdout)).toBe(true);
    const before = straight.stdout.slice(0, straight.stdout.length - restored.stdout.length);
    expect(before).toContain(marker);
    expect(restored.stdout).not.toContain(marker);
    expect(restored.stderr).toMatch(/from snapshot\s+[\d,]+ instructions before this run/);
  });

  it("refuses a file that is not a snapshot with one line, running nothing", async () => {
    const bad = join(dir, "bad.snap");
    writeFileSync(bad, "not a snapshot at all\n");
    const r = await cli(["run", "--restore", bad]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^vmi386: error: cannot restore .*bad\.snap: not a vmi386 snapshot[^\n]*\n$/);
  });

  it("refuses --restore with an image, and a save option without its FILE", async () => {
    const r = await cli(["run", "--restore", join(dir, "x.snap"), TIMER]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^vmi386: error: --restore continues a saved machine/);
    const s = await cli(["run", "--deterministic", TIMER, "--save-at-instructions", "5"]);
    expect(s.status).toBe(2);
    expect(s.stderr).toMatch(/^vmi386: error: --save-at-instructions takes a count N and a FILE/);
  });

  it("Ctrl-A s asks for a snapshot; the keys around it still go to the guest", () => {
    const k = new ConsoleKeys().feed(Uint8Array.of(0x61, 0x01, 0x73, 0x62));
    expect(k).toEqual({ send: Uint8Array.of(0x61, 0x62), quit: false, save: true });
  });
});
