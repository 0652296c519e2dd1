// Records test/linux-vmi/qemu.golden.txt: the CONFIG_VMI kernel and ./init's initramfs booted
// under qemu-system-i386. Run: npm run linux-vmi:golden (needs the kernel, see kernel.ts,
// scripts/fetch-debian.sh's busybox, and qemu-system-x86).

import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { DEBIAN_CACHE, ROOT } from "../support/debian-cache.js";
import { GOLDEN, VMI_KERNEL, buildVmiInitramfs, qemuArgs, qemuBoot } from "./kernel.js";

const initrd = buildVmiInitramfs();
const log = qemuBoot(VMI_KERNEL, initrd);
// The kernel's path is this machine's: the command names it KERNEL (see kernel.ts).
const command = ["qemu-system-i386", ...qemuArgs("KERNEL", relative(ROOT, initrd).replace(relative(ROOT, DEBIAN_CACHE), ".cache/debian"))]
  .map((a) => (/[\s']/.test(a) ? `'${a}'` : a))
  .join(" ");
writeFileSync(GOLDEN, `# recorded by npm run linux-vmi:golden: ${command}\n${log.endsWith("\n") ? log : `${log}\n`}`);
console.log(`record-golden: ${GOLDEN}`);
