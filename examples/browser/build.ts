// Builds the example page into examples/browser/out/: the page and its worker bundled by esbuild
// for the browser (the library comes in as a consumer gets it, `from "vmi386"`, through
// package.json), xterm.js's stylesheet, the core's module and the demo guest. The folder is
// then a static site: serve.ts serves it, any web server could.

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { ensureFreshDist } from "../../scripts/fresh-dist.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const DEFAULT_OUT_DIR = join(here, "out");

/** Bundles the page into `outDir` (created if need be) and returns it. */
export async function buildExample(outDir = DEFAULT_OUT_DIR): Promise<string> {
  ensureFreshDist();
  const wasm = join(root, "build/core.wasm");
  if (!existsSync(wasm)) throw new Error(`cannot find build/core.wasm: run "npm run build" first`);
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(here, "main.ts"), join(here, "worker.ts")],
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    sourcemap: true,
    logLevel: "silent",
  });
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.map((e) => e.text).join("; ")}`);
  copyFileSync(join(here, "index.html"), join(outDir, "index.html"));
  copyFileSync(wasm, join(outDir, "core.wasm"));
  copyFileSync(join(root, "test/guests/demo/demo.elf"), join(outDir, "demo.elf"));
  return outDir;
}
