// Reading the files the CLI is given (image, --kernel, --initrd) without trusting what they
// are: a character device (/dev/zero) or a FIFO would never end a plain readFile, and a file
// bigger than guest RAM cannot be loaded anyway, so both are refused before a byte is read.

import { open, stat } from "node:fs/promises";
import type { Stats } from "node:fs";

/** Why a file cannot be used; the message is one line naming the file. */
export class InputFileError extends Error {}

/**
 * The whole of `path`, which must be a regular file of at most `limit` bytes (`limitText`
 * says what the limit is, for the error message). Reads no more than the size it checked,
 * even if the file grows meanwhile.
 */
export async function readInputFile(path: string, limit: number, limitText: string): Promise<Uint8Array> {
  // stat before open: opening a FIFO blocks until someone writes to it.
  checkKind(path, await statOrExplain(path));
  let file;
  try {
    file = await open(path, "r");
  } catch (e) {
    throw new InputFileError(`cannot read ${path}: ${explain(e)}`);
  }
  try {
    // fstat the descriptor too: the path may have been replaced since the stat.
    const st = await file.stat();
    checkKind(path, st);
    if (st.size > limit) throw new InputFileError(`${path} is ${st.size} bytes, more than ${limitText}: refused without reading it`);
    const bytes = new Uint8Array(st.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await file.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } finally {
    await file.close();
  }
}

async function statOrExplain(path: string): Promise<Stats> {
  try {
    return await stat(path);
  } catch (e) {
    throw new InputFileError(`cannot read ${path}: ${explain(e)}`);
  }
}

function checkKind(path: string, st: Stats): void {
  if (st.isFile()) return;
  const kind = st.isDirectory()
    ? "it is a directory"
    : st.isCharacterDevice()
      ? "it is a character device, not a regular file"
      : st.isBlockDevice()
        ? "it is a block device, not a regular file"
        : st.isFIFO()
          ? "it is a pipe (FIFO), not a regular file"
          : st.isSocket()
            ? "it is a socket, not a regular file"
            : "it is not a regular file";
  throw new InputFileError(`cannot read ${path}: ${kind}`);
}

function explain(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "ENOENT") return "no such file";
  if (err.code === "EACCES") return "permission denied";
  if (err.code === "ENOTDIR") return "a component of the path is not a directory";
  return err.message;
}
