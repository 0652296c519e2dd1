// Every instruction form of the table that the oracle can run under qemu-i386 has recorded cases
// in the table sweep (test/oracle/golden/sweep.jsonl): each member of a +r/+cc row, each operand
// size and each register and memory form (test/oracle/sweep.ts). A row added to
// gen/x86-table.ts fails here until `npm run oracle:generate sweep` records it, or until it is
// listed in SWEEP_SKIPS under the ORACLE_SKIP category that says why QEMU cannot be its oracle.

import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ORACLE_SKIP } from "../../gen/x86-table.js";
import { GOLDEN_DIR, readGolden } from "../oracle/cases.js";
import { ENCODINGS, type OracleEncoding } from "../oracle/generated/instructions.js";
import { Rng, sweepCases } from "../oracle/generate.js";
import { missingFromSweep, sweepKeyOf, sweepVariants } from "../oracle/sweep.js";

const recorded = readGolden(join(GOLDEN_DIR, "sweep.jsonl")).map((c) => c.name);

/** POPCNT Gv,Ev (F3 0F B8 on later CPUs; here without its prefix): a form the table does not have. */
const NEW_ROW: OracleEncoding = { mnemonic: "popcnt", operands: "Gv,Ev", opcode: [0x0f, 0xb8] };

describe("the oracle's table sweep", () => {
  it("has recorded cases for every variant of every form it does not skip", () => {
    const missing = missingFromSweep(ENCODINGS, recorded);
    expect(missing, "run npm run oracle:generate sweep (qemu-i386), or list the form under its category in SWEEP_SKIPS (gen/x86-table.ts)").toEqual([]);
  });

  it("records no variant the table no longer has", () => {
    const wanted = new Set(ENCODINGS.flatMap((e) => sweepVariants(e).map((v) => v.key)));
    expect([...new Set(recorded.map(sweepKeyOf))].filter((k) => !wanted.has(k))).toEqual([]);
  });

  it("skips a form only for a category with a reason", () => {
    for (const e of ENCODINGS) {
      for (const category of [e.skip, e.skipRegister]) {
        if (category !== undefined) expect(ORACLE_SKIP, `${e.mnemonic} ${e.operands}`).toHaveProperty(category);
      }
    }
  });

  it("covers the user-mode forms: ALU, shifts, string operations, jumps, bit tests, +r and +cc members", () => {
    const keys = new Set(recorded.map(sweepKeyOf));
    for (const k of ["01 add Ev,Gv o16 mem", "80/7 cmp Eb,Ib o8 reg", "d3/2 rcl Ev,CL o32 mem", "a7 cmps Xv,Yv o16 none",
      "0f 4e cmovcc Gv,Ev o32 mem", "7f jcc Jb o32 none", "0f cf bswap Zd o32 none", "0f bb btc Ev,Gv o16 mem", "62 bound Gv,Ma o16 mem"]) {
      expect(keys.has(k), k).toBe(true);
    }
    // Privileged, segment, far and x87 forms are left to other tiers.
    for (const k of ["f4 hlt o32 none", "8e mov Sw,Ew o16 reg", "ea jmp Ap o32 none", "d8 fpu o32 none"]) expect(keys.has(k), k).toBe(false);
  });

  it("a row added to the table is swept, and fails coverage until its cases are recorded", () => {
    const table = [...ENCODINGS, NEW_ROW];
    const keys = sweepVariants(NEW_ROW).map((v) => v.key);
    expect(keys).toEqual(["0f b8 popcnt Gv,Ev o16 reg", "0f b8 popcnt Gv,Ev o16 mem", "0f b8 popcnt Gv,Ev o32 reg", "0f b8 popcnt Gv,Ev o32 mem"]);
    expect(missingFromSweep(table, recorded)).toEqual(keys);
    const made = sweepCases(new Rng(1), table).filter((c) => keys.includes(sweepKeyOf(c.name)));
    expect(new Set(made.map((c) => sweepKeyOf(c.name)))).toEqual(new Set(keys));
    // The cases carry the row's opcode after the operand-size prefix, with a ModRM byte.
    for (const c of made) expect(c.code.slice(c.code[0] === 0x66 ? 1 : 0, (c.code[0] === 0x66 ? 1 : 0) + 2)).toEqual([0x0f, 0xb8]);
    // Once recorded, it passes.
    expect(missingFromSweep(table, [...recorded, ...made.map((c) => c.name)])).toEqual([]);
  });
});
