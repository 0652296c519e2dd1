// Builds small ELF32 and a.out-kludge images byte by byte for the loader tests, so each test
// states exactly what is in the file. Field offsets follow the System V ABI (ELF header 52
// bytes, program headers 32 bytes each) and multiboot 0.6.96 §3.1.
export const MB_MAGIC = 0x1badb002;

export interface SegmentSpec {
  paddr: number;
  vaddr?: number;
  bytes: Uint8Array;
  /** Default: bytes.length. */
  memsz?: number;
  /** Default PF_R|PF_X. */
  flags?: number;
}

export interface ElfSpec {
  entry: number;
  segments: SegmentSpec[];
  /** Extra program headers of another type (e.g. PT_NOTE = 4) with no data. */
  extraPhdrTypes?: number[];
}

/** A multiboot header: magic, flags, checksum (correct unless given), then optional extra words. */
export function mbHeader(flags: number, extra: number[] = [], checksum?: number): Uint8Array {
  const words = [MB_MAGIC, flags, checksum ?? (-(MB_MAGIC + flags) >>> 0), ...extra];
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface BuiltElf {
  bytes: Uint8Array;
  /** File offset of each segment's data. */
  offsets: number[];
}

/** Headers at 0, segment data from file offset 0x100, each segment's data 16-byte aligned. */
export function buildElf(spec: ElfSpec): BuiltElf {
  const phnum = spec.segments.length + (spec.extraPhdrTypes?.length ?? 0);
  const offsets: number[] = [];
  let off = 0x100;
  for (const s of spec.segments) {
    offsets.push(off);
    off = (off + s.bytes.length + 15) & ~15;
  }
  const bytes = new Uint8Array(Math.max(off, 52 + phnum * 32));
  const dv = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]); // magic, ELFCLASS32, ELFDATA2LSB, EV_CURRENT
  dv.setUint16(16, 2, true); // ET_EXEC
  dv.setUint16(18, 3, true); // EM_386
  dv.setUint32(20, 1, true);
  dv.setUint32(24, spec.entry, true);
  dv.setUint32(28, 52, true); // e_phoff
  dv.setUint16(40, 52, true); // e_ehsize
  dv.setUint16(42, 32, true); // e_phentsize
  dv.setUint16(44, phnum, true);
  spec.segments.forEach((s, i) => {
    const p = 52 + i * 32;
    dv.setUint32(p, 1, true); // PT_LOAD
    dv.setUint32(p + 4, offsets[i], true);
    dv.setUint32(p + 8, s.vaddr ?? s.paddr, true);
    dv.setUint32(p + 12, s.paddr, true);
    dv.setUint32(p + 16, s.bytes.length, true);
    dv.setUint32(p + 20, s.memsz ?? s.bytes.length, true);
    dv.setUint32(p + 24, s.flags ?? 5, true);
    dv.setUint32(p + 28, 16, true);
    bytes.set(s.bytes, offsets[i]);
  });
  (spec.extraPhdrTypes ?? []).forEach((t, j) => dv.setUint32(52 + (spec.segments.length + j) * 32, t, true));
  return { bytes, offsets };
}

/** Little-endian field patch, for building the bad cases from a good image. */
export function patch32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value >>> 0, true);
  return copy;
}
export function patch16(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint16(offset, value, true);
  return copy;
}
export function patch8(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[offset] = value;
  return copy;
}
