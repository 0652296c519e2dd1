// Debian's SeaBIOS, booted with --bios, runs to its banner and on to "No bootable device.",
// logging the same messages in the same order as under QEMU: test/firmware/seabios-qemu.txt is
// its debug console under qemu-system-i386's isapc board, the PC without PCI ours is
// (test/firmware/record-qemu.sh records it again, e.g. after a new seabios package).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { SEABIOS, SEABIOS_BIOS_BIN, requiresTool } from "../support/requires-tool.js";
import { runFirmware } from "./run-firmware.js";

const golden = join(dirname(fileURLToPath(import.meta.url)), "seabios-qemu.txt");
const LAST = "No bootable device.";

/**
 * The log up to its last message, with the two values that differ for a reason other than
 * emulation: the TSC's measured speed (QEMU's is the host's; ours is exactly 100 MHz, the
 * deterministic 10 ns per instruction), and the address of the MP table's first copy, which
 * depends on how much SeaBIOS allocated before it, one record per fw_cfg file (QEMU offers
 * more files: SMBIOS tables, the boot order).
 */
function normalized(log: string): string[] {
  const end = log.indexOf(LAST);
  expect(end, `the log ends without "${LAST}"`).toBeGreaterThanOrEqual(0);
  return log
    .slice(0, end + LAST.length)
    .split("\n")
    .map((l) => l.replace(/^CPU Mhz=\d+$/, "CPU Mhz=N").replace(/^(Copying MPTABLE from 0x[0-9a-f]+\/)[0-9a-f]+/, "$1…"));
}

requiresTool(SEABIOS).it("SeaBIOS prints its banner, then every message QEMU's run of it prints, in order, to No bootable device.", async () => {
  const image = readFileSync(SEABIOS_BIOS_BIN);
  const { log } = await runFirmware(image, { until: LAST, maxInstructions: 100_000_000 });
  expect(log.startsWith("SeaBIOS (version ")).toBe(true);
  expect(log).toContain("CPU Mhz=100\n");
  const qemu = readFileSync(golden, "latin1");
  // The golden is from this image: a new seabios package needs a new golden (record-qemu.sh).
  expect(log.slice(0, log.indexOf("\n")), "the installed SeaBIOS is not the one the golden was recorded from").toBe(qemu.slice(0, qemu.indexOf("\n")));
  expect(normalized(log)).toEqual(normalized(qemu));
}, 120_000);
