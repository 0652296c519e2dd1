// Build step after asc: makes every mutable global of the compiled core an export named
// `state$<index>`, and stamps the module with its build identity, so that a snapshot can save
// and restore the core's globals generically (src/snapshot/core-globals.ts) and refuse a file
// from another build. Run on the optimized module, so the optimizer has already removed or
// frozen the globals it could, and nothing new needs saving (exporting a global earlier would
// stop the optimizer from making it a constant).
//
// Usage: tsx scripts/export-core-globals.ts build/core.wasm [more.wasm ...]

import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import binaryen from "binaryen";
import { BUILD_SECTION, GLOBAL_EXPORT_PREFIX } from "../src/snapshot/core-globals.js";

for (const path of process.argv.slice(2)) {
  const bytes = readFileSync(path);
  const module = binaryen.readBinary(bytes);
  module.setFeatures(binaryen.Features.All);
  const exported = new Set<string>();
  for (let i = 0; i < module.getNumExports(); i++) exported.add(binaryen.getExportInfo(module.getExportByIndex(i)).name);
  let count = 0;
  for (let i = 0; i < module.getNumGlobals(); i++) {
    const g = binaryen.getGlobalInfo(module.getGlobalByIndex(i));
    if (!g.mutable || g.module !== "") continue;
    const name = GLOBAL_EXPORT_PREFIX + i;
    if (exported.has(name)) throw new Error(`${path}: already has an export ${name}: run this step once, on asc's output`);
    module.addGlobalExport(g.name, name);
    count++;
  }
  // The identity is the module as asc left it (same source and compiler: same identity).
  const identity = createHash("sha256").update(bytes).digest("hex").slice(0, 32);
  module.addCustomSection(BUILD_SECTION, new TextEncoder().encode(identity));
  if (!module.validate()) throw new Error(`${path}: the module does not validate after exporting its globals`);
  writeFileSync(path, module.emitBinary());
  module.dispose();
  console.log(`${path}: ${count} mutable globals exported for snapshots, build ${identity}`);
}
