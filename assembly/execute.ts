// The full decoder's instruction handlers, one named function per instruction form of the
// instruction table (gen/x86-table.ts), which the generated dispatch (generated/dispatch.ts)
// calls, inlined, from its switch over the opcode. Forms that share a shape (the ALU block,
// Jcc, the register-encoded forms) share one generic body.
//
// Contract with the run loop: a handler leaves cpu.ip at the next instruction, or a jump moves
// it (cpu.jumpNear / cpu.setEip); when it raises an exception (cpu.faulted) nothing
// architectural has been committed and the run loop restarts the instruction.

import { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, STATE_TRAP_EXCEPTIONS, STATE_EXC_VECTOR, STATE_EXC_ERROR, STATE_HALTED } from "./layout";
import * as cpu from "./cpu";
import { nextEip, SIZE_8, SIZE_16, SIZE_32 } from "./cpu";
import {
  reg32, setReg32, reg16, setReg16, reg8, setReg8, regRead, regWrite, segSelector, signExtend, sizeMask,
  sizeBytes, protectedMode,
} from "./cpu";
import * as fl from "./flags";
import { readFlags, writeFlags, testCondition, getCF, setFlagBits, flags, FLAG_CF, FLAG_DF, FLAG_IF, FLAG_AF, FLAG_ZF, FLAGS_ARITH, FLAG_OF } from "./flags";
import {
  fetch8, fetch16, fetch32, fetchImm, fetchSimm8, decodeModrm, modrm, modrmReg, eaSeg, eaOff, readRM, writeRM,
  readRMForWrite, writeRMAfterRead, sibBaseEsp,
} from "./decode";
import { readLin, writeLin, readLin16, readLin32, probeWrite } from "./mmu";
import { tlbInvalidatePage } from "./tlb";
import { linearRead, linearWrite, loadSegment } from "./segments";
import { fpuEscape, fpuWait, fxsaveRestore } from "./fpu/execute-fpu";
import { raise, raiseUD, raiseGP, EXC_DE, EXC_BP, EXC_OF, EXC_BR, EXC_GP, EXC_UD, EXC_NM, pauseRepeat, endRepeat } from "./exceptions";
import { alu, commitFlags, incDec, commitIncDecFlags, neg, aluResult, aluSetFlags, ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP } from "./ops/alu";
import { shift, shiftDouble, commitShiftFlags } from "./ops/shift";
import { mul, imul1, div, idiv } from "./ops/muldiv";
import { push, pop, stackRead, stackWrite, sp, setSp, spMask, spAdd } from "./ops/stack";
import { stringOp } from "./ops/string";
import { aam as asciiAdjustMultiply, aad as asciiAdjustDivide } from "./ops/bcd";
import { bitTest } from "./ops/bits";
import { farJump, farCall, farReturn, iret as returnFromInterrupt, softwareInterrupt, writableFlagsMask, sysenter, sysexit } from "./ops/control";
import { portIn, portOut, ioAllowed } from "./ops/io";
import {
  privileged, readCr, writeCr, readDr, writeDr, loadDescriptorTable, lldt, ltr, descriptorVisible, cpuid, rdtsc,
  rdmsr, wrmsr, rdpmc,
} from "./ops/system";
import { descAttr, descLimit, descHi } from "./segments";
import { STATE_GDTR_BASE, STATE_GDTR_LIMIT, STATE_IDTR_BASE, STATE_IDTR_LIMIT, SEG_LDTR, SEG_TR } from "./layout";
import { STATE_CR0, STATE_VMI_TOP, STATE_HYPERCALL_FAULT, STATE_HYPERCALL_ERROR, COUNTER_HYPERCALL, STATE_EIP, STATE_EFLAGS } from "./layout";
import { hostHypercall } from "./imports";
import { vmiActive, setVirtualIf, countNativeIf, vmiShadowControlRegisters, isVmiRomAddress } from "./vmi";
import { publishRetired } from "./cpu";
import { syncOut } from "./sync";

/** Why the current instruction wants the run loop to return (HLT, a trapped INT in test mode). */
export const STEP_OK = 0;
export const STEP_HLT = 1;
export const STEP_TRAPPED = 2;
export let stepResult: i32 = STEP_OK;

@inline function jumpTo(target: u32): void {
  cpu.jumpNear(cpu.opsz == SIZE_16 ? target & 0xffff : target);
}

/** A near relative jump by `rel` from the next instruction. */
@inline function jumpRel(rel: u32): void {
  jumpTo(nextEip() + rel);
}

/** Operand size index for the opcode's w bit (bit 0): byte, or the current operand size. */
@inline function sizeW(op: u32): i32 {
  return (op & 1) != 0 ? cpu.opsz : SIZE_8;
}

/** ALU Eb/Ev, Gb/Gv (the op is a constant at each call site, so the switch folds away). */
@inline export function aluEG(aop: i32, sz: i32): void {
  decodeModrm();
  const a = aop == ALU_CMP ? readRM(sz) : readRMForWrite(sz);
  if (cpu.faulted) return;
  const b = regRead(sz, modrmReg());
  const r = aluResult(aop, sz, a, b);
  if (aop != ALU_CMP) {
    writeRMAfterRead(sz, r);
    if (cpu.faulted) return;
  }
  aluSetFlags(aop, sz, a, b, r);
}

/** ALU Gb/Gv, Eb/Ev. */
@inline export function aluGE(aop: i32, sz: i32): void {
  decodeModrm();
  const b = readRM(sz);
  if (cpu.faulted) return;
  const g = modrmReg();
  const a = regRead(sz, g);
  const r = aluResult(aop, sz, a, b);
  if (aop != ALU_CMP) regWrite(sz, g, r);
  aluSetFlags(aop, sz, a, b, r);
}

/** ALU AL/eAX, imm. */
@inline export function aluAI(aop: i32, sz: i32): void {
  const a = regRead(sz, 0);
  const b = fetchImm(sz);
  const r = aluResult(aop, sz, a, b);
  if (aop != ALU_CMP) regWrite(sz, 0, r);
  aluSetFlags(aop, sz, a, b, r);
}

// ---- the one-byte map: handlers, by opcode (the dispatch is generated/dispatch.ts) ----------

/** PUSH ES/CS/SS/DS. */
@inline export function pushSreg(op: u32): void {
  push(cpu.opsz, segSelector(<i32>(op >> 3)));
}

/** POP ES/SS/DS. */
@inline export function popSreg(op: u32): void {
  const v = stackRead(cpu.opsz, 0);
  if (cpu.faulted) return;
  // ESP moves by the width of the stack popped from (SDM Vol. 2 POP: the StackAddrSize of
  // the old SS), not of the SS POP SS loads.
  const wasStack32 = cpu.stack32;
  const popped = (sp() + sizeBytes(cpu.opsz)) & spMask();
  if (!loadSegment(<i32>(op >> 3), v & 0xffff)) return;
  if (wasStack32) setReg32(4, popped);
  else setReg16(4, popped);
  if (op == 0x17) inhibitInterrupts();
}

/** INC/DEC r16/r32 (40+r, 48+r). */
@inline export function incDecReg(op: u32): void {
  const r = <i32>op & 7;
  const sz = cpu.opsz;
  regWrite(sz, r, incDec(op >= 0x48, sz, regRead(sz, r)));
  commitIncDecFlags();
}

/** PUSH r16/r32 (50+r). */
@inline export function pushReg(op: u32): void {
  push(cpu.opsz, regRead(cpu.opsz, <i32>op & 7));
}

/** POP r16/r32 (58+r). */
@inline export function popReg(op: u32): void {
  const v = pop(cpu.opsz);
  if (cpu.faulted) return;
  regWrite(cpu.opsz, <i32>op & 7, v);
}

/** PUSHA/PUSHAD: EAX ECX EDX EBX (original ESP) EBP ESI EDI. */
@inline export function pusha(): void {
  const sz = cpu.opsz;
  const n = sizeBytes(sz);
  const oldSp = regRead(sz, 4);
  for (let r = 0; r < 8; r++) stackWrite(sz, n * <u32>(r + 1), r == 4 ? oldSp : regRead(sz, r));
  if (cpu.faulted) return;
  setSp((sp() - 8 * n) & spMask());
}

/** POPA/POPAD: the saved ESP is discarded. */
@inline export function popa(): void {
  const sz = cpu.opsz;
  const n = sizeBytes(sz);
  for (let r = 0; r < 8; r++) stackRead(sz, n * <u32>r);
  if (cpu.faulted) return;
  for (let r = 0; r < 8; r++) {
    const v = stackRead(sz, n * <u32>(7 - r));
    if (r != 4) regWrite(sz, r, v);
  }
  spAdd(8 * n);
}

/** BOUND Gv, Ma. */
@inline export function bound(): void {
  decodeModrm();
  if (modrm >= 0xc0) {
    raiseUD();
    return;
  }
  const sz = cpu.opsz;
  const n = sizeBytes(sz);
  const lo = readLin(sz, linearRead(eaSeg, eaOff, sz));
  if (cpu.faulted) return;
  const hi = readLin(sz, linearRead(eaSeg, eaOff + n, sz));
  if (cpu.faulted) return;
  const idx = <i32>signExtend(regRead(sz, modrmReg()), sz);
  if (idx < <i32>signExtend(lo, sz) || idx > <i32>signExtend(hi, sz)) {
    raise(EXC_BR, 0);
    return;
  }
}

/** ARPL Ew, Gw (protected mode only; #UD in virtual-8086 mode too). */
@inline export function arpl(): void {
  if (fl.realSegments()) {
    raiseUD();
    return;
  }
  decodeModrm();
  const d = readRMForWrite(SIZE_16);
  if (cpu.faulted) return;
  const s = reg16(modrmReg());
  if ((d & 3) < (s & 3)) {
    writeRMAfterRead(SIZE_16, (d & ~3) | (s & 3));
    if (cpu.faulted) return;
    setFlagBits(FLAG_ZF, true);
  } else setFlagBits(FLAG_ZF, false);
}

/** PUSH Iz. */
@inline export function pushImm(): void {
  push(cpu.opsz, fetchImm(cpu.opsz));
}

/** PUSH Ib, sign-extended. */
@inline export function pushImm8(): void {
  push(cpu.opsz, fetchSimm8());
}

/** INS/OUTS. */
@inline export function stringInOut(op: u32): void {
  if (!stringOp((op & 0xfe) == 0x6c ? 0x6c : 0x6e, sizeW(op))) {
    repeatAgain();
    return;
  }
  endRepeat();
}

/** Jcc rel8 (70+cc). */
@inline export function jccRel8(op: u32): void {
  const rel = fetchSimm8();
  if (testCondition(<i32>op & 15)) {
    jumpRel(rel);
    return;
  }
}

/** Group 1: ALU Ev, imm. */
@inline export function aluEI(op: u32): void {
  const sz = sizeW(op);
  decodeModrm();
  const aop = modrmReg();
  const imm = op == 0x83 ? fetchSimm8() : fetchImm(sz);
  const a = aop == ALU_CMP ? readRM(sz) : readRMForWrite(sz);
  if (cpu.faulted) return;
  const r = alu(aop, sz, a, imm);
  if (aop != ALU_CMP) {
    writeRMAfterRead(sz, r);
    if (cpu.faulted) return;
  }
  commitFlags();
}

/** TEST Ev, Gv. */
@inline export function testEG(sz: i32): void {
  decodeModrm();
  const a = readRM(sz);
  if (cpu.faulted) return;
  alu(ALU_AND, sz, a, regRead(sz, modrmReg()));
  commitFlags();
}

/** XCHG Ev, Gv. */
@inline export function xchgEG(sz: i32): void {
  decodeModrm();
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  writeRMAfterRead(sz, regRead(sz, modrmReg()));
  if (cpu.faulted) return;
  regWrite(sz, modrmReg(), a);
}

/** MOV Ev, Gv. */
@inline export function movEG(sz: i32): void {
  decodeModrm();
  writeRM(sz, regRead(sz, modrmReg()));
}

/** MOV Gv, Ev. */
@inline export function movGE(sz: i32): void {
  decodeModrm();
  const v = readRM(sz);
  if (cpu.faulted) return;
  regWrite(sz, modrmReg(), v);
}

/** MOV Ew, Sreg: a register destination gets the selector zero-extended (32-bit). */
@inline export function movESreg(): void {
  decodeModrm();
  const s = modrmReg();
  if (s > 5) {
    raiseUD();
    return;
  }
  if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, segSelector(s));
  else writeRM(SIZE_16, segSelector(s));
}

/** LEA Gv, M. */
@inline export function lea(): void {
  decodeModrm();
  if (modrm >= 0xc0) {
    raiseUD();
    return;
  }
  regWrite(cpu.opsz, modrmReg(), eaOff);
}

/** MOV Sreg, Ew. */
@inline export function movSregE(): void {
  decodeModrm();
  const s = modrmReg();
  if (s == SEG_CS || s > 5) {
    raiseUD();
    return;
  }
  const v = readRM(SIZE_16);
  if (cpu.faulted) return;
  if (!loadSegment(s, v)) return;
  if (s == SEG_SS) inhibitInterrupts();
}

/** POP Ev: ESP is incremented before the destination address is used. */
@inline export function popE(): void {
  decodeModrm();
  const sz = cpu.opsz;
  const v = stackRead(sz, 0);
  if (cpu.faulted) return;
  if (modrm >= 0xc0) {
    spAdd(sizeBytes(sz));
    regWrite(sz, modrm & 7, v);
  } else {
    const oldEsp = reg32(4);
    spAdd(sizeBytes(sz));
    // the effective address was computed with the old ESP; recompute with the new one
    // when ESP is the base (SDM Vol. 2 POP).
    writeRMPop(sz, v, oldEsp);
    if (cpu.faulted) setReg32(4, oldEsp);
  }
}

/** NOP (and PAUSE with F3). */
@inline export function nop(): void {}

/** XCHG eAX, r16/r32 (91+r). */
@inline export function xchgAxReg(op: u32): void {
  const sz = cpu.opsz;
  const r = <i32>op & 7;
  const t = regRead(sz, 0);
  regWrite(sz, 0, regRead(sz, r));
  regWrite(sz, r, t);
}

/** CBW/CWDE. */
@inline export function cbw(): void {
  if (cpu.opsz == SIZE_32) setReg32(0, signExtend(reg16(0), SIZE_16));
  else setReg16(0, signExtend(reg8(0), SIZE_8));
}

/** CWD/CDQ. */
@inline export function cwd(): void {
  if (cpu.opsz == SIZE_32) setReg32(2, (reg32(0) & 0x80000000) != 0 ? 0xffffffff : 0);
  else setReg16(2, (reg16(0) & 0x8000) != 0 ? 0xffff : 0);
}

/** CALL ptr16:16/32. */
@inline export function callFarImm(): void {
  const off = fetchImm(cpu.opsz);
  const sel = fetch16();
  farCall(sel, off, cpu.opsz, nextEip());
}

/** PUSHF/PUSHFD: VM and RF are pushed clear. */
@inline export function pushf(): void {
  if (!iopl3OrProtected()) return;
  push(cpu.opsz, readFlags() & 0xfcffff);
}

/** POPF/POPFD. */
@inline export function popf(): void {
  if (!iopl3OrProtected()) return;
  const v = pop(cpu.opsz);
  if (cpu.faulted) return;
  writeFlags(v, writableFlagsMask(cpu.opsz));
}

/** SAHF: SF ZF AF PF CF from AH. */
@inline export function sahf(): void {
  writeFlags(reg8(4), 0xd5);
}

/** LAHF. */
@inline export function lahf(): void {
  setReg8(4, readFlags() & 0xff);
}

/** MOV AL/eAX, moffs. */
@inline export function movAccMoffs(sz: i32): void {
  const off = cpu.adsz32 ? fetch32() : fetch16();
  const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
  const lin = linearRead(seg, off, sz);
  if (cpu.faulted) return;
  const v = readLin(sz, lin);
  if (cpu.faulted) return;
  regWrite(sz, 0, v);
}

/** MOV moffs, AL/eAX. */
@inline export function movMoffsAcc(sz: i32): void {
  const off = cpu.adsz32 ? fetch32() : fetch16();
  const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
  const lin = linearWrite(seg, off, sz);
  if (cpu.faulted) return;
  writeLin(sz, lin, regRead(sz, 0));
}

/** MOVS, CMPS, STOS, LODS, SCAS, with or without REP. */
@inline export function stringMove(op: u32): void {
  if (!stringOp(<i32>(op & 0xfe), sizeW(op))) {
    repeatAgain();
    return;
  }
  endRepeat();
}

/** TEST AL/eAX, imm. */
@inline export function testAI(sz: i32): void {
  alu(ALU_AND, sz, regRead(sz, 0), fetchImm(sz));
  commitFlags();
}

/** MOV r8, Ib (B0+r). */
@inline export function movRegImm8(op: u32): void {
  setReg8(<i32>op & 7, fetch8());
}

/** MOV r16/r32, Iz (B8+r). */
@inline export function movRegImm(op: u32): void {
  regWrite(cpu.opsz, <i32>op & 7, fetchImm(cpu.opsz));
}

/** Group 2 shifts. */
@inline export function shiftGroup(op: u32): void {
  const sz = sizeW(op);
  decodeModrm();
  const count: u32 = op <= 0xc1 ? fetch8() : op <= 0xd1 ? 1 : reg8(1);
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  const r = shift(modrmReg(), sz, a, count);
  writeRMAfterRead(sz, r);
  if (cpu.faulted) return;
  commitShiftFlags();
}

/** RET imm16. */
@inline export function retImm(): void {
  const n = fetch16();
  const t = pop(cpu.opsz);
  if (cpu.faulted) return;
  spAdd(n);
  jumpTo(t);
}

/** RET. */
@inline export function ret(): void {
  const t = pop(cpu.opsz);
  if (cpu.faulted) return;
  jumpTo(t);
}

/** LES/LDS Gv, Mp. */
@inline export function lesLds(op: u32): void {
  decodeModrm();
  loadFarPointer(op == 0xc4 ? SEG_ES : SEG_DS);
}

/** MOV Ev, imm. */
@inline export function movEI(sz: i32): void {
  decodeModrm();
  writeRM(sz, fetchImm(sz));
}

/** ENTER imm16, imm8 (SDM Vol. 2 ENTER). */
@inline export function enter(): void {
  const size = fetch16();
  const level = fetch8() & 31;
  enterFrame(size, level);
}

/** LEAVE. */
@inline export function leave(): void {
  const sz = cpu.opsz;
  const frame = cpu.stack32 ? reg32(5) : reg16(5);
  const lin = linearRead(SEG_SS, frame, sz);
  if (cpu.faulted) return;
  const v = readLin(sz, lin);
  if (cpu.faulted) return;
  setSp((frame + sizeBytes(sz)) & spMask());
  regWrite(sz, 5, v);
}

/** RET far imm16. */
@inline export function retFarImm(): void {
  const n = fetch16();
  farReturn(cpu.opsz, n);
}

/** RET far. */
@inline export function retFar(): void {
  farReturn(cpu.opsz, 0);
}

/** INT3. */
@inline export function int3(): void {
  interrupt(EXC_BP);
}

/** INT imm8. */
@inline export function intImm(): void {
  const v = fetch8();
  if (!iopl3OrProtected()) return;
  interrupt(<i32>v);
}

/** INTO. */
@inline export function into(): void {
  if (fl.getOF()) {
    interrupt(EXC_OF);
    return;
  }
}

/** IRET. */
@inline export function iret(): void {
  returnFromInterrupt(cpu.opsz);
}

/** AAM Ib. */
@inline export function aam(): void {
  asciiAdjustMultiply(fetch8());
}

/** AAD Ib. */
@inline export function aad(): void {
  asciiAdjustDivide(fetch8());
}

/** SALC (undocumented): AL = CF ? 0xFF : 0. */
@inline export function salc(): void {
  setReg8(0, getCF() ? 0xff : 0);
}

/** XLAT. */
@inline export function xlat(): void {
  const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
  const off = cpu.adsz32 ? reg32(3) + reg8(0) : (reg16(3) + reg8(0)) & 0xffff;
  const lin = linearRead(seg, off, SIZE_8);
  if (cpu.faulted) return;
  const v = readLin(SIZE_8, lin);
  if (cpu.faulted) return;
  setReg8(0, v);
}

/** LOOPNE/LOOPE/LOOP: the address size picks CX or ECX. */
@inline export function loop(op: u32): void {
  const rel = fetchSimm8();
  const count = (cpu.adsz32 ? reg32(1) : reg16(1)) - 1;
  if (cpu.adsz32) setReg32(1, count);
  else setReg16(1, count);
  let take = (count & (cpu.adsz32 ? 0xffffffff : 0xffff)) != 0;
  if (op == 0xe0) take = take && !fl.getZF();
  else if (op == 0xe1) take = take && fl.getZF();
  if (take) {
    jumpRel(rel);
    return;
  }
}

/** JCXZ/JECXZ. */
@inline export function jecxz(): void {
  const rel = fetchSimm8();
  if ((cpu.adsz32 ? reg32(1) : reg16(1)) == 0) {
    jumpRel(rel);
    return;
  }
}

/** IN AL/eAX, imm8. */
@inline export function inImm(sz: i32): void {
  const port = fetch8();
  if (!ioAllowed(port, sz)) return;
  regWrite(sz, 0, portIn(port, sz));
}

/** OUT imm8, AL/eAX. */
@inline export function outImm(sz: i32): void {
  const port = fetch8();
  if (!ioAllowed(port, sz)) return;
  portOut(port, sz, regRead(sz, 0));
}

/** CALL rel16/32. */
@inline export function callRel(): void {
  const rel = fetchImm(cpu.opsz);
  const ret = nextEip();
  push(cpu.opsz, ret);
  if (cpu.faulted) return;
  jumpTo(ret + rel);
}

/** JMP rel16/32. */
@inline export function jmpRel(): void {
  const rel = fetchImm(cpu.opsz);
  jumpRel(rel);
}

/** JMP ptr16:16/32. */
@inline export function jmpFarImm(): void {
  const off = fetchImm(cpu.opsz);
  const sel = fetch16();
  farJump(sel, off);
}

/** JMP rel8. */
@inline export function jmpRel8(): void {
  const rel = fetchSimm8();
  jumpRel(rel);
}

/** IN AL/eAX, DX. */
@inline export function inDx(sz: i32): void {
  const port = reg16(2);
  if (!ioAllowed(port, sz)) return;
  regWrite(sz, 0, portIn(port, sz));
}

/** OUT DX, AL/eAX. */
@inline export function outDx(sz: i32): void {
  const port = reg16(2);
  if (!ioAllowed(port, sz)) return;
  portOut(port, sz, regRead(sz, 0));
}

/** INT1 (ICEBP). */
@inline export function int1(): void {
  interrupt(1);
}

/** HLT. */
@inline export function hlt(): void {
  if (!privileged()) return;
  store<u32>(STATE_HALTED, 1);
  stepResult = STEP_HLT;
  cpu.attention = true;
}

/** CMC. */
@inline export function cmc(): void {
  setFlagBits(FLAG_CF, !getCF());
}

// Group 3 (F6, F7): the dispatch decodes ModRM and picks the handler by ModRM.reg.

/** TEST Eb/Ev, imm (F6/F7 /0, and /1, its undocumented alias). */
@inline export function testEI(sz: i32): void {
  const imm = fetchImm(sz);
  const a = readRM(sz);
  if (cpu.faulted) return;
  alu(ALU_AND, sz, a, imm);
  commitFlags();
}

/** NOT Eb/Ev (F6/F7 /2). */
@inline export function notE(sz: i32): void {
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  writeRMAfterRead(sz, ~a);
}

/** NEG Eb/Ev (F6/F7 /3). */
@inline export function negE(sz: i32): void {
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  writeRMAfterRead(sz, neg(sz, a));
  if (cpu.faulted) return;
  commitFlags();
}

/** MUL, IMUL, DIV, IDIV of AL/eAX (and AH/eDX) by Eb/Ev (F6/F7 /4–/7). */
@inline export function mulDivE(sz: i32): void {
  const src = readRM(sz);
  if (cpu.faulted) return;
  const sub = modrmReg();
  if (sub == 4) mul(sz, src);
  else if (sub == 5) imul1(sz, src);
  else if (sub == 6) div(sz, src);
  else idiv(sz, src);
}

/** CLC. */
@inline export function clc(): void {
  setFlagBits(FLAG_CF, false);
}

/** STC. */
@inline export function stc(): void {
  setFlagBits(FLAG_CF, true);
}

/** CLI. */
@inline export function cli(): void {
  if (!iflAllowed()) return;
  fl.flags &= ~FLAG_IF;
  if (vmiActive()) nativeIf(false);
}

/** STI: interrupts are recognized only after the next instruction (interrupt shadow). */
@inline export function sti(): void {
  if (!iflAllowed()) return;
  fl.syncVirtualIf();
  if ((fl.flags & FLAG_IF) == 0) {
    fl.flags |= FLAG_IF;
    interruptShadow = true;
    cpu.attention = true;
  }
  if (vmiActive()) nativeIf(true);
}

/** CLD. */
@inline export function cld(): void {
  setFlagBits(FLAG_DF, false);
}

/** STD. */
@inline export function std(): void {
  setFlagBits(FLAG_DF, true);
}

/** INC/DEC Eb (FE /0, /1; its other digits are #UD). */
@inline export function incDecEb(): void {
  decodeModrm();
  if (modrmReg() > 1) {
    raiseUD();
    return;
  }
  incDecE(SIZE_8);
}

// Group 5 (FF): the dispatch decodes ModRM and picks the handler by ModRM.reg.

/** INC/DEC Eb/Ev (FE, FF /0, /1), ModRM decoded. */
@inline export function incDecE(sz: i32): void {
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  writeRMAfterRead(sz, incDec(modrmReg() == 1, sz, a));
  if (cpu.faulted) return;
  commitIncDecFlags();
}

/** CALL near Ev (FF /2). */
@inline export function callNearE(): void {
  const sz = cpu.opsz;
  const t = readRM(sz);
  if (cpu.faulted) return;
  push(sz, nextEip());
  if (cpu.faulted) return;
  jumpTo(t);
}

/** CALL/JMP far m16:16/32 (FF /3, /5). */
@inline export function callJmpFarM(): void {
  const ptr = readFarPointer();
  if (ptr < 0) return;
  const off = <u32>ptr;
  const sel = <u32>(ptr >>> 32);
  if (modrmReg() == 3) farCall(sel, off, cpu.opsz, nextEip());
  else farJump(sel, off);
}

/** JMP near Ev (FF /4). */
@inline export function jmpNearE(): void {
  const t = readRM(cpu.opsz);
  if (cpu.faulted) return;
  jumpTo(t);
}

/** PUSH Ev (FF /6). */
@inline export function pushE(): void {
  const sz = cpu.opsz;
  const v = readRM(sz);
  if (cpu.faulted) return;
  push(sz, v);
}

/** POP Ev's write, with the destination address recomputed after ESP moved. */
function writeRMPop(sz: i32, v: u32, oldEsp: u32): void {
  // decodeEA already ran with the old ESP; ESP-based addressing must see the new value.
  let off = eaOff;
  const delta = reg32(4) - oldEsp;
  if (espBased()) off += delta;
  const lin = linearWrite(eaSeg, cpu.adsz32 ? off : off & 0xffff, sz);
  if (cpu.faulted) return;
  writeLin(sz, lin, v);
}

/** Whether the decoded memory operand used ESP as its base register (SIB base 4). */
function espBased(): bool {
  if (!cpu.adsz32 || (modrm & 7) != 4) return false;
  return sibBaseEsp;
}

/** CLI/STI: IOPL-sensitive in protected mode (SDM Vol. 2 CLI). */
function iflAllowed(): bool {
  if (protectedMode() && cpu.cpl > <i32>((fl.flags >>> 12) & 3)) {
    raiseGP(0);
    return false;
  }
  return true;
}

/** PUSHF, POPF, INT n (and IRET) in virtual-8086 mode need IOPL 3, else #GP(0) (SDM Vol. 3 §20.2.7). */
function iopl3OrProtected(): bool {
  if (fl.v86Mode() && (fl.flags & fl.FLAG_IOPL) != fl.FLAG_IOPL) {
    raiseGP(0);
    return false;
  }
  return true;
}

/** A REP string instruction not done after a chunk (or faulted): run it again, after a look at interrupts. */
function repeatAgain(): void {
  if (cpu.faulted) return;
  cpu.ip = cpu.ipStart;
  pauseRepeat(cpu.getEip());
}

/** STI's (and MOV SS/POP SS's) one-instruction interrupt shadow. */
export let interruptShadow: bool = false;

/**
 * Hold interrupts off until the next instruction has run, so that `mov ss, …; mov esp, …`
 * can't be interrupted between the two (SDM Vol. 2 MOV, "Loading the SS register").
 */
function inhibitInterrupts(): void {
  interruptShadow = true;
  cpu.attention = true;
}
export function clearInterruptShadow(): void {
  interruptShadow = false;
}

/** INT n, INT3, INTO, INT1: in test mode (STATE_TRAP_EXCEPTIONS) they stop the run instead. */
function interrupt(vector: i32): void {
  const next = nextEip();
  if (load<u32>(STATE_TRAP_EXCEPTIONS) != 0) {
    store<i32>(STATE_EXC_VECTOR, vector);
    store<u32>(STATE_EXC_ERROR, 0);
    stepResult = STEP_TRAPPED;
    cpu.attention = true;
    return;
  }
  cpu.instrStart = cpu.instrEip();
  softwareInterrupt(vector, next);
}

/**
 * VMCALL (0F 01 C1) is the hypercall: legal only in the VMI ROM's code pages (mapped above
 * virtual_top) and below CPL 3, else #UD (docs/vmi.md "The hypercall"). The host learns which
 * call from the instruction's offset in the ROM, reads and writes guest state in the state
 * block, and may ask for a fault to be raised here (a refused batch: #GP).
 */
function hypercall(): void {
  const lin = cpu.segBase(SEG_CS) + cpu.instrEip();
  if (cpu.cpl == 3 || !isVmiRomAddress(lin)) {
    raiseUD();
    return;
  }
  const top = load<u32>(STATE_VMI_TOP);
  store<u64>(COUNTER_HYPERCALL, load<u64>(COUNTER_HYPERCALL) + 1);
  store<u32>(STATE_HYPERCALL_FAULT, 0);
  // The host sees EIP past the VMCALL and may change registers and EFLAGS (never the
  // segments or CPL; control registers only through the core's own exports): publish, call,
  // and reload just what it may have changed, keeping the fetch pointer when EIP stands.
  syncOut();
  publishRetired();
  const eipBefore = cpu.getEip();
  hostHypercall(<i32>(lin - top));
  const eipAfter = load<u32>(STATE_EIP);
  if (eipAfter != eipBefore) cpu.setEip(eipAfter);
  fl.flags = (load<u32>(STATE_EFLAGS) | fl.FLAGS_FIXED) & ~0x8028;
  fl.clearLazy();
  cpu.attention = true;
  const fault = load<u32>(STATE_HYPERCALL_FAULT);
  if (fault != 0) {
    store<u32>(STATE_HYPERCALL_FAULT, 0);
    cpu.setEip(cpu.instrEip());
    raise(<i32>fault - 1, load<u32>(STATE_HYPERCALL_ERROR));
  }
}

/** CLI/STI by the guest itself while the VMI ROM is active: the virtual IF follows, and it is counted. */
function nativeIf(on: bool): void {
  setVirtualIf(on);
  countNativeIf();
}

/** LES/LDS/LSS/LFS/LGS: offset then selector from memory. */
function loadFarPointer(seg: i32): void {
  const ptr = readFarPointer();
  if (ptr < 0) return;
  if (!loadSegment(seg, <u32>(ptr >>> 32))) return;
  regWrite(cpu.opsz, modrmReg(), <u32>ptr);
}

/**
 * The ModRM memory operand read as a far pointer, m16:16 or m16:32 (the operand size's offset,
 * then a 16-bit selector): selector << 32 | offset, or -1 after #UD (a register operand) or a
 * fault.
 */
function readFarPointer(): i64 {
  if (modrm >= 0xc0) {
    raiseUD();
    return -1;
  }
  const sz = cpu.opsz;
  const off = readLin(sz, linearRead(eaSeg, eaOff, sz));
  if (cpu.faulted) return -1;
  const sel = readLin(SIZE_16, linearRead(eaSeg, eaOff + sizeBytes(sz), SIZE_16));
  if (cpu.faulted) return -1;
  return <i64>((<u64>sel << 32) | <u64>off);
}

/** ENTER (SDM Vol. 2 ENTER, the 32/16-bit stack cases). */
function enterFrame(size: u32, level: u32): void {
  const sz = cpu.opsz;
  const n = sizeBytes(sz);
  const mask = spMask();
  // FrameTemp is ESP after pushing EBP: on a 16-bit stack only SP moved, so ESP's upper half
  // is in it, and a 32-bit ENTER writes all of it to EBP (SDM Vol. 2 ENTER "Operation"; Bochs).
  const frame = (reg32(4) & ~mask) | ((sp() - n) & mask);
  // Push EBP, then level-1 frame pointers copied from the old frame, then the new frame pointer.
  stackWrite(sz, n, regRead(sz, 5));
  if (cpu.faulted) return;
  let ebp = cpu.stack32 ? reg32(5) : reg16(5);
  let depth = n;
  if (level > 0) {
    for (let i: u32 = 1; i < level; i++) {
      ebp = (ebp - n) & mask;
      const lin = linearRead(SEG_SS, ebp, sz);
      if (cpu.faulted) return;
      const v = readLin(sz, lin);
      if (cpu.faulted) return;
      depth += n;
      stackWrite(sz, depth, v);
      if (cpu.faulted) return;
    }
    depth += n;
    stackWrite(sz, depth, frame);
    if (cpu.faulted) return;
  }
  const newSp = (sp() - depth - size) & mask;
  // The whole frame must be writable (the hardware probes the final ESP).
  const lin = linearWrite(SEG_SS, newSp, SIZE_8);
  if (cpu.faulted) return;
  probeWrite(lin, SIZE_8);
  if (cpu.faulted) return;
  regWrite(sz, 5, frame);
  setSp(newSp);
}

// ---- the 0F map ----------------------------------------------------------------------------------
/** Group 6: SLDT STR LLDT LTR VERR VERW (#UD in real and virtual-8086 mode). */
@inline export function group6(): void {
  if (fl.realSegments()) {
    raiseUD();
    return;
  }
  decodeModrm();
  const sub = modrmReg();
  if (sub == 0 || sub == 1) {
    const v = segSelector(sub == 0 ? SEG_LDTR : SEG_TR);
    if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, v);
    else writeRM(SIZE_16, v);
    return;
  }
  if (sub == 2 || sub == 3) {
    if (!privileged()) return;
    const sel = readRM(SIZE_16);
    if (cpu.faulted) return;
    if (sub == 2) lldt(sel);
    else ltr(sel);
    if (cpu.faulted) return;
    return;
  }
  if (sub == 4 || sub == 5) {
    const sel = readRM(SIZE_16);
    if (cpu.faulted) return;
    const ok = descriptorVisible(sel, sub == 4 ? 2 : 3);
    if (cpu.faulted) return;
    setFlagBits(FLAG_ZF, ok);
    return;
  }
  raiseUD();
}

/** Group 7: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG, and VMCALL (our hypercall). */
@inline export function group7(): void {
  decodeModrm();
  if (modrm == 0xc1) {
    hypercall();
    return;
  }
  const sub = modrmReg();
  if (sub == 4) { // SMSW
    const v = readCr(0);
    if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, v);
    else writeRM(SIZE_16, v);
    return;
  }
  if (sub == 6) { // LMSW: loads PE MP EM TS; can set but not clear PE
    if (!privileged()) return;
    const v = readRM(SIZE_16);
    if (cpu.faulted) return;
    const old = readCr(0);
    writeCr(0, (old & ~0xe) | (v & 0xf) | (old & 1));
    if (cpu.faulted) return;
    return;
  }
  if (modrm >= 0xc0) {
    raiseUD();
    return;
  }
  if (sub == 0 || sub == 1) { // SGDT/SIDT: limit then base (all 32 bits stored)
    const lim = load<u32>(sub == 0 ? STATE_GDTR_LIMIT : STATE_IDTR_LIMIT);
    const base = load<u32>(sub == 0 ? STATE_GDTR_BASE : STATE_IDTR_BASE);
    const l1 = linearWrite(eaSeg, eaOff, SIZE_16);
    if (cpu.faulted) return;
    const l2 = linearWrite(eaSeg, eaOff + 2, SIZE_32);
    if (cpu.faulted) return;
    writeLin(SIZE_16, l1, lim);
    if (cpu.faulted) return;
    writeLin(SIZE_32, l2, base);
    if (cpu.faulted) return;
    return;
  }
  if (sub == 2 || sub == 3) { // LGDT/LIDT
    if (!privileged()) return;
    const lim = readLin(SIZE_16, linearRead(eaSeg, eaOff, SIZE_16));
    if (cpu.faulted) return;
    const base = readLin(SIZE_32, linearRead(eaSeg, eaOff + 2, SIZE_32));
    if (cpu.faulted) return;
    loadDescriptorTable(sub == 3, lim, base, cpu.opsz);
    return;
  }
  if (sub == 7) { // INVLPG
    if (!privileged()) return;
    const lin = linearRead(eaSeg, eaOff, SIZE_8);
    cpu.faulted = false; // INVLPG never faults on the address itself
    tlbInvalidatePage(lin);
    return;
  }
  raiseUD();
}

/** LAR / LSL (#UD in real and virtual-8086 mode). */
@inline export function larLsl(op: u32): void {
  if (fl.realSegments()) {
    raiseUD();
    return;
  }
  decodeModrm();
  const sel = readRM(SIZE_16);
  if (cpu.faulted) return;
  const ok = descriptorVisible(sel, op == 0x02 ? 0 : 1);
  if (cpu.faulted) return;
  if (ok) {
    const v = op == 0x02 ? descHi & 0x00f0ff00 : descLimit();
    regWrite(cpu.opsz, modrmReg(), v);
  }
  setFlagBits(FLAG_ZF, ok);
}

/** CLTS. */
@inline export function clts(): void {
  if (!privileged()) return;
  store<u32>(STATE_CR0, cpu.cr0() & ~cpu.CR0_TS);
  if (vmiActive()) vmiShadowControlRegisters();
}

/** INVD, WBINVD: no caches to write back. */
@inline export function invd(): void {
  if (!privileged()) return;
}

/** Prefetch hints and multi-byte NOP (0F 0D, 0F 18–1F): the ModRM operand is decoded, nothing accessed. */
@inline export function hintNop(): void {
  decodeModrm();
}

/** MOV r32, CRn/DRn and back (mod is ignored). */
@inline export function movControl(op: u32): void {
  if (!privileged()) return;
  const m = fetch8();
  const n = <i32>(m >> 3) & 7;
  const r = <i32>m & 7;
  if (op == 0x20) {
    const v = readCr(n);
    if (cpu.faulted) return;
    setReg32(r, v);
  } else if (op == 0x22) {
    writeCr(n, reg32(r));
    if (cpu.faulted) return;
  } else if (op == 0x21) {
    const v = readDr(n);
    if (cpu.faulted) return;
    setReg32(r, v);
  } else {
    writeDr(n, reg32(r));
    if (cpu.faulted) return;
  }
}

/** CMOVcc. */
@inline export function cmov(op: u32): void {
  const sz = cpu.opsz;
  decodeModrm();
  // The source is read (and may fault) whether or not the condition holds.
  const v = readRM(sz);
  if (cpu.faulted) return;
  if (testCondition(<i32>op & 15)) regWrite(sz, modrmReg(), v);
  else if (sz == SIZE_32) setReg32(modrmReg(), reg32(modrmReg()));
}

/** Jcc rel16/32. */
@inline export function jccRel(op: u32): void {
  const rel = fetchImm(cpu.opsz);
  if (testCondition(<i32>op & 15)) {
    jumpRel(rel);
    return;
  }
}

/** SETcc. */
@inline export function setcc(op: u32): void {
  decodeModrm();
  writeRM(SIZE_8, testCondition(<i32>op & 15) ? 1 : 0);
}

/** PUSH FS/GS. */
@inline export function pushFsGs(op: u32): void {
  push(cpu.opsz, segSelector(op == 0xa0 ? SEG_FS : SEG_GS));
}

/** POP FS/GS. */
@inline export function popFsGs(op: u32): void {
  const v = stackRead(cpu.opsz, 0);
  if (cpu.faulted) return;
  if (!loadSegment(op == 0xa1 ? SEG_FS : SEG_GS, v & 0xffff)) return;
  spAdd(sizeBytes(cpu.opsz));
}

/** BT/BTS/BTR/BTC Ev, Gv. */
@inline export function bitTestG(op: u32): void {
  decodeModrm();
  const sz = cpu.opsz;
  bitTest(<i32>((op >> 3) & 3), sz, regRead(sz, modrmReg()), true);
  if (cpu.faulted) return;
}

/** Group 8: BT/BTS/BTR/BTC Ev, imm8. */
@inline export function bitTestI(): void {
  decodeModrm();
  const sub = modrmReg();
  if (sub < 4) {
    raiseUD();
    return;
  }
  const imm = fetch8();
  bitTest(sub - 4, cpu.opsz, imm, false);
  if (cpu.faulted) return;
}

/** SHLD/SHRD Ev, Gv, imm8/CL. */
@inline export function shiftDoubleE(op: u32): void {
  const sz = cpu.opsz;
  decodeModrm();
  const count = (op & 1) == 0 ? fetch8() : reg8(1);
  const a = readRMForWrite(sz);
  if (cpu.faulted) return;
  const r = shiftDouble(op < 0xa8, sz, a, regRead(sz, modrmReg()), count);
  writeRMAfterRead(sz, r);
  if (cpu.faulted) return;
  commitShiftFlags();
}

/** CMPXCHG Ev, Gv: the destination is written in either case. */
@inline export function cmpxchg(sz: i32): void {
  decodeModrm();
  const d = readRMForWrite(sz);
  if (cpu.faulted) return;
  const acc = regRead(sz, 0);
  alu(ALU_CMP, sz, acc, d);
  if ((acc & sizeMask(sz)) == d) {
    writeRMAfterRead(sz, regRead(sz, modrmReg()));
    if (cpu.faulted) return;
  } else {
    writeRMAfterRead(sz, d);
    if (cpu.faulted) return;
    regWrite(sz, 0, d);
  }
  commitFlags();
}

/** LSS/LFS/LGS. */
@inline export function lssLfsLgs(op: u32): void {
  decodeModrm();
  loadFarPointer(op == 0xb2 ? SEG_SS : op == 0xb4 ? SEG_FS : SEG_GS);
  if (cpu.faulted) return;
}

/** XADD Ev, Gv. */
@inline export function xadd(sz: i32): void {
  decodeModrm();
  const d = readRMForWrite(sz);
  if (cpu.faulted) return;
  const s = regRead(sz, modrmReg());
  const r = alu(0, sz, d, s);
  writeRMAfterRead(sz, r);
  if (cpu.faulted) return;
  if (modrm < 0xc0 || (modrm & 7) != modrmReg()) regWrite(sz, modrmReg(), d);
  commitFlags();
}

/** Group 9: CMPXCHG8B Mq. */
@inline export function cmpxchg8b(): void {
  decodeModrm();
  if (modrmReg() != 1 || modrm >= 0xc0) {
    raiseUD();
    return;
  }
  const lin = linearWrite(eaSeg, eaOff, SIZE_32);
  if (cpu.faulted) return;
  const lin2 = linearWrite(eaSeg, eaOff + 4, SIZE_32);
  if (cpu.faulted) return;
  const lo = readLin32(lin);
  const hi = readLin32(lin2);
  if (cpu.faulted) return;
  if (lo == reg32(0) && hi == reg32(2)) {
    writeLin(SIZE_32, lin, reg32(3));
    writeLin(SIZE_32, lin2, reg32(1));
    if (cpu.faulted) return;
    setFlagBits(FLAG_ZF, true);
  } else {
    // The destination is written back unchanged (a locked read-modify-write).
    writeLin(SIZE_32, lin, lo);
    writeLin(SIZE_32, lin2, hi);
    if (cpu.faulted) return;
    setReg32(0, lo);
    setReg32(2, hi);
    setFlagBits(FLAG_ZF, false);
  }
}

/** BSWAP. */
@inline export function bswapReg(op: u32): void {
  const r = <i32>op & 7;
  // With a 16-bit operand the result is undefined; we clear the low word as P6 does.
  if (cpu.opsz == SIZE_32) setReg32(r, bswap<u32>(reg32(r)));
  else setReg16(r, 0);
}
