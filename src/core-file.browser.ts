// The core's build file in a browser: there is none to read, so a Machine (or Core) there needs
// the module's bytes. Bundlers take this file for core-file.ts (package.json "browser"), which
// keeps Node's modules out of a browser bundle.

/** Rejects: the caller must pass the bytes. */
export function builtCoreModule(debug: boolean): Promise<WebAssembly.Module> {
  const name = debug ? "core.debug.wasm" : "core.wasm";
  return Promise.reject(
    new Error(
      `vmi386: no core module: in a browser pass MachineOptions.wasm, the bytes of the package's build/${name} ` +
        `(e.g. wasm: await (await fetch(url)).arrayBuffer())`,
    ),
  );
}
