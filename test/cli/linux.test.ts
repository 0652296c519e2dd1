// vmi386 run --kernel: the Linux boot protocol from the command line, with the synthetic
// bzImage (test/loader/bzimage-builder.ts) whose probe payload reports on COM1 what it found.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT_USAGE } from "../../src/cli.js";
import { cli } from "../support/run-cli.js";
import { bzImage } from "../loader/bzimage-builder.js";

const HI = join(dirname(fileURLToPath(import.meta.url)), "../loader/fixtures/hi.elf");
const tmp = mkdtempSync(join(tmpdir(), "vmi386-linux-cli-"));
function tmpFile(name: string, bytes: Uint8Array | string): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}
const KERNEL = tmpFile("bzImage", bzImage());
const INITRD = tmpFile("initrd.img", "RAMDISK!");


async function expectUsageError(args: string[], line: string): Promise<void> {
  const r = await cli(args);
  expect(r.status, r.stderr).toBe(EXIT_USAGE);
  expect(r.stderr).toBe(`vmi386: error: ${line}\n`);
  expect(r.stdout).toBe("");
}

// A payload at 0x100000 that enables paging (one 4 MiB identity page: PDE 0 = 0x83 at 0x200000,
// CR4.PSE, CR0.PG) and halts with interrupts off, as Linux's machine_halt() does:
//   mov eax, 0x200000; mov dword [eax], 0x83; mov cr3, eax; mov eax, cr4; or eax, 0x10
//   mov cr4, eax; mov eax, cr0; or eax, 0x80000000; mov cr0, eax; cli; hlt
const HALT_PAGED = Uint8Array.from(
  Buffer.from("b800002000c700830000000f22d80f20e083c8100f22e00f20c00d000000800f22c0faf4", "hex"),
);

describe("vmi386 run --kernel", () => {
  it("a Linux guest that halts with interrupts off and paging on (its power-off) exits with 0", async () => {
    const r = await cli(["run", "--kernel", tmpFile("halt-paged", bzImage({ payload: HALT_PAGED })), "--mem", "16M", "--deterministic"]);
    expect(r.stderr).toContain("hlt-disabled");
    expect(r.status, r.stderr).toBe(0);
  });

  it("a halt with paging off (the decompressor's error path) is still status 6", async () => {
    const r = await cli(["run", "--kernel", tmpFile("halt-flat", bzImage({ payload: Uint8Array.of(0xfa, 0xf4) })), "--mem", "16M", "--deterministic"]);
    expect(r.status, r.stderr).toBe(6);
  });

  it("boots the bzImage with --initrd and --append: the probe reports them", async () => {
    const r = await cli(["run", "--kernel", KERNEL, "--initrd", INITRD, "--append", "console=ttyS0 init=/bin/sh", "--mem", "16M", "--deterministic"]);
    expect(r.stdout).toBe(
      ["esi=00010000", "cmdline=console=ttyS0 init=/bin/sh", "initrd=00fff000+00000008", "initrd-head=RAMD", "e820=00000004", ""].join("\n"),
    );
    expect(r.status, r.stderr).toBe(0x43);
  });

  it("boots without an initrd or command line", async () => {
    const r = await cli(["run", "--kernel", KERNEL, "--mem", "4M"]);
    expect(r.stdout).toBe(["esi=00010000", "cmdline=", "initrd=00000000+00000000", "e820=00000004", ""].join("\n"));
    expect(r.status).toBe(0x43);
  });

  it("wants exactly one of IMAGE and --kernel, and --initrd only with --kernel", async () => {
    await expectUsageError(["run", HI, "--kernel", KERNEL], "give either IMAGE (multiboot) or --kernel (Linux bzImage), not both");
    await expectUsageError(["run", "--mem", "4M"], "nothing to boot: give IMAGE (multiboot), --kernel (Linux bzImage) or --bios (firmware)");
    await expectUsageError(["run", HI, "--initrd", INITRD], "--initrd needs --kernel: a multiboot IMAGE takes no initrd");
    await expectUsageError(["run", "--kernel"], "option '--kernel <bzImage>' argument missing");
  });

  it("rejects unreadable files and bad images with one line, status 2", async () => {
    await expectUsageError(["run", "--kernel", join(tmp, "nope")], `cannot read ${join(tmp, "nope")}: no such file`);
    await expectUsageError(["run", "--kernel", KERNEL, "--initrd", tmp], `cannot read ${tmp}: it is a directory`);
    await expectUsageError(["run", "--kernel", HI], 'hi.elf is not a bzImage: no boot flag 0xaa55 at 0x1fe and "HdrS" at 0x202');
    await expectUsageError(
      ["run", "--kernel", KERNEL, "--initrd", tmpFile("big.img", new Uint8Array(4 << 20)), "--mem", "4M"],
      "big.img (4194304 bytes) does not fit in guest RAM (4M) above the kernel, which ends at 0x110000",
    );
    await expectUsageError(
      ["run", "--kernel", tmpFile("small-cmdline", bzImage({ cmdlineSize: 4 })), "--append", "quiet"],
      "the kernel command line is 5 bytes, longer than small-cmdline's cmdline_size 4",
    );
  });
});
