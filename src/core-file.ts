// The core's build file in Node: build/core.wasm (or core.debug.wasm) beside the package,
// compiled again only when the file has changed. A browser has no such file: bundlers take
// core-file.browser.ts instead (package.json "browser"), and there the caller passes the bytes.
//
// Node's modules are imported only when the file is wanted, so that this file also loads
// unbundled in a browser (native ES modules, where the "browser" field does not apply).

import { builtCoreModule as inBrowser } from "./core-file.browser.js";

/** Per build file: the file's identity when compiled (a rebuild compiles again), and the module. */
const fromFile = new Map<string, { identity: string; module: Promise<WebAssembly.Module> }>();

/** The compiled build/core(.debug).wasm. */
export async function builtCoreModule(debug: boolean): Promise<WebAssembly.Module> {
  if (typeof process === "undefined" || process.versions?.node === undefined) return inBrowser(debug);
  return fileModule(await coreWasmPath(debug));
}

/** Where the built core lives, relative to this file both in src/ and in dist/src/. */
async function coreWasmPath(debug: boolean): Promise<string> {
  const { existsSync } = await import("node:fs");
  const { fileURLToPath } = await import("node:url");
  const name = debug ? "core.debug.wasm" : "core.wasm";
  for (const rel of [`../build/${name}`, `../../build/${name}`]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(url)) return fileURLToPath(url);
  }
  throw new Error(`cannot find build/${name}: run "npm run build" first`);
}

/** The module compiled from the file at `path`, again only when the file has changed. */
export async function fileModule(path: string): Promise<WebAssembly.Module> {
  const { readFile, stat } = await import("node:fs/promises");
  const s = await stat(path);
  const identity = `${s.size}:${s.mtimeMs}`;
  const cached = fromFile.get(path);
  if (cached !== undefined && cached.identity === identity) return cached.module;
  const module = readFile(path).then((bytes) => WebAssembly.compile(bytes));
  fromFile.set(path, { identity, module });
  module.catch(() => {
    if (fromFile.get(path)?.module === module) fromFile.delete(path);
  });
  return module;
}
