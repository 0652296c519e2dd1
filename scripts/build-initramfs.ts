// Builds the test initramfs from the busybox that scripts/fetch-debian.sh fetched:
//   CACHE/initramfs.cpio   an uncompressed newc archive (the kernel unpacks it without spending
//                          guest time on decompression) holding /init (scripts/initramfs/init
//                          unless another is given) and /bin/busybox; /init makes the applet
//                          links at boot.
// The archive is reproducible (fixed owners and times, entries in a fixed order) and needs
// nothing outside Node. Run: npm run initramfs [-- CACHE]   (CACHE defaults to .cache/debian)

import { readFileSync, renameSync, writeFileSync, existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeNewc, type NewcEntry } from "../src/initramfs/newc.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_CACHE = join(ROOT, ".cache/debian");
export const DEFAULT_INIT = join(ROOT, "scripts/initramfs/init");

/** Directories every busybox initramfs here has; /init mounts proc, sys and dev on them. */
const DIRS = ["bin", "dev", "proc", "root", "sys", "tmp"];

export interface InitramfsOptions {
  /** The folder holding fetch-debian.sh's busybox; the archive is written there too. */
  cache?: string;
  /** The /init script to use instead of scripts/initramfs/init. */
  init?: string;
  /** More members (a test's programs, say); directories they need must be listed before them. */
  extra?: readonly NewcEntry[];
  /** The archive's file name inside the cache folder. */
  output?: string;
}

/** The archive's members: the fixed directories, busybox, /init, then the caller's extras. */
export function busyboxInitramfs(busybox: Uint8Array, init: Uint8Array, extra: readonly NewcEntry[] = []): Uint8Array {
  const entries: NewcEntry[] = [
    ...DIRS.map((name): NewcEntry => ({ kind: "dir", name })),
    { kind: "file", name: "bin/busybox", data: busybox, mode: 0o755 },
    { kind: "file", name: "init", data: init, mode: 0o755 },
    ...extra,
  ];
  return writeNewc(entries);
}

/** Writes CACHE/initramfs.cpio (or options.output) and returns its path. */
export function buildInitramfs(options: InitramfsOptions = {}): string {
  const cache = resolve(options.cache ?? DEFAULT_CACHE);
  const bb = join(cache, "busybox");
  if (!existsSync(bb) || statSync(bb).size === 0) {
    throw new Error(`build-initramfs: no ${bb}: run scripts/fetch-debian.sh first`);
  }
  const archive = busyboxInitramfs(readFileSync(bb), readFileSync(options.init ?? DEFAULT_INIT), options.extra);
  const out = join(cache, options.output ?? "initramfs.cpio");
  // Written beside and renamed, so a reader never sees half an archive.
  writeFileSync(`${out}.tmp`, archive);
  renameSync(`${out}.tmp`, out);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const out = buildInitramfs({ cache: process.argv[2] });
    console.log(`build-initramfs: ${out} (${statSync(out).size} bytes)`);
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
