// String instructions (MOVS CMPS SCAS LODS STOS INS OUTS) with REP/REPE/REPNE. The address
// size picks SI/DI/CX or ESI/EDI/ECX. Registers are updated after every element, so a fault
// or an interrupt window in the middle restarts the instruction where it left off.

import { SEG_DS, SEG_ES } from "../layout";
import * as cpu from "../cpu";
import { reg32, setReg32, reg16, setReg16, regRead, regWrite } from "../cpu";
import { readLin, writeLin } from "../mmu";
import { linearRead, linearWrite } from "../segments";
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
