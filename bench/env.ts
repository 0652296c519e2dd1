// What ran: the host (Node, CPU, OS) and the versions of both emulators, printed above the
// table and stored with it, since absolute numbers mean little without them.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";

export interface HostInfo {
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  vmi386Commit: string;
  v86Version: string;
  date: string;
}

export function describeHost(): HostInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() || "unknown CPU",
    cores: cpus.length,
    platform: `${process.platform} ${process.arch} (${os.release()})`,
    vmi386Commit: gitCommit(),
    v86Version: v86Version(),
    date: new Date().toISOString(),
  };
}

/** The checkout's commit, with "+dirty" when tracked files differ from it; "unknown" outside git. */
function gitCommit(): string {
  try {
    const opts = { encoding: "utf8" as const, stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"] };
    const head = execFileSync("git", ["rev-parse", "--short=10", "HEAD"], opts).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], opts).trim() !== "";
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}

function v86Version(): string {
  try {
    const require = createRequire(import.meta.url);
    const main = require.resolve("v86");
    // The package's main is build/libv86.mjs; its package.json sits one level up.
    const pkg = JSON.parse(readFileSync(new URL("../package.json", `file://${main}`), "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "not installed";
  }
}

export function hostLine(h: HostInfo): string {
  return `node ${h.node} (V8 ${h.v8}) on ${h.cpu}, ${h.cores} cores, ${h.platform}; vmi386 ${h.vmi386Commit}, v86 ${h.v86Version}`;
}
