// Cross-checks the golden files against this machine's own CPU where the bytes mean the same
// in 64-bit mode (see native.c), to find flags the SDM defines on which QEMU is wrong. Such a
// finding becomes an entry in ../masks.ts QEMU_OVERRIDES; this script only reports.
//
//   npx tsx test/oracle/crosscheck/crosscheck.ts      (x86-64 Linux host with gcc)

import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GOLDEN_DIR, ORACLE_DIR, expectedRegs, readGolden, type GoldenCase } from "../cases.js";

const GROUPS = ["alu", "test", "negnot", "shift", "shld", "muldiv", "bt", "bsf", "xchg", "cond", "movx", "incdec", "misc"];
const NOT_IN_LONG_MODE = /^(66)?(4[0-9a-f]|82|27|2f|37|3f|d4|d5|ce|cc|d7|60|61|62)/;

function eligible(c: GoldenCase): boolean {
  return !c.mem && !c.out.mem && !c.override && !/\[|mem|M,|#UD|xlat|into|int3/.test(c.name) && !NOT_IN_LONG_MODE.test(c.code);
}

const dir = join(ORACLE_DIR, "build");
mkdirSync(dir, { recursive: true });
const bin = join(dir, "native");
const cc = spawnSync("gcc", ["-O1", "-o", bin, join(ORACLE_DIR, "crosscheck", "native.c"), join(ORACLE_DIR, "crosscheck", "native.S")], { encoding: "utf8" });
if (cc.status !== 0) throw new Error(cc.stderr);

let checked = 0, differ = 0;
const byKind = new Map<string, string[]>();
for (const f of readdirSync(GOLDEN_DIR).filter((f) => GROUPS.includes(f.replace(".jsonl", "")))) {
  const cases = readGolden(join(GOLDEN_DIR, f)).filter(eligible);
  const input = cases.map((c) => `C ${c.code} ${c.regs.join(" ")} ${c.flags} 0\n`).join("");
  const r = spawnSync(bin, [], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  const lines = r.stdout.trim().split("\n");
  cases.forEach((c, i) => {
    const t = lines[i].split(" ");
    const regs = t.slice(1, 9).map((x) => parseInt(x, 16) >>> 0);
    const flags = parseInt(t[9], 16), vec = parseInt(t[10], 10);
    const mask = parseInt(c.mask, 16);
    const want = expectedRegs(c);
    const problems: string[] = [];
    regs.forEach((v, k) => { if (v !== want[k]) problems.push(`r${k} cpu ${v.toString(16)} qemu ${want[k].toString(16)}`); });
    const fx = (flags ^ parseInt(c.out.flags, 16)) & mask;
    if (fx) problems.push(`flags cpu ${(flags & mask).toString(16)} qemu ${(parseInt(c.out.flags, 16) & mask).toString(16)} (differ ${fx.toString(16)})`);
    if ((vec < 0 ? null : vec) !== c.out.exception) problems.push(`exception cpu ${vec} qemu ${c.out.exception}`);
    checked++;
    if (problems.length) {
      differ++;
      const kind = c.name.split(" ")[0];
      const list = byKind.get(kind) ?? [];
      list.push(`${c.name} [${c.code}] flags in ${c.flags}: ${problems.join("; ")}`);
      byKind.set(kind, list);
    }
  });
}
console.log(`${checked} cases checked natively, ${differ} differ`);
for (const [kind, list] of byKind) console.log(`${kind}: ${list.length}\n  ${list.slice(0, 4).join("\n  ")}`);
