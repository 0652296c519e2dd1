// Checks the bcd golden file against the SDM's own pseudocode for DAA, DAS, AAA, AAS, AAM and
// AAD (Vol. 2A, "Operation" of each), since the native cross-check cannot run them (they are
// invalid in 64-bit mode). Only the flags the SDM defines are compared (masks.ts).
//
//   npx tsx test/oracle/crosscheck/bcd.ts

import { join } from "node:path";
import { AF, CF, GOLDEN_DIR, PF, SF, ZF, expectedRegs, readGolden } from "../cases.js";

const parity = (v: number) => { let p = 1; for (let i = 0; i < 8; i++) p ^= (v >> i) & 1; return p ? PF : 0; };
const szp = (al: number) => (al & 0x80 ? SF : 0) | (al === 0 ? ZF : 0) | parity(al);

function model(code: string, ax: number, f: number): { ax: number; flags: number } | "DE" {
  let al = ax & 0xff, ah = (ax >> 8) & 0xff;
  const cf = f & CF, af = f & AF;
  const op = code.slice(0, 2), ib = parseInt(code.slice(2, 4) || "0", 16);
  let flags = 0;
  switch (op) {
    case "27": case "2f": { // DAA, DAS
      const sub = op === "2f";
      const oldAl = al;
      let ncf = 0, naf = 0;
      if ((al & 0x0f) > 9 || af) {
        const r = sub ? al - 6 : al + 6;
        ncf = cf || r < 0 || r > 0xff ? CF : 0;
        al = r & 0xff;
        naf = AF;
      }
      if (oldAl > 0x99 || cf) {
        al = (sub ? al - 0x60 : al + 0x60) & 0xff;
        ncf = CF;
      } else if (!sub) ncf = 0;
      // DAA's second step clears CF when it does not adjust; DAS's has no ELSE branch, so the
      // first step's borrow stays (SDM Vol. 2A DAA and DAS, "Operation").
      flags = ncf | naf | szp(al);
      return { ax: (ah << 8) | al, flags };
    }
    case "37": case "3f": { // AAA, AAS
      let a = (ah << 8) | al;
      if ((al & 0x0f) > 9 || af) {
        a = op === "37" ? a + 0x106 : ((a - 6) & 0xffff) - 0x100;
        flags = AF | CF;
      }
      a &= 0xffff;
      return { ax: a & 0xff0f, flags };
    }
    case "d4": // AAM
      if (ib === 0) return "DE";
      ah = Math.floor(al / ib); al = al % ib;
      return { ax: (ah << 8) | al, flags: szp(al) };
    case "d5": // AAD
      al = (al + ah * ib) & 0xff;
      return { ax: al, flags: szp(al) };
  }
  throw new Error(`not a BCD opcode: ${code}`);
}

let bad = 0;
const cases = readGolden(join(GOLDEN_DIR, "bcd.jsonl"));
for (const c of cases) {
  const eax = parseInt(c.regs[0], 16) >>> 0;
  const m = model(c.code, eax & 0xffff, parseInt(c.flags, 16));
  const mask = parseInt(c.mask, 16) & (CF | AF | SF | ZF | PF);
  if (m === "DE") {
    if (c.out.exception !== 0) { bad++; console.log(`${c.name}: SDM #DE, golden ${c.out.exception}`); }
    continue;
  }
  const gotAx = expectedRegs(c)[0] & 0xffff, gotF = parseInt(c.out.flags, 16) & mask;
  if (gotAx !== m.ax || gotF !== (m.flags & mask)) {
    if (bad++ < 20) console.log(`${c.name} [${c.code}] flags in ${c.flags}: golden ax ${gotAx.toString(16)} f ${gotF.toString(16)}, SDM ax ${m.ax.toString(16)} f ${(m.flags & mask).toString(16)}`);
  }
}
console.log(`${cases.length} BCD cases, ${bad} differ from the SDM pseudocode`);
