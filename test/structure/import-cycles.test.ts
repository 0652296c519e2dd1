// No import cycles in the core or the host: each file depends only on files below it, so a file
// can be read, and its initialization order understood, from its imports alone. dpdm parses
// with the TypeScript compiler, which reads the core's AssemblyScript files too (decorators
// like @inline on functions are a type error to TypeScript, not a parse error).

import { fileURLToPath } from "node:url";
import { parseCircular, parseDependencyTree } from "dpdm";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Every import cycle among the files `pattern` matches (paths relative to the repository). */
async function importCycles(pattern: string): Promise<string[]> {
  const tree = await parseDependencyTree(pattern, { context: root, cwd: root, transform: false, skipDynamicImports: false });
  // A relative import the parser could not resolve would hide an edge, and so maybe a cycle.
  const unresolved = Object.values(tree)
    .flatMap((deps) => deps ?? [])
    .filter((d) => d.request.startsWith(".") && d.id === null)
    .map((d) => `${d.issuer} imports ${d.request}`);
  expect(unresolved).toEqual([]);
  return parseCircular(tree).map((cycle) => cycle.join(" -> "));
}

describe("import cycles", () => {
  it("none in assembly/", async () => {
    expect(await importCycles("assembly/**/*.ts")).toEqual([]);
  });

  it("none in src/", async () => {
    expect(await importCycles("src/**/*.ts")).toEqual([]);
  });

  it("the check finds a cycle between AssemblyScript files", async () => {
    const cycles = await importCycles("test/structure/fixtures/cycle/*.ts");
    // Where the cycle is said to start depends on the order the files are found in.
    expect(cycles.map((cycle) => cycle.split(" -> ").sort())).toEqual([
      ["test/structure/fixtures/cycle/first.ts", "test/structure/fixtures/cycle/second.ts"],
    ]);
  });
});
