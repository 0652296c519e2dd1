// The vmi386 command: main() in-process with captured stdout/stderr for the option and image
// errors (each one line and status 2, nothing run), real runs of the nasm "hi" guest, and one
// spawn of bin/vmi386.js to prove the launcher, stdout streaming and the exit status end to end.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { EXIT_USAGE } from "../../src/cli.js";
import { ensureFreshDist } from "../support/fresh-dist.js";
import { cli, expectUsageError } from "../support/run-cli.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const HI = join(root, "test/loader/fixtures/hi.elf");
const HI_KLUDGE = join(root, "test/loader/fixtures/hi-kludge.bin");
const DEMO = join(root, "test/guests/demo/demo.elf");
const CPU_BOUND = join(root, "test/guests/cpu-bound/cpu-bound.elf");

const tmp = mkdtempSync(join(tmpdir(), "vmi386-cli-"));
function tmpFile(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

const VMICALLS = join(root, "test/guests/vmicalls/vmicalls.elf");

describe("vmi386 run --apic", () => {
  it("gives the guest the local and I/O APICs: the apic guest passes with it, fails its CPUID check without", async () => {
    const apic = join(root, "test/guests/apic/apic.elf");
    const on = await cli(["run", apic, "--apic", "--deterministic"]);
    expect(on.status, on.stdout).toBe(1);
    expect(on.stdout).toMatch(/PASS\s*$/);
    const off = await cli(["run", apic, "--deterministic"]);
    expect(off.stdout).toContain("CPUID.1:EDX.APIC clear");
  });
});

describe("vmi386 run --vmi", () => {
  it("offers the ROM: the vmicalls guest passes, and the statistics count its exits", async () => {
    const r = await cli(["run", VMICALLS, "--vmi", "--deterministic", "--vmi-queue", "16", "--exit-cost", "0", "--stats", "json"]);
    expect(r.stdout).toMatch(/PASS\s*$/);
    expect(r.status).toBe(1);
    const stats = JSON.parse(r.stderr);
    expect(stats.counters.vmiExits).toBeGreaterThan(0);
    expect(stats.counters.vmiBatches).toBeGreaterThan(0);
  });

  it("charges modelled time per exit with --exit-cost", async () => {
    const base = JSON.parse((await cli(["run", VMICALLS, "--vmi", "--deterministic", "--stats", "json"])).stderr);
    const costly = JSON.parse((await cli(["run", VMICALLS, "--vmi", "--deterministic", "--exit-cost", "10000", "--stats", "json"])).stderr);
    expect(costly.instructions).toBe(base.instructions);
    // 10,000 cycles of 10 ns for each exit, on top of the same run
    expect(costly.counters.virtualNs - base.counters.virtualNs).toBeGreaterThanOrEqual(base.counters.vmiExits * 100_000 * 0.9);
  });
});

describe("vmi386 run: bad input is one line and status 2", () => {
  it("rejects bad --mem values", async () => {
    await expectUsageError(["run", HI, "--mem", "12X"], /--mem "12X" is not a size: expected a whole number with an optional K, M or G suffix/);
    await expectUsageError(["run", HI, "--mem", "1.5G"], /--mem "1.5G" is not a size/);
    await expectUsageError(["run", HI, "--mem", "-1M"], /--mem "-1M" is not a size/);
    await expectUsageError(["run", HI, "--mem", "512K"], /--mem 512K is too small: guest RAM must be at least 1M$/m);
    await expectUsageError(["run", HI, "--mem", "4G"], /--mem 4G is too large: guest RAM can be at most 3G$/m);
    await expectUsageError(["run", HI, "--mem", "1048577"], /--mem 1048577 is not a multiple of 4 KiB/);
    await expectUsageError(["run", HI, "--mem"], /option '--mem <size>' argument missing/);
  });

  it("rejects other bad options", async () => {
    await expectUsageError(["run", HI, "--max-instructions", "0"], /--max-instructions "0" is not a positive whole number/);
    await expectUsageError(["run", HI, "--max-instructions", "ten"], /--max-instructions "ten" is not a positive whole number/);
    await expectUsageError(["run", HI, "--timeout", "soon"], /--timeout "soon" is not a positive number of seconds/);
    await expectUsageError(["run", HI, "--stats", "xml"], /--stats must be text or json, not "xml"/);
    await expectUsageError(["run", HI, "--frobnicate"], /unknown option '--frobnicate'/);
    await expectUsageError(["run"], /nothing to boot: give IMAGE \(multiboot\), --kernel \(Linux bzImage\) or --bios \(firmware\)$/m);
    await expectUsageError(["fly", HI], /unknown command 'fly'/);
  });

  it("rejects bad VMI options", async () => {
    await expectUsageError(["run", HI, "--vmi-queue", "16"], /--vmi-queue and --exit-cost need --vmi/);
    await expectUsageError(["run", HI, "--vmi", "--vmi-queue", "48"], /--vmi-queue must be a power of two from 1 to 256, not 48/);
    await expectUsageError(["run", HI, "--vmi", "--vmi-queue", "512"], /--vmi-queue must be a power of two from 1 to 256, not 512/);
    await expectUsageError(["run", HI, "--vmi", "--exit-cost", "100"], /--exit-cost models time, so it needs --deterministic/);
    await expectUsageError(["run", HI, "--vmi", "--deterministic", "--exit-cost", "-5"], /--exit-cost "-5" is not a non-negative whole number/);
  });

  it("rejects a missing file or a directory", async () => {
    await expectUsageError(["run", join(tmp, "nope.elf")], /cannot read .*nope\.elf: no such file$/m);
    await expectUsageError(["run", tmp], /: it is a directory$/m);
  });

  it("rejects what is not a regular file, for every file it reads, without reading from it", async () => {
    // readFile would read /dev/zero forever, and block opening a FIFO nobody writes to.
    const fifo = join(tmp, "fifo");
    spawnSync("mkfifo", [fifo]);
    await expectUsageError(["run", "/dev/zero"], /^vmi386: error: cannot read \/dev\/zero: it is a character device, not a regular file$/m);
    await expectUsageError(["run", "--kernel", "/dev/zero"], /cannot read \/dev\/zero: it is a character device/);
    await expectUsageError(["run", "--kernel", HI, "--initrd", "/dev/zero"], /cannot read \/dev\/zero: it is a character device/);
    if (existsSync(fifo)) await expectUsageError(["run", fifo], /cannot read .*fifo: it is a pipe \(FIFO\), not a regular file$/m);
  });

  it("refuses a file larger than guest RAM before reading it", async () => {
    // 200 MiB, sparse: nothing to read but what the size says.
    const big = join(tmp, "big.img");
    writeFileSync(big, "");
    truncateSync(big, 200 << 20);
    await expectUsageError(["run", "--kernel", HI, "--initrd", big], /big\.img is 209715200 bytes, more than guest RAM \(--mem 128M\): refused without reading it$/m);
    await expectUsageError(["run", big, "--mem", "16M"], /big\.img is 209715200 bytes, more than guest RAM \(--mem 16M\)/);
  });

  it("rejects a --success-exit that no guest can write", async () => {
    await expectUsageError(["run", HI, "--success-exit", "-1"], /--success-exit "-1" is not a value a guest can write to port 0xf4 \(0 to 0xffffffff\)/);
    await expectUsageError(["run", HI, "--success-exit", "0x100000000"], /--success-exit "0x100000000" is not a value/);
  });

  it("rejects a truncated ELF", async () => {
    const hi = new Uint8Array(readFileSync(HI));
    await expectUsageError(["run", tmpFile("short.elf", hi.subarray(0, 40))], /short\.elf is truncated: 40 bytes, less than the 52-byte ELF header/);
    // Keep the multiboot header (at file offset 0x60) but cut the text segment short.
    await expectUsageError(["run", tmpFile("cut.elf", hi.subarray(0, 0x80))], /cut\.elf is truncated: segment 0 needs file bytes 0x60\.\.0xc0/);
  });

  it("rejects an ELF without a multiboot header", async () => {
    const hi = new Uint8Array(readFileSync(HI));
    const noHeader = hi.slice();
    noHeader.fill(0, 0x60, 0x6c); // the header's magic, flags and checksum
    await expectUsageError(["run", tmpFile("plain.elf", noHeader)], /^vmi386: error: no multiboot header in the first 8192 bytes of plain\.elf \(the magic at offset 0x[0-9a-f]+ has a bad checksum/m);
  });

  it("rejects a guest larger than --mem", async () => {
    // An a.out kludge image is loaded whole: 2 MiB of it cannot fit in 1M (refused by its size).
    const big = new Uint8Array(2 << 20);
    big.set(readFileSync(HI_KLUDGE));
    new DataView(big.buffer).setUint32(20, 0, true); // load_end_addr 0: load to the end of the file
    new DataView(big.buffer).setUint32(24, 0, true); // bss_end_addr 0: no bss
    await expectUsageError(["run", tmpFile("big.bin", big), "--mem", "1M"], /^vmi386: error: .*big\.bin is 2097152 bytes, more than guest RAM \(--mem 1M\): refused without reading it$/m);
    // The demo guest's bss runs to 0x153000: outside guest RAM of 1216K (0x130000).
    await expectUsageError(["run", DEMO, "--mem", "1216K"], /demo\.elf: segment 1 at 0x103000\.\.0x153000 lies outside guest RAM \(1216K, up to 0x130000\)/);
  });

  it("prints help with the exit statuses to stdout, status 0", async () => {
    const r = await cli(["run", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: vmi386 run \[options\] \[image\]/);
    expect(r.stdout).toMatch(/0 +stopped by --max-instructions/);
    expect(r.stdout).toMatch(/2 +bad command line or image/);
  });

  it("without arguments says so in one line with a hint, status 2; the usage only with --help", async () => {
    const none = await cli([]);
    expect(none.status).toBe(EXIT_USAGE);
    expect(none.stderr).toBe("vmi386: error: no command given: try vmi386 run IMAGE, or vmi386 --help for the commands and options\n");
    expect(none.stdout).toBe("");
    const help = await cli(["--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: vmi386 \[options\] \[command\]/);
  });

  it("--version prints the package's version, status 0", async () => {
    const { version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const flag of ["--version", "-V"]) {
      const r = await cli([flag]);
      expect(r).toEqual({ status: 0, stdout: `${version}\n`, stderr: "" });
    }
  });
});

describe("vmi386 run: real runs", () => {
  it("runs the hi guest: COM1 on stdout, debug-exit 0x21 gives status 0x43, text stats on stderr", async () => {
    for (const image of [HI, HI_KLUDGE]) {
      const r = await cli(["run", image, "--mem", "4M"]);
      expect(r.stdout).toBe("hi\n");
      expect(r.status).toBe(0x43);
      expect(r.stderr).toMatch(/^--- vmi386 statistics ---\n/);
      expect(r.stderr).toMatch(/stopped +debug-exit \(exit code 67 = 0x43\)/);
      expect(r.stderr).toMatch(/instructions +\d+/);
      expect(r.stderr).toMatch(/port out +4\n/); // three bytes to COM1, one to the exit port
    }
  });

  it("--stats json writes one JSON object with the exits by kind", async () => {
    const r = await cli(["run", HI, "--stats", "json", "--deterministic"]);
    expect(r.status).toBe(0x43);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]);
    expect(s).toMatchObject({ reason: "debug-exit", exitCode: 0x43 });
    expect(s.exits).toMatchObject({ portIn: 0, portOut: 4, mmioRead: 0, mmioWrite: 0, interrupts: 0, exceptions: 0, hypercalls: 0, total: 4 });
    expect(s.instructions).toBeGreaterThan(10);
    expect(typeof s.wallMs).toBe("number");
    expect(typeof s.mips).toBe("number");
    expect(s.counters.portOut).toBe(4);
  });

  it("--max-instructions stops a long guest with status 0", async () => {
    const r = await cli(["run", DEMO, "--max-instructions", "1000", "--stats", "json", "--deterministic"]);
    expect(r.status).toBe(0);
    const s = JSON.parse(r.stderr);
    expect(s.reason).toBe("max-instructions");
    expect(s.instructions).toBe(1000);
  });

  it("--success-exit V: the guest's debug-exit value V is status 0, any other keeps (v << 1) | 1", async () => {
    // The hi guest writes 0x21.
    expect((await cli(["run", HI, "--success-exit", "0x21"])).status).toBe(0);
    expect((await cli(["run", HI, "--success-exit", "33"])).status).toBe(0);
    expect((await cli(["run", HI, "--success-exit", "0"])).status).toBe(0x43);
  });

  it("passes --append to the guest as the multiboot command line (the hi guest echoes it)", async () => {
    const r = await cli(["run", HI, "--append", "console=ttyS0 quiet"]);
    expect(r.stdout).toBe("hi\nconsole=ttyS0 quiet\n");
    expect(r.status).toBe(0x43);
  });

  it("--timeout stops a guest that runs too long with status 8", async () => {
    const r = await cli(["run", CPU_BOUND, "--timeout", "0.05", "--stats", "json"]);
    expect(r.status, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/"reason":"timeout"/);
    expect(r.stderr).toMatch(/^vmi386: wall-clock timeout after \d+ ms \(--timeout\)$/m);
    expect(r.stderr).not.toMatch(/wall-clock timeout: wall-clock timeout/);
  });

  it("feeds a non-TTY stdin to COM1 and stops listening when the run ends", async () => {
    const stdin = new PassThrough();
    stdin.write("xyz");
    const r = await cli(["run", HI], stdin);
    expect(r.status).toBe(0x43);
    expect(stdin.listenerCount("data")).toBe(0);
    expect(stdin.isPaused()).toBe(true);
  });
});

describe("bin/vmi386.js", () => {
  it("is a working launcher: real process, stdout, exit status", () => {
    ensureFreshDist();
    const r = spawnSync(process.execPath, [join(root, "bin/vmi386.js"), "run", HI, "--stats", "json"], {
      cwd: root,
      input: "",
      encoding: "utf8",
    });
    expect(r.stdout).toBe("hi\n");
    expect(r.status).toBe(0x43);
    expect(JSON.parse(r.stderr).reason).toBe("debug-exit");

    const bad = spawnSync(process.execPath, [join(root, "bin/vmi386.js"), "run", HI, "--mem", "7M7"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe('vmi386: error: --mem "7M7" is not a size: expected a whole number with an optional K, M or G suffix, such as 128M\n');
  });
});
