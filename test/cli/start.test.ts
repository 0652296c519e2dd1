// README's first commands end in `npm start`: the demo guest must pass with status 0, which is
// what a person (or a script: npm ci && npm start && ...) reads as success.

import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT, ensureFreshDist } from "../support/fresh-dist.js";

describe("npm start", () => {
  beforeAll(ensureFreshDist, 120_000);

  it("runs the demo guest, which passes, with status 0", () => {
    const r = spawnSync("npm", ["start", "--silent"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    expect(r.stdout).toMatch(/^vmi386 demo guest/m);
    expect(r.stdout).toMatch(/\nPASS\n$/);
    expect(r.status, r.stderr).toBe(0);
  });
});
