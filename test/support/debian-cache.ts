// Debian bookworm's kernel and busybox-static, fetched with apt by scripts/fetch-debian.sh into
// .cache/debian (nothing from them is committed), and the test initramfs built from them. Shared
// by the tests that boot Linux: a failed fetch is a skip only when the Debian mirror is
// unreachable and this is not CI (CI=true); otherwise it fails the test.

import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildInitramfs } from "../../scripts/build-initramfs.js";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const DEBIAN_CACHE = join(ROOT, ".cache/debian");

export interface Prepared {
  ok: boolean;
  /** Why not: a skip (network unreachable outside CI) or a failure. */
  why?: string;
  skip?: boolean;
}

function run(script: string): { status: number | null; out: string } {
  const r = spawnSync("sh", [join(ROOT, "scripts", script)], { cwd: ROOT, encoding: "utf8" });
  return { status: r.status, out: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

/** The mirror the fetch script used, from its private sources.list; null if it got no further. */
function mirror(): string | null {
  const f = join(DEBIAN_CACHE, "apt/etc/apt/sources.list");
  if (!existsSync(f)) return null;
  const m = /^deb \[[^\]]*\] (\S+) bookworm /m.exec(readFileSync(f, "utf8"));
  return m ? m[1] : null;
}

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/dists/bookworm/Release`, { method: "HEAD", signal: AbortSignal.timeout(15_000) });
    return true;
  } catch {
    return false;
  }
}

/** Fetches (or finds) the kernel and busybox, and builds the default initramfs. */
export async function prepareDebian(): Promise<Prepared> {
  const fetched = run("fetch-debian.sh");
  if (fetched.status !== 0) {
    const url = mirror();
    if (url !== null && !process.env.CI && !(await reachable(url))) {
      return { ok: false, skip: true, why: `the Debian mirror ${url} is unreachable: skipping Debian's kernel (fetch-debian.sh said: ${fetched.out.trim()})` };
    }
    return { ok: false, why: `scripts/fetch-debian.sh failed:\n${fetched.out}` };
  }
  buildInitramfs({ cache: DEBIAN_CACHE });
  return { ok: true };
}
