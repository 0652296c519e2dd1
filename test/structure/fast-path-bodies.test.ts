// The run loop's fast path (assembly/fastpath.ts) reaches its operands its own way (host
// pointers, bail-out before any side effect), but each instruction's operation has one body,
// in assembly/ops/ or assembly/flags.ts, which the full decoder's handlers call too
// (docs/instruction-table.md). This fails when fastpath.ts computes an operation or its flags
// itself: it writes EFLAGS or the lazy-flag record, names a flag or lazy kind, or divides.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** What in `source` (an AssemblyScript file) is an operation's body rather than operand access. */
function secondBodies(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
  const found: string[] = [];
  // Flag state belongs to the operations: the fast path may only test a condition.
  for (const m of code.matchAll(/\b(setLazy|setSzpFlags|setArithFlags|setFlagBits|writeFlags|readFlags|pend\w*|lazy\w+|FLAG_[A-Z]+|LAZY_[A-Z]+|fl\.flags)\b/g)) found.push(m[0]);
  for (const m of code.matchAll(/import\s*{([^}]*)}\s*from\s*"\.\/flags"/g)) {
    for (const name of m[1].split(",").map((n) => n.trim()).filter(Boolean)) if (name !== "testCondition") found.push(`imports ${name} from ./flags`);
  }
  // Division and remainder are DIV/IDIV's, which ops/muldiv.ts's divide() holds.
  for (const m of code.replace(/"[^"\n]*"/g, '""').matchAll(/[\w)\]]\s*[/%]\s*[\w(<]/g)) found.push(m[0]);
  return found;
}

describe("the fast path's instruction bodies", () => {
  it("recognises a second body", () => {
    expect(secondBodies("setSzpFlags(2, r, cf, ovf);")).toHaveLength(1);
    expect(secondBodies('import { testCondition, setSzpFlags } from "./flags";')).toEqual(["setSzpFlags", "imports setSzpFlags from ./flags"]);
    expect(secondBodies("setReg32(0, <u32>(n / <u64>src)); setReg32(2, <u32>(n % <u64>src));")).toHaveLength(2);
    expect(secondBodies('import { testCondition } from "./flags"; import { shift } from "./ops/shift"; // a / b\nconst r = a + b; /* x % y */')).toEqual([]);
  });

  it("assembly/fastpath.ts leaves every operation to assembly/ops/", () => {
    const source = readFileSync(`${root}/assembly/fastpath.ts`, "utf8");
    expect(secondBodies(source), "call the operation's body in assembly/ops/ (with its flags) instead").toEqual([]);
  });
});
