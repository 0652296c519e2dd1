// Nothing can be left out of a snapshot: every mutable global of the built core is exported
// for it (checked against the module itself, read by binaryen), and every part of the machine
// that has save/restore is on the machine's board, which Machine.save walks.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import binaryen from "binaryen";
import { describe, expect, it } from "vitest";
import { Machine } from "../../src/machine.js";
import { GLOBAL_EXPORT_PREFIX, coreBuildIdentity } from "../../src/snapshot/core-globals.js";

const build = join(dirname(fileURLToPath(import.meta.url)), "../../build");

describe("snapshot coverage", () => {
  for (const file of ["core.wasm", "core.debug.wasm"]) {
    it(`${file}: every mutable global is exported for snapshots, and the module has a build identity`, () => {
      const bytes = readFileSync(join(build, file));
      const module = binaryen.readBinary(bytes);
      const mutable: string[] = [];
      for (let i = 0; i < module.getNumGlobals(); i++) {
        const g = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
        if (g.mutable && g.module === "") mutable.push(g.name);
      }
      const exported = new Set<string>();
      for (let i = 0; i < module.getNumExports(); i++) {
        const e = binaryen.getExportInfo(module.getExportByIndex(i));
        if (e.kind === binaryen.ExternalGlobal && e.name.startsWith(GLOBAL_EXPORT_PREFIX)) exported.add(e.value);
      }
      module.dispose();
      expect(mutable.length).toBeGreaterThan(50);
      expect(mutable.filter((name) => !exported.has(name)), "mutable globals a snapshot would miss").toEqual([]);
      expect(coreBuildIdentity(new WebAssembly.Module(bytes))).toMatch(/^[0-9a-f]{32}$/);
    });
  }

  it("every part of the machine with save/restore is on its board", async () => {
    const m = await Machine.create({ memSize: 2 << 20, deterministic: true, vmi: true, apic: true });
    const board = new Set(Object.values((m as unknown as { board: Record<string, unknown> }).board));
    // The core and the VMI host have their own entries in a snapshot (Machine.save).
    const ownEntries = new Set<unknown>([m.core, m.vmi]);
    const missing = Object.entries(m).filter(([, v]) => {
      const s = v as { save?: unknown; restore?: unknown } | null;
      return typeof s?.save === "function" && typeof s.restore === "function" && !board.has(v) && !ownEntries.has(v);
    });
    expect(missing.map(([k]) => k)).toEqual([]);
    expect(Object.keys(m.saveDevices())).toEqual(Object.keys((m as unknown as { board: object }).board));
  });
});
