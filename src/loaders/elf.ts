// A strict reader for the one ELF shape vmi386 boots: a 32-bit little-endian i386 executable.
// Only the file header and the program headers matter to a loader (section headers are for
// linkers and debuggers), so that is all this reads. The image is untrusted: every offset and
// size is checked against the file before it is used, and anything odd is a LoadError.
//
// Hand-written rather than an npm parser: the npm ELF readers (elfy, elf-tools, ...) are
// unmaintained, Buffer-only (we also run in browsers) and lenient about truncation, which is
// exactly what a loader must not be. Field offsets are from the System V ABI's ELF chapter
// ("ELF Header", "Program Header") and its i386 supplement.

import { LoadError, hex } from "./load-error.js";

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
const EI_CLASS = 4;
const EI_DATA = 5;
const EI_VERSION = 6;
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
export const ET_EXEC = 2;
export const EM_386 = 3;
/** Size of an Elf32_Ehdr. */
export const ELF32_EHDR_SIZE = 52;
/** Size of an Elf32_Phdr; e_phentsize may be larger (later fields ignored), never smaller. */
export const ELF32_PHDR_SIZE = 32;

export const PT_NULL = 0;
export const PT_LOAD = 1;
export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface Elf32ProgramHeader {
  /** Position in the program header table, for messages. */
  readonly index: number;
  readonly type: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly paddr: number;
  readonly filesz: number;
  readonly memsz: number;
  readonly flags: number;
  readonly align: number;
}

export interface Elf32Executable {
  readonly entry: number;
  readonly programHeaders: readonly Elf32ProgramHeader[];
}

/** True when the bytes start with the ELF magic (the rest may still be invalid). */
export function hasElfMagic(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

/**
 * Parses an ELF32 i386 executable's header and program headers. Checks that the file is what
 * it claims and that every program header's file range lies inside the file; it does not judge
 * addresses (that is the loader's business: it knows the RAM size and what else lives there).
 * `name` is the file name used in error messages.
 */
export function parseElf32(bytes: Uint8Array, name: string): Elf32Executable {
  if (!hasElfMagic(bytes)) throw new LoadError(`${name} is not an ELF file (no \\x7fELF magic at offset 0)`);
  if (bytes.length < ELF32_EHDR_SIZE) {
    throw new LoadError(`${name} is truncated: ${bytes.length} bytes, less than the ${ELF32_EHDR_SIZE}-byte ELF header`);
  }
  if (bytes[EI_CLASS] !== ELFCLASS32) {
    throw new LoadError(`${name} is not a 32-bit ELF file (EI_CLASS ${bytes[EI_CLASS]}, expected 1)`);
  }
  if (bytes[EI_DATA] !== ELFDATA2LSB) {
    throw new LoadError(`${name} is not a little-endian ELF file (EI_DATA ${bytes[EI_DATA]}, expected 1)`);
  }
  if (bytes[EI_VERSION] !== EV_CURRENT) {
    throw new LoadError(`${name} has unknown ELF version ${bytes[EI_VERSION]} (expected 1)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  const version = dv.getUint32(20, true);
  const entry = dv.getUint32(24, true);
  const phoff = dv.getUint32(28, true);
  const phentsize = dv.getUint16(42, true);
  const phnum = dv.getUint16(44, true);
  if (machine !== EM_386) throw new LoadError(`${name} is not an i386 ELF file (e_machine ${machine}, expected 3)`);
  if (type !== ET_EXEC) {
    throw new LoadError(`${name} is not an ELF executable (e_type ${type}, expected 2 = ET_EXEC)`);
  }
  if (version !== EV_CURRENT) throw new LoadError(`${name} has unknown ELF version ${version} in e_version (expected 1)`);
  if (phnum === 0) throw new LoadError(`${name} has no program headers (e_phnum is 0)`);
  // 0xffff means "the real count is in section 0" (PN_XNUM); no kernel needs that many.
  if (phnum === 0xffff) throw new LoadError(`${name} uses an extended program header count (e_phnum 0xffff), which is not supported`);
  if (phentsize < ELF32_PHDR_SIZE) {
    throw new LoadError(`${name} has e_phentsize ${phentsize}, less than the ${ELF32_PHDR_SIZE} bytes of an Elf32_Phdr`);
  }
  const tableEnd = phoff + phnum * phentsize; // < 2^32 + 2^32: exact in a double
  if (tableEnd > bytes.length) {
    throw new LoadError(
      `${name} is truncated: its program header table ends at offset ${hex(tableEnd)}, beyond the end of the ${bytes.length}-byte file`,
    );
  }
  const programHeaders: Elf32ProgramHeader[] = [];
  for (let index = 0; index < phnum; index++) {
    const o = phoff + index * phentsize;
    const ph: Elf32ProgramHeader = {
      index,
      type: dv.getUint32(o, true),
      offset: dv.getUint32(o + 4, true),
      vaddr: dv.getUint32(o + 8, true),
      paddr: dv.getUint32(o + 12, true),
      filesz: dv.getUint32(o + 16, true),
      memsz: dv.getUint32(o + 20, true),
      flags: dv.getUint32(o + 24, true),
      align: dv.getUint32(o + 28, true),
    };
    if (ph.type === PT_LOAD) {
      if (ph.filesz > ph.memsz) {
        throw new LoadError(
          `${name}: program header ${index} has p_filesz ${hex(ph.filesz)} larger than p_memsz ${hex(ph.memsz)}`,
        );
      }
      if (ph.offset + ph.filesz > bytes.length) {
        throw new LoadError(
          `${name} is truncated: segment ${index} needs file bytes ${hex(ph.offset)}..${hex(ph.offset + ph.filesz)}, but the file is ${bytes.length} bytes`,
        );
      }
    }
    programHeaders.push(ph);
  }
  return { entry, programHeaders };
}
