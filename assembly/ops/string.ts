// String instructions (MOVS CMPS SCAS LODS STOS INS OUTS) with REP/REPE/REPNE. The address
// size picks SI/DI/CX or ESI/EDI/ECX. Registers are updated after every element, so a fault
// or an interrupt window in the middle restarts the instruction where it left off.

import { SEG_DS, SEG_ES } from "../layout";
import * as cpu from "../cpu";
import { reg32, setReg32, reg16, setReg16, regRead, regWrite, SIZE_8, SIZE_16 } from "../cpu";
import { readLin, writeLin, readMask, writeMask } from "../mmu";
import { TLB_VALID } from "../tlb";
import { linearRead, linearWrite, flatRead, flatWrite } from "../segments";
import { TLB_BASE } from "../layout";
import { flags, FLAG_DF, getZF } from "../flags";
import { alu, commitFlags, ALU_CMP } from "./alu";
import { portIn, portOut, ioAllowed } from "./io";

/** Elements done per execution before the instruction restarts, letting interrupts in. */
const REP_CHUNK: u32 = 1024;

@inline function idx(r: i32): u32 {
  return cpu.adsz32 ? reg32(r) : reg16(r);
}
@inline function setIdx(r: i32, v: u32): void {
  if (cpu.adsz32) setReg32(r, v);
  else setReg16(r, v);
}
@inline function step(sz: i32): u32 {
  return (flags & FLAG_DF) != 0 ? <u32>(-(1 << sz)) : <u32>(1 << sz);
}
@inline function srcSeg(): i32 {
  return cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
}

/**
 * Run a string operation. Returns true when the instruction is complete, false when it must
 * run again (REP count not exhausted after a chunk); faults leave cpu.faulted set.
 */
export function stringOp(op: i32, sz: i32): bool {
  const rep = cpu.repPrefix != 0;
  let count: u32 = rep ? idx(1) : 1;
  if (count == 0) return true;
  const d = step(sz);
  const srcS = srcSeg();
  let n: u32 = 0;
  if (rep && (op == 0xa4 || op == 0xaa) && <i32>d > 0 && cpu.adsz32 && (flatWrite & (1 << SEG_ES)) != 0 && (op == 0xaa || (flatRead & (1 << srcS)) != 0)) {
    // Forward REP MOVS/STOS through flat segments: whole runs within one page at a time.
    while (n < REP_CHUNK) {
      const k = bulkRun(op, sz, min(count, REP_CHUNK - n));
      if (k == 0) break;
      count -= k;
      n += k;
      setIdx(1, count);
      if (count == 0) return true;
    }
    if (n >= REP_CHUNK) return false;
  }
  while (n < REP_CHUNK) {
    let stop = false;
    switch (op) {
      case 0xa4: { // MOVS
        const lin = linearRead(srcS, idx(6), sz);
        if (cpu.faulted) return false;
        const v = readLin(sz, lin);
        if (cpu.faulted) return false;
        const dl = linearWrite(SEG_ES, idx(7), sz);
        if (cpu.faulted) return false;
        writeLin(sz, dl, v);
        if (cpu.faulted) return false;
        setIdx(6, idx(6) + d);
        setIdx(7, idx(7) + d);
        break;
      }
      case 0xa6: { // CMPS: [SI] - [DI]
        const l1 = linearRead(srcS, idx(6), sz);
        if (cpu.faulted) return false;
        const a = readLin(sz, l1);
        if (cpu.faulted) return false;
        const l2 = linearRead(SEG_ES, idx(7), sz);
        if (cpu.faulted) return false;
        const b = readLin(sz, l2);
        if (cpu.faulted) return false;
        alu(ALU_CMP, sz, a, b);
        commitFlags();
        setIdx(6, idx(6) + d);
        setIdx(7, idx(7) + d);
        stop = true;
        break;
      }
      case 0xae: { // SCAS: AL/AX/EAX - [DI]
        const l2 = linearRead(SEG_ES, idx(7), sz);
        if (cpu.faulted) return false;
        const b = readLin(sz, l2);
        if (cpu.faulted) return false;
        alu(ALU_CMP, sz, regRead(sz, 0), b);
        commitFlags();
        setIdx(7, idx(7) + d);
        stop = true;
        break;
      }
      case 0xac: { // LODS
        const lin = linearRead(srcS, idx(6), sz);
        if (cpu.faulted) return false;
        const v = readLin(sz, lin);
        if (cpu.faulted) return false;
        regWrite(sz, 0, v);
        setIdx(6, idx(6) + d);
        break;
      }
      case 0xaa: { // STOS
        const dl = linearWrite(SEG_ES, idx(7), sz);
        if (cpu.faulted) return false;
        writeLin(sz, dl, regRead(sz, 0));
        if (cpu.faulted) return false;
        setIdx(7, idx(7) + d);
        break;
      }
      case 0x6c: { // INS
        const port = reg16(2);
        if (!ioAllowed(port, sz)) return false;
        const dl = linearWrite(SEG_ES, idx(7), sz);
        if (cpu.faulted) return false;
        const v = portIn(port, sz);
        writeLin(sz, dl, v);
        if (cpu.faulted) return false;
        setIdx(7, idx(7) + d);
        break;
      }
      default: { // 0x6e OUTS
        const port = reg16(2);
        if (!ioAllowed(port, sz)) return false;
        const lin = linearRead(srcS, idx(6), sz);
        if (cpu.faulted) return false;
        const v = readLin(sz, lin);
        if (cpu.faulted) return false;
        portOut(port, sz, v);
        setIdx(6, idx(6) + d);
        break;
      }
    }
    if (!rep) return true;
    count--;
    setIdx(1, count);
    n++;
    if (count == 0) return true;
    // REPE/REPZ stops when ZF = 0; REPNE/REPNZ when ZF = 1 (CMPS and SCAS only).
    if (stop && (cpu.repPrefix == 0xf3 ? !getZF() : getZF())) return true;
    if (cpu.stopRequested()) return false;
  }
  return false;
}

/**
 * Up to `max` elements of a forward REP MOVS (0xa4) or STOS (0xaa), flat segments and 32-bit
 * addresses, as long as source and destination stay within pages the TLB already maps for this
 * access (RAM, and writable for the destination: page-table pages and not-yet-dirty pages are
 * not, so their stores keep going through the slow path). Returns the elements done, 0 if none
 * could be (the element-by-element loop then takes it, faults and all).
 */
function bulkRun(op: i32, sz: i32, max: u32): u32 {
  const di = reg32(7);
  let k = min(max, (0x1000 - (di & 0xfff)) >>> sz);
  if (k == 0) return 0;
  const de = load<u32>(TLB_BASE + ((<usize>(di >>> 12)) << 2));
  if ((de & writeMask) != TLB_VALID) return 0;
  const dst = <usize>((de & ~0xfff) ^ di);
  if (op == 0xa4) {
    const si = reg32(6);
    k = min(k, (0x1000 - (si & 0xfff)) >>> sz);
    if (k == 0) return 0;
    const se = load<u32>(TLB_BASE + ((<usize>(si >>> 12)) << 2));
    if ((se & readMask) != TLB_VALID) return 0;
    const src = <usize>((se & ~0xfff) ^ si);
    const bytes = <usize>k << sz;
    if (dst <= src || dst >= src + bytes) memory.copy(dst, src, bytes);
    else {
      // The destination overlaps ahead of the source: element by element, as the CPU does.
      const e = <usize>1 << sz;
      for (let i: usize = 0; i < bytes; i += e) {
        if (sz == SIZE_8) store<u8>(dst + i, load<u8>(src + i));
        else if (sz == SIZE_16) store<u16>(dst + i, load<u16>(src + i));
        else store<u32>(dst + i, load<u32>(src + i));
      }
    }
    setReg32(6, si + (k << sz));
  } else {
    const v = regRead(sz, 0);
    if (sz == SIZE_8) memory.fill(dst, <u8>v, k);
    else if (sz == SIZE_16) for (let i: u32 = 0; i < k; i++) store<u16>(dst + (<usize>i << 1), <u16>v);
    else for (let i: u32 = 0; i < k; i++) store<u32>(dst + (<usize>i << 2), v);
  }
  setReg32(7, di + (k << sz));
  return k;
}
