// The CPU's RESET state as firmware sees it (Intel SDM Vol. 3 §9.1.1, Table 9-1), and the ROM's
// mappings: test/guests/reset-rom/reset.asm, run from the reset vector with --bios, reports its
// registers on the debug console; test/guests/reset-rom/qemu.txt is QEMU's report for the same
// image (test/firmware/record-qemu.sh records it).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { NASM, requiresTool } from "../support/requires-tool.js";
import { runFirmware } from "./run-firmware.js";

const guests = join(dirname(fileURLToPath(import.meta.url)), "../guests/reset-rom");
/** CPUID(1).EAX of vmi386's CPU (assembly/ops/system.ts), which RESET also leaves in EDX. */
const CPU_SIGNATURE = "00000619";

function report(text: string): Map<string, string> {
  return new Map(text.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

requiresTool(NASM).it("starts at F000:FFF0 in the SDM's RESET state, as QEMU does, with the ROM at 4 GiB (read-only) and at 0xF0000", async () => {
  const dir = mkdtempSync(join(tmpdir(), "vmi386-reset-"));
  let image: Uint8Array;
  try {
    const r = spawnSync("nasm", ["-f", "bin", "-o", join(dir, "reset.bin"), join(guests, "reset.asm")], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    image = readFileSync(join(dir, "reset.bin"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const { log, last } = await runFirmware(image, { maxInstructions: 1_000_000 });
  expect(last.reason).toBe("debug-exit");
  const ours = report(log);
  const qemu = report(readFileSync(join(guests, "qemu.txt"), "latin1"));
  // EDX after RESET is the CPU's signature, CPUID(1).EAX: each emulator's own CPU model.
  expect(qemu.get("EDX")).toBe(qemu.get("CPUID1.EAX"));
  expect(ours.get("EDX")).toBe(CPU_SIGNATURE);
  expect(ours.get("CPUID1.EAX")).toBe(CPU_SIGNATURE);
  for (const m of [ours, qemu]) {
    m.delete("EDX");
    m.delete("CPUID1.EAX");
  }
  expect([...ours]).toEqual([...qemu]);
});
