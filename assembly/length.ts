// Instruction length from the opcode map (SDM Vol. 2 Appendix A), used where an instruction
// may straddle a page boundary: the decoder must know whether the bytes on the next page are
// part of the instruction before it faults on fetching them.

/** ModRM presence for one-byte opcodes, one bit per opcode (bit n of word n>>5). */
const MODRM_1 = memory.data<u32>([
  0x0f0f0f0f, 0x0f0f0f0f, 0x00000000, 0x00000a0c, // 00–1F, 20–3F, 40–5F, 60–7F (62 63 69 6B)
  0x0000ffff, 0x00000000, 0xff0f00f3, 0xc0c00000, // 80–9F, A0–BF, C0–DF (C0 C1 C4–C7 D0–D3 D8–DF), E0–FF (F6 F7 FE FF)
]);
/** ModRM presence for 0F xx opcodes. */
const MODRM_2 = memory.data<u32>([
  0xff00200f, 0x0000000f, 0x0000ffff, 0x00000000, // 00–1F (00–03 0D 18–1F), 20–3F (20–23), 40–5F (CMOVcc), 60–7F
  0xffff0000, 0xfcfff838, 0x00000083, 0x00000000, // 80–9F (SETcc), A0–BF, C0–DF (C0 C1 C7), E0–FF
]);

@inline function bit(table: usize, op: u32): bool {
  return ((load<u32>(table + ((op >> 5) << 2)) >>> (op & 31)) & 1) != 0;
}

/** An instruction prefix: operand or address size, segment override, LOCK, REP/REPNE. */
@inline export function isPrefixByte(op: u32): bool {
  return op == 0x66 || op == 0x67 || op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e ||
    op == 0x64 || op == 0x65 || op == 0xf0 || op == 0xf2 || op == 0xf3;
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
  const v: i32 = op32 ? 4 : 2;
  let hasModrm: bool;
  let imm = 0;
  let twoByte = false;
  if (op == 0x0f) {
    if (n >= avail) return -1;
    op = load<u8>(p + n);
    n++;
    twoByte = true;
    hasModrm = bit(MODRM_2, op);
    if (op >= 0x80 && op <= 0x8f) imm = v;
    else if (op == 0xa4 || op == 0xac || op == 0xba) imm = 1;
  } else {
    hasModrm = bit(MODRM_1, op);
    if (op < 0x40 && (op & 7) == 4) imm = 1;
    else if (op < 0x40 && (op & 7) == 5) imm = v;
    else if (op == 0x68 || op == 0x69 || op == 0x81 || op == 0xa9 || op == 0xc7 || op == 0xe8 || op == 0xe9 || (op >= 0xb8 && op <= 0xbf)) imm = v;
    else if (op == 0x6a || op == 0x6b || (op >= 0x70 && op <= 0x7f) || op == 0x80 || op == 0x82 || op == 0x83 || op == 0xa8 || (op >= 0xb0 && op <= 0xb7) || op == 0xc0 || op == 0xc1 || op == 0xc6 || op == 0xcd || op == 0xd4 || op == 0xd5 || (op >= 0xe0 && op <= 0xe7) || op == 0xeb) imm = 1;
    else if (op == 0xc2 || op == 0xca) imm = 2;
    else if (op == 0xc8) imm = 3;
    else if (op == 0x9a || op == 0xea) imm = v + 2;
    else if (op >= 0xa0 && op <= 0xa3) imm = ad32 ? 4 : 2;
  }
  if (hasModrm) {
    if (n >= avail) return -1;
    const m = <u32>load<u8>(p + n);
    n++;
    const mod = m >> 6;
    const rm = m & 7;
    if (!twoByte && (op == 0xf6 || op == 0xf7) && ((m >> 3) & 7) < 2) imm = op == 0xf6 ? 1 : v;
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
  n += imm;
  return n <= avail ? n : -1;
}
