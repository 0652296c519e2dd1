// A row that gives its `operation` (gen/x86-table.ts) has both its handlers generated around
// that one expression (assembly/generated/handlers.ts), the dispatches call them, and neither
// assembly/execute.ts nor assembly/fastpath.ts holds a hand-written copy.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../gen/generate.js";
import { INSTRUCTIONS } from "../../gen/x86-table.js";

const read = (path: string): string => readFileSync(join(ROOT, path), "utf8");
const handlers = read("assembly/generated/handlers.ts");
const rows = INSTRUCTIONS.filter((r) => r.operation !== undefined);

/** The text of function `name` in `source` (up to its closing brace at column 0), or undefined. */
function body(source: string, name: string): string | undefined {
  const start = source.search(new RegExp(`function ${name}\\(`));
  if (start < 0) return undefined;
  return source.slice(start, source.indexOf("\n}\n", start));
}

describe("handlers generated from a row's operation", () => {
  it("there are such rows", () => {
    expect(rows.map((r) => r.mnemonic)).toEqual(expect.arrayContaining(["imul", "movzx", "movsx"]));
  });

  for (const r of rows) {
    it(`${r.mnemonic} ${r.operands}: both handlers around "${r.operation}", called by the dispatches, nowhere else`, () => {
      const full = body(handlers, r.handler);
      expect(full, r.handler).toBeDefined();
      expect(full).toContain(`regWrite(sz, modrmReg(), ${r.operation});`);
      expect(read("assembly/generated/dispatch.ts")).toContain(`${r.handler}();`);
      expect(body(read("assembly/execute.ts"), r.handler)).toBeUndefined();
      if (!r.fastHandler) return;
      const fast = body(handlers, r.fastHandler);
      expect(fast, r.fastHandler).toBeDefined();
      // The register and the memory form, each around the same expression.
      expect(fast!.split(`setReg32(gr, ${r.operation});`).length - 1).toBe(2);
      expect(read("assembly/generated/fast-dispatch.ts")).toContain(`${r.fastHandler}(`);
      expect(body(read("assembly/fastpath.ts"), r.fastHandler)).toBeUndefined();
    });
  }
});
