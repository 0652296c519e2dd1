// The library bundled for a browser as a page's bundler does it: `import ... from "vmi386"`
// resolved through package.json (exports, and the "browser" field that swaps the core's file
// loader for core-file.browser.js), esbuild with platform "browser". Node's modules must stay
// out, and a Machine created without `wasm` must say what to pass.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureFreshDist } from "../../scripts/fresh-dist.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "../..");

/** The package's entry bundled for the browser from a page that imports `names`. */
async function bundle(names: string[]) {
  return build({
    stdin: { contents: `export { ${names.join(", ")} } from "vmi386";`, resolveDir: root, sourcefile: "page.js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    write: false,
    metafile: true,
    logLevel: "silent",
  });
}

describe("vmi386 bundled for a browser", () => {
  beforeAll(() => ensureFreshDist(), 120_000);

  it("bundles with no node: import, the browser's core loader in place of Node's", async () => {
    const r = await bundle(["Machine", "Core", "loadMultiboot", "loadLinux", "collectStats", "formatStatsText", "LoadError"]);
    expect(r.errors).toEqual([]);
    const code = r.outputFiles[0].text;
    expect(code).not.toMatch(/["']node:/);
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs).toContain("dist/src/core-file.browser.js");
    expect(inputs).not.toContain("dist/src/core-file.js");
  });

  it("rejects a Machine without `wasm`, saying what to pass", async () => {
    const r = await bundle(["Machine"]);
    // The browser bundle needs nothing of Node, so Node can run it as a browser would.
    const { Machine } = await import(`data:text/javascript;base64,${Buffer.from(r.outputFiles[0].text).toString("base64")}`);
    await expect(Machine.create({ memSize: 1 << 20 })).rejects.toThrow(
      "vmi386: no core module: in a browser pass MachineOptions.wasm, the bytes of the package's build/core.wasm",
    );
  });
});
