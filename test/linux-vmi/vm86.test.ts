// Linux's vm86() and vm86old() system calls on the CONFIG_VMI kernel (2.6.32, built with
// CONFIG_VM86; Debian's 6.1 686 kernel has none and answers ENOSYS, under QEMU as well):
// test/guests/linux-vm86's program runs real-mode snippets in virtual-8086 mode and prints the
// kernel's return code and the vm86 struct's registers after each, which must be what QEMU
// printed (vm86.golden.txt; re-run live when qemu-system-i386 is installed). Each exit from
// virtual-8086 mode is an interrupt or exception into the kernel, each return an IRET with VM
// set, through the ROM's IRET with --vmi (where the kernel leaves DS and ES null).
//
// Without the kernel this skips with one line, except in CI (CI=true), where it fails.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { prepareDebian } from "../support/debian-cache.js";
import { cli } from "../support/run-cli.js";
import { APPEND, MEM_MB, VM86_GOLDEN, VMI_KERNEL, buildVm86Initramfs, consoleLog, qemuBoot, vm86Results } from "./kernel.js";

const BOOT_TIMEOUT_MS = 300_000;
const haveKernel = existsSync(VMI_KERNEL);
const missing = haveKernel ? null : `no CONFIG_VMI kernel at ${VMI_KERNEL} (set VMI386_LINUX_VMI_KERNEL)`;
if (missing && !process.env.CI) console.warn(`test/linux-vmi: skipping vm86: ${missing}`);
const prepared = haveKernel ? await prepareDebian() : { ok: false, skip: true };
const initrd = prepared.ok ? buildVm86Initramfs() : "";
const expected = vm86Results(readFileSync(VM86_GOLDEN, "utf8"));

const RF = 0x10000;
/**
 * A result line with RF cleared in its EFLAGS. The exits through #GP and #DE are faults, whose
 * EFLAGS image has RF set (SDM Vol. 3 §17.3.1.1), and the kernel copies that image into the
 * struct; QEMU 7.2 pushes RF = 0 for faults (test/guests/README.md, Oracle).
 */
function withoutRf(line: string): string {
  return line.replace(/eflags=([0-9a-f]{8})/, (_, v: string) => `eflags=${(parseInt(v, 16) & ~RF).toString(16).padStart(8, "0")}`);
}

async function boot(flags: string[]): Promise<string[]> {
  if (missing) throw new Error(missing);
  if (!prepared.ok) throw new Error(prepared.why);
  const r = await cli(["run", "--kernel", VMI_KERNEL, "--initrd", initrd, "--append", APPEND, "--mem", `${MEM_MB}M`, "--deterministic", ...flags]);
  const log = consoleLog(r.stdout);
  expect(r.status, `${log.slice(-3000)}\n${r.stderr}`).toBe(0);
  const results = vm86Results(log);
  expect(results.map(withoutRf), log.slice(-3000)).toEqual(expected);
  // RF: set by every exit but INT3's, a trap.
  for (const line of results.filter((l) => l.includes(" eflags="))) {
    const flags = parseInt(/eflags=([0-9a-f]{8})/.exec(line)![1], 16);
    expect(flags & RF, line).toBe(line.startsWith("vm86 breakpoint ") ? 0 : RF);
  }
  return results;
}

describe.skipIf(!haveKernel && !process.env.CI)("Linux 2.6.32's vm86() system calls", () => {
  it("the golden file holds QEMU's run: every snippet's exit and registers", () => {
    expect(expected[0]).toBe("vm86-init: kernel 2.6.32.69, mmap_min_addr 0");
    expect(expected.filter((l) => l.startsWith("vm86 ")).map((l) => l.split(" ").slice(0, 3).join(" "))).toEqual([
      "vm86 regs ret=00002102", // VM86_INTx, INT 21h
      "vm86 regs-vm86old ret=00002102",
      "vm86 work ret=00002102",
      "vm86 work: memory",
      "vm86 flags ret=00002102",
      "vm86 ivt ret=00002102",
      "vm86 ports ret=00000001", // VM86_UNKNOWN at the OUT ioperm() did not allow
      "vm86 halt ret=00000001",
      "vm86 divide ret=00000002", // VM86_INTx, INT 0
      "vm86 breakpoint ret=00000306", // VM86_TRAP, INT3
    ]);
    expect(expected.at(-1)).toBe("vm86-init: vm86 exited 0");
  });

  it.skipIf(spawnSync("qemu-system-i386", ["--version"]).status !== 0 && !process.env.CI)(
    "QEMU prints the same again (live)",
    () => {
      if (missing) throw new Error(missing);
      if (!prepared.ok) throw new Error(prepared.why);
      expect(vm86Results(qemuBoot(VMI_KERNEL, initrd))).toEqual(expected);
    },
    BOOT_TIMEOUT_MS,
  );

  it("without the ROM: every snippet exits as under QEMU", async () => {
    await boot([]);
  }, BOOT_TIMEOUT_MS);

  it("with --vmi: the same, every return to virtual-8086 mode through the ROM's IRET", async () => {
    await boot(["--vmi"]);
  }, BOOT_TIMEOUT_MS);
});
