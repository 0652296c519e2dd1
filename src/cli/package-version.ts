// The version of the vmi386 package this code belongs to, for --version: from its package.json,
// found by walking up from this module (src/cli/ when run from source, dist/src/cli/ once built,
// and node_modules/vmi386/dist/src/cli/ once installed).

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PACKAGE_NAME = "vmi386";

export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = readPackage(join(dir, "package.json"));
    if (pkg?.name === PACKAGE_NAME && typeof pkg.version === "string") return pkg.version;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json of ${PACKAGE_NAME} above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

function readPackage(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
