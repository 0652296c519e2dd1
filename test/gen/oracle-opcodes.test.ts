// The oracle generator (test/oracle/generate.ts) takes every opcode from the instruction table,
// through encoding() and the helpers on it, so that adding a row and its oracle values is what
// makes an instruction tested. This fails when it spells an opcode byte by hand instead: an
// array literal that starts, after prefix bytes, with a bare byte literal ([0x86, ...],
// [...osz(size), 0x0f, ...]), or a byte plus a register, width or condition (0x70 + cc).
// Prefixes, ModRM/SIB bytes, immediates and displacements stay literal.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../gen/generate.js";
import { PREFIXES } from "../../gen/x86-table.js";

const PREFIX_BYTES = new Set(PREFIXES.map((p) => p.byte));
const BYTE = "0x[0-9a-fA-F]{2}\\b";
/** `[`, then prefix-like elements, then a bare byte literal not part of an expression. */
const ARRAY_START = new RegExp(`\\[\\s*((?:(?:${BYTE}|\\.\\.\\.osz\\([^)]*\\))\\s*,\\s*)*)(${BYTE})(?!\\s*[-+*/|&<>^])`, "g");
const OPCODE_ARITHMETIC = new RegExp(`${BYTE}\\s*\\+\\s*(?:w|r|cc)\\b`, "g");

/** Opcode bytes `source` spells by hand, with what they were found in. */
function handSpelledOpcodes(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const found: string[] = [];
  for (const m of code.matchAll(ARRAY_START)) {
    const bytes = [...m[1].matchAll(new RegExp(BYTE, "g")), m[2]].map((b) => parseInt(String(b), 16));
    if (bytes.some((b) => !PREFIX_BYTES.has(b))) found.push(m[0]);
  }
  for (const m of code.matchAll(OPCODE_ARITHMETIC)) found.push(m[0]);
  return found;
}

describe("oracle generator opcodes", () => {
  it("recognises an opcode spelled by hand", () => {
    expect(handSpelledOpcodes("c.code = [...osz(size), 0x0f, 0x40 + cc, ...m.bytes];")).toHaveLength(2);
    expect(handSpelledOpcodes("rmCases(rng, out, n, mn, size, [0xf0, 0x86], 4, {});")).toHaveLength(1);
    expect(handSpelledOpcodes("const MARKER = [0xbd, 0x4b];")).toHaveLength(1);
    // Prefixes, ModRM expressions and values are not opcodes.
    expect(handSpelledOpcodes("c.code = [0x67, ...lea, 0x84 | g]; [0x3e]; [0x40 | (r << 3) | b, d]; [0xffff, 0x8000]")).toEqual([]);
  });

  it("test/oracle/generate.ts takes every opcode from the instruction table", () => {
    const source = readFileSync(join(ROOT, "test/oracle/generate.ts"), "utf8");
    expect(handSpelledOpcodes(source), "look the opcode up with encoding(), opcodeOf() or nthOpcode()").toEqual([]);
  });
});
