// Bit instructions: BT BTS BTR BTC (register and immediate offsets), BSF BSR, BSWAP.

import * as cpu from "../cpu";
import { regRead, regWrite, sizeBits, signExtend, sizeBytes, SIZE_32 } from "../cpu";
import { readFlags, writeFlags, setFlagBits, szpFlags, FLAG_CF, FLAG_ZF, FLAGS_ARITH } from "../flags";
import { modrm, eaSeg, eaOff } from "../decode";
import { readLin, writeLin } from "../mmu";
import { linearRead, linearWrite } from "../segments";

/**
 * BT family: op 0 BT, 1 BTS, 2 BTR, 3 BTC. For a memory operand with a register offset the
 * offset is signed and may address outside the operand (SDM Vol. 2 BT, "bit base").
 */
export function bitTest(op: i32, sz: i32, offset: u32, regOffset: bool): void {
  const bits = sizeBits(sz);
  let v: u32;
  let bit: u32;
  if (modrm >= 0xc0) {
    bit = offset & (bits - 1);
    v = regRead(sz, modrm & 7);
    const cf = ((v >>> bit) & 1) != 0;
    if (op != 0) regWrite(sz, modrm & 7, apply(op, v, bit));
    setFlagBits(FLAG_CF, cf);
    return;
  }
  let off = eaOff;
  if (regOffset) {
    const s = <i32>signExtend(offset, sz);
    off += <u32>((s >> (sz == SIZE_32 ? 5 : 4)) * <i32>sizeBytes(sz));
    if (!cpu.adsz32) off &= 0xffff;
    bit = <u32>s & (bits - 1);
  } else bit = offset & (bits - 1);
  const lin = op == 0 ? linearRead(eaSeg, off, sz) : linearWrite(eaSeg, off, sz);
  if (cpu.faulted) return;
  v = readLin(sz, lin);
  if (cpu.faulted) return;
  if (op != 0) {
    writeLin(sz, lin, apply(op, v, bit));
    if (cpu.faulted) return;
  }
  setFlagBits(FLAG_CF, ((v >>> bit) & 1) != 0);
}

@inline function apply(op: i32, v: u32, bit: u32): u32 {
  const m: u32 = 1 << bit;
  return op == 1 ? v | m : op == 2 ? v & ~m : v ^ m;
}

/**
 * BSF/BSR of `src` into a destination that holds `dst`: returns the destination's new value,
 * `dst` itself for a zero source, which sets ZF (what the hardware does; the SDM calls the
 * destination undefined). CF OF SF AF PF are undefined: we clear
 * CF/OF/SF/AF and set PF from the result, as documented nowhere and masked by our tests. A
 * call, not @inline: inlined into the run loop (the fast path's BSF/BSR) it makes the loop
 * function larger and the cpu-bound guest about 5% slower, for a rare instruction.
 */
export function bitScan(reverse: bool, sz: i32, src: u32, dst: u32): u32 {
  const m: u32 = sz == SIZE_32 ? 0xffffffff : 0xffff;
  src &= m;
  if (src == 0) {
    writeFlags(FLAG_ZF, FLAG_ZF);
    return dst;
  }
  const r: u32 = reverse ? 31 - clz<u32>(src) : ctz<u32>(src);
  writeFlags(szpFlags(r, sz) & ~FLAG_ZF, FLAGS_ARITH);
  return r;
}
