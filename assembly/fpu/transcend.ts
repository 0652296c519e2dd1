// Transcendental helpers for FSIN/FCOS/FSINCOS/FPTAN/FPATAN/F2XM1/FYL2X/FYL2XP1.
//
// Precision note: these go through f64 (wasm's Math, ~53 significant bits, and correctly
// argument-reduced only as far as f64 allows), not the hardware's 64-bit-plus algorithms. Results
// therefore agree with a real x87 (or QEMU) to about 2^-52 relative, not bit for bit; the tests
// compare them with a tolerance. The exact parts (special operands, exponent handling of log2,
// the C2 out-of-range rule for |x| >= 2^63) are done exactly.

import { BIAS, EXP_MAX, INT_BIT, setResult, setZero, setInf } from "./float80";

/** A finite extended value (normalized significand, biased exponent) as f64 (rounded to nearest). */
export function toF64(sign: u32, exp: i32, sig: u64): f64 {
  // sig as f64 (rounds to 53 bits), then scale by 2^(exp - BIAS - 63) in two steps to stay in range.
  let v = <f64>sig;
  let e = exp - BIAS - 63;
  if (e > 2000) e = 2000;
  if (e < -2200) e = -2200;
  const e1 = e / 2;
  const e2 = e - e1;
  v = v * pow2(e1) * pow2(e2);
  return sign != 0 ? -v : v;
}
function pow2(e: i32): f64 {
  // e in [-1100, 1000]: build 2^e from its bits, splitting once more for the subnormal range.
  if (e < -1022) return reinterpret<f64>(<u64>(1023 - 1022) << 52) * reinterpret<f64>(<u64>(1023 + e + 1022) << 52);
  return reinterpret<f64>(<u64>(1023 + e) << 52);
}

/** An f64 as an exact extended value in resSig/resSE. */
export function fromF64(x: f64): void {
  const bits = reinterpret<u64>(x);
  const s = <u32>(bits >> 63);
  const e = <i32>((bits >> 52) & 0x7ff);
  const f = bits & 0xfffffffffffff;
  if (e == 0x7ff) {
    if (f == 0) setInf(s);
    else setResult(INT_BIT | 0x4000000000000000 | (f << 11), s, EXP_MAX);
    return;
  }
  if (e == 0) {
    if (f == 0) {
      setZero(s);
      return;
    }
    const z = <i32>clz<u64>(f);
    setResult(f << z, s, <u32>(BIAS - 1011 - z));
    return;
  }
  setResult(INT_BIT | (f << 11), s, <u32>(e - 1023 + BIAS));
}

/** log2 of a positive finite extended value, split so huge and tiny exponents stay exact. */
export function log2Ext(exp: i32, sig: u64): f64 {
  const m = <f64>sig / 9223372036854775808.0; // [1, 2)
  return <f64>(exp - BIAS) + Math.log2(m);
}
