// The x87 oracle's test cases, built deterministically (a seeded PRNG) so that the generator
// (which records QEMU's results in golden/) and the vitest side (which runs our core) see the
// same bytes. Each case is a code body (hand-encoded: the FPU encodings are regular) and the
// initial contents of a data area; both sides run it at the same addresses and compare the data
// area afterwards, where the body has left an FNSAVE image and any other results.

export const CODE = 0x00400000;
export const DATA = 0x00500000;
/** Data area layout. */
export const IN_A = 0x00; // m80
export const IN_B = 0x10; // m80
export const IN_C = 0x20; // m80 / anything
export const IN_CW = 0x30; // u16 control word
export const IN_MEM = 0x38; // 8-byte memory operand (m16/m32/m64 int or fp)
export const OUT_SAVE = 0x40; // FNSAVE image, 108 bytes (32-bit protected-mode layout)
export const OUT_EAX = 0xb0;
export const OUT_FLAGS = 0xb4;
export const OUT_STORE = 0xc0; // 16 bytes of memory results
export const OUT_END = 0xd0;
export const OUT_IMG = 0x100; // a second image (FSAVE/FSTENV/FXSAVE round trips), up to 0x200 bytes
export const DATA_SIZE = 0x300;

export interface FpuCase {
  name: string;
  code: number[];
  data: Uint8Array;
  /** Bytes of [OUT_SAVE, outEnd) are compared. */
  outEnd: number;
  /** Status-word bits to compare (undefined condition codes masked). */
  swMask: number;
  /** EFLAGS bits to compare (only cases that store EFLAGS set this). */
  flagsMask: number;
  /**
   * FCOMI family: the SDM (Vol. 2 FCOMI) clears OF, SF and AF "regardless of whether an
   * invalid-operation exception is detected"; QEMU 7.2 leaves them, so they are checked
   * against the SDM (zero) instead of the golden value.
   */
  eflagsCleared?: boolean;
  /** Transcendental: compare ST registers with a relative tolerance, not bit for bit. */
  approx?: boolean;
}

// ---- 80-bit values -----------------------------------------------------------------------------
export type F80 = [number, bigint]; // [sign|exponent, significand]
const J = 1n << 63n;
export const V: Record<string, F80> = {
  pz: [0x0000, 0n],
  nz: [0x8000, 0n],
  one: [0x3fff, J],
  m1: [0xbfff, J],
  onep: [0x3fff, J | 1n],
  three: [0x4000, 0xc000000000000000n],
  tenth: [0x3ffb, 0xcccccccccccccccdn],
  mthird: [0xbffd, 0xaaaaaaaaaaaaaaabn],
  den: [0x0000, 1n],
  den2: [0x0000, 0x4000000000000000n],
  nden: [0x8000, 0x123456789n],
  pden: [0x0000, J | 5n], // pseudo-denormal
  minN: [0x0001, J],
  nminN: [0x8001, J | 0x80n],
  maxN: [0x7ffe, 0xffffffffffffffffn],
  nmaxN: [0xfffe, 0xfffffffffffffff0n],
  inf: [0x7fff, J],
  ninf: [0xffff, J],
  qnan: [0x7fff, 0xc000000000000123n],
  nqnan: [0xffff, 0xc0000000000000ffn],
  snan: [0x7fff, 0x8000000000000456n],
  nsnan: [0xffff, 0x8000000000000011n],
  indef: [0xffff, 0xc000000000000000n],
  unnormal: [0x3fff, 0x4000000000000000n],
  big63: [0x403e, 0xfffffffffffff800n], // just below 2^64
  half: [0x3ffe, J],
  halfp: [0x3ffe, J | 1n],
  two62: [0x403d, J | 0x1234n],
};

export function f80bytes(v: F80): Uint8Array {
  const b = new Uint8Array(10);
  let s = v[1];
  for (let i = 0; i < 8; i++) {
    b[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  b[8] = v[0] & 0xff;
  b[9] = (v[0] >> 8) & 0xff;
  return b;
}

// ---- PRNG ---------------------------------------------------------------------------------------
let seed = 0x12345678;
function rnd(): number {
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed;
}
function rnd64(): bigint {
  return (BigInt(rnd()) << 32n) | BigInt(rnd());
}
/** A random normal value with exponent 0x3fff ± spread (and a random sign). */
function rndNormal(spread: number): F80 {
  const e = 0x3fff + (rnd() % (2 * spread + 1)) - spread;
  const s = rnd() & 1 ? 0x8000 : 0;
  // Sometimes a short significand (exact in single/double), sometimes with tie patterns.
  const kind = rnd() % 4;
  let m = rnd64() | J;
  if (kind === 1) m &= ~((1n << 40n) - 1n);
  if (kind === 2) m = (m & ~((1n << 11n) - 1n)) | (1n << 10n); // exactly half an ulp of double
  return [s | e, m];
}

// ---- encoding ------------------------------------------------------------------------------------
export function d32(x: number): number[] {
  return [x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
}
/** opcode + ModRM with an absolute disp32 operand at DATA + off. */
export function m(op: number, reg: number, off: number): number[] {
  return [op, (reg << 3) | 5, ...d32(DATA + off)];
}
export const I = {
  fninit: [0xdb, 0xe3],
  fldcw: () => m(0xd9, 5, IN_CW),
  fld80: (off: number) => m(0xdb, 5, off),
  fstp80: (off: number) => m(0xdb, 7, off),
  fnsave: (off: number) => m(0xdd, 6, off),
  frstor: (off: number) => m(0xdd, 4, off),
  fnstenv: (off: number) => m(0xd9, 6, off),
  fldenv: (off: number) => m(0xd9, 4, off),
  fxsave: (off: number) => [0x0f, ...m(0xae, 0, off)],
  fxrstor: (off: number) => [0x0f, ...m(0xae, 1, off)],
  fnstswAx: [0xdf, 0xe0],
  movEaxTo: (off: number) => [0xa3, ...d32(DATA + off)],
  pushfdToFlags: () => [0x9c, 0x58, 0xa3, ...d32(DATA + OUT_FLAGS)],
  setFlags: (v: number) => [0x68, ...d32(v), 0x9d],
};
/** The common prologue: FNINIT, FLDCW from IN_CW. */
function pro(): number[] {
  return [...I.fninit, ...I.fldcw()];
}
/** The common epilogue: FNSTSW AX → OUT_EAX (before anything can change it), FNSAVE → OUT_SAVE. */
function epi(): number[] {
  return [...I.fnstswAx, ...I.movEaxTo(OUT_EAX), ...I.fnsave(OUT_SAVE)];
}

function dataWith(cw: number, a?: F80, b?: F80, c?: F80, mem?: Uint8Array): Uint8Array {
  const d = new Uint8Array(DATA_SIZE);
  if (a) d.set(f80bytes(a), IN_A);
  if (b) d.set(f80bytes(b), IN_B);
  if (c) d.set(f80bytes(c), IN_C);
  d[IN_CW] = cw & 0xff;
  d[IN_CW + 1] = cw >> 8;
  if (mem) d.set(mem, IN_MEM);
  return d;
}

const SW_ALL = 0xffff;
/** C0, C2, C3 are undefined after arithmetic (Vol. 2, each instruction's "FPU Flags Affected"). */
const SW_ARITH = 0xffff & ~0x4500;
const ARITH_NAMES = ["fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"];
const RC_NAMES = ["near", "down", "up", "chop"];
const PC_BITS = [0, 2, 3]; // single, double, extended

function cwOf(pc: number, rc: number, masks = 0x3f): number {
  return 0x40 | masks | (pc << 8) | (rc << 10);
}
const CW0 = 0x037f;

export function buildCases(): FpuCase[] {
  seed = 0x12345678;
  const out: FpuCase[] = [];
  const add = (name: string, code: number[], data: Uint8Array, opts: Partial<FpuCase> = {}) =>
    out.push({ name, code, data, outEnd: OUT_END, swMask: SW_ALL, flagsMask: 0, ...opts });

  const edge = ["pz", "nz", "one", "m1", "onep", "three", "tenth", "den", "nden", "pden", "minN", "maxN", "nmaxN", "inf", "ninf", "qnan", "snan", "nsnan", "unnormal", "half"];
  const arithRows = [0, 1, 4, 5, 6, 7];

  // 1. Register-form arithmetic over all pairs of edge values (default CW).
  for (const row of arithRows) {
    for (const a of edge) {
      for (const b of edge) {
        const code = [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), 0xd8, 0xc1 | (row << 3), ...epi()];
        add(`${ARITH_NAMES[row]} st0,st1 ${a},${b}`, code, dataWith(CW0, V[a], V[b]), { swMask: SW_ARITH });
      }
    }
  }
  // 2. Random operands in every precision and rounding mode, the DC/DE forms too.
  for (const row of arithRows) {
    for (const pc of PC_BITS) {
      for (let rc = 0; rc < 4; rc++) {
        for (let k = 0; k < 6; k++) {
          const spread = k < 4 ? 40 : 16382;
          const a = rndNormal(spread), b = rndNormal(k === 5 ? 16382 : 40);
          const form = k % 3; // D8 st0,st1 / DC st1,st0 / DE st1,st0 (pop)
          const opc = form === 0 ? [0xd8, 0xc1 | (row << 3)] : [form === 1 ? 0xdc : 0xde, 0xc1 | ((row >= 4 ? row ^ 1 : row) << 3)];
          const code = [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...opc, ...epi()];
          add(`${ARITH_NAMES[row]} form${form} pc${pc} ${RC_NAMES[rc]} #${k}`, code, dataWith(cwOf(pc, rc), a, b), { swMask: SW_ARITH });
        }
      }
    }
  }
  // 3. Memory operands: m32fp, m32int, m64fp, m16int.
  const memOps: [number, string, () => Uint8Array][] = [
    [0xd8, "m32fp", () => f32Bytes()],
    [0xda, "m32int", () => u32Bytes(rnd() % 3 === 0 ? rnd() % 100 : rnd())],
    [0xdc, "m64fp", () => f64Bytes()],
    [0xde, "m16int", () => u32Bytes(rnd() & 0xffff)],
  ];
  for (const [opc, tname, gen] of memOps) {
    for (const row of [0, 1, 2, 3, 4, 5, 6, 7]) {
      for (let k = 0; k < 10; k++) {
        const rc = k % 4;
        const a = k === 9 ? V.den : rndNormal(30);
        const code = [...pro(), ...I.fld80(IN_A), ...m(opc, row, IN_MEM), ...epi()];
        add(`${ARITH_NAMES[row]} ${tname} ${RC_NAMES[rc]} #${k}`, code, dataWith(cwOf(3, rc), a, undefined, undefined, gen()), {
          swMask: row === 2 || row === 3 ? SW_ALL : SW_ARITH,
        });
      }
    }
  }
  // 4. Comparisons over pairs: FCOM, FCOMP, FUCOM, FUCOMPP, FCOMI, FUCOMIP, FTST.
  const cmpVals = ["pz", "nz", "one", "m1", "onep", "den", "maxN", "inf", "ninf", "qnan", "snan", "unnormal"];
  const cmpForms: [string, number[], boolean][] = [
    ["fcom", [0xd8, 0xd1], false],
    ["fcomp", [0xd8, 0xd9], false],
    ["fucom", [0xdd, 0xe1], false],
    ["fucompp", [0xda, 0xe9], false],
    ["fcompp", [0xde, 0xd9], false],
    ["fcomi", [0xdb, 0xf1], true],
    ["fucomip", [0xdf, 0xe9], true],
  ];
  for (const [name, opc, eflags] of cmpForms) {
    for (const a of cmpVals) {
      for (const b of cmpVals) {
        const code = [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...I.setFlags(0x8d7), ...opc, ...I.pushfdToFlags(), ...epi()];
        add(`${name} ${a},${b}`, code, dataWith(CW0, V[a], V[b]), { flagsMask: eflags ? 0x45 : 0, eflagsCleared: eflags });
      }
    }
  }
  for (const a of edge) {
    add(`ftst ${a}`, [...pro(), ...I.fld80(IN_A), 0xd9, 0xe4, ...epi()], dataWith(CW0, V[a]));
    add(`fxam ${a}`, [...pro(), ...I.fld80(IN_A), 0xd9, 0xe5, ...epi()], dataWith(CW0, V[a]));
    add(`fchs ${a}`, [...pro(), ...I.fld80(IN_A), 0xd9, 0xe0, ...epi()], dataWith(CW0, V[a]));
    add(`fabs ${a}`, [...pro(), ...I.fld80(IN_A), 0xd9, 0xe1, ...epi()], dataWith(CW0, V[a]));
  }
  add("fxam empty", [...pro(), 0xd9, 0xe5, ...epi()], dataWith(CW0));

  // 5. Unary arithmetic: FSQRT, FRNDINT in each mode/precision, over edge and random values.
  const unary: [string, number[], number][] = [
    ["fsqrt", [0xd9, 0xfa], SW_ARITH],
    ["frndint", [0xd9, 0xfc], SW_ARITH],
  ];
  for (const [name, opc, swMask] of unary) {
    for (const a of edge) add(`${name} ${a}`, [...pro(), ...I.fld80(IN_A), ...opc, ...epi()], dataWith(CW0, V[a]), { swMask });
    for (const pc of PC_BITS) {
      for (let rc = 0; rc < 4; rc++) {
        for (let k = 0; k < 6; k++) {
          let a = rndNormal(k < 3 ? 70 : 16382);
          if (name === "fsqrt") a = [a[0] & 0x7fff, a[1]];
          if (name === "frndint" && k < 3) a = [(a[0] & 0x8000) | (0x3fff + (rnd() % 66) - 2), a[1]];
          add(`${name} pc${pc} ${RC_NAMES[rc]} #${k}`, [...pro(), ...I.fld80(IN_A), ...opc, ...epi()], dataWith(cwOf(pc, rc), a), { swMask });
        }
      }
    }
  }
  // FSCALE, FXTRACT, FPREM, FPREM1 over edge pairs and random pairs.
  const scaleVals = ["pz", "nz", "one", "m1", "three", "tenth", "den", "maxN", "inf", "ninf", "qnan", "snan", "half"];
  const binops: [string, number[], number][] = [
    ["fscale", [0xd9, 0xfd], SW_ARITH],
    ["fprem", [0xd9, 0xf8], SW_ALL],
    ["fprem1", [0xd9, 0xf5], SW_ALL],
  ];
  for (const [name, opc, swMask] of binops) {
    for (const a of scaleVals) {
      for (const b of scaleVals) {
        add(`${name} ${a},${b}`, [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...opc, ...epi()], dataWith(CW0, V[a], V[b]), { swMask });
      }
    }
    for (let k = 0; k < 40; k++) {
      const a = rndNormal(name === "fscale" ? 40 : 90);
      let b = rndNormal(name === "fscale" ? 5 : 40);
      if (name === "fscale" && k % 4 === 0) b = [(b[0] & 0x8000) | 0x400c, b[1]]; // |n| ~ 8000-16000: overflow/underflow
      const rc = k % 4;
      add(`${name} random ${RC_NAMES[rc]} #${k}`, [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...opc, ...epi()], dataWith(cwOf(3, rc), a, b), { swMask });
    }
  }
  // FPREM loops to completion (the documented C2 loop) for large exponent differences.
  for (let k = 0; k < 20; k++) {
    const a = rndNormal(16000);
    const b = rndNormal(30);
    const loop = [0xd9, 0xf8, 0xdf, 0xe0, 0xf6, 0xc4, 0x04, 0x75, 0xf7]; // fprem; fnstsw ax; test ah,4; jnz back
    add(`fprem loop #${k}`, [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...loop, ...epi()], dataWith(CW0, [a[0] & 0x7fff, a[1]], b));
  }
  for (const a of edge) add(`fxtract ${a}`, [...pro(), ...I.fld80(IN_A), 0xd9, 0xf4, ...epi()], dataWith(CW0, V[a]), { swMask: SW_ARITH });

  // 6. Conversions to integers: FIST/FISTP m16/m32/m64 in each rounding mode.
  const intVals: F80[] = [
    V.pz, V.nz, V.half, V.halfp, V.one, V.m1, V.three, V.tenth, V.mthird, V.den, V.inf, V.ninf, V.qnan, V.snan, V.big63, V.two62,
    [0x3fff, 0xc000000000000000n], [0xbfff, 0xc000000000000000n], [0x4000, 0xa000000000000000n], [0xc000, 0xa000000000000000n],
    [0x400e, 0xfffe000000000000n], [0x400e, 0xffff000000000000n], [0xc00e, 0xffff000000000000n], [0xc00e, 0x8000000000000000n],
    [0xc00e, 0x8001000000000000n], [0x400d, 0xffff000000000000n], [0x401d, 0xffffffff00000000n], [0x401e, 0x8000000000000000n],
    [0xc01e, 0x8000000000000000n], [0xc01e, 0x8000000100000000n], [0x401d, 0xfffffffe80000000n], [0x403e, J], [0xc03e, J], [0xc03e, J | 1n],
    [0x403d, 0xffffffffffffffffn],
  ];
  for (let k = 0; k < 12; k++) intVals.push(rndNormal(60));
  const intStores: [string, number, number, number][] = [
    ["fist m16", 0xdf, 2, 2], ["fistp m16", 0xdf, 3, 2], ["fist m32", 0xdb, 2, 4], ["fistp m32", 0xdb, 3, 4], ["fistp m64", 0xdf, 7, 8],
  ];
  for (const [name, opc, reg] of intStores) {
    intVals.forEach((a, idx) => {
      for (let rc = 0; rc < 4; rc++) {
        add(`${name} ${RC_NAMES[rc]} v${idx}`, [...pro(), ...I.fld80(IN_A), ...m(opc, reg, OUT_STORE), ...epi()], dataWith(cwOf(3, rc), a));
      }
    });
  }
  // FBSTP / FBLD.
  const bcdVals: F80[] = [V.pz, V.nz, V.one, V.m1, V.tenth, V.three, V.inf, V.qnan, [0x4039, 0xde0b6b3a763ffff0n], [0x4039, 0xde0b6b3a76400000n], [0xc039, 0xde0b6b3a763ffff0n]];
  for (let k = 0; k < 8; k++) bcdVals.push(rndNormal(50));
  bcdVals.forEach((a, idx) => {
    for (let rc = 0; rc < 4; rc++) add(`fbstp ${RC_NAMES[rc]} v${idx}`, [...pro(), ...I.fld80(IN_A), ...m(0xdf, 6, OUT_STORE), ...epi()], dataWith(cwOf(3, rc), a));
  });
  for (let k = 0; k < 12; k++) {
    const bcd = new Uint8Array(10);
    for (let i = 0; i < 9; i++) bcd[i] = ((rnd() % 10) << 4) | (rnd() % 10);
    bcd[9] = k & 1 ? 0x80 : 0;
    const d = dataWith(CW0);
    d.set(bcd, IN_C);
    add(`fbld #${k}`, [...pro(), ...m(0xdf, 4, IN_C), ...epi()], d);
  }
  // 7. Stores to m32fp/m64fp (rounding, overflow, underflow, NaN truncation) and m80.
  const fpStoreVals: F80[] = [V.pz, V.nz, V.one, V.tenth, V.mthird, V.den, V.minN, V.maxN, V.nmaxN, V.inf, V.ninf, V.qnan, V.snan, V.unnormal,
    [0x3f80, J | 0x12345n], [0x3f6a, 0xc000000000000000n], [0x3c01, 0xfffffffffffff800n], [0x3bcc, J | 1n], [0x407e, 0xffffff8000000000n], [0x43fe, 0xfffffffffffffc00n]];
  for (let k = 0; k < 10; k++) fpStoreVals.push(rndNormal(k < 5 ? 140 : 1100));
  const fpStores: [string, number, number][] = [["fst m32", 0xd9, 2], ["fstp m32", 0xd9, 3], ["fst m64", 0xdd, 2], ["fstp m64", 0xdd, 3], ["fstp m80", 0xdb, 7]];
  for (const [name, opc, reg] of fpStores) {
    fpStoreVals.forEach((a, idx) => {
      for (let rc = 0; rc < (name.endsWith("m80") ? 1 : 4); rc++) {
        add(`${name} ${RC_NAMES[rc]} v${idx}`, [...pro(), ...I.fld80(IN_A), ...m(opc, reg, OUT_STORE), ...epi()], dataWith(cwOf(3, rc), a));
      }
    });
  }
  // Loads: FLD m32fp/m64fp of special encodings, FILD m16/m32/m64.
  const f32s = [0, 0x80000000, 0x3f800000, 0x00000001, 0x807fffff, 0x7f800000, 0xff800000, 0x7fc00001, 0x7f800001, 0x7f7fffff, 0x00800000];
  for (const v of f32s) add(`fld m32 ${v.toString(16)}`, [...pro(), ...m(0xd9, 0, IN_MEM), ...epi()], dataWith(CW0, undefined, undefined, undefined, u32Bytes(v)));
  const f64s = [0n, 1n << 63n, 0x3ff0000000000000n, 1n, 0x800fffffffffffffn, 0x7ff0000000000000n, 0x7ff8000000000001n, 0x7ff0000000000001n, 0x7fefffffffffffffn];
  for (const v of f64s) add(`fld m64 ${v.toString(16)}`, [...pro(), ...m(0xdd, 0, IN_MEM), ...epi()], dataWith(CW0, undefined, undefined, undefined, u64Bytes(v)));
  for (const [name, opc, reg, v] of [["fild m16", 0xdf, 0, 0x8000n], ["fild m16", 0xdf, 0, 0x7fffn], ["fild m32", 0xdb, 0, 0x80000000n], ["fild m32", 0xdb, 0, 12345n], ["fild m64", 0xdf, 5, 1n << 63n], ["fild m64", 0xdf, 5, 0x7fffffffffffffffn], ["fild m64", 0xdf, 5, 0n], ["fild m64", 0xdf, 5, 0xfffffffffffffffen]] as [string, number, number, bigint][]) {
    add(`${name} ${v.toString(16)}`, [...pro(), ...m(opc, reg, IN_MEM), ...epi()], dataWith(CW0, undefined, undefined, undefined, u64Bytes(v)));
  }
  // 8. Constants in each rounding mode.
  for (let c = 0; c < 7; c++) {
    for (let rc = 0; rc < 4; rc++) add(`fld const ${c} ${RC_NAMES[rc]}`, [...pro(), 0xd9, 0xe8 + c, ...epi()], dataWith(cwOf(3, rc)));
  }
  // 9. Stack overflow and underflow (masked), FXCH/FFREE/FINCSTP/FDECSTP, FST st(i).
  const nine = [...Array(9)].flatMap(() => [0xd9, 0xe8]);
  add("stack overflow", [...pro(), ...nine, ...epi()], dataWith(CW0));
  add("stack underflow fadd", [...pro(), 0xd8, 0xc1, ...epi()], dataWith(CW0), { swMask: SW_ARITH });
  add("stack underflow fstp m64", [...pro(), ...m(0xdd, 3, OUT_STORE), ...epi()], dataWith(CW0));
  add("stack underflow fistp m32", [...pro(), ...m(0xdb, 3, OUT_STORE), ...epi()], dataWith(CW0));
  add("stack underflow fcom", [...pro(), 0xd8, 0xd1, ...epi()], dataWith(CW0));
  add("stack underflow fxch", [...pro(), 0xd9, 0xe8, 0xd9, 0xca, ...epi()], dataWith(CW0));
  add("fxch", [...pro(), ...I.fld80(IN_A), ...I.fld80(IN_B), 0xd9, 0xc9, ...epi()], dataWith(CW0, V.three, V.tenth));
  add("ffree fincstp fdecstp", [...pro(), ...I.fld80(IN_A), ...I.fld80(IN_B), 0xdd, 0xc1, 0xd9, 0xf7, 0xd9, 0xf7, 0xd9, 0xf6, ...epi()], dataWith(CW0, V.three, V.tenth));
  add("fst st3 fstp st1", [...pro(), ...I.fld80(IN_A), ...I.fld80(IN_B), 0xdd, 0xd3, 0xdd, 0xd9, ...epi()], dataWith(CW0, V.three, V.tenth));
  add("fld st1", [...pro(), ...I.fld80(IN_A), ...I.fld80(IN_B), 0xd9, 0xc1, ...epi()], dataWith(CW0, V.three, V.tenth));
  // Unmasked exceptions: ES and B set, the result not delivered (no waiting instruction follows).
  const unm: [string, number, F80, F80, number[]][] = [
    ["unmasked IE fadd", 0x037e, V.inf, V.ninf, [0xd8, 0xc1]],
    ["unmasked ZE fdiv", 0x037b, V.one, V.pz, [0xd8, 0xf1]],
    ["unmasked DE fmul", 0x037d, V.den, V.three, [0xd8, 0xc9]],
    ["unmasked PE fdiv", 0x035f, V.one, V.three, [0xd8, 0xf1]],
    ["unmasked OE fmul", 0x0377, V.maxN, V.three, [0xd8, 0xc9]],
    ["unmasked UE fmul", 0x036f, V.minN, V.tenth, [0xd8, 0xc9]],
  ];
  for (const [name, cw, a, b, opc] of unm) add(name, [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...opc, ...epi()], dataWith(cw, a, b), { swMask: SW_ARITH });
  // 10. FCMOVcc with each EFLAGS condition.
  const fcmovs: [string, number, number][] = [["fcmovb", 0xda, 0xc0], ["fcmove", 0xda, 0xc8], ["fcmovbe", 0xda, 0xd0], ["fcmovu", 0xda, 0xd8], ["fcmovnb", 0xdb, 0xc0], ["fcmovne", 0xdb, 0xc8], ["fcmovnbe", 0xdb, 0xd0], ["fcmovnu", 0xdb, 0xd8]];
  for (const [name, opc, mb] of fcmovs) {
    for (const fl of [0x2, 0x3, 0x42, 0x46, 0x6]) {
      add(`${name} flags ${fl.toString(16)}`, [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...I.setFlags(fl), opc, mb + 1, ...epi()], dataWith(CW0, V.three, V.tenth));
    }
  }
  // 11. FSAVE/FRSTOR, FSTENV/FLDENV, FXSAVE/FXRSTOR round trips (32-bit operand size).
  for (let k = 0; k < 6; k++) {
    const a = rndNormal(100), b = rndNormal(100), c = [V.qnan, V.den, V.pz, V.inf, V.unnormal, V.nden][k];
    const load3 = [...I.fld80(IN_A), ...I.fld80(IN_B), ...I.fld80(IN_C), 0xd9, 0xf7 /* fincstp: a hole */, 0xd9, 0xf6];
    const cw = cwOf(k % 3 === 0 ? 2 : 3, k % 4, 0x3f);
    // FNSAVE to OUT_IMG, scramble, FRSTOR, FNSAVE to OUT_SAVE.
    add(`fsave/frstor #${k}`, [...pro(), ...load3, ...I.fnsave(OUT_IMG), 0xd9, 0xe8, 0xd9, 0xeb, ...I.frstor(OUT_IMG), ...I.fnstswAx, ...I.movEaxTo(OUT_EAX), ...I.fnsave(OUT_SAVE)], dataWith(cw, a, b, c), { outEnd: OUT_IMG + 108 });
    add(`fstenv/fldenv #${k}`, [...pro(), ...load3, ...I.fnstenv(OUT_IMG), 0xd9, 0xe8, ...I.fldenv(OUT_IMG), ...epi()], dataWith(cw, a, b, c), { outEnd: OUT_IMG + 28 });
    add(`fxsave/fxrstor #${k}`, [...pro(), ...load3, ...I.fxsave(OUT_IMG), 0xdb, 0xe3, 0xd9, 0xee, ...I.fxrstor(OUT_IMG), ...epi()], dataWith(cw, a, b, c), { outEnd: OUT_IMG + 160 });
  }
  // 12. Transcendentals (compared with a tolerance: our implementation goes through f64).
  const tr: [string, number[], () => F80, () => F80 | undefined][] = [
    ["fsin", [0xd9, 0xfe], () => rndNormal(4), () => undefined],
    ["fcos", [0xd9, 0xff], () => rndNormal(4), () => undefined],
    ["fsincos", [0xd9, 0xfb], () => rndNormal(4), () => undefined],
    ["fptan", [0xd9, 0xf2], () => rndNormal(3), () => undefined],
    ["f2xm1", [0xd9, 0xf0], () => { const v = rndNormal(6); return [v[0] - 7 < 0x3ff0 ? v[0] : (v[0] & 0x8000) | 0x3ffd, v[1]]; }, () => undefined],
    ["fyl2x", [0xd9, 0xf1], () => { const v = rndNormal(200); return [v[0] & 0x7fff, v[1]]; }, () => rndNormal(10)],
    ["fyl2xp1", [0xd9, 0xf9], () => { const v = rndNormal(6); return [(v[0] & 0x8000) | Math.min(v[0] & 0x7fff, 0x3ffc), v[1]]; }, () => rndNormal(10)],
    ["fpatan", [0xd9, 0xf3], () => rndNormal(20), () => rndNormal(20)],
  ];
  for (const [name, opc, ga, gb] of tr) {
    for (let k = 0; k < 15; k++) {
      const a = ga(), b = gb();
      const code = b ? [...pro(), ...I.fld80(IN_B), ...I.fld80(IN_A), ...opc, ...epi()] : [...pro(), ...I.fld80(IN_A), ...opc, ...epi()];
      add(`${name} #${k}`, code, dataWith(CW0, a, b), { approx: true, swMask: 0xffff & ~(0x4500 | 0x0200 | 0x20 | 0x10) });
    }
  }
  return out;
}

function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}
function u64Bytes(v: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
  return b;
}
function f32Bytes(): Uint8Array {
  const k = rnd() % 8;
  if (k === 0) return u32Bytes(rnd() & 0x807fffff); // denormal
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat32(0, (rnd() / 2 ** 32 - 0.5) * 2 ** ((rnd() % 40) - 20), true);
  return b;
}
function f64Bytes(): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, (rnd() / 2 ** 32 - 0.5 + rnd() / 2 ** 64) * 2 ** ((rnd() % 80) - 40), true);
  return b;
}
