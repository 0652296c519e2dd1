// Tests that run the built CLI (bin/vmi386.js imports dist/) must not run a stale one: they call
// the same check the example page's build uses, which runs tsc when a source is newer than
// dist/. After `npm ci` or `npm run build` dist/ is fresh and nothing runs.

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export { ensureFreshDist } from "../../scripts/fresh-dist.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const BIN = join(ROOT, "bin/vmi386.js");
