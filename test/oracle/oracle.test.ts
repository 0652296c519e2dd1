// Runs every golden case (test/oracle/golden/*.jsonl, expectations recorded from qemu-i386,
// corrected to the SDM where masks.ts says so) on our core, one vitest test per group, and
// reports every mismatching case with its name, code and a diff.

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Core } from "../../src/core.js";
import { jitOptionsFromEnvironment } from "../../src/jit/jit.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";
import {
  AREAS, CODE, GOLDEN_DIR, IF, REG_NAMES,
  areaOffset, expectedRegs, fillPattern, fromHex, hex, readGolden, type GoldenCase,
} from "./cases.js";

/** Instructions one case may run (a REP string op counts once per iteration). */
const BUDGET = 10_000;
/** Mismatches printed per group; the count says how many there were in all. */
const SHOW = 40;

const patterns = new Map<number, Uint8Array>();
function pattern(seed: number): Uint8Array {
  let p = patterns.get(seed);
  if (!p) patterns.set(seed, (p = fillPattern(seed)));
  return p;
}

/** The data area and stack window as the case starts (pattern + patches), in pattern layout. */
function initialAreas(c: GoldenCase): Uint8Array {
  const a = pattern(c.seed).slice();
  for (const [addr, bytes] of c.mem ?? []) patch(a, parseInt(addr, 16), fromHex(bytes));
  return a;
}

function patch(area: Uint8Array, addr: number, bytes: Uint8Array): void {
  const off = areaOffset(addr);
  if (off < 0 || areaOffset(addr + bytes.length - 1) !== off + bytes.length - 1) {
    throw new Error(`golden patch at ${hex(addr)} (+${bytes.length}) is outside the data area, the stack window and the low area`);
  }
  area.set(bytes, off);
}

function flagNames(bits: number): string {
  const names: [number, string][] = [[0x1, "CF"], [0x4, "PF"], [0x10, "AF"], [0x40, "ZF"], [0x80, "SF"], [0x400, "DF"], [0x800, "OF"]];
  return names.filter(([b]) => bits & b).map(([, n]) => n).join(" ") || "-";
}

/** Where the TLB warm-up code runs: a page of its own, away from the cases' code. */
const WARM_UP = CODE + 0x8000;

/**
 * Fill the TLB for every page a case can touch (the areas and a page either side), so that the
 * case's instruction finds its memory operand mapped and the run loop's fast path can take it:
 * a read and a write of each page (MOV EAX, [p]; MOV [p], EAX leaves memory as it was), then HLT.
 */
function warmTlb(core: Core): void {
  const code: number[] = [];
  const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  for (const a of AREAS) {
    for (let page = a.base - 0x1000; page < a.base + a.size + 0x1000; page += 0x1000) {
      code.push(0x8b, 0x05, ...le(page), 0x89, 0x05, ...le(page));
    }
  }
  code.push(0xf4);
  core.ram.set(code, WARM_UP);
  core.ramWritten(WARM_UP, code.length);
  core.enterFlatProtectedMode(WARM_UP);
  core.intr = false;
  const exit = core.run(BUDGET);
  if (exit !== L.EXIT_HLT_DISABLED) throw new Error(`TLB warm-up ended with exit ${exit}`);
}

/**
 * Runs one case; returns the differences (empty when it matches). `fast`: with the TLB warm and
 * the decode defaults in force, so the instruction goes through the run loop's fast path where
 * it has one; otherwise from a cold TLB through the full decoder.
 */
function runCase(core: Core, c: GoldenCase, fast: boolean): string[] {
  const code = fromHex(c.code);
  const ram = core.ram;
  // Every case from the reset state. Among what that clears: the code page's history of
  // rewrites, which would otherwise mark it as code and data sharing a page after a few cases
  // (assembly/blocks.ts): no cached blocks there, so neither block bursts nor the JIT.
  core.reset();
  if (fast) warmTlb(core);
  const before = initialAreas(c);
  let off = 0;
  for (const a of AREAS) {
    ram.set(before.subarray(off, off + a.size), a.base);
    off += a.size;
  }
  ram.set(code, CODE);
  ram[CODE + code.length] = 0xf4; // HLT ends the case

  // The first instruction of a run() always goes through the decoder (the state may have
  // changed under it): a NOP before the case's instruction takes that turn on the fast pass.
  if (fast) {
    ram[CODE - 1] = 0x90;
    core.eip = CODE - 1;
  } else core.enterFlatProtectedMode(CODE);
  // The core caches where blocks end: the host must say what it rewrote.
  core.ramWritten(0, core.ramSize);
  c.regs.forEach((r, i) => core.setReg(i, parseInt(r, 16)));
  // IF=1 as in user mode, so a PUSHF image matches QEMU's; no interrupt is ever pending.
  core.eflags = parseInt(c.flags, 16) | IF | 2;
  core.intr = false;
  core.i32[L.STATE_EXC_VECTOR >> 2] = -1;
  core.trapExceptions = true;

  const exit = core.run(BUDGET);
  const diffs: string[] = [];
  const want = c.out.exception;
  if (want === null) {
    if (exit !== L.EXIT_HLT && exit !== L.EXIT_HLT_DISABLED) {
      const exc = exit === L.EXIT_EXCEPTION ? ` vector ${core.lastException.vector} at eip ${hex(core.eip)}` : "";
      diffs.push(`run() ended with exit ${exit}${exc}, expected to reach the HLT after the code`);
    } else if (core.eip !== CODE + code.length + 1) {
      diffs.push(`halted at eip ${hex(core.eip)}, expected the HLT at ${hex(CODE + code.length)}`);
    }
  } else {
    if (exit !== L.EXIT_EXCEPTION) diffs.push(`run() ended with exit ${exit} at eip ${hex(core.eip)}, expected exception ${want}`);
    else if (core.lastException.vector !== want) diffs.push(`exception ${core.lastException.vector}, expected ${want}`);
    if (c.out.eip !== undefined && core.eip !== parseInt(c.out.eip, 16)) diffs.push(`eip ${hex(core.eip)}, expected ${c.out.eip}`);
  }
  const regs = expectedRegs(c);
  REG_NAMES.forEach((n, i) => {
    if (core.reg(i) !== regs[i]) diffs.push(`${n} ${hex(core.reg(i))}, expected ${hex(regs[i])} (was ${c.regs[i]})`);
  });
  const mask = parseInt(c.mask, 16);
  const got = core.eflags & mask, exp = parseInt(c.out.flags, 16) & mask;
  if (got !== exp) {
    diffs.push(`eflags ${hex(core.eflags)}, expected ${c.out.flags} under mask ${c.mask}: wrong ${flagNames(got ^ exp)} (got ${flagNames(got)}, expected ${flagNames(exp)})`);
  }
  const after = before.slice();
  for (const [addr, bytes] of c.out.mem ?? []) patch(after, parseInt(addr, 16), fromHex(bytes));
  let memDiffs = 0;
  off = 0;
  for (const a of AREAS) {
    const got = ram.subarray(a.base, a.base + a.size);
    for (let i = 0; i < a.size; i++) {
      const want = after[off + i];
      if (got[i] !== want && memDiffs++ < 8) {
        diffs.push(`byte at ${hex(a.base + i)} is ${hex(got[i])}, expected ${hex(want)} (was ${hex(before[off + i])})`);
      }
    }
    off += a.size;
  }
  if (memDiffs > 8) diffs.push(`... ${memDiffs - 8} more bytes differ`);
  return diffs;
}

const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".jsonl")).sort();
const jit = jitOptionsFromEnvironment();
/** VMI386_JIT=1: the JIT compiles every block start at its first run. */
const compilesEveryBlock = jit ? jit.threshold === 1 : false;

describe("instructions against the QEMU oracle", () => {
  let core: Core;
  beforeAll(async () => {
    // VMI386_CORE_WASM: check another build of the core (say, of an older commit) instead.
    const wasm = process.env.VMI386_CORE_WASM ? new Uint8Array(readFileSync(process.env.VMI386_CORE_WASM)) : undefined;
    core = await Core.load({ ramSize: 8 << 20, imports: nullImports, wasm });
  });

  it("has golden files", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    const group = file.replace(/\.jsonl$/, "");
    it.each([["the decoder", false], ["the fast path", true]] as const)(`${group} through %s`, (_, fast) => {
      const cases = readGolden(join(GOLDEN_DIR, file));
      const failures: string[] = [];
      let failed = 0;
      for (const c of cases) {
        let diffs: string[];
        try {
          diffs = runCase(core, c, fast);
        } catch (e) {
          diffs = [`threw ${(e as Error).message}`];
        }
        if (diffs.length) {
          failed++;
          if (failures.length < SHOW) failures.push(`${c.name} [${c.code}]${c.override ? ` (SDM override: ${c.override})` : ""}\n    ${diffs.join("\n    ")}`);
        }
      }
      if (failed) {
        const more = failed > SHOW ? `\n... and ${failed - SHOW} more` : "";
        expect.fail(`${group}: ${failed} of ${cases.length} cases differ from the oracle\n${failures.join("\n")}${more}`);
      }
    });
  }

  // With VMI386_JIT=1 (the suite's JIT-forced pass) the cases above ran compiled where the JIT
  // knows their instruction. Cases that never reached a unit, or whose compile threw (the
  // interpreter then runs the code, unseen), would pass without testing the JIT. Defined only in
  // that pass, so that the others count no skipped test.
  if (compilesEveryBlock) {
    it("with the JIT forced on: cases compiled, no compile failed", () => {
      const stats = core.jit!.stats;
      expect(core.jit!.lastError?.stack, "a JIT compile failed").toBeUndefined();
      expect(stats.unitsCompiled).toBeGreaterThan(files.length * 100);
    });
  }
});
