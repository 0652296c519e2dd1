// The generated files (assembly/generated/, test/oracle/generated/) are committed: each must be
// exactly what gen/generate.ts makes from the instruction table, so that an edit to the table
// without `npm run gen`, or a hand edit of a generated file, fails here.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, generatedFiles, hasModrm, immKind, IMM } from "../../gen/generate.js";
import { INSTRUCTIONS } from "../../gen/x86-table.js";

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
