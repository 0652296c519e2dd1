// Stack operations through SS, with the stack-address size of SS.B (ESP or SP). A push
// writes memory first and moves ESP only when the write succeeded, so a fault restarts cleanly.

import { SEG_SS } from "../layout";
import * as cpu from "../cpu";
import { reg32, setReg32, reg16, setReg16 } from "../cpu";
import { readLin, writeLin } from "../mmu";
import { linearRead, linearWrite } from "../segments";

/** The stack pointer as an offset into SS. */
@inline export function sp(): u32 {
  return cpu.stack32 ? reg32(4) : reg16(4);
}
@inline export function setSp(v: u32): void {
  if (cpu.stack32) setReg32(4, v);
  else setReg16(4, v);
}
@inline export function spMask(): u32 {
  return cpu.stack32 ? 0xffffffff : 0xffff;
}

/** Write a value of size sz at SS:(SP - depth) without moving SP; depth counts bytes below SP. */
export function stackWrite(sz: i32, depth: u32, v: u32): void {
  const off = (sp() - depth) & spMask();
  const lin = linearWrite(SEG_SS, off, sz);
  if (cpu.faulted) return;
  writeLin(sz, lin, v);
}

/** Read a value of size sz at SS:(SP + offset) without moving SP. */
export function stackRead(sz: i32, offset: u32): u32 {
  const off = (sp() + offset) & spMask();
  const lin = linearRead(SEG_SS, off, sz);
  if (cpu.faulted) return 0;
  return readLin(sz, lin);
}

export function push(sz: i32, v: u32): void {
  const n: u32 = 1 << sz;
  const off = (sp() - n) & spMask();
  const lin = linearWrite(SEG_SS, off, sz);
  if (cpu.faulted) return;
  writeLin(sz, lin, v);
  if (cpu.faulted) return;
  setSp(off);
}

/** Pop a value of size sz; SP moves only if the read succeeded. */
export function pop(sz: i32): u32 {
  const v = stackRead(sz, 0);
  if (cpu.faulted) return 0;
  setSp((sp() + (<u32>1 << sz)) & spMask());
  return v;
}

@inline export function spAdd(n: u32): void {
  setSp((sp() + n) & spMask());
}
