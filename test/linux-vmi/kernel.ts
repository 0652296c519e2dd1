// Where the CONFIG_VMI kernel's boot test finds its files, and how it boots them under QEMU
// (the oracle: no VMI ROM there, so the kernel runs its native paravirt ops).
//
// The kernel (Linux 2.6.32.69 built with CONFIG_VMI=y) is not in the repository: it lives in
// linux-vmi/bzImage in the folder "shared" beside the clone (CI has it there), or wherever
// VMI386_LINUX_VMI_KERNEL points. busybox is Debian bookworm's busybox-static, fetched by
// scripts/fetch-debian.sh; the initramfs is built from it with ./init as /init.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildInitramfs } from "../../scripts/build-initramfs.js";
import { DEBIAN_CACHE, ROOT } from "../support/debian-cache.js";

export const VMI_KERNEL = process.env.VMI386_LINUX_VMI_KERNEL ?? join(ROOT, "..", "shared", "linux-vmi", "bzImage");
export const VMI_INIT = join(ROOT, "test/linux-vmi/init");
export const GOLDEN = join(ROOT, "test/linux-vmi/qemu.golden.txt");
export const APPEND = "console=ttyS0";
export const MEM_MB = 128;

/** Builds .cache/debian/linux-vmi-initramfs.cpio (busybox and ./init) and returns its path. */
export function buildVmiInitramfs(): string {
  return buildInitramfs({ cache: DEBIAN_CACHE, init: VMI_INIT, output: "linux-vmi-initramfs.cpio" });
}

/** The vm86() program (test/guests/linux-vm86), its /init, and what QEMU printed for them. */
export const VM86_PROGRAM = join(ROOT, "test/guests/linux-vm86/vm86");
export const VM86_INIT = join(ROOT, "test/guests/linux-vm86/init");
export const VM86_GOLDEN = join(ROOT, "test/linux-vmi/vm86.golden.txt");

/** Builds .cache/debian/linux-vm86-initramfs.cpio (busybox, the vm86 program and its /init). */
export function buildVm86Initramfs(): string {
  const program = { kind: "file", name: "bin/vm86", data: readFileSync(VM86_PROGRAM), mode: 0o755 } as const;
  return buildInitramfs({ cache: DEBIAN_CACHE, init: VM86_INIT, extra: [program], output: "linux-vm86-initramfs.cpio" });
}

/** The vm86 program's and its /init's lines. */
export function vm86Results(log: string): string[] {
  return log.split("\n").filter((l) => /^vm86[ :-]/.test(l));
}

/** The QEMU command line that boots the kernel and initramfs, as recorded in the golden file. */
export function qemuArgs(kernel: string, initrd: string): string[] {
  return ["-kernel", kernel, "-initrd", initrd, "-append", APPEND, "-nographic", "-no-reboot", "-m", String(MEM_MB)];
}

/** Boots under qemu-system-i386 and returns the console from the kernel's first line on; throws if QEMU fails. */
export function qemuBoot(kernel: string, initrd: string): string {
  const r = spawnSync("qemu-system-i386", qemuArgs(kernel, initrd), { encoding: "utf8", timeout: 300_000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error || r.status !== 0) throw new Error(`qemu-system-i386 failed (${r.error ?? `status ${r.status}`}): ${r.stderr}`);
  return consoleLog(r.stdout);
}

/** The console text from "Linux version" on, with CR LF as LF (QEMU's BIOS banner and escapes dropped). */
export function consoleLog(out: string): string {
  const text = out.replace(/\r\n/g, "\n");
  const start = text.search(/\[ *\d+\.\d+\] Linux version /);
  return start < 0 ? text : text.slice(start);
}

/** The init's own computed lines: "vmi-init:" lines but those that report times. */
export function initResults(log: string): string[] {
  return log.split("\n").filter((l) => l.startsWith("vmi-init:") && !l.includes("uptime"));
}
