// The x87 against QEMU: every case of cases.ts runs on our core and its data area is compared
// with what qemu-i386 left there (golden/qemu.json, recorded by `npm run fpu:generate`).
// Compared: the FNSAVE image (CW, SW under the case's mask of defined bits, the tag word, all
// eight registers), FNSTSW AX, EFLAGS for FCOMI-style cases, memory results, and the second
// image of the save/restore round trips. Not compared: the last-instruction/data pointers and
// opcode (qemu-user does not maintain them faithfully) and reserved fields. Where QEMU departs
// from the SDM, the SDM's value replaces QEMU's before the comparison (FPREM1's quotient bits,
// FRNDINT under precision control, DE and C1: see each below), or, where QEMU's whole result
// is off, the case is skipped here and checked in sdm.test.ts (OVERRIDES).

import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";
import { denormalOperand, frndintResult, roundedUp } from "./sdm-status.js";
import { buildCases, CODE, DATA, IN_CW, OUT_SAVE, OUT_EAX, OUT_FLAGS, OUT_IMG, type FpuCase } from "./cases.js";

const here = dirname(fileURLToPath(import.meta.url));
const golden: Record<string, string> = JSON.parse(readFileSync(join(here, "golden", "qemu.json"), "utf8")).cases;

/**
 * Cases skipped here because QEMU 7.2 departs from the SDM in the whole result, each checked
 * against the SDM instead by a test of sdm.test.ts with the same instruction and operands
 * (13 cases; the count is asserted below): name pattern → reason.
 */
export const OVERRIDES: [RegExp, string][] = [
  [/^stack /, "QEMU 7.2 has no stack-fault model (no IE+SF, C1 on overflow/underflow, Vol. 1 §8.5.1.1): sdm.test.ts checks all six (overflow; underflow of FADD, FSTP m64, FISTP m32, FCOM, FXCH)"],
  [/^unmasked (IE|ZE|DE|OE|UE) /, "QEMU 7.2 delivers the masked result even when the exception is unmasked; the SDM leaves the destination unchanged for IE/ZE/DE and stores the bias-adjusted result for OE/UE (Vol. 1 §4.9.2, §8.5): sdm.test.ts checks each of the five"],
  [/^fst st3 fstp st1$/, "QEMU 7.2's FST ST(i) does not tag the destination as valid; the SDM copies ST(0) to ST(i) (a valid register). sdm.test.ts checks the registers and the tag word"],
  [/^fscale qnan,snan$/, "QEMU 7.2's FSCALE returns the quietened SNaN; Vol. 1 Table 4-7 (x87) gives the QNaN source operand. sdm.test.ts checks it"],
];
const skipped = new Set<string>();

/**
 * FPREM1's quotient bits: QEMU 7.2 leaves C0/C3/C1 clear, the SDM (Vol. 2 FPREM1) sets them to
 * the low bits Q2/Q1/Q0 of the nearest-even quotient. They are checked against that quotient,
 * computed here exactly with BigInt, instead of against QEMU.
 */
function fprem1Quotient(c: FpuCase): number | null {
  const rd = (o: number): [number, bigint] => {
    let sig = 0n;
    for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(c.data[o + i]);
    return [c.data[o + 8] | (c.data[o + 9] << 8), sig];
  };
  const [aSe, aSig] = rd(0x00), [bSe, bSig] = rd(0x10);
  const ea = aSe & 0x7fff, eb = bSe & 0x7fff;
  if (ea === 0x7fff || eb === 0x7fff || aSig === 0n || bSig === 0n) return null;
  const d = Math.max(ea, 1) - Math.max(eb, 1);
  if (d >= 64) return null;
  // q = round-half-even(aSig * 2^d / bSig)
  let num = aSig, den = bSig;
  if (d >= 0) num <<= BigInt(d);
  else den <<= BigInt(-d);
  let q = num / den;
  const r2 = (num - q * den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++;
  return Number(q & 7n);
}

function envMask(k: number, swMask: number): number {
  if (k < 2) return 0xff;
  if (k === 4) return swMask & 0xff;
  if (k === 5) return swMask >> 8;
  if (k === 8 || k === 9) return 0xff;
  if (k < 28) return 0; // reserved halves, FIP/FCS/FOP/FDP/FDS
  return 0xff;
}
function fxMask(k: number, swMask: number): number {
  if (k < 2) return 0xff;
  if (k === 2) return swMask & 0xff;
  if (k === 3) return swMask >> 8;
  if (k === 4) return 0xff;
  if (k < 24) return 0;
  if (k < 28) return 0xff;
  if (k < 32) return 0;
  return (k - 32) % 16 < 10 ? 0xff : 0;
}
function maskAt(c: FpuCase, abs: number): number {
  if (abs < OUT_SAVE + 108) return envMask(abs - OUT_SAVE, c.swMask);
  if (abs === OUT_EAX) return c.swMask & 0xff;
  if (abs === OUT_EAX + 1) return c.swMask >> 8;
  if (abs >= OUT_EAX && abs < OUT_EAX + 4) return 0;
  if (abs >= OUT_FLAGS && abs < OUT_FLAGS + 4) return (c.flagsMask >> (8 * (abs - OUT_FLAGS))) & 0xff;
  if (abs >= OUT_IMG) return c.name.startsWith("fxsave") ? fxMask(abs - OUT_IMG, c.swMask) : envMask(abs - OUT_IMG, c.swMask);
  return 0xff;
}

function f80value(b: Uint8Array, o: number): number {
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(b[o + i]);
  const se = b[o + 8] | (b[o + 9] << 8);
  const e = se & 0x7fff;
  if (e === 0x7fff) return sig << 1n === 0n ? (se & 0x8000 ? -Infinity : Infinity) : NaN;
  const v = Number(sig) * 2 ** ((e === 0 ? 1 : e) - 16383 - 63);
  return se & 0x8000 ? -v : v;
}

function runCase(core: Core, c: FpuCase): Uint8Array {
  core.reset();
  core.ram.fill(0, DATA, DATA + c.data.length);
  core.ram.set(c.code, CODE);
  core.ram[CODE + c.code.length] = 0xf4; // HLT
  core.ram.set(c.data, DATA);
  core.enterFlatProtectedMode(CODE);
  core.setCr(0, core.cr(0) | 0x20); // CR0.NE, as under Linux
  core.setReg(4, DATA + 0x8000); // a stack for PUSHFD/POPFD
  core.trapExceptions = true;
  const exit = core.run(100000);
  if (exit !== L.EXIT_HLT_DISABLED) throw new Error(`exit ${exit}, exception ${JSON.stringify(core.lastException)} at ${core.eip.toString(16)}`);
  return core.ram.slice(DATA + OUT_SAVE, DATA + c.outEnd);
}

/**
 * Registers that are empty in QEMU's image hold whatever an earlier case left there (FNINIT
 * does not clear them, on hardware either): skip them. `img` is the image's offset in `b`.
 */
function emptyRegByte(b: Uint8Array, img: number, fx: boolean, k: number): boolean {
  if (fx) {
    if (k < 32) return false;
    const st = (k - 32) >> 4;
    const top = (b[img + 3] >> 3) & 7;
    return ((b[img + 4] >> ((top + st) & 7)) & 1) === 0;
  }
  if (k < 28) return false;
  const st = Math.floor((k - 28) / 10);
  const top = (b[img + 5] >> 3) & 7;
  const tw = b[img + 8] | (b[img + 9] << 8);
  return ((tw >> (2 * ((top + st) & 7))) & 3) === 3;
}

/**
 * Status-word bits where QEMU 7.2 departs from the SDM and we follow the SDM: QEMU's word gets
 * the SDM's DE and C1, computed from the case's operands by sdm-status.ts, before the comparison,
 * so our core must set them exactly where the SDM's rule does (not merely where QEMU lacks them).
 * - DE: the denormal-operand exception (Vol. 1 §8.5.2). QEMU 7.2's softfloat reports input
 *   denormals only when it flushes them, so QEMU leaves DE clear.
 * - C1 with PE: "rounded up" (Vol. 1 §8.1.3.1; Vol. 2 "FPU Flags Affected": 1 = roundup).
 *   QEMU 7.2 leaves C1 = 0 for every rounding.
 * sdm.test.ts checks both rules on operands worked by hand. The cases where QEMU's word changed
 * are counted and the counts asserted below, so that a change in the cases or in the rules shows
 * up as a failure rather than as a silently wider override.
 */
export const overridden = { de: new Set<string>(), c1: new Set<string>() };
function sdmStatusWord(c: FpuCase, qemu: number, qemuImage: Uint8Array): number {
  let sw = qemu;
  if (!(sw & 0x02) && denormalOperand(c)) {
    sw |= 0x02;
    if (!(c.data[IN_CW] & 0x02)) sw |= 0x8080; // an unmasked DE also sets ES and B
    overridden.de.add(c.name);
  }
  if (sw & 0x20 && !(sw & 0x200) && roundedUp(c, qemuImage) === true) {
    sw |= 0x200;
    overridden.c1.add(c.name);
  }
  return sw;
}
function swOffsets(c: FpuCase): number[] {
  const list = [OUT_SAVE + 4, OUT_EAX];
  if (c.outEnd > OUT_IMG) list.push(OUT_IMG + (c.name.startsWith("fxsave") ? 2 : 4));
  return list;
}

function compare(c: FpuCase, ours: Uint8Array, theirs: Uint8Array): string | null {
  for (const abs of swOffsets(c)) {
    const o = abs - OUT_SAVE;
    const sw = sdmStatusWord(c, theirs[o] | (theirs[o + 1] << 8), theirs);
    theirs[o] = sw & 0xff;
    theirs[o + 1] = sw >> 8;
  }
  for (let i = 0; i < ours.length; i++) {
    const abs = OUT_SAVE + i;
    let mask = maskAt(c, abs);
    if (abs < OUT_SAVE + 108 && emptyRegByte(theirs, 0, false, abs - OUT_SAVE)) mask = 0;
    if (abs >= OUT_IMG && emptyRegByte(theirs, OUT_IMG - OUT_SAVE, c.name.startsWith("fxsave"), abs - OUT_IMG)) mask = 0;
    if (((ours[i] ^ theirs[i]) & mask) === 0) continue;
    if (c.approx && abs >= OUT_SAVE + 28 && abs < OUT_SAVE + 108) {
      const r = OUT_SAVE + 28 + Math.floor((abs - OUT_SAVE - 28) / 10) * 10 - OUT_SAVE;
      const a = f80value(ours, r), b = f80value(theirs, r);
      if (a === b || Math.abs(a - b) <= Math.abs(b) * 2 ** -50) continue;
    }
    const hex = (x: Uint8Array) => Buffer.from(x).toString("hex");
    return `byte +0x${abs.toString(16)}: ours ${ours[i].toString(16)} qemu ${theirs[i].toString(16)} (mask ${mask.toString(16)})\n  ours ${hex(ours)}\n  qemu ${hex(theirs)}`;
  }
  return null;
}

const cases = buildCases();
const groups = new Map<string, FpuCase[]>();
for (const c of cases) {
  const g = c.name.split(/[ #]/)[0];
  if (!groups.has(g)) groups.set(g, []);
  groups.get(g)!.push(c);
}

const groupsRun = new Set<string>();

describe("x87 against QEMU", () => {
  let core: Core;
  beforeAll(async () => {
    core = await Core.load({ ramSize: 8 << 20, imports: nullImports });
  });
  it("has a golden result for every case", () => {
    expect(cases.filter((c) => golden[c.name] === undefined).map((c) => c.name)).toEqual([]);
  });
  for (const [g, list] of groups) {
    it(`${g} (${list.length} cases)`, () => {
      const failures: string[] = [];
      for (const c of list) {
        if (OVERRIDES.some(([re]) => re.test(c.name))) {
          skipped.add(c.name);
          continue;
        }
        let ours: Uint8Array;
        try {
          ours = runCase(core, c);
        } catch (e) {
          failures.push(`${c.name}: ${(e as Error).message}`);
          continue;
        }
        const theirs = Buffer.from(golden[c.name], "hex");
        if (c.name.startsWith("fprem1 ")) {
          const q = fprem1Quotient(c);
          if (q !== null) {
            // Replace QEMU's condition codes by the SDM's before comparing.
            const cc = ((q & 4) ? 0x01 : 0) | ((q & 1) ? 0x02 : 0) | ((q & 2) ? 0x40 : 0);
            for (const o of [4, OUT_EAX - OUT_SAVE]) theirs[o + 1] = (theirs[o + 1] & ~0x43) | cc;
          }
        }
        if (/^frndint pc\d /.test(c.name)) {
          const sdm = frndintResult(c)!;
          if (c.name.startsWith("frndint pc3 ")) {
            // Where precision control cannot matter, the SDM's rounding must agree with QEMU's.
            const pe = (theirs[4] & 0x20) !== 0;
            if (!sdm.bytes.every((b, i) => b === theirs[28 + i]) || pe !== sdm.inexact) failures.push(`${c.name}: frndintResult disagrees with QEMU`);
          } else {
            // QEMU 7.2 rounds FRNDINT's result to the precision control too; PC applies only to
            // FADD/FSUB/FMUL/FDIV/FSQRT and their variants (Vol. 1 §8.1.5.2). The SDM's result
            // and PE replace QEMU's (C1 then follows from sdmStatusWord).
            theirs.set(sdm.bytes, 28);
            for (const o of [4, OUT_EAX - OUT_SAVE]) theirs[o] = (theirs[o] & ~0x20) | (sdm.inexact ? 0x20 : 0);
            for (const o of [4, OUT_EAX - OUT_SAVE]) theirs[o + 1] &= ~0x02;
          }
        }
        let diff = compare(c, ours, theirs);
        if (!diff && c.eflagsCleared && (ours[OUT_FLAGS - OUT_SAVE] & 0x90) | (ours[OUT_FLAGS - OUT_SAVE + 1] & 0x08)) diff = "OF/SF/AF not cleared (SDM FCOMI)";
        if (diff) failures.push(`${c.name}: ${diff}`);
      }
      groupsRun.add(g);
      const shown = process.env.FPU_VERBOSE ? failures.length : 8;
      expect(failures.slice(0, shown).join("\n") + (failures.length > shown ? `\n… ${failures.length} failures in all` : "")).toBe("");
    });
  }
  it("the SDM overrides QEMU in exactly the counted cases", (ctx) => {
    if (groupsRun.size !== groups.size) ctx.skip(); // a filtered run (-t) sees only some cases
    expect({ de: overridden.de.size, c1: overridden.c1.size, skipped: skipped.size }).toEqual({ de: 736, c1: 842, skipped: 13 });
  });
});
