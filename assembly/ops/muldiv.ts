// MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV (SDM Vol. 2). CF = OF = 1 when
// the product does not fit the destination; SF/ZF/AF/PF are undefined after MUL/IMUL and every
// flag is undefined after DIV/IDIV: we set SF/ZF/PF from the low result and leave AF clear.

import * as cpu from "../cpu";
import { reg32, setReg32, reg16, setReg16, reg8, setReg8, sizeMask, signExtend, sizeBits, SIZE_8, SIZE_16, SIZE_32 } from "../cpu";
import { setSzpFlags } from "../flags";
import { raise, EXC_DE } from "../exceptions";

/** CF = OF = overflow, SF/ZF/PF from the low result (kept lazily), AF clear. */
@inline function mulFlags(low: u32, sz: i32, overflow: bool): void {
  setSzpFlags(sz, low, overflow, overflow);
}

/** F6/F7 /4 MUL: unsigned AX ← AL·src, DX:AX ← AX·src, EDX:EAX ← EAX·src. */
export function mul(sz: i32, src: u32): void {
  if (sz == SIZE_8) {
    const r = reg8(0) * (src & 0xff);
    setReg16(0, r);
    mulFlags(r, SIZE_8, (r & 0xff00) != 0);
  } else if (sz == SIZE_16) {
    const r = reg16(0) * (src & 0xffff);
    setReg16(0, r);
    setReg16(2, r >>> 16);
    mulFlags(r, SIZE_16, (r >>> 16) != 0);
  } else {
    const r: u64 = <u64>reg32(0) * <u64>src;
    setReg32(0, <u32>r);
    setReg32(2, <u32>(r >>> 32));
    mulFlags(<u32>r, SIZE_32, (r >>> 32) != 0);
  }
}

/** F6/F7 /5 IMUL: signed, double-width result. */
export function imul1(sz: i32, src: u32): void {
  if (sz == SIZE_8) {
    const r = <i32>(<i8>reg8(0)) * <i32>(<i8>src);
    setReg16(0, <u32>r);
    mulFlags(<u32>r, SIZE_8, r != <i32>(<i8>r));
  } else if (sz == SIZE_16) {
    const r = <i32>(<i16>reg16(0)) * <i32>(<i16>src);
    setReg16(0, <u32>r);
    setReg16(2, <u32>r >>> 16);
    mulFlags(<u32>r, SIZE_16, r != <i32>(<i16>r));
  } else {
    const r: i64 = <i64>(<i32>reg32(0)) * <i64>(<i32>src);
    setReg32(0, <u32>r);
    setReg32(2, <u32>(r >>> 32));
    mulFlags(<u32>r, SIZE_32, r != <i64>(<i32>r));
  }
}

/** IMUL r, r/m (0F AF) and IMUL r, r/m, imm (69/6B): truncated signed product. */
@inline export function imulTrunc(sz: i32, a: u32, b: u32): u32 {
  const r: i64 = <i64>(<i32>signExtend(a, sz)) * <i64>(<i32>signExtend(b, sz));
  const low = <u32>r & sizeMask(sz);
  mulFlags(low, sz, r != <i64>(<i32>signExtend(low, sz)));
  return low;
}

/** F6/F7 /6 DIV. #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2 DIV). */
export function div(sz: i32, src: u32): void {
  if (!divide(false, sz, src)) raise(EXC_DE, 0);
}

/** F6/F7 /7 IDIV: quotient truncated toward zero, remainder has the dividend's sign. */
export function idiv(sz: i32, src: u32): void {
  if (!divide(true, sz, src)) raise(EXC_DE, 0);
}

/**
 * The one body of DIV (`signed` false) and IDIV of AX, DX:AX or EDX:EAX by `src`: writes the
 * quotient and remainder and returns true, or returns false, having changed nothing, when the
 * SDM raises #DE (a zero divisor, or a quotient that does not fit). The flags are kept: the SDM
 * leaves them all undefined. div() and idiv() raise the #DE; the fast path leaves the
 * instruction to them.
 */
@inline export function divide(signed: bool, sz: i32, src: u32): bool {
  src &= sizeMask(sz);
  if (src == 0) return false;
  if (!signed) {
    if (sz == SIZE_8) {
      const n = reg16(0);
      const q = n / src;
      if (q > 0xff) return false;
      setReg8(0, q);
      setReg8(4, n % src);
    } else if (sz == SIZE_16) {
      const n = (reg16(2) << 16) | reg16(0);
      const q = n / src;
      if (q > 0xffff) return false;
      setReg16(0, q);
      setReg16(2, n % src);
    } else {
      const hi = reg32(2);
      if (hi >= src) return false; // the quotient needs more than 32 bits
      const n: u64 = (<u64>hi << 32) | <u64>reg32(0);
      setReg32(0, <u32>(n / <u64>src));
      setReg32(2, <u32>(n % <u64>src));
    }
    return true;
  }
  const d = <i64>(<i32>signExtend(src, sz));
  let n: i64;
  if (sz == SIZE_8) n = <i64>(<i16>reg16(0));
  else if (sz == SIZE_16) n = <i64>(<i32>((reg16(2) << 16) | reg16(0)));
  else n = <i64>((<u64>reg32(2) << 32) | <u64>reg32(0));
  // MIN / -1 would trap in wasm; the range check below rejects its quotient anyway.
  if (sz == SIZE_32 && n == i64.MIN_VALUE && d == -1) return false;
  const q = n / d;
  const half: i64 = <i64>1 << (sizeBits(sz) - 1);
  if (q >= half || q < -half) return false;
  const r = n % d;
  if (sz == SIZE_8) {
    setReg8(0, <u32>q);
    setReg8(4, <u32>r);
  } else if (sz == SIZE_16) {
    setReg16(0, <u32>q);
    setReg16(2, <u32>r);
  } else {
    setReg32(0, <u32>q);
    setReg32(2, <u32>r);
  }
  return true;
}
