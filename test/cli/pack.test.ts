// The package as npm publishes it: `npm pack`, installed into a fresh project, must give a
// working `npx vmi386` (the package's `files` carry dist/, the wasm and the demo guest).

import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureFreshDist } from "../support/fresh-dist.js";

const INSTALL_TIMEOUT_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), "vmi386-pack-"));
const project = join(dir, "project");

function npm(args: string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync("npm", args, { cwd, encoding: "utf8", timeout: INSTALL_TIMEOUT_MS });
}

describe("the packed package, installed", () => {
  beforeAll(() => {
    ensureFreshDist();
    // --ignore-scripts: prepare would rebuild everything; dist/ and build/ are what we test.
    const packed = npm(["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], ROOT);
    expect(packed.status, packed.stderr).toBe(0);
    const tarball = readdirSync(dir).find((f) => /^vmi386-.*\.tgz$/.test(f));
    expect(tarball, packed.stdout).toBeDefined();
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "uses-vmi386", private: true }));
    const installed = npm(["install", "--prefer-offline", "--no-audit", "--no-fund", join(dir, tarball!)], project);
    expect(installed.status, installed.stderr).toBe(0);
  }, INSTALL_TIMEOUT_MS + 30_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("npx vmi386 runs the packaged demo guest: PASS, and status 0 with --success-exit 0, 1 without", { timeout: 90_000 }, () => {
    const demo = join(project, "node_modules/vmi386/test/guests/demo/demo.elf");
    const ok = spawnSync("npx", ["vmi386", "run", "--success-exit", "0", demo], { cwd: project, encoding: "utf8", timeout: 60_000 });
    expect(ok.stdout).toMatch(/\nPASS\n$/);
    expect(ok.stderr).toMatch(/^--- vmi386 statistics ---$/m);
    expect(ok.status, ok.stderr).toBe(0);
    const plain = spawnSync("npx", ["vmi386", "run", demo], { cwd: project, encoding: "utf8", timeout: 60_000 });
    expect(plain.stdout).toMatch(/\nPASS\n$/);
    expect(plain.status).toBe(1);
  });

  it("npx vmi386 --version is the packed version", () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const r = spawnSync("npx", ["vmi386", "--version"], { cwd: project, encoding: "utf8" });
    expect(r.stdout).toBe(`${version}\n`);
  });
});
