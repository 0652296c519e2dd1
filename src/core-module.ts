// The core's compiled WebAssembly.Module, compiled once per process and shared by every Core.
// V8 keeps a module's optimized code with the module: a module compiled afresh for each Machine
// would make every run after a garbage collection of the previous one pay again for lazy
// compilation and tier-up, and a benchmark's warm-up would not warm a later run that got a module
// of its own.

import { builtCoreModule } from "./core-file.js";

/** Caller-supplied bytes, keyed by the buffer object itself. */
const fromBytes = new WeakMap<object, Promise<WebAssembly.Module>>();

/** The compiled core: `wasm` if given (a caller's own build, or a browser's), else the build file (core-file.ts). */
export function coreModule(wasm: BufferSource | undefined, debug: boolean): Promise<WebAssembly.Module> {
  if (wasm === undefined) return builtCoreModule(debug);
  let module = fromBytes.get(wasm);
  if (module === undefined) {
    module = WebAssembly.compile(wasm);
    fromBytes.set(wasm, module);
    module.catch(() => fromBytes.delete(wasm));
  }
  return module;
}
