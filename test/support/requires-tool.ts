// A test that needs a Debian tool a plain Node machine lacks declares it here, so `npm test`
// passes with only Node: when the tool is missing the test (or describe block) skips and one
// line names the package to install. In CI (CI=true) the tools are meant to be there, so a
// missing one fails the test with that same line instead of hiding the check.
//
//   const nasm = requiresTool(NASM);
//   nasm.it("the bytes are what nasm makes of irq0.asm", () => { ... });
//   requiresTool(QEMU_I386, GCC_M32).describe("golden files against live qemu-i386", () => { ... });

import { spawnSync } from "node:child_process";
import { describe, it } from "vitest";

export interface DebianTool {
  /** What a person would type, as the skip line names it. */
  readonly command: string;
  readonly debianPackage: string;
  /** A command that exits 0 only when the tool works: found on PATH is not enough (a gcc without its 32-bit runtime is there but cannot link -m32). */
  readonly probe: readonly [string, ...string[]];
}

export const NASM: DebianTool = { command: "nasm", debianPackage: "nasm", probe: ["nasm", "-v"] };
export const LD: DebianTool = { command: "ld", debianPackage: "binutils", probe: ["ld", "-v"] };
export const CPIO: DebianTool = { command: "cpio", debianPackage: "cpio", probe: ["cpio", "--version"] };
export const QEMU_I386: DebianTool = { command: "qemu-i386", debianPackage: "qemu-user", probe: ["qemu-i386", "--version"] };
export const QEMU_SYSTEM_I386: DebianTool = {
  command: "qemu-system-i386",
  debianPackage: "qemu-system-x86",
  probe: ["qemu-system-i386", "--version"],
};
export const GCC_M32: DebianTool = {
  command: "gcc -m32",
  debianPackage: "gcc-multilib",
  // Linking, statically as the oracle harness does, is what needs the 32-bit runtime.
  probe: ["sh", "-c", "echo 'int main(void) { return 0; }' | gcc -m32 -static -x c -o /dev/null -"],
};
/** Debian's SeaBIOS image, the firmware test's guest: a file, not a command, so probed with test -f. */
export const SEABIOS_BIOS_BIN = "/usr/share/seabios/bios.bin";
export const SEABIOS: DebianTool = { command: SEABIOS_BIOS_BIN, debianPackage: "seabios", probe: ["test", "-f", SEABIOS_BIOS_BIN] };
export const CHROMIUM: DebianTool = { command: "chromium", debianPackage: "chromium", probe: ["chromium", "--version"] };

const probed = new Map<DebianTool, boolean>();

export function toolAvailable(tool: DebianTool): boolean {
  let ok = probed.get(tool);
  if (ok === undefined) {
    const [cmd, ...args] = tool.probe;
    ok = spawnSync(cmd, args, { stdio: "ignore", timeout: 30_000 }).status === 0;
    probed.set(tool, ok);
  }
  return ok;
}

type TestBody = () => unknown;
type TestRegistrar = (name: string, fn: TestBody, timeout?: number) => void;
type SuiteRegistrar = (name: string, fn: () => void) => void;

export interface ToolGate {
  /** The declared tools that are not there (empty when the tests can run). */
  readonly missing: readonly DebianTool[];
  /** vitest's `it`, skipped (or failed, in CI) when a tool is missing. */
  readonly it: TestRegistrar;
  /** vitest's `describe`, skipped (or failed, in CI) when a tool is missing. */
  readonly describe: SuiteRegistrar;
}

/** "needs nasm (Debian package nasm)", every missing tool in one line. */
export function missingToolsText(missing: readonly DebianTool[]): string {
  return `needs ${missing.map((t) => `${t.command} (Debian package ${t.debianPackage})`).join(" and ")}`;
}

/** The gate for tests that need every one of `tools`. */
export function requiresTool(...tools: DebianTool[]): ToolGate {
  const missing = tools.filter((t) => !toolAvailable(t));
  if (missing.length === 0) return { missing, it: (name, fn, timeout) => it(name, fn, timeout), describe: (name, fn) => describe(name, fn) };
  const why = missingToolsText(missing);
  if (process.env.CI === "true") {
    const fail = () => {
      throw new Error(`${why}; CI=true makes a missing tool a failure`);
    };
    return {
      missing,
      it: (name, _fn, timeout) => it(name, fail, timeout),
      describe: (name) => describe(name, () => it("has the tools it needs", fail)),
    };
  }
  // Straight to the process's stderr: vitest would frame console output in a block of its own.
  const skipped = (name: string) => void process.stderr.write(`skipped: ${why}: "${name}"\n`);
  return {
    missing,
    it: (name, fn, timeout) => {
      skipped(name);
      it.skip(name, fn, timeout);
    },
    describe: (name, fn) => {
      skipped(name);
      describe.skip(name, fn);
    },
  };
}
