// The snapshot file. Node only (node:zlib, node:crypto), imported when a file is encoded or
// decoded, so that the library still loads in a browser.
//
//   0   8 bytes   magic "VMI386SN"
//   8   u32 LE    file format version (FILE_VERSION)
//   12  u32 LE    length H of the header
//   16  H bytes   header: UTF-8 JSON — the core build identity, RAM size, what the body holds,
//                 and the machine's plain-data state (options, devices, host state, globals)
//   ..  B bytes   body: compressed (header.compression) page list (u32 LE page numbers) then
//                 the non-zero 4 KiB pages of the core's memory
//   ..  32 bytes  SHA-256 of everything before it
//
// A file that is truncated, corrupted, foreign or of another format is refused with one line
// (SnapshotError) before anything is built from it; Machine.restore refuses another core build.

import { type MachineSnapshot, SnapshotError } from "./snapshot.js";
import { PAGE_SIZE } from "./pages.js";

export const FILE_MAGIC = "VMI386SN";
export const FILE_VERSION = 1;
const PREAMBLE = 16;
const CHECKSUM = 32;
/** zlib level: 1 keeps saving fast; higher levels gained little on a booted Debian's snapshot. */
const DEFLATE_LEVEL = 1;

export { SnapshotError };

interface Header {
  build: string;
  ramSize: number;
  compression: "deflate";
  /** Core memory length, non-zero page count, compressed body length. */
  memoryBytes: number;
  pages: number;
  bodyBytes: number;
  state: Omit<MachineSnapshot, "core"> & { globals: MachineSnapshot["core"]["globals"] };
}

export async function encodeSnapshot(s: MachineSnapshot): Promise<Uint8Array> {
  const { createHash } = await import("node:crypto");
  const { deflateSync } = await import("node:zlib");
  const { core, ...rest } = s;
  const { pages, data } = core.memory;
  const raw = new Uint8Array(pages.length * 4 + data.length);
  const list = new DataView(raw.buffer);
  for (let i = 0; i < pages.length; i++) list.setUint32(i * 4, pages[i], true);
  raw.set(data, pages.length * 4);
  const body = deflateSync(raw, { level: DEFLATE_LEVEL });
  const header: Header = {
    build: core.build,
    ramSize: s.options.memSize,
    compression: "deflate",
    memoryBytes: core.memory.bytes,
    pages: pages.length,
    bodyBytes: body.length,
    state: { ...rest, globals: core.globals },
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? { $number: String(v) } : v)));
  const out = new Uint8Array(PREAMBLE + headerBytes.length + body.length + CHECKSUM);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(FILE_MAGIC), 0);
  view.setUint32(8, FILE_VERSION, true);
  view.setUint32(12, headerBytes.length, true);
  out.set(headerBytes, PREAMBLE);
  out.set(body, PREAMBLE + headerBytes.length);
  const end = out.length - CHECKSUM;
  out.set(createHash("sha256").update(out.subarray(0, end)).digest(), end);
  return out;
}

export async function decodeSnapshot(file: Uint8Array): Promise<MachineSnapshot> {
  const { createHash } = await import("node:crypto");
  const { inflateSync } = await import("node:zlib");
  if (file.length < FILE_MAGIC.length || new TextDecoder().decode(file.subarray(0, FILE_MAGIC.length)) !== FILE_MAGIC) {
    throw new SnapshotError("not a vmi386 snapshot (no VMI386SN magic at its start)");
  }
  if (file.length < PREAMBLE + CHECKSUM) throw new SnapshotError(`the snapshot is truncated: ${file.length} bytes`);
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  const version = view.getUint32(8, true);
  if (version !== FILE_VERSION) throw new SnapshotError(`the snapshot has file format ${version}, this vmi386 reads format ${FILE_VERSION}`);
  const end = file.length - CHECKSUM;
  const sum = createHash("sha256").update(file.subarray(0, end)).digest();
  if (!sum.equals(file.subarray(end))) {
    throw new SnapshotError(`the snapshot is truncated or corrupted: its SHA-256 checksum does not match (${file.length} bytes)`);
  }
  const headerLength = view.getUint32(12, true);
  let header: Header;
  try {
    if (PREAMBLE + headerLength > end) throw new Error("header longer than the file");
    header = JSON.parse(new TextDecoder().decode(file.subarray(PREAMBLE, PREAMBLE + headerLength)), (_k, v: unknown) =>
      v !== null && typeof v === "object" && "$number" in v ? Number((v as { $number: string }).$number) : v,
    ) as Header;
  } catch (e) {
    throw new SnapshotError(`the snapshot's header is malformed: ${(e as Error).message}`);
  }
  const bodyStart = PREAMBLE + headerLength;
  if (typeof header?.state !== "object" || header.state === null || typeof header.build !== "string" || !Number.isInteger(header.memoryBytes)) {
    throw new SnapshotError("the snapshot's header lacks the machine state");
  }
  if (header.compression !== "deflate" || bodyStart + header.bodyBytes !== end || !Number.isInteger(header.pages) || header.pages < 0) {
    throw new SnapshotError("the snapshot's header does not describe its body");
  }
  let raw: Uint8Array;
  try {
    raw = inflateSync(file.subarray(bodyStart, end), { maxOutputLength: Math.max(1, header.pages * (4 + PAGE_SIZE)) });
  } catch (e) {
    throw new SnapshotError(`the snapshot's memory does not decompress: ${(e as Error).message}`);
  }
  if (raw.length !== header.pages * (4 + PAGE_SIZE)) throw new SnapshotError(`the snapshot's memory holds ${raw.length} bytes, its header says ${header.pages} pages`);
  const pages = new Uint32Array(header.pages);
  const list = new DataView(raw.buffer, raw.byteOffset, pages.length * 4);
  for (let i = 0; i < pages.length; i++) pages[i] = list.getUint32(i * 4, true);
  const data = new Uint8Array(raw.buffer, raw.byteOffset + pages.length * 4, pages.length * PAGE_SIZE);
  const { globals, ...rest } = header.state;
  return { ...rest, core: { build: header.build, memory: { bytes: header.memoryBytes, pages, data }, globals } };
}
