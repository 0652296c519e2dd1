// vmi386 run --bios and --debugcon: a firmware image that is not one, or that comes with
// something else to boot, is one line and status 2 with nothing run; SeaBIOS runs and its log
// lands in the --debugcon file.
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SEABIOS, SEABIOS_BIOS_BIN, requiresTool } from "../support/requires-tool.js";
import type { CliInput } from "../../src/cli.js";
import { cli, expectUsageError } from "../support/run-cli.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");
const HI = join(root, "test/loader/fixtures/hi.elf");
const tmp = mkdtempSync(join(tmpdir(), "vmi386-bios-"));

describe("vmi386 run --bios: bad firmware is one line and status 2", () => {
  it("rejects a missing file, a directory and a character device", async () => {
    await expectUsageError(["run", "--bios", join(tmp, "nope.bin")], /cannot read .*nope\.bin: no such file$/m);
    await expectUsageError(["run", "--bios", tmp], /: it is a directory$/m);
    await expectUsageError(["run", "--bios", "/dev/zero"], /cannot read \/dev\/zero: it is a character device/);
  });

  it("rejects an image that is not whole 64 KiB blocks, and one over 16 MiB before reading it", async () => {
    const odd = join(tmp, "odd.bin");
    writeFileSync(odd, new Uint8Array(0x10000 + 512));
    await expectUsageError(["run", "--bios", odd], /odd\.bin: a firmware image must be a whole number of 64 KiB blocks, and this one is 66048 bytes$/m);
    const empty = join(tmp, "empty.bin");
    writeFileSync(empty, "");
    await expectUsageError(["run", "--bios", empty], /a whole number of 64 KiB blocks, and this one is 0 bytes/);
    const big = join(tmp, "big.bin");
    writeFileSync(big, "");
    truncateSync(big, 0x1010000); // sparse
    await expectUsageError(["run", "--bios", big], /big\.bin is 16842752 bytes, more than the 16 MiB a firmware image can be: refused without reading it$/m);
  });

  it("refuses --bios with something else to boot, or with a snapshot to save", async () => {
    const rom = join(tmp, "rom.bin");
    writeFileSync(rom, new Uint8Array(0x10000));
    const why = /--bios boots the firmware alone: it takes no IMAGE, --kernel, --initrd, --append or --restore/;
    await expectUsageError(["run", HI, "--bios", rom], why);
    await expectUsageError(["run", "--kernel", HI, "--bios", rom], why);
    await expectUsageError(["run", "--bios", rom, "--append", "x"], why);
    await expectUsageError(["run", "--bios", rom, "--restore", rom], why);
    await expectUsageError(["run", "--bios", rom, "--save-at-instructions", "5", join(tmp, "snap")], /a machine booted with --bios cannot be saved: a snapshot would not hold its ROM/);
  });

  it("says when the --debugcon file cannot be written", async () => {
    const rom = join(tmp, "rom.bin");
    writeFileSync(rom, new Uint8Array(0x10000));
    await expectUsageError(["run", "--bios", rom, "--debugcon", join(tmp, "no/such/dir/log")], /--debugcon: cannot write .*no\/such\/dir\/log/);
  });
});

describe("vmi386 run --bios: the console's Ctrl-A s", () => {
  it("says the machine cannot be saved and lets it run on", async () => {
    // a ROM that loops in its low copy (RAM, fast): jmp F000:FFF5 at the reset vector, jmp $ there
    const image = new Uint8Array(0x10000);
    image.set([0xea, 0xf5, 0xff, 0x00, 0xf0, 0xeb, 0xfe], 0xfff0);
    const rom = join(tmp, "loop.bin");
    writeFileSync(rom, image);
    const keys = (text: string) => new TextEncoder().encode(text);
    const stdin: CliInput = {
      isTTY: true,
      setRawMode: () => undefined,
      on: (_e, l) => {
        // Ctrl-A x well after the failed save: a quit that comes before the run has stopped
        // for the save is taken for the save's own stop
        setTimeout(() => l(keys("\x01s")), 50);
        setTimeout(() => l(keys("\x01x")), 3000);
      },
      removeListener: () => undefined,
      pause: () => undefined,
    };
    const r = await cli(["run", "--bios", rom, "--timeout", "30", "--snapshot-file", join(tmp, "never.snap")], stdin);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("vmi386: cannot save a snapshot: a machine booted from firmware (--bios) cannot be snapshotted");
    expect(r.stderr).toMatch(/stopped\s+quit/);
  }, 40_000);
});

describe("vmi386 run --bios with Debian's SeaBIOS", () => {
  requiresTool(SEABIOS).it("runs it to No bootable device., its log in the --debugcon file", async () => {
    const log = join(tmp, "seabios.log");
    const r = await cli(["run", "--bios", SEABIOS_BIOS_BIN, "--deterministic", "--debugcon", log, "--max-instructions", "20000000"]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(log, "latin1");
    expect(text).toMatch(/^SeaBIOS \(version /);
    expect(text).toContain("No bootable device.");
  }, 60_000);
});
