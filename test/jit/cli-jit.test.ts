// The CLI's JIT options: --jit with --jit-threshold compiles, and a deterministic run prints the
// same output and the same statistics as with --no-jit, compiling on the compiler thread or on the
// machine's (--jit-compile); the JIT is on unless VMI386_JIT=0 or --no-jit says otherwise; bad
// thresholds and places are usage errors.

import { describe, expect, it } from "vitest";
import { cli } from "../support/run-cli.js";

const DEMO = "test/guests/demo/demo.elf";

/** The JSON statistics without the host-time figures, which differ run to run, and the JIT's own. */
function stats(stderr: string): Record<string, unknown> {
  const s = JSON.parse(stderr.slice(stderr.indexOf("{")));
  for (const key of Object.keys(s)) if (/wall|mips|ms|seconds|^jit$/i.test(key)) delete s[key];
  return s;
}

describe("CLI --jit", () => {
  it("gives the same output and counters as --no-jit in deterministic mode", async () => {
    const args = ["run", "--deterministic", "--stats", "json", DEMO];
    const off = await cli([...args, "--no-jit"]);
    const on = await cli([...args, "--jit", "--jit-threshold", "1"]);
    expect(off.stdout.length).toBeGreaterThan(0);
    expect(on.status).toBe(off.status);
    expect(on.stdout).toBe(off.stdout);
    expect(JSON.parse(on.stderr.slice(on.stderr.indexOf("{"))).jit.unitsCompiled).toBeGreaterThan(0);
    expect(stats(on.stderr)).toEqual(stats(off.stderr));
  }, 120_000);

  it("is on without being asked; VMI386_JIT=0 turns it off, a value that is no threshold is a usage error", async () => {
    const saved = process.env.VMI386_JIT;
    const jitStats = async (env: string | undefined) => {
      if (env === undefined) delete process.env.VMI386_JIT;
      else process.env.VMI386_JIT = env;
      const r = await cli(["run", "--deterministic", "--stats", "json", DEMO]);
      const json = r.stderr.indexOf("{");
      return { status: r.status, stderr: r.stderr, jit: json >= 0 ? JSON.parse(r.stderr.slice(json)).jit : undefined };
    };
    try {
      // The demo runs no block start the default threshold's 10,000 times: the JIT is there, idle.
      const unset = await jitStats(undefined);
      expect(unset.jit).toBeDefined();
      expect((await jitStats("1")).jit.unitsCompiled).toBeGreaterThan(0);
      expect((await jitStats("0")).jit).toBeUndefined();
      const bad = await jitStats("on");
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/VMI386_JIT/);
    } finally {
      if (saved === undefined) delete process.env.VMI386_JIT;
      else process.env.VMI386_JIT = saved;
    }
  }, 120_000);

  it("refuses a threshold out of range, and one with --no-jit", async () => {
    for (const extra of [["--jit-threshold", "0"], ["--jit-threshold", "70000"], ["--no-jit", "--jit-threshold", "5"]]) {
      const r = await cli(["run", DEMO, ...extra]);
      expect(r.status, extra.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/jit-threshold/);
    }
  });

  it("compiles on the compiler thread or on the machine's with --jit-compile, and refuses anything else", async () => {
    const args = ["run", "--deterministic", "--stats", "json", DEMO];
    const off = await cli([...args, "--no-jit"]);
    for (const where of ["worker", "sync"]) {
      const on = await cli([...args, "--jit-threshold", "2", "--jit-compile", where]);
      expect(on.status, where).toBe(off.status);
      expect(on.stdout, where).toBe(off.stdout);
      expect(stats(on.stderr), where).toEqual(stats(off.stderr));
      const jit = JSON.parse(on.stderr.slice(on.stderr.indexOf("{"))).jit;
      // Requests go to the thread only with worker (a short run may end before any is answered).
      expect(jit.asyncCompiled + jit.pending > 0, where).toBe(where === "worker");
    }
    for (const extra of [["--jit-compile", "async"], ["--no-jit", "--jit-compile", "sync"]]) {
      const r = await cli(["run", DEMO, ...extra]);
      expect(r.status, extra.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/jit-compile/);
    }
  }, 120_000);
});
