// SIGINT and SIGTERM on a piped run end it as Ctrl-A x would, the guest's output so far and the
// statistics kept, with the shell's status for the signal (128 + its number). The uart guest
// waits for a line on COM1 that never comes: only the signal ends the run.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { BIN, ROOT, ensureFreshDist } from "../support/fresh-dist.js";

const UART = join(ROOT, "test/guests/uart/uart.elf");

/** Runs bin/vmi386.js on the uart guest with stdin an open pipe, and sends `signal` once the guest waits for input. */
function runUntilSignal(signal: NodeJS.Signals): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "run", UART, "--stats", "json"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (!sent && stdout.includes("ready> ")) {
        sent = true;
        child.kill(signal);
      }
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

describe("vmi386 run stopped by a signal", () => {
  beforeAll(ensureFreshDist, 120_000);
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    it(`${signal}: the output so far, the statistics, status ${status}`, async () => {
      const r = await runUntilSignal(signal);
      expect(r.status, r.stderr).toBe(status);
      expect(r.stdout).toMatch(/uart: interrupt-driven transmit\nready> $/);
      const [stats, said] = r.stderr.trimEnd().split("\n");
      expect(JSON.parse(stats)).toMatchObject({ reason: "quit" });
      expect(said).toBe(`vmi386: stopped by ${signal}`);
    });
  }
});
