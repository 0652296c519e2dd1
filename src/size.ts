// Memory sizes as people type them (`--mem 128M`) and as messages print them.
// Suffixes are binary (K = 1024), as QEMU's -m and the multiboot mem_* fields (KiB) use them.

import { RAM_MAX, RAM_MIN } from "../assembly/layout.js";

/** A size the user typed that is malformed or out of range; the CLI prints the message alone. */
export class SizeError extends Error {
  override readonly name = "SizeError";
}

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/**
 * Parses `123`, `64K`, `128M`, `1G` (case-insensitive; an optional `B` or `iB` after the
 * suffix is allowed: `128MiB`). Integers only: `1.5G` is rejected rather than rounded.
 * `what` names the option in the error message.
 */
export function parseSize(text: string, what = "size"): number {
  const m = /^\s*(\d+)\s*(?:([KMG])(?:i?B)?|B)?\s*$/i.exec(text);
  if (!m) {
    throw new SizeError(`${what} "${text}" is not a size: expected a whole number with an optional K, M or G suffix, such as 128M`);
  }
  const value = Number(m[1]) * UNITS[(m[2] ?? "").toUpperCase()];
  if (!Number.isSafeInteger(value)) throw new SizeError(`${what} "${text}" is too large`);
  return value;
}

/** Guest RAM the core accepts: 1 MiB to 3 GiB, a whole number of 4 KiB pages. */
export const MEM_MIN = RAM_MIN;
export const MEM_MAX = RAM_MAX;

/** parseSize plus the guest-RAM rules, with messages that say which rule and the limits. */
export function parseMemSize(text: string, what = "--mem"): number {
  const bytes = parseSize(text, what);
  if (bytes < MEM_MIN) throw new SizeError(`${what} ${text} is too small: guest RAM must be at least ${formatSize(MEM_MIN)}`);
  if (bytes > MEM_MAX) throw new SizeError(`${what} ${text} is too large: guest RAM can be at most ${formatSize(MEM_MAX)}`);
  if (bytes % 4096 !== 0) throw new SizeError(`${what} ${text} is not a multiple of 4 KiB (${bytes} bytes)`);
  return bytes;
}

/** `134217728` → `128M`, `1536K` → `1536K`, `1000` → `1000 bytes`: exact, never rounded. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [["G", 1024 ** 3], ["M", 1024 ** 2], ["K", 1024]] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${unit}`;
  }
  return `${bytes} bytes`;
}
