// The JIT's compiler thread in a browser: none (a Web Worker would need the page to serve this
// package's files to it). Bundlers take this file for compile-thread.ts (package.json "browser"),
// which keeps Node's modules out of a browser bundle; the Jit compiles on the page's thread.

import type { CompilePort } from "./compile-protocol.js";

export function openCompileThread(_owner: object): Promise<CompilePort | undefined> {
  return Promise.resolve(undefined);
}
