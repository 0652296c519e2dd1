// When the x87 oracle may accept DE or C1 where QEMU 7.2 lacks them: the SDM's rule evaluated on
// the case's own operands, so that only the status words the SDM explains are let through.
// - DE (Vol. 1 §8.5.2, Vol. 2 per instruction): a denormal or pseudo-denormal operand of an
//   instruction whose "Floating-Point Exceptions" list #D, when no NaN or unsupported operand
//   takes precedence (§4.9.2: invalid operation and QNaN operands come before #D). FST m32/m64,
//   FIST/FISTP and FBSTP do not list #D.
// - C1 with PE (Vol. 1 §8.1.3.1, Vol. 2 "FPU Flags Affected": "0 = not roundup; 1 = roundup"):
//   the delivered result's magnitude exceeds the exact result's, computed here with BigInt
//   from the operands and QEMU's delivered result (the rest of the comparison pins that
//   result to ours).

import { type FpuCase, IN_A, IN_B, IN_CW, IN_MEM, OUT_SAVE, OUT_STORE } from "./cases.js";

/** An exact value: num / den, den > 0; or an infinity (inf = ±1). */
interface Exact {
  num: bigint;
  den: bigint;
  inf?: number;
}

function f80At(b: Uint8Array, o: number): { se: number; sig: bigint } {
  let sig = 0n;
  for (let i = 7; i >= 0; i--) sig = (sig << 8n) | BigInt(b[o + i]);
  return { se: b[o + 8] | (b[o + 9] << 8), sig };
}
const J = 1n << 63n;
/** Exponent 0 with a non-zero significand: a denormal, or a pseudo-denormal (J = 1). */
function f80Denormal(b: Uint8Array, o: number): boolean {
  const { se, sig } = f80At(b, o);
  return (se & 0x7fff) === 0 && sig !== 0n;
}
/** A NaN, or a format the x87 does not support (unnormal, pseudo-NaN/-infinity). */
function f80NaNOrUnsupported(b: Uint8Array, o: number): boolean {
  const { se, sig } = f80At(b, o);
  const e = se & 0x7fff;
  if (e === 0) return false;
  if ((sig & J) === 0n) return true;
  return e === 0x7fff && sig !== J;
}
function pow2(e: number): Exact {
  return e >= 0 ? { num: 1n << BigInt(e), den: 1n } : { num: 1n, den: 1n << BigInt(-e) };
}
function scaled(sign: boolean, sig: bigint, e: number): Exact {
  const p = pow2(e);
  return { num: (sign ? -sig : sig) * p.num, den: p.den };
}
function f80Exact(b: Uint8Array, o: number): Exact | null {
  const { se, sig } = f80At(b, o);
  const e = se & 0x7fff;
  if (e === 0x7fff) return sig === J ? { num: 0n, den: 1n, inf: se & 0x8000 ? -1 : 1 } : null;
  return scaled((se & 0x8000) !== 0, sig, Math.max(e, 1) - 16383 - 63);
}
function ieeeExact(b: Uint8Array, o: number, bytes: 4 | 8): Exact | null {
  const dv = new DataView(b.buffer, b.byteOffset + o, bytes);
  const bits = bytes === 4 ? BigInt(dv.getUint32(0, true)) : dv.getBigUint64(0, true);
  const fracBits = bytes === 4 ? 23n : 52n;
  const expBits = bytes === 4 ? 8 : 11;
  const bias = (1 << (expBits - 1)) - 1;
  const sign = bits >> BigInt(bytes * 8 - 1) === 1n;
  const e = Number((bits >> fracBits) & BigInt((1 << expBits) - 1));
  const frac = bits & ((1n << fracBits) - 1n);
  if (e === (1 << expBits) - 1) return frac === 0n ? { num: 0n, den: 1n, inf: sign ? -1 : 1 } : null;
  const sig = e === 0 ? frac : frac | (1n << fracBits);
  return scaled(sign, sig, Math.max(e, 1) - bias - Number(fracBits));
}
function ieeeDenormal(b: Uint8Array, o: number, bytes: 4 | 8): boolean {
  const dv = new DataView(b.buffer, b.byteOffset + o, bytes);
  return bytes === 4 ? (dv.getUint32(0, true) & 0x7fffffff) !== 0 && (dv.getUint32(0, true) & 0x7f800000) === 0
    : (dv.getBigUint64(0, true) & 0x7fffffffffffffffn) !== 0n && (dv.getBigUint64(0, true) & 0x7ff0000000000000n) === 0n;
}
function ieeeNaN(b: Uint8Array, o: number, bytes: 4 | 8): boolean {
  const dv = new DataView(b.buffer, b.byteOffset + o, bytes);
  return bytes === 4 ? (dv.getUint32(0, true) & 0x7fffffff) > 0x7f800000 : (dv.getBigUint64(0, true) & 0x7fffffffffffffffn) > 0x7ff0000000000000n;
}
function intExact(b: Uint8Array, o: number, bytes: 2 | 4 | 8): Exact {
  const dv = new DataView(b.buffer, b.byteOffset + o, bytes);
  const v = bytes === 2 ? BigInt(dv.getInt16(0, true)) : bytes === 4 ? BigInt(dv.getInt32(0, true)) : dv.getBigInt64(0, true);
  return { num: v, den: 1n };
}
function bcdExact(b: Uint8Array, o: number): Exact {
  let v = 0n;
  for (let i = 8; i >= 0; i--) v = v * 100n + BigInt((b[o + i] >> 4) * 10 + (b[o + i] & 15));
  return { num: b[o + 9] & 0x80 ? -v : v, den: 1n };
}

const add = (x: Exact, y: Exact): Exact => ({ num: x.num * y.den + y.num * x.den, den: x.den * y.den });
const neg = (x: Exact): Exact => ({ num: -x.num, den: x.den });
const mul = (x: Exact, y: Exact): Exact => ({ num: x.num * y.num, den: x.den * y.den });
function div(x: Exact, y: Exact): Exact | null {
  if (y.num === 0n) return null;
  const num = x.num * y.den, den = x.den * y.num;
  return den < 0n ? { num: -num, den: -den } : { num, den };
}
const abs = (v: bigint) => (v < 0n ? -v : v);
/** |r| > |x|: the delivered result r was rounded away from zero. */
function greaterMagnitude(r: Exact, x: Exact): boolean {
  if (x.inf) return false;
  if (r.inf) return true;
  return abs(r.num) * x.den > abs(x.num) * r.den;
}

// Instructions whose Vol. 2 "Floating-Point Exceptions" list #D.
const DE_ARITH = /^(fadd|fsub|fsubr|fmul|fdiv|fdivr|fcom|fcomp|fcompp|fucom|fucompp|fcomi|fucomip|fprem|fprem1|fscale) /;
const DE_UNARY = /^(ftst|fsqrt|frndint|fxtract|fsin|fcos|fsincos|fptan|f2xm1) /;
const DE_BINARY_TRANSCENDENTAL = /^(fyl2x|fyl2xp1|fpatan) /;
const MEM_FP = / (m32fp|m64fp) /;

/**
 * The SDM's DE for this case: a denormal operand of an instruction that lists #D, and no NaN or
 * unsupported operand (they take precedence, §4.9.2). Operands are read from the case's input
 * bytes: ST(0) from IN_A, ST(1) from IN_B, the memory operand from IN_MEM.
 */
export function denormalOperand(c: FpuCase): boolean {
  const d = c.data;
  const mem = / m(16int|32int|32fp|64fp) /.exec(c.name)?.[1];
  const regs: number[] = [];
  let memFp: 4 | 8 | null = null;
  if (/^fld m(32|64) /.test(c.name)) memFp = c.name.startsWith("fld m32") ? 4 : 8;
  else if (DE_ARITH.test(c.name)) {
    regs.push(IN_A);
    if (mem === undefined) regs.push(IN_B);
    else if (MEM_FP.test(c.name)) memFp = mem === "32fp" ? 4 : 8;
  } else if (DE_UNARY.test(c.name)) regs.push(IN_A);
  else if (DE_BINARY_TRANSCENDENTAL.test(c.name)) regs.push(IN_A, IN_B);
  else return false;
  if (regs.some((o) => f80NaNOrUnsupported(d, o)) || (memFp !== null && ieeeNaN(d, IN_MEM, memFp))) return false;
  if (invalidOrZeroDivide(c)) return false;
  return regs.some((o) => f80Denormal(d, o)) || (memFp !== null && ieeeDenormal(d, IN_MEM, memFp));
}

/**
 * The invalid operations and divide-by-zero of priority 3 (§4.9.2) that a denormal operand can
 * meet in these cases: they take precedence over DE (priority 4).
 */
function invalidOrZeroDivide(c: FpuCase): boolean {
  const d = c.data;
  const isZero = (o: number) => (f80At(d, o).se & 0x7fff) === 0 && f80At(d, o).sig === 0n;
  const negative = (o: number) => (d[o + 9] & 0x80) !== 0 && !isZero(o);
  if (/^fdiv st0,st1 /.test(c.name)) return isZero(IN_B);
  if (/^fdivr st0,st1 /.test(c.name)) return isZero(IN_A);
  if (/^fprem1? /.test(c.name)) return isZero(IN_B) || (f80At(d, IN_A).se & 0x7fff) === 0x7fff; // divisor 0 or dividend ∞: IA
  if (/^fsqrt /.test(c.name)) return negative(IN_A); // square root of a negative: IA
  return false;
}

const ST = (i: number) => 28 + 10 * i; // ST(i) in the FNSAVE image at OUT_SAVE
const STORE = OUT_STORE - OUT_SAVE;

/**
 * Whether the case's result was rounded up (magnitude increased) per the exact arithmetic:
 * true/false, or null for a case this function does not know how to evaluate (then no C1
 * difference is accepted). `img` is QEMU's bytes from OUT_SAVE on.
 */
export function roundedUp(c: FpuCase, img: Uint8Array): boolean | null {
  const d = c.data;
  const a = f80Exact(d, IN_A);
  if (a === null || a.inf) return null;
  const name = c.name;
  const op = /^(fadd|fsub|fsubr|fmul|fdiv|fdivr) /.exec(name)?.[1] ?? (name === "unmasked PE fdiv" ? "fdiv" : undefined);
  if (op !== undefined) {
    let x: Exact | null, y: Exact | null;
    let at = ST(0);
    const mem = / m(16int|32int|32fp|64fp) /.exec(name)?.[1];
    const form = / form([012]) /.exec(name)?.[1];
    if (mem !== undefined) {
      const m = mem === "16int" ? intExact(d, IN_MEM, 2) : mem === "32int" ? intExact(d, IN_MEM, 4) : ieeeExact(d, IN_MEM, mem === "32fp" ? 4 : 8);
      [x, y] = [a, m];
    } else if (form === "1" || form === "2") {
      // DC/DE forms: ST(1) = ST(1) op ST(0); DE pops, leaving the result in ST(0).
      [x, y] = [f80Exact(d, IN_B), a];
      if (form === "1") at = ST(1);
    } else [x, y] = [a, f80Exact(d, IN_B)];
    if (x === null || y === null || x.inf || y.inf) return null;
    const exact = op === "fadd" ? add(x, y) : op === "fsub" ? add(x, neg(y)) : op === "fsubr" ? add(y, neg(x)) : op === "fmul" ? mul(x, y) : op === "fdiv" ? div(x, y) : div(y, x);
    const r = f80Exact(img, at);
    return exact === null || r === null ? null : greaterMagnitude(r, exact);
  }
  if (name.startsWith("fsqrt ")) {
    const r = f80Exact(img, ST(0));
    if (r === null || r.inf || a.num < 0n) return null;
    return greaterMagnitude(mul(r, r), a); // r > sqrt(a) exactly when r² > a
  }
  if (name.startsWith("frndint ")) {
    const r = f80Exact(img, ST(0));
    return r === null ? null : greaterMagnitude(r, a);
  }
  if (name.startsWith("fscale ")) {
    const b = f80Exact(d, IN_B);
    if (b === null || b.inf) return null;
    const n = b.num / b.den; // truncated toward zero (Vol. 2 FSCALE)
    const r = f80Exact(img, ST(0));
    if (r === null) return null;
    // Beyond any finite extended value either way: only ∞ (overflow) or a non-zero denormal
    // (underflow) is larger in magnitude than the exact result.
    if (n > 40000n) return r.inf !== undefined;
    if (n < -40000n) return a.num !== 0n && r.num !== 0n;
    return greaterMagnitude(r, mul(a, pow2(Number(n))));
  }
  const int = /^fistp? m(16|32|64) /.exec(name)?.[1];
  if (int !== undefined) return greaterMagnitude(intExact(img, STORE, (Number(int) / 8) as 2 | 4 | 8), a);
  if (name.startsWith("fbstp ")) return greaterMagnitude(bcdExact(img, STORE), a);
  const fp = /^fstp? m(32|64) /.exec(name)?.[1];
  if (fp !== undefined) {
    const r = ieeeExact(img, STORE, fp === "32" ? 4 : 8);
    return r === null ? null : greaterMagnitude(r, a);
  }
  return null;
}

/**
 * FRNDINT's result and PE per the SDM: ST(0) rounded to an integer by RC; precision control
 * does not apply (Vol. 1 §8.1.5.2 lists the instructions it affects, FRNDINT is not one).
 * For a finite normal IN_A only (the random FRNDINT cases); null otherwise.
 */
export function frndintResult(c: FpuCase): { bytes: Uint8Array; inexact: boolean } | null {
  const { se, sig } = f80At(c.data, IN_A);
  const e = se & 0x7fff;
  if (e === 0 || e === 0x7fff || (sig & J) === 0n) return null;
  const neg = (se & 0x8000) !== 0;
  const rc = (c.data[IN_CW + 1] >> 2) & 3;
  const shift = 16383 + 63 - e;
  let n = sig, inexact = false;
  if (shift > 0) {
    const big = BigInt(shift);
    n = shift > 64 ? 0n : sig >> big;
    const rem = shift > 64 ? sig : sig & ((1n << big) - 1n);
    const half = shift > 64 ? 1n << 200n : 1n << (big - 1n); // beyond 64 bits the remainder is under one half
    inexact = rem !== 0n;
    const up = rc === 0 ? rem > half || (rem === half && (n & 1n) === 1n) : rc === 1 ? neg && inexact : rc === 2 ? !neg && inexact : false;
    if (up) n++;
  }
  const bytes = new Uint8Array(10);
  if (n !== 0n) {
    const len = n.toString(2).length;
    const s = shift > 0 ? n << BigInt(64 - len) : sig;
    const ex = shift > 0 ? 16383 + len - 1 : e;
    for (let i = 0; i < 8; i++) bytes[i] = Number((s >> BigInt(8 * i)) & 0xffn);
    bytes[8] = ex & 0xff;
    bytes[9] = ex >> 8;
  }
  if (neg) bytes[9] |= 0x80;
  return { bytes, inexact };
}
