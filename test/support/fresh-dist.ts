// Tests that run the built CLI (bin/vmi386.js imports dist/) must not run a stale one: this
// compiles the host with tsc when any source under src/ is newer than dist/src/cli.js. After
// `npm ci` or `npm run build` dist/ is fresh and nothing runs.

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = join(ROOT, "bin/vmi386.js");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureFreshDist(): void {
  const cli = join(ROOT, "dist/src/cli.js");
  if (existsSync(cli) && statSync(cli).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  // tsc's status is not ours to judge here (type errors anywhere are npm run typecheck's
  // business), only that it emitted the CLI.
  spawnSync(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: ROOT, stdio: "ignore" });
  if (!existsSync(cli)) throw new Error("tsc emitted no dist/src/cli.js");
}
