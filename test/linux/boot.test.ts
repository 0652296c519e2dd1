// Debian's own i386 kernel (bookworm's linux-image-6.1.*-686) with busybox-static, both fetched
// with apt by scripts/fetch-debian.sh into .cache/debian (nothing from them is committed), and
// the initramfs of scripts/build-initramfs.ts. Boots to busybox in deterministic mode through
// the CLI, once with the scripted /init and once driving the interactive shell through stdin.
//
// Skips only when the Debian mirror is unreachable and this is not CI; in CI (CI=true) a
// failed fetch fails the test.

import { createHash } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { CliInput } from "../../src/cli.js";
import { readFileSync } from "node:fs";
import { REALTIME_TSC_HZ } from "../../src/clock.js";
import { startHostLoad } from "../support/host-load.js";
import { cli, timeOf, type TimedChunk } from "../support/run-cli.js";
import { GOLDEN, buildVmiInitramfs, initResults } from "../linux-vmi/kernel.js";
import { DEBIAN_CACHE as CACHE, ROOT, prepareDebian } from "../support/debian-cache.js";
import { buildInitramfs } from "../../scripts/build-initramfs.js";
import type { NewcEntry } from "../../src/initramfs/newc.js";
import { buildElf } from "../loader/elf-builder.js";

const KERNEL = join(CACHE, "vmlinuz");
const INITRD = join(CACHE, "initramfs.cpio");
/**
 * console=ttyS0: the console is COM1 (there is no VGA). cryptomgr.notests: not needed to boot,
 * but skips the crypto self-tests, mostly RSA private-key operations, which are 3.7 G of the
 * 6.4 G instructions the boot takes otherwise. Nothing else is needed: the kernel finds no
 * ACPI, PCI, APIC or DMI and goes on without them.
 */
const APPEND = "console=ttyS0 cryptomgr.notests";
const BOOT_TIMEOUT_MS = 600_000;

/**
 * Hostile user programs for the shell test: /hostile/intN executes `int $N` and would exit 0
 * after it. Linux's gates for 0, 8 and 13 have DPL 0, so from ring 3 each is #GP(N*8+2)
 * (SDM Vol. 3 §6.12.1.1), which the kernel turns into SIGSEGV for the process alone (status
 * 139 in the shell, as on QEMU); int 3's gate has DPL 3: #BP, SIGTRAP (133).
 */
const HOSTILE_VECTORS = [0, 3, 8, 13];
/**
 * /hostile/vm86: test/guests/linux-vm86's program, whose vm86() and vm86old() calls this kernel,
 * built without CONFIG_VM86, answers with ENOSYS, as under QEMU (test/linux-vmi runs it on a
 * kernel that has them).
 */
const VM86_PROGRAM = join(ROOT, "test/guests/linux-vm86/vm86");
const HOSTILE: NewcEntry[] = [
  { kind: "dir", name: "hostile" },
  { kind: "file", name: "hostile/vm86", data: readFileSync(VM86_PROGRAM), mode: 0o755 },
  ...HOSTILE_VECTORS.map((n): NewcEntry => {
    // int $n; mov eax, 1 (exit); xor ebx, ebx; int $0x80
    const code = Uint8Array.of(0xcd, n, 0xb8, 1, 0, 0, 0, 0x31, 0xdb, 0xcd, 0x80);
    const at = 0x08048100; // the file offset of buildElf's first segment, plus the usual base
    return { kind: "file", name: `hostile/int${n}`, data: buildElf({ entry: at, segments: [{ paddr: at, bytes: code }] }).bytes, mode: 0o755 };
  }),
];

const prepared = await prepareDebian();

/** The default initramfs plus /hostile, in a file of its own (other tests read the default one). */
const hostileInitrd = () => buildInitramfs({ cache: CACHE, extra: HOSTILE, output: "initramfs-hostile.cpio" });
if (prepared.skip) console.warn(`test/linux: ${prepared.why}`);

/** stdin as a pipe that holds the whole script from the start, as `printf … | vmi386 run` gives it. */
function pipedStdin(text: string): CliInput {
  return {
    isTTY: false,
    on: (_event, listener) => listener(new TextEncoder().encode(text)),
    removeListener: () => undefined,
    pause: () => undefined,
  };
}

describe.skipIf(prepared.skip === true)("Debian's i386 kernel with busybox", () => {
  it(
    "boots to the scripted /init, which prints the kernel and CPU and runs busybox, and powers off with status 0",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      const r = await cli(["run", "--kernel", KERNEL, "--initrd", INITRD, "--append", APPEND, "--mem", "128M", "--deterministic", "--stats", "json"]);
      const out = r.stdout.replace(/\r\n/g, "\n");
      expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(out).toMatch(/^\[ *0\.000000\] Linux version 6\.1\.\d+-\d+-686 \(debian-kernel@lists\.debian\.org\)/m);
      expect(out).toMatch(/^init: kernel 6\.1\.\d+-\d+-686 on i686$/m);
      // /proc/cpuinfo shows what our CPUID reports: GenuineIntel family 6 model 1 (a Pentium Pro).
      expect(out).toMatch(/^vendor_id\s+: GenuineIntel$/m);
      expect(out).toMatch(/^cpu family\s+: 6$/m);
      expect(out).toMatch(/^model name\s+: Pentium Pro$/m);
      expect(out).toMatch(/^fpu\s+: yes$/m);
      expect(out).toMatch(/^flags\s+: fpu pse tsc msr cx8 pge cmov fxsr\b/m);
      // busybox: ls /, shell arithmetic, /proc/meminfo through a pipe, sha256sum.
      const ls = out.slice(out.indexOf("init: ls /\n") + 11, out.indexOf("init: 6 * 7"));
      expect(ls.split(/\s+/).filter(Boolean).sort()).toEqual(["bin", "dev", "init", "linuxrc", "proc", "root", "sbin", "sys", "tmp", "usr"]);
      expect(out).toContain("init: 6 * 7 = 42, 2^20 = 1048576\n");
      expect(out).toMatch(/^MemTotal: +\d+ kB\nMemFree: +\d+ kB\nMemAvailable: +\d+ kB$/m);
      const sha = createHash("sha256").update("vmi386").digest("hex");
      expect(out).toContain(`init: sha256 of 'vmi386' is ${sha}\n`);
      expect(out).toContain("init: done, powering off\n");
      expect(out).toMatch(/reboot: System halted/);
      const stats = JSON.parse(r.stderr.slice(r.stderr.indexOf("{")));
      expect(stats.reason).toBe("hlt-disabled");
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "boots the same with the VMI ROM offered (--vmi), which a kernel without CONFIG_VMI never initializes",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      // Its fixmap lies in what would be the ROM's reserved range: that range is the
      // hypervisor's only once vmi_init is called.
      const r = await cli(["run", "--kernel", KERNEL, "--initrd", INITRD, "--append", APPEND, "--deterministic", "--vmi", "--max-instructions", "4000000000", "--stats", "json"]);
      const out = r.stdout.replace(/\r\n/g, "\n");
      expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(out).toMatch(/^init: kernel 6\.1\.\d+-\d+-686 on i686$/m);
      expect(out).toContain("init: done, powering off\n");
      const stats = JSON.parse(r.stderr.slice(r.stderr.indexOf("{")));
      expect(stats.counters.hypercall).toBe(0);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "in real time on a busy host: calibrates the TSC at the nominal 100 MHz and sleeps 2 s of wall time",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      // test/linux-vmi's /init: fork+exec, tmpfs, subshells, then `sleep 2` and `reboot -f`.
      const initrd = buildVmiInitramfs();
      const times: TimedChunk[] = [];
      const stopLoad = startHostLoad();
      let r;
      try {
        r = await cli(["run", "--kernel", KERNEL, "--initrd", initrd, "--append", APPEND, "--mem", "128M", "--timeout", "400"], null, {}, times);
      } finally {
        stopLoad();
      }
      const out = r.stdout.replace(/\r\n/g, "\n");
      expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
      const mhz = /^\[ *0\.000000\] tsc: Detected (\d+\.\d+) MHz processor$/m.exec(out);
      expect(mhz, out.slice(0, 6000)).not.toBeNull();
      expect(Math.abs(Number(mhz![1]) / (REALTIME_TSC_HZ / 1e6) - 1)).toBeLessThan(0.03);
      expect(out).not.toMatch(/TSC unstable|Marking TSC unstable/);
      // What ./init computes is what QEMU printed on the CONFIG_VMI kernel, but the kernel's name.
      expect(initResults(out).slice(1)).toEqual(initResults(readFileSync(GOLDEN, "utf8")).slice(1));
      const sleep = (timeOf(times, "vmi-init: sleep 2 ends") - timeOf(times, "vmi-init: sleep 2 begins")) / 1000;
      expect(sleep).toBeGreaterThan(1.7);
      expect(sleep).toBeLessThan(3);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "boots with the APICs (--apic): the MP table is found, the PIT and COM1 come through the I/O APIC, the local APIC timer ticks",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      const script = ["grep ^flags /proc/cpuinfo", "cat /proc/interrupts", "sleep 1", "cat /proc/interrupts", "poweroff -f", ""].join("\n");
      const r = await cli(
        ["run", "--kernel", KERNEL, "--initrd", INITRD, "--append", `${APPEND} vmi386.shell`, "--mem", "128M", "--deterministic", "--apic"],
        pipedStdin(script),
      );
      const out = r.stdout.replace(/\r\n/g, "\n");
      expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(out).toMatch(/found SMP MP-table at \[mem 0x000f0000-0x000f000f\]/);
      expect(out).toMatch(/IOAPIC\[0\]: apic_id 1, version 17, address 0xfec00000, GSI 0-23/);
      expect(out).toMatch(/^flags\s+: fpu pse tsc msr cx8 apic pge cmov fxsr\b/m);
      // IRQ 0 through pin 2 (the MP table's override), COM1 on pin 4, both edge triggered.
      expect(out).toMatch(/^ +0: +\d+ +IO-APIC +2-edge +timer$/m);
      expect(out).toMatch(/^ +4: +[1-9]\d* +IO-APIC +4-edge +ttyS0$/m);
      // The local APIC timer is the tick: LOC goes on counting across `sleep 1` (HZ is 250).
      const loc = [...out.matchAll(/^LOC: +(\d+) +Local timer interrupts$/gm)].map((m) => Number(m[1]));
      expect(loc.length).toBe(2);
      expect(loc[1] - loc[0]).toBeGreaterThanOrEqual(200);
      expect(out).toMatch(/^ERR: +0$/m);
    },
    BOOT_TIMEOUT_MS,
  );

  it(
    "gives an interactive shell on the console, driven through stdin, which survives hostile user programs",
    async () => {
      if (!prepared.ok) throw new Error(prepared.why);
      const hostile = HOSTILE_VECTORS.map((n) => `/hostile/int${n}; echo "int ${n}: status $?"`);
      const script = ["echo hello from $((40 + 2))", "cat /proc/cmdline", ...hostile, "/hostile/vm86 | head -n 3", "dmesg | grep traps:", "cd /proc && ls -d 1 self", "poweroff -f", ""].join("\n");
      const r = await cli(
        ["run", "--kernel", KERNEL, "--initrd", hostileInitrd(), "--append", `${APPEND} quiet vmi386.shell`, "--deterministic"],
        pipedStdin(script),
      );
      const out = r.stdout.replace(/\r\n/g, "\n");
      expect(r.status, `${out.slice(-3000)}\n${r.stderr}`).toBe(0);
      expect(out).toContain("init: interactive shell");
      expect(out).toContain("BusyBox v1.35.0");
      expect(out).toMatch(/^\/ # echo hello from \$\(\(40 \+ 2\)\)\nhello from 42$/m);
      expect(out).toMatch(/^\/ # cat \/proc\/cmdline\nconsole=ttyS0 cryptomgr\.notests quiet vmi386\.shell$/m);
      // A user process that raises #GP through INT n is killed alone; the machine goes on.
      expect(out).toContain("int 0: status 139\n");
      expect(out).toContain("int 3: status 133\n");
      expect(out).toContain("int 8: status 139\n");
      expect(out).toContain("int 13: status 139\n");
      // -ENOSYS (-38) from vm86(VM86_PLUS_INSTALL_CHECK), vm86(VM86_ENTER) and vm86old().
      expect(out).toMatch(/^vm86: install check ret=ffffffda\nvm86 regs ret=ffffffda .*\nvm86 regs-vm86old ret=ffffffda /m);
      // The kernel's own report of each fault: the error codes are N*8+2, as on QEMU.
      for (const [n, error] of [[0, "2"], [8, "42"], [13, "6a"]]) {
        expect(out).toMatch(new RegExp(`traps: int${n}\\[\\d+\\] general protection fault ip:8048100 sp:[0-9a-f]+ error:${error} in int${n}`));
      }
      expect(out).toMatch(/traps: int3\[\d+\] trap int3 ip:8048102/);
      expect(out).toMatch(/^\/ # cd \/proc && ls -d 1 self\n1\s+self$/m);
      expect(out).toMatch(/^\/proc # poweroff -f$/m);
    },
    BOOT_TIMEOUT_MS,
  );
});
