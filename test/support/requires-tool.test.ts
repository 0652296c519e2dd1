// The tool gate end to end: a vitest of its own runs a fixture whose test needs a tool no machine
// has. Without CI it skips with one line naming the Debian package; with CI=true it fails.

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const VITEST = join(FIXTURES, "../../../node_modules/vitest/vitest.mjs");

function runFixture(ci: string | undefined) {
  const env = { ...process.env, CI: ci, NO_COLOR: "1", FORCE_COLOR: "0" };
  if (ci === undefined) delete env.CI;
  const r = spawnSync(process.execPath, [VITEST, "run", "--root", FIXTURES], { env, encoding: "utf8", timeout: 60_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("requiresTool", () => {
  it("skips a test whose tool is missing, with one line naming the Debian package", () => {
    const r = runFixture(undefined);
    expect(r.status, r.out).toBe(0);
    const lines = r.out.split("\n").filter((l) => l.includes("vmi386-absent-package"));
    expect(lines).toEqual(['skipped: needs vmi386-absent-tool (Debian package vmi386-absent-package): "uses the absent tool"']);
    expect(r.out).toMatch(/1 passed \| 1 skipped/);
  });

  it("fails it instead when CI=true", () => {
    const r = runFixture("true");
    expect(r.status, r.out).toBe(1);
    expect(r.out).toContain("needs vmi386-absent-tool (Debian package vmi386-absent-package); CI=true makes a missing tool a failure");
    expect(r.out).toMatch(/1 failed \| 1 passed/);
  });
});
