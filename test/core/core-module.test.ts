// The core is compiled once per process (src/core-module.ts): Machines share a module, so the
// code V8 optimized for one is there for the next; a rebuilt file is compiled again.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileModule } from "../../src/core-file.js";
import { coreModule } from "../../src/core-module.js";

describe("the compiled core module", () => {
  it("is one module for every load of the build, and one per buffer a caller supplies", async () => {
    expect(await coreModule(undefined, false)).toBe(await coreModule(undefined, false));
    expect(await coreModule(undefined, true)).not.toBe(await coreModule(undefined, false));
    const bytes = readFileSync(new URL("../../build/core.wasm", import.meta.url));
    const other = new Uint8Array(bytes);
    expect(await coreModule(bytes, false)).toBe(await coreModule(bytes, false));
    expect(await coreModule(other, false)).not.toBe(await coreModule(bytes, false));
  });

  it("compiles a build file again once it has changed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "core-module-"));
    try {
      const path = join(dir, "core.wasm");
      copyFileSync(new URL("../../build/core.wasm", import.meta.url), path);
      const first = await fileModule(path);
      expect(await fileModule(path)).toBe(first);
      writeFileSync(path, readFileSync(new URL("../../build/core.debug.wasm", import.meta.url)));
      utimesSync(path, new Date(), new Date(Date.now() + 5000));
      const second = await fileModule(path);
      expect(second).not.toBe(first);
      expect(WebAssembly.Module.exports(second).length).toBeGreaterThan(0);
      writeFileSync(path, "not wasm");
      utimesSync(path, new Date(), new Date(Date.now() + 10000));
      await expect(fileModule(path)).rejects.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("leaves Node's modules out of the library's static imports (a browser passes the bytes)", () => {
    // Everything the API loads (src/, except the CLI: cli.ts and cli/) imports node: modules only dynamically.
    const src = new URL("../../src/", import.meta.url);
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !f.startsWith("cli") && !f.startsWith("bench"));
    expect(files).toContain("core-file.ts");
    const offenders = files.filter((f) => /^import [^;]*from "node:/m.test(readFileSync(new URL(f, src), "utf8")));
    expect(offenders).toEqual([]);
  });
});
