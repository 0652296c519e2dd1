// The x87 escape opcodes D8–DF (SDM Vol. 2 Appendix A.4, "Escape opcode instructions"), WAIT,
// and FXSAVE/FXRSTOR. One entry point per opcode family: fpuEscape(op) from the main switch.
//
// Fault discipline (a guest fault is a flag and an early return, never a throw): every memory
// operand is read (and every store destination probed) before any FPU state changes, so a
// #PF/#GP restarts the instruction cleanly; stores write memory before popping.

import * as cpu from "../cpu";
import { segSelector, segBase, protectedMode, setReg16, CR0_EM, CR0_TS, CR0_MP, CR0_NE, SIZE_8, SIZE_16, SIZE_32 } from "../cpu";
import * as decode from "../decode";
import { decodeModrm } from "../decode";
import { linearRead, linearWrite } from "../segments";
import { readLin, writeLin, probeWrite } from "../mmu";
import { raise, raiseUD, raiseGP, EXC_NM, EXC_MF } from "../exceptions";
import * as fl from "../flags";
import { SEG_CS } from "../layout";
import {
  EX_IE, EX_DE, EX_ZE, EX_OE, EX_UE, EX_PE, EX_SF, BIAS, EXP_MAX, INT_BIT, QUIET, INDEF_SIG, INDEF_SE,
  K_ZERO, K_FINITE, K_INF, K_QNAN, K_SNAN, K_BAD, CMP_LT, CMP_EQ, CMP_GT, CMP_UN,
  beginOp, signal, unmasked, unpackA, unpackB, isNaNKind, nanCheck1, nanCheck2, invalid, denormalCheck,
  fadd, fmul, fdiv, fsqrt, fcompare, roundPack, packRounded80, roundToInt, fromInt64, fromMag, precisionOf,
  setResult, setZero, setInf, setIndefinite,
} from "./float80";
import * as f from "./float80";
import {
  FPU_FCW, FPU_FSW, FPU_FTW, FPU_FOP, FPU_FIP, FPU_FCS, FPU_FDP, FPU_FDS, FPU_MXCSR, FPU_SCRATCH, FPU_REGS,
  SW_ES, SW_B, SW_C0, SW_C1, SW_C2, SW_C3, SW_CC,
  fcw, fsw, setFsw, top, setTop, phys, stEmpty, stSig, stSE, setSt, setPhys, freePhys, physSig, physSE, pop, push,
  setCC, stackUnderflow, stackOverflow, commitExceptions, recomputeES, fpuInit, fullTagWord, setTagWord,
} from "./fpu";
import { toF64, fromF64, log2Ext } from "./transcend";

// ---- memory operands -------------------------------------------------------------------------
@inline function eaAt(k: u32): u32 {
  const o = decode.eaOff + k;
  return cpu.adsz32 ? o : o & 0xffff;
}
/** Read 2^sz bytes at EA + k; 0 with cpu.faulted set on a fault. */
function rd(k: u32, sz: i32): u32 {
  const lin = linearRead(decode.eaSeg, eaAt(k), sz);
  if (cpu.faulted) return 0;
  return readLin(sz, lin);
}
function rd64(k: u32): u64 {
  const lo = rd(k, SIZE_32);
  if (cpu.faulted) return 0;
  const hi = rd(k + 4, SIZE_32);
  return (<u64>hi << 32) | <u64>lo;
}
function wr(k: u32, sz: i32, v: u32): void {
  const lin = linearWrite(decode.eaSeg, eaAt(k), sz);
  if (cpu.faulted) return;
  writeLin(sz, lin, v);
}
/** Check that `len` bytes at EA can be written (segment limit, paging), before writing any. */
function probeRange(len: u32): void {
  for (let k: u32 = 0; k < len; k += 4) {
    const sz = len - k >= 4 ? SIZE_32 : len - k >= 2 ? SIZE_16 : SIZE_8;
    const lin = linearWrite(decode.eaSeg, eaAt(k), sz);
    if (cpu.faulted) return;
    probeWrite(lin, sz);
    if (cpu.faulted) return;
  }
}
/** Write `len` bytes from the scratch area to EA (after probing them all). */
function writeScratch(len: u32): void {
  probeRange(len);
  if (cpu.faulted) return;
  let k: u32 = 0;
  for (; k + 4 <= len; k += 4) wr(k, SIZE_32, load<u32>(FPU_SCRATCH + k));
  for (; k < len; k++) wr(k, SIZE_8, load<u8>(FPU_SCRATCH + k));
}
/** Read `len` bytes at EA into the scratch area; cpu.faulted on a fault. */
function readScratch(len: u32): void {
  let k: u32 = 0;
  for (; k + 4 <= len; k += 4) {
    const v = rd(k, SIZE_32);
    if (cpu.faulted) return;
    store<u32>(FPU_SCRATCH + k, v);
  }
  for (; k < len; k++) {
    const v = rd(k, SIZE_8);
    if (cpu.faulted) return;
    store<u8>(FPU_SCRATCH + k, <u8>v);
  }
}

// A memory operand converted to extended: mSig/mSE, and whether the source was a denormal of
// its own format (DE is then raised although the extended value is normal).
let mSig: u64 = 0;
let mSE: u32 = 0;
let mDen: bool = false;
let mSNaN: bool = false;

/**
 * Load an IEEE binary32/binary64 value (sign, biased exponent, fraction of `fracBits` bits,
 * exponent bias, all-ones exponent) into the 80-bit working value: denormals are normalized
 * (and flagged for #D), NaNs keep their payload at the top of the significand.
 */
function loadBinary(s: u32, e: u32, fr: u64, fracBits: i32, bias: i32, expMax: u32): void {
  mDen = false;
  mSNaN = false;
  if (e == 0) {
    if (fr == 0) {
      mSig = 0;
      mSE = s << 15;
      return;
    }
    mDen = true;
    const z = <i32>clz<u64>(fr); // >= 63 - fracBits
    mSig = fr << z;
    mSE = (s << 15) | <u32>(BIAS - (bias - 1) - (z - (63 - fracBits)));
    return;
  }
  const sig = INT_BIT | (fr << (63 - fracBits));
  if (e == expMax) {
    mSig = sig;
    mSE = (s << 15) | EXP_MAX;
    mSNaN = fr != 0 && (fr & (<u64>1 << (fracBits - 1))) == 0;
    return;
  }
  mSig = sig;
  mSE = (s << 15) | <u32>(<i32>e - bias + BIAS);
}
function loadF32(v: u32): void {
  loadBinary(v >> 31, (v >> 23) & 0xff, <u64>(v & 0x7fffff), 23, 127, 0xff);
}
function loadF64(v: u64): void {
  loadBinary(<u32>(v >> 63), <u32>((v >> 52) & 0x7ff), v & 0xfffffffffffff, 52, 1023, 0x7ff);
}
function loadInt(v: i64): void {
  fromInt64(v);
  mSig = f.resSig;
  mSE = f.resSE;
  mDen = false;
  mSNaN = false;
}

/**
 * Read the arithmetic memory operand of D8 (m32fp), DA (m32int), DC (m64fp), DE (m16int) into
 * mSig/mSE. cpu.faulted on a fault.
 */
function readArithOperand(esc: u32): void {
  switch (esc) {
    case 0: {
      const v = rd(0, SIZE_32);
      if (!cpu.faulted) loadF32(v);
      break;
    }
    case 2: {
      const v = rd(0, SIZE_32);
      if (!cpu.faulted) loadInt(<i64>(<i32>v));
      break;
    }
    case 4: {
      const v = rd64(0);
      if (!cpu.faulted) loadF64(v);
      break;
    }
    default: {
      const v = rd(0, SIZE_16);
      if (!cpu.faulted) loadInt(<i64>(<i16>v));
      break;
    }
  }
}

// ---- the escape ----------------------------------------------------------------------------
/** Instructions that do not check for a pending unmasked exception (the FN… forms, §8.3.11). */
function nonWaiting(esc: u32, m: u32): bool {
  const reg = (m >> 3) & 7;
  if (m < 0xc0) {
    if (esc == 1) return reg == 6 || reg == 7; // FNSTENV, FNSTCW
    if (esc == 5) return reg == 6 || reg == 7; // FNSAVE, FNSTSW m16
    return false;
  }
  if (esc == 3) return m == 0xe2 || m == 0xe3; // FNCLEX, FNINIT
  if (esc == 7) return m == 0xe0; // FNSTSW AX
  return false;
}
/** Control instructions leave the last-instruction pointers alone (§8.1.8). */
function isControl(esc: u32, m: u32): bool {
  const reg = (m >> 3) & 7;
  if (m < 0xc0) {
    if (esc == 1) return reg >= 4;
    if (esc == 5) return reg == 4 || reg == 6 || reg == 7;
    return false;
  }
  if (esc == 3) return m >= 0xe0 && m <= 0xe7;
  if (esc == 7) return m == 0xe0;
  return false;
}

/** WAIT/FWAIT (Vol. 2 WAIT): #NM when CR0.MP and TS; a pending unmasked exception → #MF. */
export function fpuWait(): void {
  const c = cpu.cr0();
  if ((c & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
    raise(EXC_NM, 0);
    return;
  }
  pendingCheck(c);
}

/**
 * A pending unmasked x87 exception at a waiting instruction: #MF when CR0.NE = 1 (§8.7.1).
 * With NE = 0 the PC-style FERR# → IRQ 13 path would apply; we do not model FERR# (no board
 * logic asserts IRQ 13), so such guests see nothing and the exception stays pending in FSW.
 */
function pendingCheck(c: u32): bool {
  if ((fsw() & SW_ES) != 0 && (c & CR0_NE) != 0) {
    raise(EXC_MF, 0);
    return false;
  }
  return true;
}

/** Execute one x87 escape instruction (first byte D8–DF, already fetched). */
export function fpuEscape(op: u32): void {
  decodeModrm();
  const c = cpu.cr0();
  // §2.5 / Vol. 3 Table 12-... : EM → #NM for every escape; TS → #NM (lazy FPU switching).
  if ((c & (CR0_EM | CR0_TS)) != 0) {
    raise(EXC_NM, 0);
    return;
  }
  const esc = op & 7;
  const m = decode.modrm;
  if (!nonWaiting(esc, m) && !pendingCheck(c)) return;
  beginOp(fcw());
  if (m < 0xc0) memForm(esc, (m >> 3) & 7);
  else regForm(esc, m);
  if (cpu.faulted) return;
  if (!isControl(esc, m)) {
    store<u16>(FPU_FOP, <u16>(((esc) << 8) | m));
    store<u32>(FPU_FIP, cpu.instrEip());
    store<u16>(FPU_FCS, <u16>segSelector(SEG_CS));
    if (m < 0xc0) {
      store<u32>(FPU_FDP, decode.eaOff);
      store<u16>(FPU_FDS, <u16>segSelector(decode.eaSeg));
    }
  }
}

// ---- helpers -------------------------------------------------------------------------------
/** Run arithmetic op k (reg field: 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr) on A (dest) and B. */
function arith(k: i32): void {
  const prec = precisionOf(fcw());
  switch (k) {
    case 0: fadd(false, prec); break;
    case 1: fmul(prec); break;
    case 4: fadd(true, prec); break;
    case 5: swapAB(); fadd(true, prec); break;
    case 6: fdiv(prec); break;
    default: swapAB(); fdiv(prec); break;
  }
}
function swapAB(): void {
  const s = f.aSign, e = f.aExp, g = f.aSig, k = f.aKind, d = f.aDen;
  f.aSign = f.bSign; f.aExp = f.bExp; f.aSig = f.bSig; f.aKind = f.bKind; f.aDen = f.bDen;
  f.bSign = s; f.bExp = e; f.bSig = g; f.bKind = k; f.bDen = d;
}

/** Condition codes for a comparison result (§8.1.4, Table 8-6); C1 cleared. */
function setCompareCC(r: i32): void {
  let cc: u32 = 0;
  if (r == CMP_LT) cc = SW_C0;
  else if (r == CMP_EQ) cc = SW_C3;
  else if (r == CMP_UN) cc = SW_C3 | SW_C2 | SW_C0;
  setCC(SW_CC, cc);
}
/** EFLAGS for FCOMI/FUCOMI (Vol. 2 FCOMI): ZF PF CF from the result, OF SF AF cleared. */
function setCompareEflags(r: i32): void {
  let v: u32 = 0;
  if (r == CMP_LT) v = fl.FLAG_CF;
  else if (r == CMP_EQ) v = fl.FLAG_ZF;
  else if (r == CMP_UN) v = fl.FLAG_ZF | fl.FLAG_PF | fl.FLAG_CF;
  fl.writeFlags(v, fl.FLAG_ZF | fl.FLAG_PF | fl.FLAG_CF | fl.FLAG_OF | fl.FLAG_SF | fl.FLAG_AF);
}

/**
 * Compare ST(0) with the operand in B (already unpacked) or with an empty register, then pop
 * `pops` times. `eflags` = FCOMI form. `empty` = a source register was empty.
 */
function compareFinish(empty: bool, quiet: bool, eflags: bool, pops: i32): void {
  let r: i32;
  if (empty) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    r = CMP_UN;
  } else {
    r = fcompare(quiet);
    if (unmasked(f.exc & (EX_IE | EX_DE))) {
      commitExceptions(false);
      return;
    }
    setCC(SW_C1, 0);
  }
  if (eflags) setCompareEflags(r);
  else setCompareCC(r);
  for (let i = 0; i < pops; i++) pop();
  commitExceptions(false);
}

/** Store the result (if the operation produced one) to ST(dst), popping if asked. */
function finishArith(dst: i32, popAfter: bool): void {
  if (f.valid) {
    setSt(dst, f.resSig, f.resSE);
    if (popAfter) pop();
  }
  commitExceptions(true);
}

/** ST(i) op with empty-register handling: true if both operands are present (A/B unpacked). */
function loadRegPair(dst: i32, src: i32, popAfter: bool): bool {
  if (stEmpty(dst) || stEmpty(src)) {
    if (stackUnderflow()) {
      setSt(dst, INDEF_SIG, INDEF_SE);
      if (popAfter) pop();
    }
    commitExceptions(false);
    return false;
  }
  unpackA(stSig(dst), stSE(dst));
  unpackB(stSig(src), stSE(src));
  return true;
}

/** Push a value, handling stack overflow (§8.5.1.1: masked → push the indefinite, C1 = 1). */
function pushChecked(sig: u64, se: u32): void {
  if (!stEmpty(7)) {
    if (stackOverflow()) push(INDEF_SIG, INDEF_SE);
    setCC(SW_C1, SW_C1);
    return;
  }
  setCC(SW_C1, 0);
  push(sig, se);
}

// ---- memory forms ----------------------------------------------------------------------------
function memForm(esc: u32, reg: i32): void {
  switch (esc) {
    case 0: case 2: case 4: case 6: { // arithmetic with m32fp / m32int / m64fp / m16int
      readArithOperand(esc);
      if (cpu.faulted) return;
      const empty = stEmpty(0);
      if (reg == 2 || reg == 3) {
        if (!empty) {
          unpackA(stSig(0), stSE(0));
          unpackB(mSig, mSE);
          if (mDen) f.bDen = true;
        }
        compareFinish(empty, false, false, reg == 3 ? 1 : 0);
        return;
      }
      if (empty) {
        if (stackUnderflow()) setSt(0, INDEF_SIG, INDEF_SE);
        commitExceptions(false);
        return;
      }
      unpackA(stSig(0), stSE(0));
      unpackB(mSig, mSE);
      if (mDen) f.bDen = true;
      arith(reg);
      finishArith(0, false);
      return;
    }
    case 1: memD9(reg); return;
    case 3: memDB(reg); return;
    case 5: memDD(reg); return;
    default: memDF(reg); return;
  }
}

/** FLD of a converted memory operand (m32fp/m64fp: SNaN → IE, denormal → DE). */
function fldConverted(): void {
  if (mSNaN) {
    if (signal(EX_IE)) {
      commitExceptions(false);
      return;
    }
    mSig |= QUIET;
  }
  if (mDen && signal(EX_DE)) {
    commitExceptions(false);
    return;
  }
  pushChecked(mSig, mSE);
  commitExceptions(false);
}

function memD9(reg: i32): void {
  switch (reg) {
    case 0: { // FLD m32fp
      const v = rd(0, SIZE_32);
      if (cpu.faulted) return;
      loadF32(v);
      fldConverted();
      return;
    }
    case 2: case 3: storeFloat(2, reg == 3); return; // FST/FSTP m32fp
    case 4: { // FLDENV
      const len: u32 = cpu.opsz == SIZE_32 ? 28 : 14;
      readScratch(len);
      if (cpu.faulted) return;
      loadEnvFromScratch();
      return;
    }
    case 5: { // FLDCW
      const v = rd(0, SIZE_16);
      if (cpu.faulted) return;
      setControlWord(v);
      return;
    }
    case 6: { // FNSTENV: store, then mask all exceptions (Vol. 2 FSTENV)
      const len = storeEnvToScratch();
      writeScratch(len);
      if (cpu.faulted) return;
      store<u16>(FPU_FCW, <u16>(fcw() | 0x3f));
      return;
    }
    case 7: // FNSTCW
      wr(0, SIZE_16, fcw());
      return;
    default:
      raiseUD();
  }
}

function memDB(reg: i32): void {
  switch (reg) {
    case 0: { // FILD m32int
      const v = rd(0, SIZE_32);
      if (cpu.faulted) return;
      loadInt(<i64>(<i32>v));
      pushChecked(mSig, mSE);
      commitExceptions(false);
      return;
    }
    case 2: case 3: storeInt(2, reg == 3); return; // FIST/FISTP m32int
    case 5: { // FLD m80fp: no conversion, no exceptions but stack overflow
      const lo = rd64(0);
      if (cpu.faulted) return;
      const se = rd(8, SIZE_16);
      if (cpu.faulted) return;
      pushChecked(lo, se);
      commitExceptions(false);
      return;
    }
    case 7: { // FSTP m80fp
      let sig: u64, se: u32;
      if (stEmpty(0)) {
        if (!stackUnderflow()) {
          commitExceptions(false);
          return;
        }
        sig = INDEF_SIG;
        se = INDEF_SE;
      } else {
        sig = stSig(0);
        se = stSE(0);
        setCC(SW_C1, 0);
      }
      store<u64>(FPU_SCRATCH, sig);
      store<u16>(FPU_SCRATCH + 8, <u16>se);
      writeScratch(10);
      if (cpu.faulted) return;
      pop();
      commitExceptions(false);
      return;
    }
    default:
      raiseUD(); // DB /1 FISTTP needs SSE3, which CPUID does not advertise; /4 /6 reserved
  }
}

function memDD(reg: i32): void {
  switch (reg) {
    case 0: { // FLD m64fp
      const v = rd64(0);
      if (cpu.faulted) return;
      loadF64(v);
      fldConverted();
      return;
    }
    case 2: case 3: storeFloat(3, reg == 3); return;
    case 4: { // FRSTOR
      const envLen: u32 = cpu.opsz == SIZE_32 ? 28 : 14;
      readScratch(envLen + 80);
      if (cpu.faulted) return;
      loadEnvFromScratch();
      const t = top();
      for (let i = 0; i < 8; i++) {
        const a = FPU_SCRATCH + envLen + <u32>(i * 10);
        const p = (t + i) & 7;
        // Write the register without touching its tag (the tag word came from the image).
        store<u64>(FPU_REGS + (p << 4), load<u64>(a));
        store<u16>(FPU_REGS + (p << 4) + 8, load<u16>(a + 8));
      }
      return;
    }
    case 6: { // FNSAVE: the environment, the registers in ST order, then FNINIT
      const envLen = storeEnvToScratch();
      for (let i = 0; i < 8; i++) {
        const a = FPU_SCRATCH + envLen + <u32>(i * 10);
        store<u64>(a, stSig(i));
        store<u16>(a + 8, <u16>stSE(i));
      }
      writeScratch(envLen + 80);
      if (cpu.faulted) return;
      fpuInit();
      return;
    }
    case 7: // FNSTSW m16
      wr(0, SIZE_16, fsw());
      return;
    default:
      raiseUD();
  }
}

function memDF(reg: i32): void {
  switch (reg) {
    case 0: { // FILD m16int
      const v = rd(0, SIZE_16);
      if (cpu.faulted) return;
      loadInt(<i64>(<i16>v));
      pushChecked(mSig, mSE);
      commitExceptions(false);
      return;
    }
    case 2: case 3: storeInt(1, reg == 3); return;
    case 4: { // FBLD m80bcd: 18 packed digits and a sign byte, converted exactly
      readScratch(10);
      if (cpu.faulted) return;
      let v: u64 = 0;
      for (let i = 8; i >= 0; i--) {
        const b = <u64>load<u8>(FPU_SCRATCH + i);
        v = v * 100 + (b >> 4) * 10 + (b & 15);
      }
      fromMag(<u32>(load<u8>(FPU_SCRATCH + 9) >> 7), v);
      pushChecked(f.resSig, f.resSE);
      commitExceptions(false);
      return;
    }
    case 5: { // FILD m64int
      const v = rd64(0);
      if (cpu.faulted) return;
      loadInt(<i64>v);
      pushChecked(mSig, mSE);
      commitExceptions(false);
      return;
    }
    case 6: storeBcd(); return;
    case 7: storeInt(3, true); return;
    default:
      raiseUD(); // DF /1 FISTTP m16int: SSE3
  }
}

// ---- stores with conversion -----------------------------------------------------------------
/** FST/FSTP m32fp (sz 2) or m64fp (sz 3): round to the destination's format (§4.9, Vol. 2 FST). */
function storeFloat(sz: i32, popAfter: bool): void {
  let lo: u32 = 0, hi: u32 = 0;
  const single = sz == 2;
  if (stEmpty(0)) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    if (single) lo = 0xffc00000;
    else hi = 0xfff80000;
  } else {
    unpackA(stSig(0), stSE(0));
    const s = f.aSign;
    switch (f.aKind) {
      case K_ZERO:
        if (single) lo = s << 31;
        else hi = s << 31;
        break;
      case K_INF:
        if (single) lo = (s << 31) | 0x7f800000;
        else hi = (s << 31) | 0x7ff00000;
        break;
      case K_QNAN: case K_SNAN: {
        if (f.aKind == K_SNAN) signal(EX_IE);
        // The NaN's significand truncated to the destination, with the quiet bit set.
        if (single) lo = (s << 31) | 0x7fc00000 | <u32>((f.aSig >> 40) & 0x3fffff);
        else {
          const b = (<u64>s << 63) | 0x7ff8000000000000 | ((f.aSig >> 11) & 0x7ffffffffffff);
          lo = <u32>b;
          hi = <u32>(b >> 32);
        }
        break;
      }
      case K_BAD:
        signal(EX_IE);
        if (single) lo = 0xffc00000;
        else hi = 0xfff80000;
        break;
      default: {
        if (single) {
          roundPack(s, f.aExp - BIAS + 127, f.aSig, 0, 24, 0xff, 0);
          lo = (s << 31) | (<u32>f.rExp << 23) | <u32>((f.rSig >> 40) & 0x7fffff);
        } else {
          roundPack(s, f.aExp - BIAS + 1023, f.aSig, 0, 53, 0x7ff, 0);
          const b = (<u64>s << 63) | (<u64>f.rExp << 52) | ((f.rSig >> 11) & 0xfffffffffffff);
          lo = <u32>b;
          hi = <u32>(b >> 32);
        }
      }
    }
    // Unmasked invalid, overflow or underflow: memory and the stack are left unchanged.
    if (unmasked(f.exc & (EX_IE | EX_OE | EX_UE))) {
      commitExceptions(true);
      return;
    }
  }
  store<u32>(FPU_SCRATCH, lo);
  store<u32>(FPU_SCRATCH + 4, hi);
  writeScratch(single ? 4 : 8);
  if (cpu.faulted) return;
  if (popAfter) pop();
  commitExceptions((f.exc & EX_SF) == 0);
}

/** FIST/FISTP m16int (sz 1), m32int (2), m64int (3): round by RC; out of range → IE, indefinite. */
function storeInt(sz: i32, popAfter: bool): void {
  let v: u64 = 0;
  const indef: u64 = sz == 1 ? 0x8000 : sz == 2 ? 0x80000000 : 0x8000000000000000;
  if (stEmpty(0)) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    v = indef;
  } else {
    unpackA(stSig(0), stSE(0));
    if (f.aKind == K_FINITE || f.aKind == K_ZERO) {
      // No DE for a denormal source: Vol. 2 FIST/FISTP lists #IS, #IA and #P only.
      roundToInt();
      const limit: u64 = sz == 1 ? 0x8000 : sz == 2 ? 0x80000000 : 0x8000000000000000;
      const ok = !f.intHuge && (f.aSign != 0 ? f.intMag <= limit : f.intMag < limit);
      if (!ok) {
        signal(EX_IE);
        v = indef;
      } else {
        v = f.aSign != 0 ? 0 - f.intMag : f.intMag;
        if (f.intInexact) signal(EX_PE);
        f.roundedUp = f.intUp;
      }
    } else {
      signal(EX_IE);
      v = indef;
    }
    if (unmasked(f.exc & EX_IE)) {
      commitExceptions(false);
      return;
    }
  }
  store<u64>(FPU_SCRATCH, v);
  writeScratch(sz == 1 ? 2 : sz == 2 ? 4 : 8);
  if (cpu.faulted) return;
  if (popAfter) pop();
  commitExceptions((f.exc & EX_SF) == 0);
}

/** FBSTP m80bcd: round by RC to an integer of at most 18 digits; else IE and the BCD indefinite. */
function storeBcd(): void {
  let mag: u64 = 0;
  let sign: u32 = 0;
  let indefinite = false;
  if (stEmpty(0)) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    indefinite = true;
  } else {
    unpackA(stSig(0), stSE(0));
    sign = f.aSign;
    if (f.aKind == K_FINITE || f.aKind == K_ZERO) {
      // No DE for a denormal source: Vol. 2 FBSTP lists #IS, #IA and #P only.
      roundToInt();
      if (f.intHuge || f.intMag > 999999999999999999) {
        signal(EX_IE);
        indefinite = true;
      } else {
        mag = f.intMag;
        if (f.intInexact) signal(EX_PE);
        f.roundedUp = f.intUp;
      }
    } else {
      signal(EX_IE);
      indefinite = true;
    }
    if (unmasked(f.exc & EX_IE)) {
      commitExceptions(false);
      return;
    }
  }
  if (indefinite) {
    // Packed BCD indefinite (§4.8.3.7, Table 4-3): FFFF C000 0000 0000 0000.
    store<u64>(FPU_SCRATCH, 0xc000000000000000);
    store<u16>(FPU_SCRATCH + 8, 0xffff);
  } else {
    for (let i = 0; i < 9; i++) {
      const lo = mag % 10;
      mag /= 10;
      const hi = mag % 10;
      mag /= 10;
      store<u8>(FPU_SCRATCH + i, <u8>((hi << 4) | lo));
    }
    store<u8>(FPU_SCRATCH + 9, <u8>(sign << 7));
  }
  writeScratch(10);
  if (cpu.faulted) return;
  pop();
  commitExceptions((f.exc & EX_SF) == 0);
}

// ---- control word, environment, save image ---------------------------------------------------
function setControlWord(v: u32): void {
  // Bit 6 reads as 1 and bits 7, 13–15 as 0 on the P6 family (reserved, §8.1.5).
  store<u16>(FPU_FCW, <u16>((v & 0x1f3f) | 0x40));
  recomputeES();
}

/** Real-address and virtual-8086 modes use the real-mode image layouts (§8.1.10, Figs. 8-9..8-12). */
function realLayout(): bool {
  return !protectedMode() || (fl.readFlags() & fl.FLAG_VM) != 0;
}

/** Build the FSTENV image (14 or 28 bytes by operand size) in the scratch area; returns its size. */
function storeEnvToScratch(): u32 {
  const o32 = cpu.opsz == SIZE_32;
  const cw = fcw(), sw = fsw(), tw = fullTagWord();
  const fop = <u32>load<u16>(FPU_FOP) & 0x7ff;
  const fip = load<u32>(FPU_FIP), fcs = <u32>load<u16>(FPU_FCS);
  const fdp = load<u32>(FPU_FDP), fds = <u32>load<u16>(FPU_FDS);
  const a = FPU_SCRATCH;
  if (o32) {
    // Reserved upper halves are stored as ones, as P6-family processors do.
    store<u32>(a + 0, 0xffff0000 | cw);
    store<u32>(a + 4, 0xffff0000 | sw);
    store<u32>(a + 8, 0xffff0000 | tw);
    if (realLayout()) {
      store<u32>(a + 12, 0xffff0000 | (fip & 0xffff));
      store<u32>(a + 16, ((fip >> 16) << 12) | fop);
      store<u32>(a + 20, 0xffff0000 | (fdp & 0xffff));
      store<u32>(a + 24, (fdp >> 16) << 12);
    } else {
      store<u32>(a + 12, fip);
      store<u32>(a + 16, fcs | (fop << 16));
      store<u32>(a + 20, fdp);
      store<u32>(a + 24, 0xffff0000 | fds);
    }
    return 28;
  }
  store<u16>(a + 0, <u16>cw);
  store<u16>(a + 2, <u16>sw);
  store<u16>(a + 4, <u16>tw);
  if (realLayout()) {
    store<u16>(a + 6, <u16>fip);
    store<u16>(a + 8, <u16>((((fip >> 16) & 0xf) << 12) | fop));
    store<u16>(a + 10, <u16>fdp);
    store<u16>(a + 12, <u16>(((fdp >> 16) & 0xf) << 12));
  } else {
    store<u16>(a + 6, <u16>fip);
    store<u16>(a + 8, <u16>fcs);
    store<u16>(a + 10, <u16>fdp);
    store<u16>(a + 12, <u16>fds);
  }
  return 14;
}

/** Load the environment from the image in the scratch area (FLDENV, FRSTOR). */
function loadEnvFromScratch(): void {
  const a = FPU_SCRATCH;
  let cw: u32, sw: u32, tw: u32, fip: u32, fcs: u32 = 0, fop: u32 = 0, fdp: u32, fds: u32 = 0;
  if (cpu.opsz == SIZE_32) {
    cw = load<u16>(a);
    sw = load<u16>(a + 4);
    tw = load<u16>(a + 8);
    if (realLayout()) {
      fip = (<u32>load<u16>(a + 12)) | ((load<u32>(a + 16) >> 12) << 16);
      fop = load<u32>(a + 16) & 0x7ff;
      fdp = (<u32>load<u16>(a + 20)) | ((load<u32>(a + 24) >> 12) << 16);
    } else {
      fip = load<u32>(a + 12);
      fcs = load<u16>(a + 16);
      fop = (load<u32>(a + 16) >> 16) & 0x7ff;
      fdp = load<u32>(a + 20);
      fds = load<u16>(a + 24);
    }
  } else {
    cw = load<u16>(a);
    sw = load<u16>(a + 2);
    tw = load<u16>(a + 4);
    if (realLayout()) {
      const w8 = <u32>load<u16>(a + 8);
      fip = (<u32>load<u16>(a + 6)) | ((w8 >> 12) << 16);
      fop = w8 & 0x7ff;
      fdp = (<u32>load<u16>(a + 10)) | ((<u32>load<u16>(a + 12) >> 12) << 16);
    } else {
      fip = load<u16>(a + 6);
      fcs = load<u16>(a + 8);
      fdp = load<u16>(a + 10);
      fds = load<u16>(a + 12);
    }
  }
  store<u16>(FPU_FCW, <u16>((cw & 0x1f3f) | 0x40));
  setFsw(sw);
  setTagWord(tw);
  store<u16>(FPU_FOP, <u16>fop);
  store<u32>(FPU_FIP, fip);
  store<u32>(FPU_FCS, fcs);
  store<u32>(FPU_FDP, fdp);
  store<u32>(FPU_FDS, fds);
  recomputeES();
}

/** FXSAVE (0F AE /0) and FXRSTOR (0F AE /1), Vol. 2 FXSAVE: the 512-byte image, 16-byte aligned. */
export function fxsaveRestore(): void {
  decodeModrm();
  const reg = (decode.modrm >> 3) & 7;
  if (decode.modrm >= 0xc0 || reg > 1) {
    raiseUD(); // LDMXCSR/STMXCSR/fences need SSE/SSE2, not advertised
    return;
  }
  const c = cpu.cr0();
  if ((c & CR0_EM) != 0) {
    raiseUD();
    return;
  }
  if ((c & CR0_TS) != 0) {
    raise(EXC_NM, 0);
    return;
  }
  if ((eaAt(0) & 15) != 0) {
    raiseGP(0);
    return;
  }
  if (reg == 0) {
    const a = FPU_SCRATCH;
    store<u16>(a, <u16>fcw());
    store<u16>(a + 2, <u16>fsw());
    store<u16>(a + 4, load<u8>(FPU_FTW));
    store<u16>(a + 6, load<u16>(FPU_FOP));
    store<u32>(a + 8, load<u32>(FPU_FIP));
    store<u32>(a + 12, load<u16>(FPU_FCS));
    store<u32>(a + 16, load<u32>(FPU_FDP));
    store<u32>(a + 20, load<u16>(FPU_FDS));
    store<u32>(a + 24, 0x1f80); // MXCSR: the reset value (no SSE)
    store<u32>(a + 28, 0xffbf); // MXCSR_MASK
    for (let i = 0; i < 8; i++) {
      const r = a + 32 + <u32>(i << 4);
      store<u64>(r, stSig(i));
      store<u64>(r + 8, <u64>stSE(i));
    }
    // The whole 512-byte area must be writable; only the x87 part (160 bytes) is written.
    probeRange(4);
    if (cpu.faulted) return;
    const last = linearWrite(decode.eaSeg, eaAt(508), 2);
    if (cpu.faulted) return;
    probeWrite(last, SIZE_32);
    if (cpu.faulted) return;
    writeScratch(160);
    return;
  }
  const last = linearRead(decode.eaSeg, eaAt(508), 2);
  if (cpu.faulted) return;
  readLin(SIZE_32, last);
  if (cpu.faulted) return;
  readScratch(160);
  if (cpu.faulted) return;
  const a = FPU_SCRATCH;
  store<u16>(FPU_FCW, load<u16>(a));
  setFsw(load<u16>(a + 2));
  store<u8>(FPU_FTW, load<u8>(a + 4));
  store<u16>(FPU_FOP, load<u16>(a + 6) & 0x7ff);
  store<u32>(FPU_FIP, load<u32>(a + 8));
  store<u32>(FPU_FCS, load<u16>(a + 12));
  store<u32>(FPU_FDP, load<u32>(a + 16));
  store<u32>(FPU_FDS, load<u16>(a + 20));
  const t = top();
  for (let i = 0; i < 8; i++) {
    const r = a + 32 + <u32>(i << 4);
    const p = (t + i) & 7;
    store<u64>(FPU_REGS + (p << 4), load<u64>(r));
    store<u16>(FPU_REGS + (p << 4) + 8, load<u16>(r + 8));
  }
}

// ---- register forms --------------------------------------------------------------------------
function regForm(esc: u32, m: u32): void {
  const i = <i32>(m & 7);
  const row = <i32>((m >> 3) & 7);
  switch (esc) {
    case 0: // D8: ST(0) op ST(i)
      if (row == 2 || row == 3) {
        regCompare(i, false, false, row == 3 ? 1 : 0);
        return;
      }
      if (loadRegPair(0, i, false)) {
        arith(row);
        finishArith(0, false);
      }
      return;
    case 4: case 6: { // DC / DE: ST(i) op ST(0) (sub/div encodings swapped), DE pops
      const popAfter = esc == 6;
      if (row == 2) { // FCOM (DC D0) / FCOMP (DE D0) aliases
        regCompare(i, false, false, popAfter ? 1 : 0);
        return;
      }
      if (row == 3) {
        if (esc == 4) regCompare(i, false, false, 1); // DC D8: FCOMP alias
        else if (i == 1) regCompare(1, false, false, 2); // DE D9: FCOMPP
        else raiseUD();
        return;
      }
      const k = row >= 4 ? row ^ 1 : row;
      if (loadRegPair(i, 0, popAfter)) {
        arith(k);
        finishArith(i, popAfter);
      }
      return;
    }
    case 1: regD9(m, i, row); return;
    case 2: // DA
      if (row < 4) {
        fcmov(row, false, i);
        return;
      }
      if (m == 0xe9) {
        regCompare(1, true, false, 2); // FUCOMPP
        return;
      }
      raiseUD();
      return;
    case 3: // DB
      if (row < 4) {
        fcmov(row, true, i);
        return;
      }
      if (row == 4) {
        switch (m) {
          case 0xe0: case 0xe1: case 0xe4: return; // FENI, FDISI, FSETPM: no-ops since the 387
          case 0xe2: // FNCLEX
            setFsw(fsw() & ~(0x00ff | SW_B));
            return;
          case 0xe3:
            fpuInit();
            return;
          default:
            raiseUD();
            return;
        }
      }
      if (row == 5) {
        regCompare(i, true, true, 0); // FUCOMI
        return;
      }
      if (row == 6) {
        regCompare(i, false, true, 0); // FCOMI
        return;
      }
      raiseUD();
      return;
    case 5: // DD
      switch (row) {
        case 0: // FFREE
          freePhys(phys(i));
          return;
        case 1: fxch(i); return; // undocumented alias
        case 2: case 3: fstReg(i, row == 3); return;
        case 4: regCompare(i, true, false, 0); return; // FUCOM
        case 5: regCompare(i, true, false, 1); return; // FUCOMP
        default: raiseUD(); return;
      }
    default: // DF
      switch (row) {
        case 0: // FFREEP (undocumented on P6, but present and used)
          freePhys(phys(i));
          setTop(top() + 1);
          return;
        case 1: fxch(i); return;
        case 2: case 3: fstReg(i, true); return;
        case 4:
          if (m == 0xe0) {
            setReg16(0, fsw()); // FNSTSW AX
            return;
          }
          raiseUD();
          return;
        case 5: regCompare(i, true, true, 1); return; // FUCOMIP
        case 6: regCompare(i, false, true, 1); return; // FCOMIP
        default: raiseUD(); return;
      }
  }
}

function regCompare(i: i32, quiet: bool, eflags: bool, pops: i32): void {
  const empty = stEmpty(0) || stEmpty(i);
  if (!empty) {
    unpackA(stSig(0), stSE(0));
    unpackB(stSig(i), stSE(i));
  }
  compareFinish(empty, quiet, eflags, pops);
}

function fstReg(i: i32, popAfter: bool): void {
  if (stEmpty(0)) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    setSt(i, INDEF_SIG, INDEF_SE);
  } else {
    setSt(i, stSig(0), stSE(0));
    setCC(SW_C1, 0);
  }
  if (popAfter) pop();
  commitExceptions(false);
}

function fxch(i: i32): void {
  if (stEmpty(0) || stEmpty(i)) {
    if (!stackUnderflow()) {
      commitExceptions(false);
      return;
    }
    if (stEmpty(0)) setSt(0, INDEF_SIG, INDEF_SE);
    if (stEmpty(i)) setSt(i, INDEF_SIG, INDEF_SE);
  } else setCC(SW_C1, 0);
  const s0 = stSig(0), e0 = stSE(0);
  setSt(0, stSig(i), stSE(i));
  setSt(i, s0, e0);
  commitExceptions(false);
}

/** FCMOVcc (Vol. 2 FCMOVcc): row 0 B (CF), 1 E (ZF), 2 BE (CF|ZF), 3 U (PF); `negate` for DB. */
function fcmov(row: i32, negate: bool, i: i32): void {
  let cond: bool;
  switch (row) {
    case 0: cond = fl.getCF(); break;
    case 1: cond = fl.getZF(); break;
    case 2: cond = fl.getCF() || fl.getZF(); break;
    default: cond = fl.getPF(); break;
  }
  if (negate) cond = !cond;
  if (stEmpty(0) || stEmpty(i)) {
    if (stackUnderflow()) setSt(0, INDEF_SIG, INDEF_SE);
    commitExceptions(false);
    return;
  }
  setCC(SW_C1, 0);
  if (cond) setSt(0, stSig(i), stSE(i));
  commitExceptions(false);
}

// Hardware constants (§8.3.8): the 64-bit significand the 66-bit internal value rounds to with
// RC = nearest, and whether the exact value lies above it (then RC up rounds the last bit up)
// or below it (then RC down and chop round it down).
function loadConstant(idx: i32): void {
  let sig: u64 = 0, se: u32 = 0;
  let above = false, below = false;
  switch (idx) {
    case 0: sig = INT_BIT; se = 0x3fff; break; // FLD1
    case 1: sig = 0xd49a784bcd1b8afe; se = 0x4000; above = true; break; // FLDL2T
    case 2: sig = 0xb8aa3b295c17f0bc; se = 0x3fff; below = true; break; // FLDL2E
    case 3: sig = 0xc90fdaa22168c235; se = 0x4000; below = true; break; // FLDPI
    case 4: sig = 0x9a209a84fbcff799; se = 0x3ffd; below = true; break; // FLDLG2
    case 5: sig = 0xb17217f7d1cf79ac; se = 0x3ffe; below = true; break; // FLDLN2
    default: sig = 0; se = 0; break; // FLDZ
  }
  const r = f.rc;
  if (above && r == 2) sig++;
  if (below && (r == 1 || r == 3)) sig--;
  pushChecked(sig, se);
  commitExceptions(false);
}

function regD9(m: u32, i: i32, row: i32): void {
  if (row == 0) { // FLD ST(i)
    if (stEmpty(i)) {
      if (stackUnderflow()) pushChecked(INDEF_SIG, INDEF_SE);
      commitExceptions(false);
      return;
    }
    pushChecked(stSig(i), stSE(i));
    commitExceptions(false);
    return;
  }
  if (row == 1) {
    fxch(i);
    return;
  }
  if (row == 2) {
    if (m == 0xd0) return; // FNOP
    raiseUD();
    return;
  }
  if (row == 3) { // D9 D8+i: FSTP1 alias
    fstReg(i, true);
    return;
  }
  switch (m) {
    case 0xe0: case 0xe1: { // FCHS, FABS: sign only, no exceptions but stack underflow
      if (stEmpty(0)) {
        if (stackUnderflow()) setSt(0, INDEF_SIG, INDEF_SE);
      } else {
        const se = stSE(0);
        setSt(0, stSig(0), m == 0xe0 ? se ^ 0x8000 : se & 0x7fff);
        setCC(SW_C1, 0);
      }
      commitExceptions(false);
      return;
    }
    case 0xe4: { // FTST: compare with +0.0
      const empty = stEmpty(0);
      if (!empty) {
        unpackA(stSig(0), stSE(0));
        unpackB(0, 0);
      }
      compareFinish(empty, false, false, 0);
      return;
    }
    case 0xe5: { // FXAM (Vol. 2 FXAM): class in C3 C2 C0, sign in C1
      const p = phys(0);
      const se = physSE(p);
      let cc: u32 = (se & 0x8000) != 0 ? SW_C1 : 0;
      if (stEmpty(0)) cc |= SW_C3 | SW_C0;
      else {
        unpackA(physSig(p), se);
        switch (f.aKind) {
          case K_ZERO: cc |= SW_C3; break;
          case K_INF: cc |= SW_C2 | SW_C0; break;
          case K_QNAN: case K_SNAN: cc |= SW_C0; break;
          case K_BAD: break;
          default: cc |= f.aDen ? SW_C3 | SW_C2 : SW_C2;
        }
      }
      setCC(SW_CC, cc);
      return;
    }
    case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
      loadConstant(<i32>m - 0xe8);
      return;
    case 0xf6: // FDECSTP
      setTop(top() - 1);
      setCC(SW_C1, 0);
      return;
    case 0xf7: // FINCSTP
      setTop(top() + 1);
      setCC(SW_C1, 0);
      return;
    case 0xfa: unaryOp(0); return; // FSQRT
    case 0xfc: unaryOp(1); return; // FRNDINT
    case 0xfe: unaryOp(2); return; // FSIN
    case 0xff: unaryOp(3); return; // FCOS
    case 0xf0: unaryOp(4); return; // F2XM1
    case 0xfd: binaryOp(0); return; // FSCALE
    case 0xf8: binaryOp(1); return; // FPREM
    case 0xf5: binaryOp(2); return; // FPREM1
    case 0xf1: binaryOp(3); return; // FYL2X
    case 0xf9: binaryOp(4); return; // FYL2XP1
    case 0xf3: binaryOp(5); return; // FPATAN
    case 0xf4: pushingOp(0); return; // FXTRACT
    case 0xf2: pushingOp(1); return; // FPTAN
    case 0xfb: pushingOp(2); return; // FSINCOS
    default:
      raiseUD();
  }
}

// ---- ST(0)-only operations -------------------------------------------------------------------
const TWO63_EXP: i32 = BIAS + 63;

/** The f64 path's result (transcend.ts precision note): PE always, since the result is rounded. */
function fromF64Result(x: f64): void {
  fromF64(x);
  if (f.resSE & 0x7fff) signal(EX_PE);
  // Re-round through roundPack for the underflow flags of tiny results.
  unpackA(f.resSig, f.resSE);
  if (f.aKind == K_FINITE) {
    roundPack(f.aSign, f.aExp, f.aSig, 0, 64, EXP_MAX, 24576);
    packRounded80();
  }
}

function unaryOp(kind: i32): void {
  if (stEmpty(0)) {
    if (stackUnderflow()) setSt(0, INDEF_SIG, INDEF_SE);
    commitExceptions(false);
    return;
  }
  unpackA(stSig(0), stSE(0));
  f.valid = true;
  if (kind == 0) {
    fsqrt(precisionOf(fcw()));
    finishArith(0, false);
    return;
  }
  if (nanCheck1()) {
    finishArith(0, false);
    return;
  }
  if (kind == 1) { // FRNDINT: round to an integer by RC (no precision control)
    if (f.aKind == K_FINITE) {
      if (f.aDen && signal(EX_DE)) {
        f.valid = false;
        finishArith(0, false);
        return;
      }
      if (f.aExp - BIAS >= 63) setResult(f.aSig, f.aSign, <u32>f.aExp);
      else {
        roundToInt();
        if (f.intInexact) signal(EX_PE);
        fromMag(f.aSign, f.intMag);
        if (f.intHuge) setResult(INT_BIT, f.aSign, <u32>(BIAS + 64));
        f.roundedUp = f.intUp;
      }
    } else setResult(stSig(0), f.aSign, f.aKind == K_ZERO ? 0 : EXP_MAX);
    finishArith(0, false);
    return;
  }
  if (f.aKind == K_INF) {
    // F2XM1: 2^+inf - 1 = +inf, 2^-inf - 1 = -1; FSIN/FCOS of infinity are invalid.
    if (kind != 4) invalid();
    else if (f.aSign != 0) setResult(INT_BIT, 1, BIAS);
    else setInf(0);
    finishArith(0, false);
    return;
  }
  if (f.aKind == K_ZERO) {
    if (kind == 3) setResult(INT_BIT, 0, BIAS); // cos 0 = 1
    else setResult(0, f.aSign, 0);
    if (kind == 2 || kind == 3) setCC(SW_C2, 0);
    finishArith(0, false);
    return;
  }
  if (f.aDen && signal(EX_DE)) {
    f.valid = false;
    finishArith(0, false);
    return;
  }
  if ((kind == 2 || kind == 3) && f.aExp >= TWO63_EXP) {
    // |x| >= 2^63: out of range, C2 = 1 and ST(0) unchanged (Vol. 2 FSIN).
    setCC(SW_C2, SW_C2);
    commitExceptions(false);
    return;
  }
  const x = toF64(f.aSign, f.aExp, f.aSig);
  let r: f64;
  if (kind == 2) r = Math.sin(x);
  else if (kind == 3) r = Math.cos(x);
  else r = Math.expm1(x * 0.6931471805599453); // F2XM1, defined for -1 <= x <= 1
  if (kind == 2 || kind == 3) setCC(SW_C2, 0);
  fromF64Result(r);
  finishArith(0, false);
}

/** Operations on ST(0) and ST(1): FSCALE (result in ST0), FPREM/FPREM1, FYL2X/FYL2XP1/FPATAN (pop). */
function binaryOp(kind: i32): void {
  const popping = kind >= 3;
  const dst = popping ? 1 : 0;
  if (stEmpty(0) || stEmpty(1)) {
    if (stackUnderflow()) {
      setSt(dst, INDEF_SIG, INDEF_SE);
      if (popping) pop();
    }
    commitExceptions(false);
    return;
  }
  unpackA(stSig(0), stSE(0));
  unpackB(stSig(1), stSE(1));
  f.valid = true;
  if (kind == 0) fscale();
  else if (kind <= 2) {
    fprem(kind == 2);
    if (f.valid) setSt(0, f.resSig, f.resSE);
    commitExceptions(false);
    return;
  } else if (kind == 5) fpatan();
  else fyl2x(kind == 4);
  finishArith(dst, popping);
}

function fscale(): void {
  if (nanCheck2()) return;
  // B (ST1) is the scale; truncate it toward zero.
  if (f.bKind == K_INF) {
    if (f.aKind == K_ZERO && f.bSign == 0) invalid();
    else if (f.aKind == K_INF && f.bSign != 0) invalid();
    else if (f.bSign != 0) setResult(0, f.aSign, f.aKind == K_INF ? EXP_MAX : 0);
    else if (f.aKind == K_ZERO) setZero(f.aSign);
    else setInf(f.aSign);
    if (f.valid && !denormalCheck()) f.valid = false;
    return;
  }
  if (!denormalCheck()) {
    f.valid = false;
    return;
  }
  if (f.aKind != K_FINITE) {
    setResult(f.aKind == K_INF ? INT_BIT : 0, f.aSign, f.aKind == K_INF ? EXP_MAX : 0);
    return;
  }
  let n: i32 = 0;
  if (f.bKind == K_FINITE) {
    const u = f.bExp - BIAS;
    if (u >= 20) n = 1 << 20;
    else if (u >= 0) n = <i32>(f.bSig >> (63 - u));
    if (f.bSign != 0) n = -n;
  }
  roundPack(f.aSign, f.aExp + n, f.aSig, 0, 64, EXP_MAX, 24576);
  packRounded80();
}

/**
 * FPREM (truncating quotient) and FPREM1 (IEEE, nearest-even quotient), Vol. 2 FPREM/FPREM1:
 * exact remainders; C0 C3 C1 = quotient bits 2 1 0. With an exponent difference of 64 or more
 * only a partial reduction is done (C2 = 1): by 2^(d - n) with n = 32 + d mod 32 bits, the
 * choice AMD documents and Intel processors follow.
 */
function fprem(ieee: bool): void {
  if (nanCheck2()) return;
  if (f.aKind == K_INF || f.bKind == K_ZERO) {
    invalid();
    return;
  }
  if (!denormalCheck()) {
    f.valid = false;
    return;
  }
  if (f.aKind == K_ZERO || f.bKind == K_INF) {
    setResult(f.aKind == K_ZERO ? 0 : stSig(0), f.aSign, f.aKind == K_ZERO ? 0 : <u32>(stSE(0) & 0x7fff));
    if (f.aKind != K_ZERO) unpackAndRepack();
    setCC(SW_CC, 0);
    return;
  }
  let d = f.aExp - f.bExp;
  let bExp = f.bExp;
  let partial = false;
  if (d >= 64) {
    const n = 32 + d % 32;
    bExp = f.aExp - n;
    d = n;
    partial = true;
  }
  const b = f.bSig;
  let sign = f.aSign;
  let q: u64 = 0;
  let r: u64;
  let rExpBase: i32; // r is an integer scaled by 2^(rExpBase - BIAS - 63)
  if (d < 0) {
    r = f.aSig;
    rExpBase = f.aExp;
    if (ieee && d == -1 && r > b) {
      // |A| > |B|/2: the nearest quotient is 1; r = B - A at A's scale (2b - a fits in 64 bits).
      r = (b << 1) - r;
      sign ^= 1;
      q = 1;
    }
  } else {
    r = f.aSig;
    if (r >= b) {
      r -= b;
      q = 1;
    }
    for (let i = 0; i < d; i++) {
      const top = (r >> 63) != 0;
      r <<= 1;
      q <<= 1;
      if (top || r >= b) {
        r -= b;
        q |= 1;
      }
    }
    rExpBase = bExp;
    if (ieee && !partial) {
      // Round the quotient to nearest-even: compare 2r with b.
      const twoR_top = (r >> 63) != 0;
      const twoR = r << 1;
      if (twoR_top || twoR > b || (twoR == b && (q & 1) != 0)) {
        r = b - r;
        sign ^= 1;
        q++;
      }
    }
  }
  if (r == 0) setZero(f.aSign);
  else {
    const z = <i32>clz<u64>(r);
    roundPack(sign, rExpBase - z, r << z, 0, 64, EXP_MAX, 24576);
    packRounded80();
  }
  if (partial) setCC(SW_CC, SW_C2);
  else {
    let cc: u32 = 0;
    if ((q & 4) != 0) cc |= SW_C0;
    if ((q & 2) != 0) cc |= SW_C3;
    if ((q & 1) != 0) cc |= SW_C1;
    setCC(SW_CC, cc);
  }
}
function unpackAndRepack(): void {
  unpackA(stSig(0), stSE(0));
  roundPack(f.aSign, f.aExp, f.aSig, 0, 64, EXP_MAX, 24576);
  packRounded80();
}

function fyl2x(plusOne: bool): void {
  // A = ST0 = x, B = ST1 = y; result y * log2(x) (or log2(x + 1)).
  if (nanCheck2()) return;
  const x = f.aKind == K_FINITE ? toF64(f.aSign, f.aExp, f.aSig) : 0.0;
  if (!plusOne) {
    if (f.aSign != 0 && f.aKind != K_ZERO) {
      invalid();
      return;
    }
    if (f.aKind == K_ZERO) {
      if (f.bKind == K_ZERO) invalid();
      else {
        f.valid = !signal(EX_ZE);
        setInf(f.bSign ^ 1);
      }
      return;
    }
    if (f.aKind == K_INF) {
      if (f.bKind == K_ZERO) invalid();
      else setInf(f.bSign);
      return;
    }
  } else if (f.aKind == K_INF || f.bKind == K_INF) {
    invalid(); // outside FYL2XP1's domain (|x| < 1 - sqrt(2)/2)
    return;
  }
  if (!denormalCheck()) {
    f.valid = false;
    return;
  }
  const y = f.bKind == K_FINITE ? toF64(f.bSign, f.bExp, f.bSig) : f.bKind == K_INF ? (f.bSign != 0 ? -Infinity : Infinity) : (f.bSign != 0 ? -0.0 : 0.0);
  const l = plusOne ? Math.log1p(x) * 1.4426950408889634 : log2Ext(f.aExp, f.aSig);
  const r = y * l;
  if (r == 0 || isNaN(r)) {
    if (isNaN(r)) invalid();
    else setZero(f.bSign ^ (plusOne ? f.aSign : (l < 0 ? 1 : 0)));
    return;
  }
  fromF64Result(r);
}

function fpatan(): void {
  if (nanCheck2()) return;
  if (!denormalCheck()) {
    f.valid = false;
    return;
  }
  const x = f.aKind == K_FINITE ? toF64(f.aSign, f.aExp, f.aSig) : f.aKind == K_INF ? (f.aSign != 0 ? -Infinity : Infinity) : (f.aSign != 0 ? -0.0 : 0.0);
  const y = f.bKind == K_FINITE ? toF64(f.bSign, f.bExp, f.bSig) : f.bKind == K_INF ? (f.bSign != 0 ? -Infinity : Infinity) : (f.bSign != 0 ? -0.0 : 0.0);
  const r = Math.atan2(y, x);
  if (r == 0) setZero(reinterpret<u64>(r) >> 63 != 0 ? 1 : 0);
  else fromF64Result(r);
}

/** FXTRACT (exponent to ST1, significand to ST0), FPTAN (tan, then push 1), FSINCOS (sin, push cos). */
function pushingOp(kind: i32): void {
  if (stEmpty(0)) {
    if (stackUnderflow()) {
      setSt(0, INDEF_SIG, INDEF_SE);
      push(INDEF_SIG, INDEF_SE);
    }
    commitExceptions(false);
    return;
  }
  if (!stEmpty(7)) {
    // Stack overflow: masked response leaves the indefinite in ST(0) and ST(1) after the push.
    if (stackOverflow()) {
      setSt(0, INDEF_SIG, INDEF_SE);
      push(INDEF_SIG, INDEF_SE);
    }
    setCC(SW_C1, SW_C1);
    commitExceptions(false);
    return;
  }
  unpackA(stSig(0), stSE(0));
  f.valid = true;
  let firstSig: u64 = 0, firstSE: u32 = 0; // goes to ST(1) after the push
  if (nanCheck1()) {
    firstSig = f.resSig;
    firstSE = f.resSE;
  } else if (kind == 0) {
    if (f.aKind == K_ZERO) {
      f.valid = !signal(EX_ZE);
      firstSig = INT_BIT;
      firstSE = 0xffff; // -inf
      setZero(f.aSign);
    } else if (f.aKind == K_INF) {
      firstSig = INT_BIT;
      firstSE = EXP_MAX;
      setInf(f.aSign);
    } else {
      if (f.aDen && signal(EX_DE)) f.valid = false;
      fromInt64(<i64>(f.aExp - BIAS));
      firstSig = f.resSig;
      firstSE = f.resSE;
      setResult(f.aSig, f.aSign, BIAS);
    }
  } else {
    if (f.aKind == K_INF) {
      invalid();
      firstSig = f.resSig;
      firstSE = f.resSE;
    } else if (f.aKind == K_FINITE && f.aExp >= TWO63_EXP) {
      setCC(SW_C2, SW_C2); // out of range: nothing changes
      commitExceptions(false);
      return;
    } else if (f.aKind == K_ZERO) {
      setCC(SW_C2, 0);
      firstSig = 0;
      firstSE = f.aSign << 15; // tan ±0 = ±0, sin ±0 = ±0
      setResult(INT_BIT, 0, BIAS); // 1.0 or cos 0
    } else {
      if (f.aDen && signal(EX_DE)) f.valid = false;
      setCC(SW_C2, 0);
      const x = toF64(f.aSign, f.aExp, f.aSig);
      fromF64Result(kind == 1 ? Math.tan(x) : Math.sin(x));
      firstSig = f.resSig;
      firstSE = f.resSE;
      if (kind == 1) setResult(INT_BIT, 0, BIAS);
      else fromF64Result(Math.cos(x));
    }
  }
  if (f.valid) {
    setSt(0, firstSig, firstSE);
    push(f.resSig, f.resSE);
    setCC(SW_C1, 0);
  }
  commitExceptions(kind != 0);
}
