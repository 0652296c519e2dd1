// The x87 double-extended format (SDM Vol. 1 §4.2.2, §8.2) and exact arithmetic on it.
//
// A value is kept unpacked while an instruction works on it: sign, a biased exponent that may
// leave the 15-bit range (denormals are normalized on unpacking), and a 64-bit significand with
// the integer bit at bit 63. Intermediate results are 128 bits (hi:lo, binary point after bit
// 63 of hi) so that rounding sees every discarded bit; products and quotients are built from
// 32-bit limbs in u64 (no 128-bit integers in wasm). Rounding honours the rounding control and
// the destination's precision and exponent range (precision control for the register results
// of the basic arithmetic, §8.1.5.2), detects tininess before rounding (as Intel's x87 does),
// and reports C1 = "rounded up in magnitude" (§8.1.3.1).
//
// Nothing here allocates: operands, results and the exception bits of the current instruction
// are module globals.

// ---- status word exception bits (§8.1.3) -------------------------------------------------
export const EX_IE: u32 = 0x01;
export const EX_DE: u32 = 0x02;
export const EX_ZE: u32 = 0x04;
export const EX_OE: u32 = 0x08;
export const EX_UE: u32 = 0x10;
export const EX_PE: u32 = 0x20;
export const EX_SF: u32 = 0x40;

/** Exceptions the current instruction detected (folded into FSW when it completes). */
export let exc: u32 = 0;
/** The last rounding increased the magnitude (C1 for rounding results). */
export let roundedUp: bool = false;
/** Rounding control (CW bits 11:10): 0 nearest-even, 1 down, 2 up, 3 toward zero. */
export let rc: i32 = 0;
/** Exception masks of the control word (bit set = masked). */
export let masks: u32 = 0x3f;

export function beginOp(cw: u32): void {
  exc = 0;
  roundedUp = false;
  rc = <i32>((cw >> 10) & 3);
  masks = cw & 0x3f;
}
/** Record exception bits; returns true if any of them is unmasked. */
@inline export function signal(bits: u32): bool {
  exc |= bits;
  return (bits & ~masks & 0x3f) != 0;
}
@inline export function unmasked(bits: u32): bool {
  return (bits & ~masks) != 0;
}

// ---- operand classes ----------------------------------------------------------------------
export const K_ZERO = 0;
export const K_FINITE = 1;
export const K_INF = 2;
export const K_QNAN = 3;
export const K_SNAN = 4;
/** Unsupported encodings: unnormals, pseudo-NaNs, pseudo-infinities (§8.2.2): invalid on 387+. */
export const K_BAD = 5;

export const BIAS = 16383;
export const EXP_MAX = 0x7fff;
export const QUIET: u64 = 0x4000000000000000;
export const INT_BIT: u64 = 0x8000000000000000;
/** The real indefinite (§4.8.3.7): the default QNaN of a masked invalid operation. */
export const INDEF_SIG: u64 = 0xc000000000000000;
export const INDEF_SE: u32 = 0xffff;

// Two unpacked operands (A is the destination side, B the source side) and the packed result.
export let aSign: u32 = 0;
export let aExp: i32 = 0;
export let aSig: u64 = 0;
export let aKind: i32 = 0;
export let aDen: bool = false;
export let bSign: u32 = 0;
export let bExp: i32 = 0;
export let bSig: u64 = 0;
export let bKind: i32 = 0;
export let bDen: bool = false;
/** Packed 80-bit result: significand and sign|exponent. */
export let resSig: u64 = 0;
export let resSE: u32 = 0;

let uSign: u32 = 0;
let uExp: i32 = 0;
let uSig: u64 = 0;
let uKind: i32 = 0;
let uDen: bool = false;

function unpack(sig: u64, se: u32): void {
  uSign = (se >> 15) & 1;
  const e = <i32>(se & 0x7fff);
  uDen = false;
  uSig = sig;
  uExp = e;
  if (e == 0) {
    if (sig == 0) {
      uKind = K_ZERO;
      return;
    }
    // Denormal or pseudo-denormal (J=1 with exponent 0): both have the value sig * 2^(1-bias-63).
    uDen = true;
    const z = <i32>clz<u64>(sig);
    uSig = sig << z;
    uExp = 1 - z;
    uKind = K_FINITE;
    return;
  }
  if ((sig & INT_BIT) == 0) {
    uKind = K_BAD;
    return;
  }
  if (e == EXP_MAX) uKind = (sig << 1) == 0 ? K_INF : (sig & QUIET) != 0 ? K_QNAN : K_SNAN;
  else uKind = K_FINITE;
}
export function unpackA(sig: u64, se: u32): void {
  unpack(sig, se);
  aSign = uSign; aExp = uExp; aSig = uSig; aKind = uKind; aDen = uDen;
}
export function unpackB(sig: u64, se: u32): void {
  unpack(sig, se);
  bSign = uSign; bExp = uExp; bSig = uSig; bKind = uKind; bDen = uDen;
}
@inline export function isNaNKind(k: i32): bool {
  return k == K_QNAN || k == K_SNAN;
}

@inline export function setResult(sig: u64, sign: u32, exp: u32): void {
  resSig = sig;
  resSE = (sign << 15) | exp;
}
@inline export function setIndefinite(): void {
  resSig = INDEF_SIG;
  resSE = INDEF_SE;
}
@inline export function setInf(sign: u32): void {
  setResult(INT_BIT, sign, EXP_MAX);
}
@inline export function setZero(sign: u32): void {
  setResult(0, sign, 0);
}

/**
 * Invalid-operation checks shared by the arithmetic (SDM Vol. 1 §4.8.3.5 and Table 4-7, the
 * x87 column): an SNaN or unsupported operand raises IE; NaNs propagate (an SNaN quietened;
 * of two NaNs a QNaN beats an SNaN, else the larger significand). Returns true when the result
 * is decided (resSig/resSE set), `valid` false if an unmasked IE suppresses it.
 */
export let valid: bool = true;
export function nanCheck2(): bool {
  valid = true;
  if (aKind == K_BAD || bKind == K_BAD) {
    valid = !signal(EX_IE);
    setIndefinite();
    return true;
  }
  const an = isNaNKind(aKind);
  const bn = isNaNKind(bKind);
  if (!an && !bn) return false;
  if (aKind == K_SNAN || bKind == K_SNAN) valid = !signal(EX_IE);
  let pickA: bool;
  if (an && bn) {
    if (aKind != bKind) pickA = aKind == K_QNAN;
    else {
      const ma = aSig & ~INT_BIT;
      const mb = bSig & ~INT_BIT;
      pickA = ma > mb || (ma == mb && aSign == 0);
    }
  } else pickA = an;
  if (pickA) setResult(aSig | QUIET, aSign, EXP_MAX);
  else setResult(bSig | QUIET, bSign, EXP_MAX);
  return true;
}
export function nanCheck1(): bool {
  valid = true;
  if (aKind == K_BAD) {
    valid = !signal(EX_IE);
    setIndefinite();
    return true;
  }
  if (!isNaNKind(aKind)) return false;
  if (aKind == K_SNAN) valid = !signal(EX_IE);
  setResult(aSig | QUIET, aSign, EXP_MAX);
  return true;
}
/** A masked invalid operation's result: the indefinite. */
export function invalid(): void {
  valid = !signal(EX_IE);
  setIndefinite();
}
/** The denormal-operand exception (§4.9.1.2); false if unmasked (the operation is then not done). */
export function denormalCheck(): bool {
  if (aDen || bDen) return !signal(EX_DE);
  return true;
}

// ---- rounding ----------------------------------------------------------------------------
/** Rounded result in the destination format: biased exponent (0 = zero/denormal, emax = inf). */
export let rSign: u32 = 0;
export let rExp: i32 = 0;
export let rSig: u64 = 0;

/**
 * Round sign * (hi:lo / 2^127) * 2^(e - bias) to `prec` significand bits in a format whose
 * biased exponent is below `emax` (0x7fff, 0x7ff or 0xff), and set rSign/rExp/rSig (the
 * significand left-aligned in 64 bits: bit 63 is the integer bit of a normal result).
 * hi must have bit 63 set (or hi = lo = 0 for an exact zero). `adjust` is the exponent bias
 * adjustment for an unmasked overflow/underflow with a register destination (§8.4: 24576);
 * 0 for memory destinations, whose callers then store nothing.
 */
export function roundPack(sign: u32, e: i32, hi: u64, lo: u64, prec: i32, emax: i32, adjust: i32): void {
  rSign = sign;
  if (hi == 0) {
    rExp = 0;
    rSig = 0;
    return;
  }
  let tiny = false;
  if (e < 1) {
    if (adjust != 0 && unmasked(EX_UE)) {
      signal(EX_UE);
      e += adjust;
    } else {
      tiny = true;
      const sh = 1 - e;
      // Shift hi:lo right by sh, jamming every bit shifted out into bit 0 of lo.
      if (sh >= 128) {
        lo = 1;
        hi = 0;
      } else if (sh >= 64) {
        const s = sh - 64;
        const sticky = lo != 0 || (s != 0 && (hi << (64 - s)) != 0);
        lo = (hi >> s) | (sticky ? 1 : 0);
        hi = 0;
      } else {
        lo = (lo >> sh) | (hi << (64 - sh)) | ((lo << (64 - sh)) != 0 ? 1 : 0);
        hi = hi >> sh;
      }
      e = 0;
    }
  }
  const drop = 64 - prec;
  let rem: u64;
  let half: u64;
  let sticky: bool;
  if (drop == 0) {
    rem = lo;
    half = INT_BIT;
    sticky = false;
  } else {
    rem = hi & ((<u64>1 << drop) - 1);
    half = <u64>1 << (drop - 1);
    sticky = lo != 0;
  }
  const inexact = rem != 0 || sticky;
  let inc = false;
  if (inexact) {
    switch (rc) {
      case 0: {
        const lsb = drop == 0 ? hi & 1 : (hi >> drop) & 1;
        inc = rem > half || (rem == half && (sticky || lsb != 0));
        break;
      }
      case 1: inc = sign != 0; break;
      case 2: inc = sign == 0; break;
      default: inc = false;
    }
  }
  hi = drop == 0 ? hi : hi & ~((<u64>1 << drop) - 1);
  if (inc) {
    const step: u64 = <u64>1 << drop;
    const n = hi + step;
    if (n < hi) {
      // Carry out of the significand: 1.111… rounded up to 10.000…
      hi = INT_BIT;
      e++;
    } else hi = n;
    if (e == 0 && (hi & INT_BIT) != 0) e = 1; // a denormal rounded up to the smallest normal
  }
  if (tiny && (inexact || unmasked(EX_UE))) signal(EX_UE);
  if (e >= emax) {
    if (adjust != 0 && unmasked(EX_OE)) {
      signal(EX_OE);
      e -= adjust;
    } else {
      signal(EX_OE | EX_PE);
      // Masked overflow (§4.9.1.4, Table 4-9): infinity, or the largest finite number when
      // rounding toward zero or away from the result's direction.
      const toInf = rc == 0 || (rc == 2 && sign == 0) || (rc == 1 && sign != 0);
      if (toInf) {
        rExp = emax;
        rSig = INT_BIT;
        roundedUp = true;
      } else {
        rExp = emax - 1;
        rSig = prec == 64 ? 0xffffffffffffffff : ~((<u64>1 << (64 - prec)) - 1);
        roundedUp = false;
      }
      return;
    }
  }
  if (inexact) signal(EX_PE);
  roundedUp = inc;
  rExp = e;
  rSig = hi;
}
/** Pack the rounded result as an 80-bit register value. */
@inline export function packRounded80(): void {
  resSig = rSig;
  resSE = (rSign << 15) | (<u32>rExp & 0x7fff);
}

// ---- 128-bit helpers (results in h:l) --------------------------------------------------------
let h: u64 = 0;
let l: u64 = 0;

function mul64(a: u64, b: u64): void {
  const a0 = a & 0xffffffff, a1 = a >> 32;
  const b0 = b & 0xffffffff, b1 = b >> 32;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >> 32) + (p01 & 0xffffffff) + (p10 & 0xffffffff);
  l = (p00 & 0xffffffff) | (mid << 32);
  h = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/** Shift x (64 bits, placed at hi) right by n into h:l with bits shifted out jammed into bit 0. */
function shiftRightJam(x: u64, n: i32): void {
  if (n == 0) {
    h = x;
    l = 0;
  } else if (n < 64) {
    h = x >> n;
    l = x << (64 - n);
  } else if (n < 128) {
    h = 0;
    l = n == 64 ? x : (x >> (n - 64)) | ((x << (128 - n)) != 0 ? 1 : 0);
  } else {
    h = 0;
    l = x != 0 ? 1 : 0;
  }
}

// ---- arithmetic ----------------------------------------------------------------------------
/** Precision (significand bits) from the control word's PC field (§8.1.5.2; 01 reserved → 64). */
export function precisionOf(cw: u32): i32 {
  const pc = (cw >> 8) & 3;
  return pc == 0 ? 24 : pc == 2 ? 53 : 64;
}

/** A + B (B's sign flipped first when `sub`), rounded to `prec`. Result in resSig/resSE if valid. */
export function fadd(sub: bool, prec: i32): void {
  if (nanCheck2()) return; // a NaN keeps its own sign: propagate before negating B
  if (sub) bSign ^= 1;
  valid = true;
  if (aKind == K_INF || bKind == K_INF) {
    if (aKind == K_INF && bKind == K_INF && aSign != bSign) {
      invalid();
      return;
    }
    setInf(aKind == K_INF ? aSign : bSign);
    if (!denormalCheck()) valid = false;
    return;
  }
  if (!denormalCheck()) {
    valid = false;
    return;
  }
  if (aKind == K_ZERO && bKind == K_ZERO) {
    setZero(aSign == bSign ? aSign : rc == 1 ? 1 : 0);
    return;
  }
  if (bKind == K_ZERO) {
    roundPack(aSign, aExp, aSig, 0, prec, EXP_MAX, 24576);
    packRounded80();
    return;
  }
  if (aKind == K_ZERO) {
    roundPack(bSign, bExp, bSig, 0, prec, EXP_MAX, 24576);
    packRounded80();
    return;
  }
  // Order so that |x| >= |y|.
  let xs = aSign, xe = aExp, xm = aSig, ys = bSign, ye = bExp, ym = bSig;
  if (bExp > aExp || (bExp == aExp && bSig > aSig)) {
    xs = bSign; xe = bExp; xm = bSig; ys = aSign; ye = aExp; ym = aSig;
  }
  shiftRightJam(ym, xe - ye);
  let hi: u64, lo: u64;
  let e = xe;
  if (xs == ys) {
    lo = l;
    hi = xm + h;
    if (hi < xm) {
      // Carry: shift right one, keeping a sticky bit.
      lo = (lo >> 1) | (hi << 63) | (lo & 1);
      hi = (hi >> 1) | INT_BIT;
      e++;
    }
  } else {
    lo = 0 - l;
    hi = xm - h - (l != 0 ? 1 : 0);
    if (hi == 0 && lo == 0) {
      // Exact cancellation: +0, or -0 when rounding down (§4.8.3.3... Vol. 1 Table 4-? / IEEE 754).
      setZero(rc == 1 ? 1 : 0);
      return;
    }
    const z = hi != 0 ? <i32>clz<u64>(hi) : 64 + <i32>clz<u64>(lo);
    if (z >= 64) {
      hi = lo << (z - 64);
      lo = 0;
    } else if (z > 0) {
      hi = (hi << z) | (lo >> (64 - z));
      lo = lo << z;
    }
    e -= z;
  }
  roundPack(xs, e, hi, lo, prec, EXP_MAX, 24576);
  packRounded80();
}

export function fmul(prec: i32): void {
  if (nanCheck2()) return;
  valid = true;
  const s = aSign ^ bSign;
  if (aKind == K_INF || bKind == K_INF) {
    if (aKind == K_ZERO || bKind == K_ZERO) {
      invalid();
      return;
    }
    setInf(s);
    if (!denormalCheck()) valid = false;
    return;
  }
  if (!denormalCheck()) {
    valid = false;
    return;
  }
  if (aKind == K_ZERO || bKind == K_ZERO) {
    setZero(s);
    return;
  }
  mul64(aSig, bSig);
  let e = aExp + bExp - BIAS;
  let hi = h, lo = l;
  if ((hi & INT_BIT) != 0) e++;
  else {
    hi = (hi << 1) | (lo >> 63);
    lo <<= 1;
  }
  roundPack(s, e, hi, lo, prec, EXP_MAX, 24576);
  packRounded80();
}

export function fdiv(prec: i32): void {
  if (nanCheck2()) return;
  valid = true;
  const s = aSign ^ bSign;
  if (aKind == K_INF) {
    if (bKind == K_INF) invalid();
    else {
      setInf(s);
      if (!denormalCheck()) valid = false;
    }
    return;
  }
  if (bKind == K_INF) {
    setZero(s);
    if (!denormalCheck()) valid = false;
    return;
  }
  if (bKind == K_ZERO) {
    if (aKind == K_ZERO) invalid();
    else {
      valid = !signal(EX_ZE);
      setInf(s);
    }
    return;
  }
  if (!denormalCheck()) {
    valid = false;
    return;
  }
  if (aKind == K_ZERO) {
    setZero(s);
    return;
  }
  // Restoring division, 128 quotient bits; the remainder is at most 65 bits wide.
  let r = aSig;
  let top = false;
  let qh: u64 = 0, ql: u64 = 0;
  const d = bSig;
  for (let i = 0; i < 128; i++) {
    const bit = top || r >= d;
    if (bit) r -= d;
    qh = (qh << 1) | (ql >> 63);
    ql = (ql << 1) | (bit ? 1 : 0);
    top = (r >> 63) != 0;
    r <<= 1;
  }
  if (r != 0 || top) ql |= 1;
  let e = aExp - bExp + BIAS;
  // The quotient's first bit has weight 2^0 (aSig >= bSig) or is zero (then shift once).
  if ((qh & INT_BIT) == 0) {
    qh = (qh << 1) | (ql >> 63);
    ql = (ql << 1) | (ql & 1);
    e--;
  }
  roundPack(s, e, qh, ql, prec, EXP_MAX, 24576);
  packRounded80();
}

export function fsqrt(prec: i32): void {
  if (nanCheck1()) return;
  valid = true;
  if (aKind == K_ZERO) {
    setZero(aSign);
    return;
  }
  if (aSign != 0) {
    invalid();
    return;
  }
  if (aKind == K_INF) {
    setInf(0);
    return;
  }
  if (aDen && signal(EX_DE)) {
    valid = false;
    return;
  }
  // Radicand R = sig * 2^63 (even unbiased exponent) or sig * 2^64 (odd): root in [2^63, 2^64).
  const u = aExp - BIAS;
  const odd = (u & 1) != 0;
  let Rh: u64, Rl: u64;
  if (odd) {
    Rh = aSig;
    Rl = 0;
  } else {
    Rh = aSig >> 1;
    Rl = aSig << 63;
  }
  let remH: u64 = 0, remL: u64 = 0;
  let root: u64 = 0;
  for (let i = 63; i >= 0; i--) {
    // rem = rem * 4 + next two radicand bits
    const two = i >= 32 ? (Rh >> (<u64>(2 * (i - 32)))) & 3 : (Rl >> (<u64>(2 * i))) & 3;
    remH = (remH << 2) | (remL >> 62);
    remL = (remL << 2) | two;
    // trial = root * 4 + 1 (up to 66 bits)
    const tH: u64 = root >> 62;
    const tL: u64 = (root << 2) | 1;
    if (remH > tH || (remH == tH && remL >= tL)) {
      const borrow: u64 = remL < tL ? 1 : 0;
      remL -= tL;
      remH = remH - tH - borrow;
      root = (root << 1) | 1;
    } else root <<= 1;
  }
  // Above or below half an ulp: rem > root ⇔ R > (root + 1/2)^2 (never exactly half).
  let lo: u64 = 0;
  if (remH != 0 || remL > root) lo = INT_BIT | 1;
  else if (remL != 0) lo = 1;
  const e = (odd ? u - 1 : u) / 2 + BIAS;
  roundPack(0, e, root, lo, prec, EXP_MAX, 24576);
  packRounded80();
}

// ---- comparison ------------------------------------------------------------------------------
export const CMP_LT = 0;
export const CMP_EQ = 1;
export const CMP_GT = 2;
export const CMP_UN = 3;
/**
 * Compare A with B (§8.1.4). `quiet` = FUCOM family: only SNaNs (and unsupported formats)
 * are invalid; otherwise any NaN is. Denormals raise DE. Returns a CMP_* value.
 */
export function fcompare(quiet: bool): i32 {
  if (aKind == K_BAD || bKind == K_BAD) {
    signal(EX_IE);
    return CMP_UN;
  }
  if (isNaNKind(aKind) || isNaNKind(bKind)) {
    if (!quiet || aKind == K_SNAN || bKind == K_SNAN) signal(EX_IE);
    return CMP_UN;
  }
  if (aDen || bDen) signal(EX_DE);
  if (aKind == K_ZERO && bKind == K_ZERO) return CMP_EQ;
  // Map each to a sortable key: sign, then (class, exponent, significand).
  if (aSign != bSign) return aSign != 0 ? CMP_LT : CMP_GT;
  let gt: bool, eq: bool;
  if (aKind == K_INF || bKind == K_INF) {
    eq = aKind == bKind;
    gt = aKind == K_INF && !eq;
  } else if (aKind == K_ZERO || bKind == K_ZERO) {
    eq = false;
    gt = bKind == K_ZERO;
  } else {
    eq = aExp == bExp && aSig == bSig;
    gt = aExp > bExp || (aExp == bExp && aSig > bSig);
  }
  if (eq) return CMP_EQ;
  if (aSign != 0) gt = !gt;
  return gt ? CMP_GT : CMP_LT;
}

// ---- integers --------------------------------------------------------------------------------
/** Rounding A's finite value to an integer (by rc): magnitude, and whether it is ≥ 2^64. */
export let intMag: u64 = 0;
export let intHuge: bool = false;
export let intInexact: bool = false;
export let intUp: bool = false;
export function roundToInt(): void {
  intHuge = false;
  intInexact = false;
  intUp = false;
  if (aKind == K_ZERO) {
    intMag = 0;
    return;
  }
  const u = aExp - BIAS;
  if (u >= 64) {
    intHuge = true;
    intMag = 0;
    return;
  }
  let ipart: u64, frac: u64, half: u64 = INT_BIT;
  if (u == 63) {
    intMag = aSig;
    return;
  }
  if (u >= 0) {
    ipart = aSig >> (63 - u);
    frac = aSig << (u + 1);
  } else {
    ipart = 0;
    // Fraction bits of value < 1: left-aligned fraction is sig >> (-u - 1), sticky below.
    const sh = -u - 1;
    if (sh >= 64) frac = 1;
    else frac = (aSig >> sh) | ((sh > 0 && (aSig << (64 - sh)) != 0) ? 1 : 0);
  }
  intInexact = frac != 0;
  let inc = false;
  if (intInexact) {
    switch (rc) {
      case 0: inc = frac > half || (frac == half && (ipart & 1) != 0); break;
      case 1: inc = aSign != 0; break;
      case 2: inc = aSign == 0; break;
      default: inc = false;
    }
  }
  if (inc) {
    ipart++;
    if (ipart == 0) intHuge = true; // 2^64 - 1 + 1
  }
  intUp = inc;
  intMag = ipart;
}

/** Exact conversion of a signed 64-bit integer (FILD) into resSig/resSE. */
export function fromInt64(v: i64): void {
  if (v == 0) {
    setZero(0);
    return;
  }
  const s: u32 = v < 0 ? 1 : 0;
  const m: u64 = v < 0 ? <u64>(0 - v) : <u64>v;
  const z = <i32>clz<u64>(m);
  setResult(m << z, s, <u32>(BIAS + 63 - z));
}
/** Exact conversion of an unsigned magnitude with a sign. */
export function fromMag(s: u32, m: u64): void {
  if (m == 0) {
    setZero(s);
    return;
  }
  const z = <i32>clz<u64>(m);
  setResult(m << z, s, <u32>(BIAS + 63 - z));
}
