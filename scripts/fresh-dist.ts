// dist/ as tsc builds it, compiled again when a source is newer: what imports the package as a
// consumer does (the example page's bundle, the browser bundle test) must not get stale code.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Runs tsc when a file of src/ (or assembly/layout.ts, which tsc compiles too) is newer than dist/. */
export function ensureFreshDist(): void {
  const compiled = join(root, "dist/src/index.js");
  const newest = Math.max(newestTs(join(root, "src")), statSync(join(root, "assembly/layout.ts")).mtimeMs);
  if (existsSync(compiled) && newest <= statSync(compiled).mtimeMs) return;
  const r = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.json")], { encoding: "utf8" });
  if (!existsSync(compiled)) throw new Error(`tsc did not build dist/src/index.js (status ${r.status}): ${r.stdout}${r.stderr}`);
}

function newestTs(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (f.endsWith(".ts")) newest = Math.max(newest, statSync(join(dir, f)).mtimeMs);
  }
  return newest;
}
