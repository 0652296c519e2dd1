// The JIT in headless Chromium, on a page's main thread and in a Worker, compiling units
// synchronously where the browser allows it (Chromium refuses a synchronous compile on the main
// thread over a size: 4 KB in older versions, 8 MB now) and asynchronously when told to: a guest
// run with the JIT compiling after a couple of block entries gives the interpreter's output and
// counters, and units were compiled with none failing. The MIPS of each run are printed.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { serveStatic } from "../../examples/browser/serve.js";
import { ensureFreshDist } from "../../scripts/fresh-dist.js";
import { CHROMIUM as CHROMIUM_TOOL, requiresTool } from "../support/requires-tool.js";
import { type HeadlessChromium, launchChromium } from "./chromium.js";
import type { GuestRun } from "./jit-runner.js";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const GUESTS = { "cpu-bound-quick.elf": "cpu-bound/cpu-bound-quick.elf", "demo.elf": "demo/demo.elf" };

requiresTool(CHROMIUM_TOOL).describe("the JIT in headless Chromium", () => {
  let site: string;
  let server: Server;
  let chromium: HeadlessChromium;
  let page: Page;
  const errors: string[] = [];

  beforeAll(async () => {
    ensureFreshDist();
    site = mkdtempSync(join(tmpdir(), "vmi386-jit-page-"));
    const result = await build({ entryPoints: [join(here, "jit-runner.ts")], outdir: site, bundle: true, format: "esm", platform: "browser", target: "es2022", logLevel: "silent" });
    expect(result.errors).toEqual([]);
    writeFileSync(join(site, "index.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="jit-runner.js"></script>\n');
    copyFileSync(join(root, "build/core.wasm"), join(site, "core.wasm"));
    for (const [name, path] of Object.entries(GUESTS)) copyFileSync(join(root, "test/guests", path), join(site, name));
    let url: string;
    ({ server, url } = await serveStatic(site, 0));
    chromium = await launchChromium();
    page = await chromium.context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => "runGuest" in window);
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    server?.close();
    if (site) rmSync(site, { recursive: true, force: true });
  });

  const run = (where: "main" | "worker", r: GuestRun) =>
    page.evaluate(
      ([w, arg]) => (window as unknown as Record<string, (a: GuestRun) => Promise<unknown>>)[w === "main" ? "runGuest" : "runGuestInWorker"](arg),
      [where, r] as const,
    ) as Promise<{ observed: unknown; mips: number; stats?: Record<string, number>; lastError?: string }>;

  for (const where of ["main", "worker"] as const) {
    for (const image of Object.keys(GUESTS)) {
      // The demo ends within its first slice, before a promise can settle: only the longer guest
      // shows asynchronous compiles.
      for (const compile of image === "demo.elf" ? (["auto"] as const) : (["auto", "async"] as const)) {
        it(`${image} on the ${where === "main" ? "main thread" : "Worker"}, compile ${compile}: the interpreter's output and counters, units compiled`, async () => {
          const interpreted = await run(where, { image, jit: false });
          const compiled = await run(where, { image, jit: { threshold: 2, compile } });
          console.log(
            `${image} ${where} ${compile}: ${interpreted.mips.toFixed(1)} MIPS interpreted, ${compiled.mips.toFixed(1)} with the JIT ` +
              `(${compiled.stats!.unitsCompiled} units, ${compiled.stats!.asyncCompiled} of them asynchronously)`,
          );
          expect(compiled.lastError).toBeUndefined();
          expect(compiled.stats!.failed).toBe(0);
          expect(compiled.stats!.unitsCompiled).toBeGreaterThan(0);
          if (compile === "async") expect(compiled.stats!.asyncCompiled).toBe(compiled.stats!.unitsCompiled);
          expect(compiled.observed).toEqual(interpreted.observed);
          expect(errors).toEqual([]);
        }, 240_000);
      }
    }
  }
});
