// The "newc" cpio archive, the format Linux unpacks as an initramfs (its "early userspace
// buffer format"): per member a 110-byte ASCII header of thirteen 8-digit hex fields, the
// NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes; a member named
// "TRAILER!!!" ends the archive, and zeros fill it to a 512-byte block. Written here so that an
// initramfs needs nothing outside Node.

/** One archive member. Directories and symlinks carry no data of their own. */
export type NewcEntry =
  | { kind: "file"; name: string; data: Uint8Array; mode?: number }
  | { kind: "dir"; name: string; mode?: number }
  | { kind: "symlink"; name: string; target: string };

const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const TRAILER = "TRAILER!!!";
/** Fields are 8 hex digits: a member's size must fit in 32 bits. */
const MAX_FIELD = 0xffffffff;

const utf8 = new TextEncoder();

/**
 * The archive of `entries`, in the order given, with owners 0:0, times 0 and inode numbers
 * counted from 0 (as GNU cpio --reproducible numbers them), so the same entries always give the same bytes. Names are relative ("bin/sh"),
 * as the kernel expects; a leading "/" or "./" is an error rather than something guessed at.
 */
export function writeNewc(entries: readonly NewcEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
    const pad = (4 - (size & 3)) & 3;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
  };
  const seen = new Set<string>();
  let ino = 0;
  for (const entry of entries) {
    checkName(entry.name);
    if (seen.has(entry.name)) throw new Error(`newc: "${entry.name}" is in the archive twice`);
    seen.add(entry.name);
    const data = entry.kind === "file" ? entry.data : entry.kind === "symlink" ? utf8.encode(entry.target) : new Uint8Array(0);
    const mode =
      entry.kind === "file" ? S_IFREG | ((entry.mode ?? 0o644) & 0o7777)
      : entry.kind === "dir" ? S_IFDIR | ((entry.mode ?? 0o755) & 0o7777)
      : S_IFLNK | 0o777;
    const nlink = entry.kind === "dir" ? 2 : 1;
    push(header(ino++, mode, nlink, data.length, entry.name));
    if (data.length) push(data);
  }
  push(header(0, 0, 1, 0, TRAILER));
  // Zero-filled to a whole 512-byte block, as cpio tools write it; the kernel skips the zeros.
  const out = new Uint8Array((size + 511) & ~511);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function checkName(name: string): void {
  if (name === "" || name.startsWith("/") || name.startsWith("./") || name.split("/").includes("..")) {
    throw new Error(`newc: member name "${name}" must be a relative path without "..", like "bin/sh"`);
  }
  if (name.includes("\0")) throw new Error(`newc: member name ${JSON.stringify(name)} contains a NUL`);
  if (name === TRAILER) throw new Error(`newc: "${TRAILER}" is the archive's end marker, not a member name`);
}

/** The fixed header followed by the NUL-terminated name (padding is added by the caller). */
function header(ino: number, mode: number, nlink: number, fileSize: number, name: string): Uint8Array {
  if (fileSize > MAX_FIELD) throw new Error(`newc: "${name}" is ${fileSize} bytes; a newc member holds at most 4 GiB - 1`);
  const nameBytes = utf8.encode(name);
  const fields = [ino, mode, 0, 0, nlink, 0, fileSize, 0, 0, 0, 0, nameBytes.length + 1, 0];
  const text = "070701" + fields.map((f) => f.toString(16).toUpperCase().padStart(8, "0")).join("");
  const out = new Uint8Array(text.length + nameBytes.length + 1);
  out.set(utf8.encode(text), 0);
  out.set(nameBytes, text.length);
  return out;
}
