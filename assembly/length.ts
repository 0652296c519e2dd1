// Instruction length from the opcode map (SDM Vol. 2 Appendix A), used where an instruction
// may straddle a page boundary: the decoder must know whether the bytes on the next page are
// part of the instruction before it faults on fetching them. The tables come from the
// instruction table (gen/x86-table.ts).

import {
  PREFIX_BITS, OPCODE_LENGTH_1, OPCODE_LENGTH_2, DIGIT_IMMEDIATES, IMM_B, IMM_W, IMM_WB, IMM_Z, IMM_PTR, IMM_MOFFS,
  IMM_BY_DIGIT,
} from "./generated/opcode-tables";

/** An instruction prefix: operand or address size, segment override, LOCK, REP/REPNE. */
@inline export function isPrefixByte(op: u32): bool {
  return ((load<u32>(PREFIX_BITS + ((op >> 5) << 2)) >>> (op & 31)) & 1) != 0;
}

/**
 * Length of the instruction at p, of which `avail` bytes are readable; -1 if it needs more.
 */
export function instructionLength(p: usize, avail: i32, default32: bool): i32 {
  let n = 0;
  let op32 = default32;
  let ad32 = default32;
  let op: u32 = 0;
  // prefixes
  for (;;) {
    if (n >= avail) return -1;
    op = load<u8>(p + n);
    n++;
    if (!isPrefixByte(op)) break;
    if (op == 0x66) op32 = !default32;
    else if (op == 0x67) ad32 = !default32;
    if (n >= 15) return n;
  }
  let entry: u32;
  if (op == 0x0f) {
    if (n >= avail) return -1;
    entry = <u32>load<u8>(OPCODE_LENGTH_2 + load<u8>(p + n));
    n++;
  } else {
    entry = <u32>load<u8>(OPCODE_LENGTH_1 + op);
  }
  let kind = (entry >> 1) & 7;
  if ((entry & 1) != 0) {
    if (n >= avail) return -1;
    const m = <u32>load<u8>(p + n);
    n++;
    const mod = m >> 6;
    const rm = m & 7;
    if (kind == IMM_BY_DIGIT) kind = <u32>load<u8>(DIGIT_IMMEDIATES + ((entry >> 4) << 3) + ((m >> 3) & 7));
    if (mod != 3) {
      if (ad32) {
        if (rm == 4) {
          if (n >= avail) return -1;
          const sib = <u32>load<u8>(p + n);
          n++;
          if ((sib & 7) == 5 && mod == 0) n += 4;
        }
        if (mod == 0 && rm == 5) n += 4;
        else if (mod == 1) n += 1;
        else if (mod == 2) n += 4;
      } else {
        if (mod == 0 && rm == 6) n += 2;
        else if (mod == 1) n += 1;
        else if (mod == 2) n += 2;
      }
    }
  }
  n += immediateBytes(kind, op32, ad32);
  return n <= avail ? n : -1;
}

/** Bytes of an immediate of kind IMM_* (the table's operand notation: Ib, Iw, Iw+Ib, Iz, Ap, Ov). */
@inline function immediateBytes(kind: u32, op32: bool, ad32: bool): i32 {
  switch (kind) {
    case IMM_B: return 1;
    case IMM_W: return 2;
    case IMM_WB: return 3;
    case IMM_Z: return op32 ? 4 : 2;
    case IMM_PTR: return op32 ? 6 : 4;
    case IMM_MOFFS: return ad32 ? 4 : 2;
  }
  return 0;
}
