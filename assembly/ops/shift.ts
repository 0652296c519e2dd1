// Shifts and rotates (group 2: ROL ROR RCL RCR SHL SHR SAL SAR) and SHLD/SHRD, flags per the
// SDM's "Operation" sections. The count is masked to 5 bits; a masked count of 0 changes
// nothing, flags included. Rotates compute CF/OF into pendingFlags/pendingMask; shifts
// replace every arithmetic flag and record them lazily (CF/OF now, ZF/SF/PF from the result).
// Either is committed only after the destination is written.

import { sizeMask, signBit, sizeBits, signExtend, SIZE_32 } from "../cpu";
import { getCF, FLAG_CF, FLAG_OF, writeFlags, setSzpFlags, FLAGS_ARITH } from "../flags";

let pendingFlags: u32 = 0;
let pendingMask: u32 = 0;
/** The last shift replaces all arithmetic flags: record them lazily from these. */
let pendingLazy: bool = false;
let pendingSize: i32 = 0;
let pendingResult: u32 = 0;

/** Record a shift that replaces every arithmetic flag; returns the result for the caller. */
@inline function pendShift(sz: i32, r: u32, cf: bool, ovf: bool): u32 {
  pendingFlags = (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
  pendingMask = FLAGS_ARITH;
  pendingLazy = true;
  pendingSize = sz;
  pendingResult = r;
  return r;
}

/** Commit the flags of the last shift (call once its result is stored). */
export function commitShiftFlags(): void {
  if (pendingMask == 0) return;
  if (pendingLazy) setSzpFlags(pendingSize, pendingResult, (pendingFlags & FLAG_CF) != 0, (pendingFlags & FLAG_OF) != 0);
  else writeFlags(pendingFlags, pendingMask);
}

/**
 * Group-2 operation `op` (the ModRM reg field) on `a` of size sz by `count` (unmasked).
 * Returns the result; pendingMask == 0 means nothing changes (count 0).
 */
export function shift(op: i32, sz: i32, a: u32, count: u32): u32 {
  const m = sizeMask(sz);
  const bits = sizeBits(sz);
  const sb = signBit(sz);
  a &= m;
  let c = count & 31;
  pendingMask = 0;
  pendingLazy = false;
  if (c == 0) return a;
  let r: u32 = a;
  let cf: bool = false;
  let ovf: bool = false;
  switch (op) {
    case 0: { // ROL: the count is taken modulo the width; CF = LSB of the result.
      const n = c & (bits - 1);
      r = n == 0 ? a : ((a << n) | (a >>> (bits - n))) & m;
      cf = (r & 1) != 0;
      ovf = ((r & sb) != 0) != cf;
      pendingFlags = (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
      pendingMask = FLAG_CF | FLAG_OF;
      return r;
    }
    case 1: { // ROR: CF = MSB of the result; OF = XOR of the two most significant bits.
      const n = c & (bits - 1);
      r = n == 0 ? a : ((a >>> n) | (a << (bits - n))) & m;
      cf = (r & sb) != 0;
      ovf = cf != ((r & (sb >>> 1)) != 0);
      pendingFlags = (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
      pendingMask = FLAG_CF | FLAG_OF;
      return r;
    }
    case 2: { // RCL: rotate the (width+1)-bit quantity CF:a.
      const n = sz == SIZE_32 ? c : c % (bits + 1);
      if (n == 0) return a;
      const v: u64 = ((getCF() ? <u64>1 : 0) << bits) | <u64>a;
      const w: u64 = bits + 1;
      const wm: u64 = (<u64>1 << w) - 1;
      const rot = ((v << <u64>n) | (v >>> (w - <u64>n))) & wm;
      r = <u32>rot & m;
      cf = ((rot >>> bits) & 1) != 0;
      ovf = ((r & sb) != 0) != cf;
      pendingFlags = (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
      pendingMask = FLAG_CF | FLAG_OF;
      return r;
    }
    case 3: { // RCR
      const n = sz == SIZE_32 ? c : c % (bits + 1);
      if (n == 0) return a;
      const v: u64 = ((getCF() ? <u64>1 : 0) << bits) | <u64>a;
      const w: u64 = bits + 1;
      const wm: u64 = (<u64>1 << w) - 1;
      const rot = ((v >>> <u64>n) | (v << (w - <u64>n))) & wm;
      r = <u32>rot & m;
      cf = ((rot >>> bits) & 1) != 0;
      ovf = ((r & sb) != 0) != ((r & (sb >>> 1)) != 0);
      pendingFlags = (cf ? FLAG_CF : 0) | (ovf ? FLAG_OF : 0);
      pendingMask = FLAG_CF | FLAG_OF;
      return r;
    }
    default:
      return shiftArith(op, sz, a, c, false);
  }
}

/**
 * SHL/SAL (`op` 4, 6), SHR (5) and SAR (7) of `a` (of size sz, masked) by `c`, a masked count
 * from 1 to 31: the one body of these shifts, for shift() and for the fast path's register form.
 * It replaces every arithmetic flag: at once with `now` (a register destination, which cannot
 * fault), else pending until commitShiftFlags() once the destination is written.
 */
@inline export function shiftArith(op: i32, sz: i32, a: u32, c: u32, now: bool): u32 {
  const m = sizeMask(sz);
  const bits = sizeBits(sz);
  const sb = signBit(sz);
  let r: u32;
  let cf: bool;
  let ovf: bool;
  if (op == 5) { // SHR: OF = MSB of the original operand.
    r = a >>> c;
    cf = ((a >>> (c - 1)) & 1) != 0;
    ovf = (a & sb) != 0;
  } else if (op == 7) { // SAR: OF = 0.
    const s = <i32>signExtend(a, sz);
    r = <u32>(s >> c) & m;
    cf = ((s >> (c - 1)) & 1) != 0;
    ovf = false;
  } else { // SHL/SAL: CF is the last bit out (0 past the width), OF is CF != the result's sign.
    r = (a << c) & m;
    cf = sz == SIZE_32 ? ((a >>> (32 - c)) & 1) != 0 : ((<u64>a << <u64>c) >>> <u64>bits & 1) != 0;
    ovf = ((r & sb) != 0) != cf;
  }
  if (now) {
    setSzpFlags(sz, r, cf, ovf);
    return r;
  }
  return pendShift(sz, r, cf, ovf);
}

/**
 * SHLD (left) / SHRD: shift `a` by count, filling from `b`. For 16-bit operands a count above
 * 16 leaves the result undefined (SDM); we shift through the 48-bit quantity a:b:a as the
 * hardware's 32-bit datapath does.
 */
export function shiftDouble(left: bool, sz: i32, a: u32, b: u32, count: u32): u32 {
  const m = sizeMask(sz);
  const bits = sizeBits(sz);
  const sb = signBit(sz);
  a &= m;
  b &= m;
  const c = count & 31;
  pendingMask = 0;
  pendingLazy = false;
  if (c == 0) return a;
  let r: u32;
  let cf: bool;
  if (sz == SIZE_32) {
    if (left) {
      r = (a << c) | (b >>> (32 - c));
      cf = ((a >>> (32 - c)) & 1) != 0;
    } else {
      r = (a >>> c) | (b << (32 - c));
      cf = ((a >>> (c - 1)) & 1) != 0;
    }
  } else {
    // 16-bit: operate on a:b:a (left) or a:b:a (right) as 48 bits.
    if (left) {
      const v: u64 = (<u64>a << 32) | (<u64>b << 16) | <u64>a;
      const s: u64 = v << <u64>c;
      r = <u32>(s >>> 32) & m;
      cf = ((s >>> 48) & 1) != 0;
    } else {
      const v: u64 = (<u64>a << 32) | (<u64>b << 16) | <u64>a;
      const s: u64 = v >>> <u64>c;
      const full: u64 = (<u64>b << 16) | <u64>a; // b:a, shifted right
      const fr: u64 = ((<u64>a << 32) | full) >>> <u64>c;
      r = <u32>fr & m;
      cf = ((((<u64>a << 32) | full) >>> <u64>(c - 1)) & 1) != 0;
      void s;
    }
  }
  r &= m;
  const ovf = ((r ^ a) & sb) != 0;
  return pendShift(sz, r, cf, ovf);
}
