// The CPU's hot state as wasm globals, and the register file as raw loads and stores over the
// state block. Globals that the host must see (EIP, EFLAGS, CPL) are written back to the state
// block whenever run() returns or the core calls the host (see syncOut/syncIn in run.ts).

import { REG_BASE, SEG_BASE, SEG_SIZE, SEG_SELECTOR, SEG_BASE_ADDR, SEG_LIMIT, SEG_ATTR, STATE_CR0, STATE_CR4 } from "./layout";

// ---- where execution is ----------------------------------------------------------------------
// Inside run() the instruction pointer lives as `ip`, a host address into the cached code page:
// EIP = ip - eipDelta. Falling through, or a near jump inside the page, only moves `ip`;
// (ip - ipPage) < 0xFF0 proves 15 readable bytes, so one compare per instruction guards the
// fetch. Anything that changes CS or leaves the mapping unknown calls setEip(), which makes
// `eip` authoritative until the next instruction re-derives ip (decode.ts, fetchSlow).

/** An ip that fails the page check whatever ipPage is: (IP_NOWHERE - 0) >= 0xFF0, and no
 *  cached page lies there (linear memory ends below it). */
export const IP_NOWHERE: usize = 0xfffff000;
/** Host address of the next instruction byte, and of the current instruction's first byte. */
export let ip: usize = IP_NOWHERE;
export let ipStart: usize = 0;
/** Host address of the cached code page's start; 0 forces the next fetch through the slow path. */
export let ipPage: usize = 0;
/** The cached code page's block table (blocks.ts), or 0 when its blocks are not cached. */
export let ipTable: usize = 0;
/** EIP = ip - eipDelta while eipAuthoritative is false. */
export let eipDelta: u32 = 0;
export let eipAuthoritative: bool = true;
/** EIP, when eipAuthoritative. */
export let eip: u32 = 0;
/** EIP of the instruction an exception being delivered restarts at. */
export let instrStart: u32 = 0;

/** EIP of the instruction after the current one (as far as it has been decoded). */
@inline export function nextEip(): u32 {
  return <u32>ip - eipDelta;
}
/** EIP of the current instruction. */
@inline export function instrEip(): u32 {
  return <u32>ipStart - eipDelta;
}
/** EIP at an instruction boundary. */
export function getEip(): u32 {
  return eipAuthoritative ? eip : <u32>ip - eipDelta;
}
/** Continue at `target` (with CS as it now is), re-deriving the fetch pointer. */
export function setEip(target: u32): void {
  eip = target;
  eipAuthoritative = true;
  ip = IP_NOWHERE;
  ipPage = 0;
}
/** A near jump: stays on the fast path when the target is on the cached page. */
@inline export function jumpNear(target: u32): void {
  if (ipPage != 0) ip = <usize>(target + eipDelta);
  else setEip(target);
}
/** Current privilege level. */
export let cpl: i32 = 0;

// ---- decode state of the current instruction ------------------------------------------------
/** Operand sizes as the size index that readRM, regRead, readLin, alu ... take. */
export const SIZE_8: i32 = 0;
export const SIZE_16: i32 = 1;
export const SIZE_32: i32 = 2;
/** Operand size of the current instruction as a size index: SIZE_16 or SIZE_32 (SIZE_8 for byte ops). */
export let opsz: i32 = 2;
/** Address size of the current instruction is 32-bit. */
export let adsz32: bool = true;
/** Segment override prefix (SEG_*), or -1. */
export let segOverride: i32 = -1;
/** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE). */
export let repPrefix: i32 = 0;
export let lockPrefix: bool = false;
/** CS.D: default operand and address size are 32-bit. */
export let codeDefault32: bool = true;
/** SS.B: the stack pointer is ESP (else SP). */
export let stack32: bool = true;

// ---- pending fault of the current instruction -----------------------------------------------
/** Set by any step that raised an exception; the instruction then returns without committing. */
export let faulted: bool = false;
/**
 * Something the run loop must look at before the next instruction: a fault, HLT, a host call
 * (which may have raised INTR or asked to stop), IF becoming set. Checking one flag per
 * instruction instead of each condition keeps the loop short.
 */
export let attention: bool = true;
/** The last instruction had prefixes (or CS changed): reset the decode defaults. */
export let decodeDirty: bool = true;
/** The decode defaults are in force and they are 32-bit: the run loop's fast path may decode. */
export let fastDecode: bool = false;

export function setDecodeDefaults(): void {
  decodeDirty = false;
  fastDecode = codeDefault32;
  opsz = codeDefault32 ? 2 : 1;
  adsz32 = codeDefault32;
  segOverride = -1;
  repPrefix = 0;
  lockPrefix = false;
}

// ---- sizes -------------------------------------------------------------------------------
// A size index: 0 = byte, 1 = word, 2 = dword.
@inline export function sizeMask(sz: i32): u32 {
  return sz == 2 ? 0xffffffff : sz == 1 ? 0xffff : 0xff;
}
@inline export function signBit(sz: i32): u32 {
  return sz == 2 ? 0x80000000 : sz == 1 ? 0x8000 : 0x80;
}
@inline export function sizeBytes(sz: i32): u32 {
  return 1 << sz;
}
@inline export function sizeBits(sz: i32): u32 {
  return 8 << sz;
}
/** Sign-extend a value of size sz to 32 bits. */
@inline export function signExtend(v: u32, sz: i32): u32 {
  return sz == 2 ? v : sz == 1 ? <u32>(<i32>(<i16>v)) : <u32>(<i32>(<i8>v));
}

// ---- general registers ----------------------------------------------------------------------
@inline export function reg32(r: i32): u32 {
  return load<u32>(REG_BASE + (r << 2));
}
@inline export function setReg32(r: i32, v: u32): void {
  store<u32>(REG_BASE + (r << 2), v);
}
@inline export function reg16(r: i32): u32 {
  return load<u16>(REG_BASE + (r << 2));
}
@inline export function setReg16(r: i32, v: u32): void {
  store<u16>(REG_BASE + (r << 2), <u16>v);
}
/** Byte registers AL CL DL BL AH CH DH BH: r & 3 picks the register, r >> 2 the high byte. */
@inline export function reg8(r: i32): u32 {
  return load<u8>(REG_BASE + ((r & 3) << 2) + (r >> 2));
}
@inline export function setReg8(r: i32, v: u32): void {
  store<u8>(REG_BASE + ((r & 3) << 2) + (r >> 2), <u8>v);
}
/** Read a register of size index sz. */
@inline export function regRead(sz: i32, r: i32): u32 {
  return sz == 2 ? reg32(r) : sz == 1 ? reg16(r) : reg8(r);
}
@inline export function regWrite(sz: i32, r: i32, v: u32): void {
  if (sz == 2) setReg32(r, v);
  else if (sz == 1) setReg16(r, v);
  else setReg8(r, v);
}

// ---- segment register caches ------------------------------------------------------------------
@inline export function segSelector(s: i32): u32 {
  return load<u32>(SEG_BASE + s * SEG_SIZE + SEG_SELECTOR);
}
@inline export function segBase(s: i32): u32 {
  return load<u32>(SEG_BASE + s * SEG_SIZE + SEG_BASE_ADDR);
}
@inline export function segLimit(s: i32): u32 {
  return load<u32>(SEG_BASE + s * SEG_SIZE + SEG_LIMIT);
}
@inline export function segAttr(s: i32): u32 {
  return load<u32>(SEG_BASE + s * SEG_SIZE + SEG_ATTR);
}
export function setSegCache(s: i32, selector: u32, base: u32, limit: u32, attr: u32): void {
  const p = SEG_BASE + s * SEG_SIZE;
  store<u32>(p + SEG_SELECTOR, selector);
  store<u32>(p + SEG_BASE_ADDR, base);
  store<u32>(p + SEG_LIMIT, limit);
  store<u32>(p + SEG_ATTR, attr);
}

// ---- control registers ----------------------------------------------------------------------
export const CR0_PE: u32 = 1;
export const CR0_MP: u32 = 2;
export const CR0_EM: u32 = 4;
export const CR0_TS: u32 = 8;
export const CR0_ET: u32 = 0x10;
export const CR0_NE: u32 = 0x20;
export const CR0_WP: u32 = 0x10000;
export const CR0_AM: u32 = 0x40000;
export const CR0_NW: u32 = 0x20000000;
export const CR0_CD: u32 = 0x40000000;
export const CR0_PG: u32 = 0x80000000;
export const CR4_VME: u32 = 1;
export const CR4_PVI: u32 = 2;
export const CR4_TSD: u32 = 4;
export const CR4_DE: u32 = 8;
export const CR4_PSE: u32 = 0x10;
export const CR4_PGE: u32 = 0x80;
export const CR4_PCE: u32 = 0x100;

@inline export function cr0(): u32 {
  return load<u32>(STATE_CR0);
}
@inline export function cr4(): u32 {
  return load<u32>(STATE_CR4);
}
@inline export function protectedMode(): bool {
  return (load<u32>(STATE_CR0) & CR0_PE) != 0;
}

import { STATE_STOP_REQUEST } from "./layout";
/** The host asked run() to return (a device handler, e.g. the debug-exit port). */
@inline export function stopRequested(): bool {
  return load<u32>(STATE_STOP_REQUEST) != 0;
}
