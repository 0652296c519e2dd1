// REP MOVS / REP STOS take whole runs within a page at a time when they can (ops/string.ts);
// these cases hold that path to the SDM's element-by-element definition: overlapping copies
// that smear a pattern forward, runs crossing page boundaries, counts that are not multiples
// of anything, every element size, and the REP chunking that lets interrupts in.
import { describe, expect, it } from "vitest";
import { Core } from "../../src/core.js";
import { nullImports } from "../support/null-imports.js";

const MEM = 1 << 20;
const CODE = 0x1000;

/** The SDM's REP MOVS/STOS (DF = 0): one element at a time, in order. */
function reference(mem: Uint8Array, op: "movs" | "stos", size: 1 | 2 | 4, src: number, dst: number, count: number, value: number): void {
  for (let i = 0; i < count; i++) {
    for (let b = 0; b < size; b++) mem[dst + i * size + b] = op === "movs" ? mem[src + i * size + b] : (value >>> (8 * b)) & 0xff;
  }
}

async function run(op: "movs" | "stos", size: 1 | 2 | 4, src: number, dst: number, count: number, value: number) {
  const core = await Core.load({ ramSize: MEM, imports: nullImports });
  const seed = new Uint8Array(MEM);
  for (let i = 0x10000; i < 0x40000; i++) seed[i] = (i * 2654435761) >>> 24;
  const opcode = (op === "movs" ? 0xa4 : 0xaa) + (size === 1 ? 0 : 1);
  seed.set(size === 2 ? [0xf3, 0x66, opcode, 0xf4] : [0xf3, opcode, 0xf4], CODE);
  core.ram.set(seed);
  core.enterFlatProtectedMode(CODE);
  core.setReg(6, src);
  core.setReg(7, dst);
  core.setReg(1, count);
  core.setReg(0, value);
  for (let i = 0; i < 100 && !core.halted; i++) core.run(10_000);
  const want = seed.slice();
  reference(want, op, size, src, dst, count, value);
  return { core, want };
}

describe("REP MOVS / REP STOS (forward)", () => {
  const cases: [string, "movs" | "stos", 1 | 2 | 4, number, number, number][] = [
    ["movsb smearing forward (dst = src + 1)", "movs", 1, 0x10100, 0x10101, 5000],
    ["movsd overlapping by one element", "movs", 4, 0x20000, 0x20004, 3000],
    ["movsw across two page boundaries, unaligned", "movs", 2, 0x10ffd, 0x22ff7, 4099],
    ["movsd backwards overlap (dst below src)", "movs", 4, 0x30010, 0x30000, 2500],
    ["movsb more than one REP chunk", "movs", 1, 0x11000, 0x31001, 3333],
    ["stosb", "stos", 1, 0, 0x20ffe, 9000],
    ["stosw unaligned across pages", "stos", 2, 0, 0x21fff, 3001],
    ["stosd", "stos", 4, 0, 0x12345, 4097],
  ];
  for (const [name, op, size, src, dst, count] of cases) {
    it(name, async () => {
      const { core, want } = await run(op, size, src, dst, count, 0xa1b2c3d4);
      expect(core.halted, "reached the HLT after the string instruction").toBe(true);
      expect(core.reg(1), "ECX").toBe(0);
      expect(core.reg(7), "EDI").toBe((dst + count * size) >>> 0);
      if (op === "movs") expect(core.reg(6), "ESI").toBe((src + count * size) >>> 0);
      expect(Buffer.compare(core.ram, want)).toBe(0);
    });
  }
});
