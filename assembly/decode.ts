// Instruction fetch and operand decoding: prefixes, ModRM/SIB effective addresses (32- and
// 16-bit forms, SDM Vol. 2 §2.1.5), immediates. The decoder reads the instruction through a
// host pointer: straight from guest RAM when the instruction lies inside one cached code page,
// else from a scratch copy that the boundary path fills (faulting only if the instruction
// really extends onto an unmapped page).

import { vmiActive, vmiShadowControlRegisters } from "./vmi";
import { SEG_CS, SEG_DS, SEG_SS, STATE_FETCH_SCRATCH, STATE_CR2 } from "./layout";
import * as cpu from "./cpu";
import { reg32, reg16, segBase, regRead, regWrite, signExtend, SIZE_16, SIZE_32 } from "./cpu";
import { fetchDelta, refillFetch, readLin8, readLin, writeLin } from "./mmu";
import { linearRead, linearWrite } from "./segments";
import { instructionLength } from "./length";
import { codeTableFor } from "./blocks";

export let modrm: u32 = 0;
export let eaSeg: i32 = SEG_DS;
export let eaOff: u32 = 0;
/** The memory operand's SIB base was ESP (POP Ev must then address with the incremented ESP). */
export let sibBaseEsp: bool = false;

/**
 * Re-derive the fetch pointer from EIP: at a page boundary, after a far transfer or a TLB
 * change. Returns false with a fault raised (and EIP authoritative) if the instruction can't
 * be fetched.
 */
export function fetchSlow(): bool {
  const eip = cpu.getEip();
  const lin = segBase(SEG_CS) + eip;
  if ((lin & 0xfff) < 0xff0) {
    if (refillFetch(lin)) {
      const host = <usize>lin + fetchDelta;
      const page = host - <usize>(lin & 0xfff);
      // First: making a table may flush the block cache, which forgets the fetch page. Only
      // 32-bit code runs on the fast path that uses blocks (a CS change comes back here).
      const table = cpu.codeDefault32 ? codeTableFor(page) : 0;
      cpu.ip = host;
      cpu.ipPage = page;
      cpu.ipTable = table;
      cpu.eipDelta = <u32>cpu.ip - eip;
      cpu.eipAuthoritative = false;
      return true;
    }
    if (cpu.faulted) {
      cpu.setEip(eip);
      return false;
    }
  }
  // Near the end of a page (or code outside RAM): copy what can be fetched, then decide
  // from the instruction's length whether the bytes that could not be fetched matter.
  const savedCr2 = load<u32>(STATE_CR2);
  let avail = 0;
  while (avail < 16) {
    const b = readLin8(lin + <u32>avail);
    if (cpu.faulted) break;
    store<u8>(STATE_FETCH_SCRATCH + avail, <u8>b);
    avail++;
  }
  if (cpu.faulted) {
    cpu.faulted = false;
    const len = avail == 0 ? -1 : instructionLength(STATE_FETCH_SCRATCH, avail, cpu.codeDefault32);
    if (len < 0) {
      // The instruction continues onto the page that faulted: raise that fault again.
      readLin8(lin + <u32>avail);
      cpu.setEip(eip);
      return false;
    }
    store<u32>(STATE_CR2, savedCr2);
    if (vmiActive()) vmiShadowControlRegisters();
  }
  cpu.ip = STATE_FETCH_SCRATCH;
  cpu.ipPage = 0; // the next instruction comes through here again
  cpu.ipTable = 0;
  cpu.eipDelta = <u32>STATE_FETCH_SCRATCH - eip;
  cpu.eipAuthoritative = false;
  return true;
}

@inline export function fetch8(): u32 {
  const v = <u32>load<u8>(cpu.ip);
  cpu.ip++;
  return v;
}
@inline export function fetch16(): u32 {
  const v = <u32>load<u16>(cpu.ip);
  cpu.ip += 2;
  return v;
}
@inline export function fetch32(): u32 {
  const v = load<u32>(cpu.ip);
  cpu.ip += 4;
  return v;
}
/** An immediate of size sz (8/16/32). */
@inline export function fetchImm(sz: i32): u32 {
  return sz == SIZE_32 ? fetch32() : sz == SIZE_16 ? fetch16() : fetch8();
}
/** A sign-extended 8-bit immediate. */
@inline export function fetchSimm8(): u32 {
  const v = <u32>(<i32>load<i8>(cpu.ip));
  cpu.ip++;
  return v;
}

/** Read the ModRM byte and, for a memory operand, its effective address. */
@inline export function decodeModrm(): void {
  modrm = fetch8();
  if (modrm < 0xc0) decodeEA();
}

export function decodeEA(): void {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  let seg = SEG_DS;
  let off: u32;
  sibBaseEsp = false;
  if (cpu.adsz32) {
    if (rm == 4) {
      const sib = fetch8();
      const base = sib & 7;
      sibBaseEsp = base == 4;
      const index = (sib >> 3) & 7;
      if (base == 5 && mod == 0) off = fetch32();
      else {
        off = reg32(base);
        if (base == 4 || base == 5) seg = SEG_SS;
      }
      if (index != 4) off += reg32(index) << (sib >> 6);
    } else if (rm == 5 && mod == 0) {
      off = fetch32();
    } else {
      off = reg32(rm);
      if (rm == 5) seg = SEG_SS;
    }
    if (mod == 1) off += fetchSimm8();
    else if (mod == 2) off += fetch32();
  } else {
    switch (rm) {
      case 0: off = reg16(3) + reg16(6); break;
      case 1: off = reg16(3) + reg16(7); break;
      case 2: off = reg16(5) + reg16(6); seg = SEG_SS; break;
      case 3: off = reg16(5) + reg16(7); seg = SEG_SS; break;
      case 4: off = reg16(6); break;
      case 5: off = reg16(7); break;
      case 6:
        if (mod == 0) off = 0;
        else {
          off = reg16(5);
          seg = SEG_SS;
        }
        break;
      default: off = reg16(3); break;
    }
    if (mod == 0 && rm == 6) off = fetch16();
    else if (mod == 1) off += fetchSimm8();
    else if (mod == 2) off += fetch16();
    off &= 0xffff;
  }
  eaSeg = cpu.segOverride >= 0 ? cpu.segOverride : seg;
  eaOff = off;
}

/** The reg field of the ModRM byte. */
@inline export function modrmReg(): i32 {
  return <i32>((modrm >> 3) & 7);
}
@inline export function isRegForm(): bool {
  return modrm >= 0xc0;
}

/** Read the r/m operand (register or memory). Returns 0 with cpu.faulted set on a fault. */
@inline export function readRM(sz: i32): u32 {
  if (modrm >= 0xc0) return regRead(sz, modrm & 7);
  const lin = linearRead(eaSeg, eaOff, sz);
  if (cpu.faulted) return 0;
  return readLin(sz, lin);
}
/** Write the r/m operand. */
@inline export function writeRM(sz: i32, v: u32): void {
  if (modrm >= 0xc0) regWrite(sz, modrm & 7, v);
  else {
    const lin = linearWrite(eaSeg, eaOff, sz);
    if (cpu.faulted) return;
    writeLin(sz, lin, v);
  }
}

/** For read-modify-write: the linear address of the memory operand, checked for writing. */
export let rmwLin: u32 = 0;
@inline export function readRMForWrite(sz: i32): u32 {
  if (modrm >= 0xc0) return regRead(sz, modrm & 7);
  rmwLin = linearWrite(eaSeg, eaOff, sz);
  if (cpu.faulted) return 0;
  return readLin(sz, rmwLin);
}
@inline export function writeRMAfterRead(sz: i32, v: u32): void {
  if (modrm >= 0xc0) regWrite(sz, modrm & 7, v);
  else writeLin(sz, rmwLin, v);
}

/** Memory operand at an offset relative to the decoded EA (BT with a register bit offset). */
@inline export function eaSegment(): i32 {
  return eaSeg;
}

@inline export function operandSext(v: u32, sz: i32): u32 {
  return signExtend(v, sz);
}
