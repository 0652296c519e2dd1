// The core's compiled WebAssembly.Module, compiled once per process and shared by every Core.
// V8 keeps a module's optimized code with the module: compiled afresh for each Machine, every
// run paid again for lazy compilation and tier-up (measured: the first cpu-bound run after the
// previous module was garbage-collected ran 5-15% slower than the next), and a benchmark's
// warm-up did not warm a later run that got a module of its own.

// Node's modules are imported only when the build file is wanted: in a browser the caller passes
// the module's bytes, and this file must load without them.

/** Per build file: the file's identity when compiled (a rebuild compiles again), and the module. */
const fromFile = new Map<string, { identity: string; module: Promise<WebAssembly.Module> }>();
/** Caller-supplied bytes, keyed by the buffer object itself. */
const fromBytes = new WeakMap<object, Promise<WebAssembly.Module>>();

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

/** The compiled core: `wasm` if given (a caller's own build), else build/core(.debug).wasm. */
export function coreModule(wasm: BufferSource | undefined, debug: boolean): Promise<WebAssembly.Module> {
  if (wasm !== undefined) {
    let module = fromBytes.get(wasm);
    if (module === undefined) {
      module = WebAssembly.compile(wasm);
      fromBytes.set(wasm, module);
      module.catch(() => fromBytes.delete(wasm));
    }
    return module;
  }
  return coreWasmPath(debug).then(fileModule);
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
