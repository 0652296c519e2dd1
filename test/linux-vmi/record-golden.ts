// Records what qemu-system-i386 prints for the CONFIG_VMI kernel with two initramfs images:
// test/linux-vmi/qemu.golden.txt (./init's) and vm86.golden.txt (test/guests/linux-vm86's
// vm86() program). Run: npm run linux-vmi:golden [-- init|vm86] (both without an argument;
// needs the kernel, see kernel.ts, scripts/fetch-debian.sh's busybox, and qemu-system-x86).

import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { DEBIAN_CACHE, ROOT } from "../support/debian-cache.js";
import { GOLDEN, VM86_GOLDEN, VMI_KERNEL, buildVm86Initramfs, buildVmiInitramfs, qemuArgs, qemuBoot } from "./kernel.js";

function record(golden: string, initrd: string): void {
  const log = qemuBoot(VMI_KERNEL, initrd);
  // The kernel's path is this machine's: the command names it KERNEL (see kernel.ts).
  const command = ["qemu-system-i386", ...qemuArgs("KERNEL", relative(ROOT, initrd).replace(relative(ROOT, DEBIAN_CACHE), ".cache/debian"))]
    .map((a) => (/[\s']/.test(a) ? `'${a}'` : a))
    .join(" ");
  writeFileSync(golden, `# recorded by npm run linux-vmi:golden: ${command}\n${log.endsWith("\n") ? log : `${log}\n`}`);
  console.log(`record-golden: ${golden}`);
}

const only = process.argv[2];
if (only !== "vm86") record(GOLDEN, buildVmiInitramfs());
if (only !== "init") record(VM86_GOLDEN, buildVm86Initramfs());
