// The generated files (assembly/generated/, test/oracle/generated/) are committed: each must be
// exactly what gen/generate.ts makes from the instruction table, so that an edit to the table
// without `npm run gen`, or a hand edit of a generated file, fails here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, generatedFiles, hasModrm, immKind, IMM } from "../../gen/generate.js";
import { INSTRUCTIONS, PREFIXES } from "../../gen/x86-table.js";

const hex = (v: number): string => `0x${v.toString(16)}`;

describe("instruction table", () => {
  for (const f of generatedFiles()) {
    it(`${f.path} is what npm run gen writes`, () => {
      const committed = readFileSync(join(ROOT, f.path), "utf8");
      expect(committed === f.text, `${f.path} differs from the table: run npm run gen`).toBe(true);
    });
  }

  it("reads the SDM notation: ModRM and immediates of a few known forms", () => {
    const find = (opcode: number, digit?: number) => INSTRUCTIONS.find((r) => r.opcode === opcode && r.digit === digit)!;
    expect([hasModrm(find(0x01)), immKind(find(0x01))]).toEqual([true, IMM.NONE]); // ADD Ev,Gv
    expect([hasModrm(find(0x05)), immKind(find(0x05))]).toEqual([false, IMM.Z]); // ADD eAX,Iz
    expect([hasModrm(find(0x06)), immKind(find(0x06))]).toEqual([false, IMM.NONE]); // PUSH ES (not Ev)
    expect(immKind(find(0xc8))).toBe(IMM.WB); // ENTER Iw,Ib
    expect(immKind(find(0x9a))).toBe(IMM.PTR); // CALL Ap
    expect(immKind(find(0xa1))).toBe(IMM.MOFFS); // MOV eAX,Ov
    expect(immKind(find(0xf7, 0))).toBe(IMM.Z); // TEST Ev,Iz
    expect(immKind(find(0xf7, 2))).toBe(IMM.NONE); // NOT Ev
    expect(hasModrm(find(0x0f20))).toBe(true); // MOV Rd,Cd
  });

  it("the fast path's dispatch handles exactly the opcodes whose rows are marked fast", () => {
    // Read from the committed file, so that a hand-added case (or a case left after `fast` was
    // removed from a row) fails here, not only a stale generation.
    const text = readFileSync(join(ROOT, "assembly/generated/fast-dispatch.ts"), "utf8");
    const cases = (fn: string): number[] => {
      const body = text.slice(text.indexOf(`function ${fn}(`));
      const sw = body.slice(0, body.indexOf("\n}\n"));
      return [...sw.matchAll(/case (0x[0-9a-f]+):/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
    };
    const marked = (map: 0 | 1): number[] => {
      const ops = new Set<number>();
      for (const r of INSTRUCTIONS) {
        if (!r.fast || (r.opcode > 0xff ? 1 : 0) !== map) continue;
        for (let k = 0; k < (r.span ?? 1); k++) ops.add((r.opcode & 0xff) + k);
      }
      if (map === 0) {
        ops.add(0x0f); // the 0F map's own switch
        for (const p of PREFIXES) if (p.fast16) ops.add(p.byte);
      }
      return [...ops].sort((a, b) => a - b);
    };
    expect(cases("fastStep").map(hex)).toEqual(marked(0).map(hex));
    expect(cases("fastStep0F").map(hex)).toEqual(marked(1).map(hex));
    const marked16 = [...new Set(INSTRUCTIONS.filter((r) => r.fastHandler16).map((r) => r.opcode))].sort((a, b) => a - b);
    expect(cases("fastStep66").map(hex)).toEqual(marked16.map(hex));
    for (const r of INSTRUCTIONS) expect(!r.fast, `${r.mnemonic} ${r.operands} (${hex(r.opcode)}): fast without fastHandler or the reverse`).toBe(!r.fastHandler);
  });

  it("has one row per encoding", () => {
    const seen = new Map<string, string>();
    for (const r of INSTRUCTIONS) {
      // 0F 01 /0 holds SGDT and VMCALL (ModRM C1 exactly), which /digit alone does not tell apart.
      if (r.mnemonic === "vmcall") continue;
      for (let k = 0; k < (r.span ?? 1); k++) {
        const key = `${(r.opcode + k).toString(16)}/${r.digit ?? "-"}`;
        expect(seen.get(key), `${key} is both ${seen.get(key)} and ${r.mnemonic}`).toBeUndefined();
        seen.set(key, r.mnemonic);
      }
    }
  });
});
