// Starting a worker thread on one of the library's own modules, whether the library runs
// compiled (dist/) or from its TypeScript sources (vitest, tsx). Takes Node's Worker class as an
// argument, so that this file imports nothing of Node's and loads wherever the library does.

/**
 * A worker thread running module `name` (without extension) beside the module whose
 * `import.meta.url` is `from`: `name.js` when compiled; from the sources `name.ts`, which a
 * worker can load only once tsx's loader is registered in it (Node 20 does not pass --import
 * loaders on to worker threads).
 */
export function spawnWorker<W>(Worker: new (entry: string | URL, options?: { eval?: boolean }) => W, from: string, name: string): W {
  const fromSource = from.endsWith(".ts");
  const entry = new URL(`./${name}${fromSource ? ".ts" : ".js"}`, from);
  if (!fromSource) return new Worker(entry);
  let api = "tsx/esm/api";
  try {
    api = import.meta.resolve(api);
  } catch {
    // Resolved from the working directory instead (the checkout, under vitest and npm scripts).
  }
  const code = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true });
}
