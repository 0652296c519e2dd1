// One instruction: prefixes, then a `switch` over the one-byte opcode map (a br_table, which
// measured faster in V8 than calling handlers through a table), with the 0F map in its own
// function. Opcode rows that share a shape (the ALU block, Jcc, the register-encoded forms)
// share one generic body.
//
// Contract with the run loop: step() leaves cpu.ip at the next instruction, or a jump moves
// it (cpu.jumpNear / cpu.setEip); when it raises an exception (cpu.faulted) nothing
// architectural has been committed and the run loop restarts the instruction.

import { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, STATE_TRAP_EXCEPTIONS, STATE_EXC_VECTOR, STATE_EXC_ERROR, STATE_HALTED } from "./layout";
import * as cpu from "./cpu";
import { nextEip } from "./cpu";
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
import { readLin, writeLin, readLin16, readLin32, tlbInvalidatePage, probeWrite } from "./mmu";
import { linearRead, linearWrite, loadSegment } from "./segments";
import { fpuEscape, fpuWait, fxsaveRestore } from "./fpu/execute-fpu";
import { raise, raiseUD, raiseGP, EXC_DE, EXC_BP, EXC_OF, EXC_BR, EXC_GP, EXC_UD, EXC_NM, pauseRepeat, endRepeat } from "./exceptions";
import { alu, commitFlags, incDec, commitIncDecFlags, neg, aluResult, aluSetFlags, ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP } from "./ops/alu";
import { shift, shiftDouble, commitShiftFlags } from "./ops/shift";
import { mul, imul1, imulTrunc, div, idiv } from "./ops/muldiv";
import { push, pop, stackRead, stackWrite, sp, setSp, spMask, spAdd } from "./ops/stack";
import { stringOp } from "./ops/string";
import { decimalAdjust, aaa, aam, aad } from "./ops/bcd";
import { bitTest, bitScan } from "./ops/bits";
import { farJump, farCall, farReturn, iret, softwareInterrupt, writableFlagsMask, sysenter, sysexit } from "./ops/control";
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
import { syncOut, publishRetired } from "./run";
import { PREFIX_BITS, LOCKABLE_1, LOCKABLE_2 } from "./generated/opcode-tables";

/** Why the current instruction wants the run loop to return (HLT, a trapped INT in test mode). */
export const STEP_OK = 0;
export const STEP_HLT = 1;
export const STEP_TRAPPED = 2;
export let stepResult: i32 = STEP_OK;

@inline function jumpTo(target: u32): void {
  cpu.jumpNear(cpu.opsz == 1 ? target & 0xffff : target);
}

/** A near relative jump by `rel` from the next instruction. */
@inline function jumpRel(rel: u32): void {
  jumpTo(nextEip() + rel);
}

/** Execute one instruction. */
@inline export function step(): void {
  if (cpu.decodeDirty) cpu.setDecodeDefaults();
  let op = fetch8();
  if (((load<u32>(PREFIX_BITS + ((op >> 5) << 2)) >>> (op & 31)) & 1) == 0) {
    execute(op);
    return;
  }
  // Prefixes (SDM Vol. 2 §2.1.1); a 15-byte limit is enforced by the decoder's #GP below.
  // Their overrides must not outlive this instruction, whichever way it ends: the run loop
  // restores the defaults as soon as it returns.
  cpu.decodeDirty = true;
  for (let n = 0; ; n++) {
    if (n == 14) {
      raiseGP(0);
      return;
    }
    switch (op) {
      case 0x66: cpu.opsz = cpu.codeDefault32 ? 1 : 2; break;
      case 0x67: cpu.adsz32 = !cpu.codeDefault32; break;
      case 0x26: cpu.segOverride = SEG_ES; break;
      case 0x2e: cpu.segOverride = SEG_CS; break;
      case 0x36: cpu.segOverride = SEG_SS; break;
      case 0x3e: cpu.segOverride = SEG_DS; break;
      case 0x64: cpu.segOverride = SEG_FS; break;
      case 0x65: cpu.segOverride = SEG_GS; break;
      case 0xf0: cpu.lockPrefix = true; break;
      case 0xf2:
      case 0xf3: cpu.repPrefix = <i32>op; break;
      default:
        if (cpu.lockPrefix && !lockable(op)) {
          raiseUD();
          return;
        }
        execute(op);
        return;
    }
    op = fetch8();
  }
}

/**
 * LOCK is legal only on read-modify-write instructions with a memory destination
 * (SDM Vol. 2 LOCK; the table's `lock` forms); anything else raises #UD.
 */
function lockable(op: u32): bool {
  let at = cpu.ip;
  let table = LOCKABLE_1;
  if (op == 0x0f) {
    op = <u32>load<u8>(at);
    at++;
    table = LOCKABLE_2;
  }
  const digits = <u32>load<u8>(table + op);
  const m = <u32>load<u8>(at);
  if (digits == 0 || m >= 0xc0) return false;
  return ((digits >> ((m >> 3) & 7)) & 1) != 0;
}

/** Operand size index for the opcode's w bit (bit 0): byte, or the current operand size. */
@inline function sizeW(op: u32): i32 {
  return (op & 1) != 0 ? cpu.opsz : 0;
}

/** ALU Eb/Ev, Gb/Gv (the op is a constant at each call site, so the switch folds away). */
@inline function aluEG(aop: i32, sz: i32): void {
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
@inline function aluGE(aop: i32, sz: i32): void {
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
@inline function aluAI(aop: i32, sz: i32): void {
  const a = regRead(sz, 0);
  const b = fetchImm(sz);
  const r = aluResult(aop, sz, a, b);
  if (aop != ALU_CMP) regWrite(sz, 0, r);
  aluSetFlags(aop, sz, a, b, r);
}

function execute(op: u32): void {
  switch (op) {
    // ---- ALU block 00–3F: op = bits 5..3; Eb/Ev,Gb/Gv · Gb/Gv,Eb/Ev · AL/eAX,imm ------------
    case 0x00: aluEG(ALU_ADD, 0); break;
    case 0x01: aluEG(ALU_ADD, cpu.opsz); break;
    case 0x02: aluGE(ALU_ADD, 0); break;
    case 0x03: aluGE(ALU_ADD, cpu.opsz); break;
    case 0x04: aluAI(ALU_ADD, 0); break;
    case 0x05: aluAI(ALU_ADD, cpu.opsz); break;
    case 0x08: aluEG(ALU_OR, 0); break;
    case 0x09: aluEG(ALU_OR, cpu.opsz); break;
    case 0x0a: aluGE(ALU_OR, 0); break;
    case 0x0b: aluGE(ALU_OR, cpu.opsz); break;
    case 0x0c: aluAI(ALU_OR, 0); break;
    case 0x0d: aluAI(ALU_OR, cpu.opsz); break;
    case 0x10: aluEG(ALU_ADC, 0); break;
    case 0x11: aluEG(ALU_ADC, cpu.opsz); break;
    case 0x12: aluGE(ALU_ADC, 0); break;
    case 0x13: aluGE(ALU_ADC, cpu.opsz); break;
    case 0x14: aluAI(ALU_ADC, 0); break;
    case 0x15: aluAI(ALU_ADC, cpu.opsz); break;
    case 0x18: aluEG(ALU_SBB, 0); break;
    case 0x19: aluEG(ALU_SBB, cpu.opsz); break;
    case 0x1a: aluGE(ALU_SBB, 0); break;
    case 0x1b: aluGE(ALU_SBB, cpu.opsz); break;
    case 0x1c: aluAI(ALU_SBB, 0); break;
    case 0x1d: aluAI(ALU_SBB, cpu.opsz); break;
    case 0x20: aluEG(ALU_AND, 0); break;
    case 0x21: aluEG(ALU_AND, cpu.opsz); break;
    case 0x22: aluGE(ALU_AND, 0); break;
    case 0x23: aluGE(ALU_AND, cpu.opsz); break;
    case 0x24: aluAI(ALU_AND, 0); break;
    case 0x25: aluAI(ALU_AND, cpu.opsz); break;
    case 0x28: aluEG(ALU_SUB, 0); break;
    case 0x29: aluEG(ALU_SUB, cpu.opsz); break;
    case 0x2a: aluGE(ALU_SUB, 0); break;
    case 0x2b: aluGE(ALU_SUB, cpu.opsz); break;
    case 0x2c: aluAI(ALU_SUB, 0); break;
    case 0x2d: aluAI(ALU_SUB, cpu.opsz); break;
    case 0x30: aluEG(ALU_XOR, 0); break;
    case 0x31: aluEG(ALU_XOR, cpu.opsz); break;
    case 0x32: aluGE(ALU_XOR, 0); break;
    case 0x33: aluGE(ALU_XOR, cpu.opsz); break;
    case 0x34: aluAI(ALU_XOR, 0); break;
    case 0x35: aluAI(ALU_XOR, cpu.opsz); break;
    case 0x38: aluEG(ALU_CMP, 0); break;
    case 0x39: aluEG(ALU_CMP, cpu.opsz); break;
    case 0x3a: aluGE(ALU_CMP, 0); break;
    case 0x3b: aluGE(ALU_CMP, cpu.opsz); break;
    case 0x3c: aluAI(ALU_CMP, 0); break;
    case 0x3d: aluAI(ALU_CMP, cpu.opsz); break;
    case 0x06: case 0x0e: case 0x16: case 0x1e: // PUSH ES/CS/SS/DS
      push(cpu.opsz, segSelector(<i32>(op >> 3)));
      break;
    case 0x07: case 0x17: case 0x1f: { // POP ES/SS/DS
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
      break;
    }
    case 0x0f:
      execute0F(fetch8());
      return;
    case 0x27: decimalAdjust(false); break; // DAA
    case 0x2f: decimalAdjust(true); break; // DAS
    case 0x37: aaa(false); break;
    case 0x3f: aaa(true); break;

    // ---- 40–5F: INC/DEC/PUSH/POP r ---------------------------------------------------------
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: {
      const r = <i32>op & 7;
      const sz = cpu.opsz;
      regWrite(sz, r, incDec(op >= 0x48, sz, regRead(sz, r)));
      commitIncDecFlags();
      break;
    }
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      push(cpu.opsz, regRead(cpu.opsz, <i32>op & 7));
      break;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const v = pop(cpu.opsz);
      if (cpu.faulted) return;
      regWrite(cpu.opsz, <i32>op & 7, v);
      break;
    }

    // ---- 60–6F ------------------------------------------------------------------------------
    case 0x60: { // PUSHA/PUSHAD: EAX ECX EDX EBX (original ESP) EBP ESI EDI
      const sz = cpu.opsz;
      const n = sizeBytes(sz);
      const oldSp = regRead(sz, 4);
      for (let r = 0; r < 8; r++) stackWrite(sz, n * <u32>(r + 1), r == 4 ? oldSp : regRead(sz, r));
      if (cpu.faulted) return;
      setSp((sp() - 8 * n) & spMask());
      break;
    }
    case 0x61: { // POPA/POPAD: the saved ESP is discarded
      const sz = cpu.opsz;
      const n = sizeBytes(sz);
      for (let r = 0; r < 8; r++) stackRead(sz, n * <u32>r);
      if (cpu.faulted) return;
      for (let r = 0; r < 8; r++) {
        const v = stackRead(sz, n * <u32>(7 - r));
        if (r != 4) regWrite(sz, r, v);
      }
      spAdd(8 * n);
      break;
    }
    case 0x62: { // BOUND Gv, Ma
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
      break;
    }
    case 0x63: { // ARPL Ew, Gw (protected mode only; #UD in virtual-8086 mode too)
      if (fl.realSegments()) {
        raiseUD();
        return;
      }
      decodeModrm();
      const d = readRMForWrite(1);
      if (cpu.faulted) return;
      const s = reg16(modrmReg());
      if ((d & 3) < (s & 3)) {
        writeRMAfterRead(1, (d & ~3) | (s & 3));
        if (cpu.faulted) return;
        setFlagBits(FLAG_ZF, true);
      } else setFlagBits(FLAG_ZF, false);
      break;
    }
    case 0x68: push(cpu.opsz, fetchImm(cpu.opsz)); break;
    case 0x6a: push(cpu.opsz, fetchSimm8()); break;
    case 0x69: case 0x6b: { // IMUL Gv, Ev, imm
      const sz = cpu.opsz;
      decodeModrm();
      const a = readRM(sz);
      if (cpu.faulted) return;
      const b = op == 0x6b ? fetchSimm8() : fetchImm(sz);
      regWrite(sz, modrmReg(), imulTrunc(sz, a, b));
      break;
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: // INS/OUTS
      if (!stringOp((op & 0xfe) == 0x6c ? 0x6c : 0x6e, sizeW(op))) {
        repeatAgain();
        return;
      }
      endRepeat();
      break;

    // ---- 70–7F: Jcc rel8 ------------------------------------------------------------------
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const rel = fetchSimm8();
      if (testCondition(<i32>op & 15)) {
        jumpRel(rel);
        return;
      }
      break;
    }

    // ---- 80–8F ------------------------------------------------------------------------------
    case 0x80: case 0x81: case 0x82: case 0x83: { // group 1: ALU Ev, imm
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
      break;
    }
    case 0x84: case 0x85: { // TEST Ev, Gv
      const sz = sizeW(op);
      decodeModrm();
      const a = readRM(sz);
      if (cpu.faulted) return;
      alu(ALU_AND, sz, a, regRead(sz, modrmReg()));
      commitFlags();
      break;
    }
    case 0x86: case 0x87: { // XCHG Ev, Gv
      const sz = sizeW(op);
      decodeModrm();
      const a = readRMForWrite(sz);
      if (cpu.faulted) return;
      writeRMAfterRead(sz, regRead(sz, modrmReg()));
      if (cpu.faulted) return;
      regWrite(sz, modrmReg(), a);
      break;
    }
    case 0x88: case 0x89: { // MOV Ev, Gv
      const sz = sizeW(op);
      decodeModrm();
      writeRM(sz, regRead(sz, modrmReg()));
      break;
    }
    case 0x8a: case 0x8b: { // MOV Gv, Ev
      const sz = sizeW(op);
      decodeModrm();
      const v = readRM(sz);
      if (cpu.faulted) return;
      regWrite(sz, modrmReg(), v);
      break;
    }
    case 0x8c: { // MOV Ew, Sreg: a register destination gets the selector zero-extended (32-bit)
      decodeModrm();
      const s = modrmReg();
      if (s > 5) {
        raiseUD();
        return;
      }
      if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, segSelector(s));
      else writeRM(1, segSelector(s));
      break;
    }
    case 0x8d: { // LEA Gv, M
      decodeModrm();
      if (modrm >= 0xc0) {
        raiseUD();
        return;
      }
      regWrite(cpu.opsz, modrmReg(), eaOff);
      break;
    }
    case 0x8e: { // MOV Sreg, Ew
      decodeModrm();
      const s = modrmReg();
      if (s == SEG_CS || s > 5) {
        raiseUD();
        return;
      }
      const v = readRM(1);
      if (cpu.faulted) return;
      if (!loadSegment(s, v)) return;
      if (s == SEG_SS) inhibitInterrupts();
      break;
    }
    case 0x8f: { // POP Ev: ESP is incremented before the destination address is used
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
      break;
    }

    // ---- 90–9F ------------------------------------------------------------------------------
    case 0x90: // NOP (and PAUSE with F3)
      break;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const sz = cpu.opsz;
      const r = <i32>op & 7;
      const t = regRead(sz, 0);
      regWrite(sz, 0, regRead(sz, r));
      regWrite(sz, r, t);
      break;
    }
    case 0x98: // CBW/CWDE
      if (cpu.opsz == 2) setReg32(0, signExtend(reg16(0), 1));
      else setReg16(0, signExtend(reg8(0), 0));
      break;
    case 0x99: // CWD/CDQ
      if (cpu.opsz == 2) setReg32(2, (reg32(0) & 0x80000000) != 0 ? 0xffffffff : 0);
      else setReg16(2, (reg16(0) & 0x8000) != 0 ? 0xffff : 0);
      break;
    case 0x9a: { // CALL ptr16:16/32
      const off = fetchImm(cpu.opsz);
      const sel = fetch16();
      farCall(sel, off, cpu.opsz, nextEip());
      return;
    }
    case 0x9b: // WAIT/FWAIT: #NM if MP and TS, #MF for a pending unmasked x87 exception
      fpuWait();
      return;
    case 0x9c: { // PUSHF/PUSHFD: VM and RF are pushed clear
      if (!iopl3OrProtected()) return;
      push(cpu.opsz, readFlags() & 0xfcffff);
      break;
    }
    case 0x9d: { // POPF/POPFD
      if (!iopl3OrProtected()) return;
      const v = pop(cpu.opsz);
      if (cpu.faulted) return;
      writeFlags(v, writableFlagsMask(cpu.opsz));
      break;
    }
    case 0x9e: // SAHF: SF ZF AF PF CF from AH
      writeFlags(reg8(4), 0xd5);
      break;
    case 0x9f: // LAHF
      setReg8(4, readFlags() & 0xff);
      break;

    // ---- A0–AF ------------------------------------------------------------------------------
    case 0xa0: case 0xa1: { // MOV AL/eAX, moffs
      const sz = sizeW(op);
      const off = cpu.adsz32 ? fetch32() : fetch16();
      const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
      const lin = linearRead(seg, off, sz);
      if (cpu.faulted) return;
      const v = readLin(sz, lin);
      if (cpu.faulted) return;
      regWrite(sz, 0, v);
      break;
    }
    case 0xa2: case 0xa3: { // MOV moffs, AL/eAX
      const sz = sizeW(op);
      const off = cpu.adsz32 ? fetch32() : fetch16();
      const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
      const lin = linearWrite(seg, off, sz);
      if (cpu.faulted) return;
      writeLin(sz, lin, regRead(sz, 0));
      break;
    }
    case 0xa4: case 0xa5: case 0xa6: case 0xa7: case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      if (!stringOp(<i32>(op & 0xfe), sizeW(op))) {
        repeatAgain();
        return;
      }
      endRepeat();
      break;
    case 0xa8: case 0xa9: { // TEST AL/eAX, imm
      const sz = sizeW(op);
      alu(ALU_AND, sz, regRead(sz, 0), fetchImm(sz));
      commitFlags();
      break;
    }

    // ---- B0–BF: MOV r, imm ------------------------------------------------------------------
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      setReg8(<i32>op & 7, fetch8());
      break;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      regWrite(cpu.opsz, <i32>op & 7, fetchImm(cpu.opsz));
      break;

    // ---- C0–CF ------------------------------------------------------------------------------
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3: { // group 2 shifts
      const sz = sizeW(op);
      decodeModrm();
      const count: u32 = op <= 0xc1 ? fetch8() : op <= 0xd1 ? 1 : reg8(1);
      const a = readRMForWrite(sz);
      if (cpu.faulted) return;
      const r = shift(modrmReg(), sz, a, count);
      writeRMAfterRead(sz, r);
      if (cpu.faulted) return;
      commitShiftFlags();
      break;
    }
    case 0xc2: { // RET imm16
      const n = fetch16();
      const t = pop(cpu.opsz);
      if (cpu.faulted) return;
      spAdd(n);
      jumpTo(t);
      return;
    }
    case 0xc3: { // RET
      const t = pop(cpu.opsz);
      if (cpu.faulted) return;
      jumpTo(t);
      return;
    }
    case 0xc4: case 0xc5: { // LES/LDS Gv, Mp
      decodeModrm();
      loadFarPointer(op == 0xc4 ? SEG_ES : SEG_DS);
      break;
    }
    case 0xc6: case 0xc7: { // MOV Ev, imm
      const sz = sizeW(op);
      decodeModrm();
      writeRM(sz, fetchImm(sz));
      break;
    }
    case 0xc8: { // ENTER imm16, imm8 (SDM Vol. 2 ENTER)
      const size = fetch16();
      const level = fetch8() & 31;
      enter(size, level);
      break;
    }
    case 0xc9: { // LEAVE
      const sz = cpu.opsz;
      const frame = cpu.stack32 ? reg32(5) : reg16(5);
      const lin = linearRead(SEG_SS, frame, sz);
      if (cpu.faulted) return;
      const v = readLin(sz, lin);
      if (cpu.faulted) return;
      setSp((frame + sizeBytes(sz)) & spMask());
      regWrite(sz, 5, v);
      break;
    }
    case 0xca: { // RET far imm16
      const n = fetch16();
      farReturn(cpu.opsz, n);
      return;
    }
    case 0xcb:
      farReturn(cpu.opsz, 0);
      return;
    case 0xcc: // INT3
      interrupt(EXC_BP);
      return;
    case 0xcd: { // INT imm8
      const v = fetch8();
      if (!iopl3OrProtected()) return;
      interrupt(<i32>v);
      return;
    }
    case 0xce: // INTO
      if (fl.getOF()) {
        interrupt(EXC_OF);
        return;
      }
      break;
    case 0xcf: // IRET
      iret(cpu.opsz);
      return;

    // ---- D0–DF ------------------------------------------------------------------------------
    case 0xd4: aam(fetch8()); break;
    case 0xd5: aad(fetch8()); break;
    case 0xd6: // SALC (undocumented): AL = CF ? 0xFF : 0
      setReg8(0, getCF() ? 0xff : 0);
      break;
    case 0xd7: { // XLAT
      const seg = cpu.segOverride >= 0 ? cpu.segOverride : SEG_DS;
      const off = cpu.adsz32 ? reg32(3) + reg8(0) : (reg16(3) + reg8(0)) & 0xffff;
      const lin = linearRead(seg, off, 0);
      if (cpu.faulted) return;
      const v = readLin(0, lin);
      if (cpu.faulted) return;
      setReg8(0, v);
      break;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      fpuEscape(op); // x87 (assembly/fpu/)
      return;

    // ---- E0–EF ------------------------------------------------------------------------------
    case 0xe0: case 0xe1: case 0xe2: { // LOOPNE/LOOPE/LOOP: the address size picks CX or ECX
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
      break;
    }
    case 0xe3: { // JCXZ/JECXZ
      const rel = fetchSimm8();
      if ((cpu.adsz32 ? reg32(1) : reg16(1)) == 0) {
        jumpRel(rel);
        return;
      }
      break;
    }
    case 0xe4: case 0xe5: { // IN AL/eAX, imm8
      const sz = sizeW(op);
      const port = fetch8();
      if (!ioAllowed(port, sz)) return;
      regWrite(sz, 0, portIn(port, sz));
      break;
    }
    case 0xe6: case 0xe7: { // OUT imm8, AL/eAX
      const sz = sizeW(op);
      const port = fetch8();
      if (!ioAllowed(port, sz)) return;
      portOut(port, sz, regRead(sz, 0));
      break;
    }
    case 0xe8: { // CALL rel16/32
      const rel = fetchImm(cpu.opsz);
      const ret = nextEip();
      push(cpu.opsz, ret);
      if (cpu.faulted) return;
      jumpTo(ret + rel);
      return;
    }
    case 0xe9: { // JMP rel16/32
      const rel = fetchImm(cpu.opsz);
      jumpRel(rel);
      return;
    }
    case 0xea: { // JMP ptr16:16/32
      const off = fetchImm(cpu.opsz);
      const sel = fetch16();
      farJump(sel, off);
      return;
    }
    case 0xeb: { // JMP rel8
      const rel = fetchSimm8();
      jumpRel(rel);
      return;
    }
    case 0xec: case 0xed: { // IN AL/eAX, DX
      const sz = sizeW(op);
      const port = reg16(2);
      if (!ioAllowed(port, sz)) return;
      regWrite(sz, 0, portIn(port, sz));
      break;
    }
    case 0xee: case 0xef: { // OUT DX, AL/eAX
      const sz = sizeW(op);
      const port = reg16(2);
      if (!ioAllowed(port, sz)) return;
      portOut(port, sz, regRead(sz, 0));
      break;
    }

    // ---- F0–FF ------------------------------------------------------------------------------
    case 0xf1: // INT1 (ICEBP)
      interrupt(1);
      return;
    case 0xf4: // HLT
      if (!privileged()) return;
      store<u32>(STATE_HALTED, 1);
      stepResult = STEP_HLT;
      cpu.attention = true;
      return;
    case 0xf5: // CMC
      setFlagBits(FLAG_CF, !getCF());
      break;
    case 0xf6: case 0xf7: { // group 3
      const sz = sizeW(op);
      decodeModrm();
      const sub = modrmReg();
      if (sub < 2) { // TEST Ev, imm
        const imm = fetchImm(sz);
        const a = readRM(sz);
        if (cpu.faulted) return;
        alu(ALU_AND, sz, a, imm);
        commitFlags();
        break;
      }
      if (sub == 2 || sub == 3) { // NOT / NEG
        const a = readRMForWrite(sz);
        if (cpu.faulted) return;
        if (sub == 2) {
          writeRMAfterRead(sz, ~a);
          break;
        }
        writeRMAfterRead(sz, neg(sz, a));
        if (cpu.faulted) return;
        commitFlags();
        break;
      }
      const src = readRM(sz);
      if (cpu.faulted) return;
      if (sub == 4) mul(sz, src);
      else if (sub == 5) imul1(sz, src);
      else if (sub == 6) div(sz, src);
      else idiv(sz, src);
      break;
    }
    case 0xf8: setFlagBits(FLAG_CF, false); break; // CLC
    case 0xf9: setFlagBits(FLAG_CF, true); break; // STC
    case 0xfa: // CLI
      if (!iflAllowed()) return;
      fl.flags &= ~FLAG_IF;
      if (vmiActive()) nativeIf(false);
      break;
    case 0xfb: // STI: interrupts are recognized only after the next instruction (interrupt shadow)
      if (!iflAllowed()) return;
      fl.syncVirtualIf();
      if ((fl.flags & FLAG_IF) == 0) {
        fl.flags |= FLAG_IF;
        interruptShadow = true;
        cpu.attention = true;
      }
      if (vmiActive()) nativeIf(true);
      break;
    case 0xfc: setFlagBits(FLAG_DF, false); break; // CLD
    case 0xfd: setFlagBits(FLAG_DF, true); break; // STD
    case 0xfe: { // group 4: INC/DEC Eb
      decodeModrm();
      const sub = modrmReg();
      if (sub > 1) {
        raiseUD();
        return;
      }
      const a = readRMForWrite(0);
      if (cpu.faulted) return;
      writeRMAfterRead(0, incDec(sub == 1, 0, a));
      if (cpu.faulted) return;
      commitIncDecFlags();
      break;
    }
    case 0xff: { // group 5
      const sz = cpu.opsz;
      decodeModrm();
      const sub = modrmReg();
      switch (sub) {
        case 0: case 1: {
          const a = readRMForWrite(sz);
          if (cpu.faulted) return;
          writeRMAfterRead(sz, incDec(sub == 1, sz, a));
          if (cpu.faulted) return;
          commitIncDecFlags();
          break;
        }
        case 2: { // CALL near Ev
          const t = readRM(sz);
          if (cpu.faulted) return;
          push(sz, nextEip());
          if (cpu.faulted) return;
          jumpTo(t);
          return;
        }
        case 3: case 5: { // CALL/JMP far m16:16/32
          if (modrm >= 0xc0) {
            raiseUD();
            return;
          }
          const off = readLin(sz, linearRead(eaSeg, eaOff, sz));
          if (cpu.faulted) return;
          const sel = readLin(1, linearRead(eaSeg, eaOff + sizeBytes(sz), 1));
          if (cpu.faulted) return;
          if (sub == 3) farCall(sel, off, sz, nextEip());
          else farJump(sel, off);
          return;
        }
        case 4: { // JMP near Ev
          const t = readRM(sz);
          if (cpu.faulted) return;
          jumpTo(t);
          return;
        }
        case 6: { // PUSH Ev
          const v = readRM(sz);
          if (cpu.faulted) return;
          push(sz, v);
          break;
        }
        default:
          raiseUD();
          return;
      }
      break;
    }
    default:
      // 0x26/0x2e/… prefixes never reach here; what's left is undefined (0xD6 aside) → #UD
      raiseUD();
      return;
  }
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
  if (modrm >= 0xc0) {
    raiseUD();
    return;
  }
  const sz = cpu.opsz;
  const off = readLin(sz, linearRead(eaSeg, eaOff, sz));
  if (cpu.faulted) return;
  const sel = readLin(1, linearRead(eaSeg, eaOff + sizeBytes(sz), 1));
  if (cpu.faulted) return;
  if (!loadSegment(seg, sel)) return;
  regWrite(sz, modrmReg(), off);
}

/** ENTER (SDM Vol. 2 ENTER, the 32/16-bit stack cases). */
function enter(size: u32, level: u32): void {
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
  const lin = linearWrite(SEG_SS, newSp, 0);
  if (cpu.faulted) return;
  probeWrite(lin, 0);
  if (cpu.faulted) return;
  regWrite(sz, 5, frame);
  setSp(newSp);
}

// ---- the 0F map ----------------------------------------------------------------------------------
function execute0F(op: u32): void {
  switch (op) {
    case 0x00: { // group 6: SLDT STR LLDT LTR VERR VERW (#UD in real and virtual-8086 mode)
      if (fl.realSegments()) {
        raiseUD();
        return;
      }
      decodeModrm();
      const sub = modrmReg();
      if (sub == 0 || sub == 1) {
        const v = segSelector(sub == 0 ? SEG_LDTR : SEG_TR);
        if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, v);
        else writeRM(1, v);
        break;
      }
      if (sub == 2 || sub == 3) {
        if (!privileged()) return;
        const sel = readRM(1);
        if (cpu.faulted) return;
        if (sub == 2) lldt(sel);
        else ltr(sel);
        if (cpu.faulted) return;
        break;
      }
      if (sub == 4 || sub == 5) {
        const sel = readRM(1);
        if (cpu.faulted) return;
        const ok = descriptorVisible(sel, sub == 4 ? 2 : 3);
        if (cpu.faulted) return;
        setFlagBits(FLAG_ZF, ok);
        break;
      }
      raiseUD();
      return;
    }
    case 0x01: { // group 7: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG, and VMCALL (our hypercall)
      decodeModrm();
      if (modrm == 0xc1) {
        hypercall();
        return;
      }
      const sub = modrmReg();
      if (sub == 4) { // SMSW
        const v = readCr(0);
        if (modrm >= 0xc0) regWrite(cpu.opsz, modrm & 7, v);
        else writeRM(1, v);
        break;
      }
      if (sub == 6) { // LMSW: loads PE MP EM TS; can set but not clear PE
        if (!privileged()) return;
        const v = readRM(1);
        if (cpu.faulted) return;
        const old = readCr(0);
        writeCr(0, (old & ~0xe) | (v & 0xf) | (old & 1));
        if (cpu.faulted) return;
        break;
      }
      if (modrm >= 0xc0) {
        raiseUD();
        return;
      }
      if (sub == 0 || sub == 1) { // SGDT/SIDT: limit then base (all 32 bits stored)
        const lim = load<u32>(sub == 0 ? STATE_GDTR_LIMIT : STATE_IDTR_LIMIT);
        const base = load<u32>(sub == 0 ? STATE_GDTR_BASE : STATE_IDTR_BASE);
        const l1 = linearWrite(eaSeg, eaOff, 1);
        if (cpu.faulted) return;
        const l2 = linearWrite(eaSeg, eaOff + 2, 2);
        if (cpu.faulted) return;
        writeLin(1, l1, lim);
        if (cpu.faulted) return;
        writeLin(2, l2, base);
        if (cpu.faulted) return;
        break;
      }
      if (sub == 2 || sub == 3) { // LGDT/LIDT
        if (!privileged()) return;
        const lim = readLin(1, linearRead(eaSeg, eaOff, 1));
        if (cpu.faulted) return;
        const base = readLin(2, linearRead(eaSeg, eaOff + 2, 2));
        if (cpu.faulted) return;
        loadDescriptorTable(sub == 3, lim, base, cpu.opsz);
        break;
      }
      if (sub == 7) { // INVLPG
        if (!privileged()) return;
        const lin = linearRead(eaSeg, eaOff, 0);
        cpu.faulted = false; // INVLPG never faults on the address itself
        tlbInvalidatePage(lin);
        break;
      }
      raiseUD();
      return;
    }
    case 0x02: case 0x03: { // LAR / LSL (#UD in real and virtual-8086 mode)
      if (fl.realSegments()) {
        raiseUD();
        return;
      }
      decodeModrm();
      const sel = readRM(1);
      if (cpu.faulted) return;
      const ok = descriptorVisible(sel, op == 0x02 ? 0 : 1);
      if (cpu.faulted) return;
      if (ok) {
        const v = op == 0x02 ? descHi & 0x00f0ff00 : descLimit();
        regWrite(cpu.opsz, modrmReg(), v);
      }
      setFlagBits(FLAG_ZF, ok);
      break;
    }
    case 0x06: // CLTS
      if (!privileged()) return;
      store<u32>(STATE_CR0, cpu.cr0() & ~cpu.CR0_TS);
      if (vmiActive()) vmiShadowControlRegisters();
      break;
    case 0x08: case 0x09: // INVD, WBINVD: no caches to write back
      if (!privileged()) return;
      break;
    case 0x0b: // UD2
      raiseUD();
      return;
    case 0x0d: case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      // prefetch hints and multi-byte NOP (P6)
      decodeModrm();
      break;
    case 0x20: case 0x21: case 0x22: case 0x23: { // MOV r32, CRn/DRn and back (mod is ignored)
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
      break;
    }
    case 0x30: wrmsr(); if (cpu.faulted) return; break;
    case 0x34: sysenter(); return;
    case 0x35: sysexit(); return;
    case 0x31: rdtsc(); if (cpu.faulted) return; break;
    case 0x32: rdmsr(); if (cpu.faulted) return; break;
    case 0x33: rdpmc(); if (cpu.faulted) return; break;
    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f: { // CMOVcc
      const sz = cpu.opsz;
      decodeModrm();
      // The source is read (and may fault) whether or not the condition holds.
      const v = readRM(sz);
      if (cpu.faulted) return;
      if (testCondition(<i32>op & 15)) regWrite(sz, modrmReg(), v);
      else if (sz == 2) setReg32(modrmReg(), reg32(modrmReg()));
      break;
    }
    case 0x80: case 0x81: case 0x82: case 0x83: case 0x84: case 0x85: case 0x86: case 0x87:
    case 0x88: case 0x89: case 0x8a: case 0x8b: case 0x8c: case 0x8d: case 0x8e: case 0x8f: { // Jcc rel16/32
      const rel = fetchImm(cpu.opsz);
      if (testCondition(<i32>op & 15)) {
        jumpRel(rel);
        return;
      }
      break;
    }
    case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
    case 0x98: case 0x99: case 0x9a: case 0x9b: case 0x9c: case 0x9d: case 0x9e: case 0x9f: // SETcc
      decodeModrm();
      writeRM(0, testCondition(<i32>op & 15) ? 1 : 0);
      break;
    case 0xa0: case 0xa8: // PUSH FS/GS
      push(cpu.opsz, segSelector(op == 0xa0 ? SEG_FS : SEG_GS));
      break;
    case 0xa1: case 0xa9: { // POP FS/GS
      const v = stackRead(cpu.opsz, 0);
      if (cpu.faulted) return;
      if (!loadSegment(op == 0xa1 ? SEG_FS : SEG_GS, v & 0xffff)) return;
      spAdd(sizeBytes(cpu.opsz));
      break;
    }
    case 0xa2: cpuid(); break;
    case 0xae: fxsaveRestore(); return; // FXSAVE/FXRSTOR (assembly/fpu/)
    case 0xa3: case 0xab: case 0xb3: case 0xbb: { // BT/BTS/BTR/BTC Ev, Gv
      decodeModrm();
      const sz = cpu.opsz;
      bitTest(<i32>((op >> 3) & 3), sz, regRead(sz, modrmReg()), true);
      if (cpu.faulted) return;
      break;
    }
    case 0xba: { // group 8: BT/BTS/BTR/BTC Ev, imm8
      decodeModrm();
      const sub = modrmReg();
      if (sub < 4) {
        raiseUD();
        return;
      }
      const imm = fetch8();
      bitTest(sub - 4, cpu.opsz, imm, false);
      if (cpu.faulted) return;
      break;
    }
    case 0xa4: case 0xa5: case 0xac: case 0xad: { // SHLD/SHRD Ev, Gv, imm8/CL
      const sz = cpu.opsz;
      decodeModrm();
      const count = (op & 1) == 0 ? fetch8() : reg8(1);
      const a = readRMForWrite(sz);
      if (cpu.faulted) return;
      const r = shiftDouble(op < 0xa8, sz, a, regRead(sz, modrmReg()), count);
      writeRMAfterRead(sz, r);
      if (cpu.faulted) return;
      commitShiftFlags();
      break;
    }
    case 0xaf: { // IMUL Gv, Ev
      const sz = cpu.opsz;
      decodeModrm();
      const b = readRM(sz);
      if (cpu.faulted) return;
      regWrite(sz, modrmReg(), imulTrunc(sz, regRead(sz, modrmReg()), b));
      break;
    }
    case 0xb0: case 0xb1: { // CMPXCHG Ev, Gv: the destination is written in either case
      const sz = sizeW(op);
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
      break;
    }
    case 0xb2: case 0xb4: case 0xb5: // LSS/LFS/LGS
      decodeModrm();
      loadFarPointer(op == 0xb2 ? SEG_SS : op == 0xb4 ? SEG_FS : SEG_GS);
      if (cpu.faulted) return;
      break;
    case 0xb6: case 0xb7: case 0xbe: case 0xbf: { // MOVZX/MOVSX Gv, Eb/Ew
      const srcSz = (op & 1) != 0 ? 1 : 0;
      decodeModrm();
      const v = readRM(srcSz);
      if (cpu.faulted) return;
      regWrite(cpu.opsz, modrmReg(), op >= 0xbe ? signExtend(v, srcSz) : v);
      break;
    }
    case 0xbc: case 0xbd: { // BSF/BSR
      const sz = cpu.opsz;
      decodeModrm();
      const v = readRM(sz);
      if (cpu.faulted) return;
      bitScan(op == 0xbd, sz, v, modrmReg());
      break;
    }
    case 0xc0: case 0xc1: { // XADD Ev, Gv
      const sz = sizeW(op);
      decodeModrm();
      const d = readRMForWrite(sz);
      if (cpu.faulted) return;
      const s = regRead(sz, modrmReg());
      const r = alu(0, sz, d, s);
      writeRMAfterRead(sz, r);
      if (cpu.faulted) return;
      if (modrm < 0xc0 || (modrm & 7) != modrmReg()) regWrite(sz, modrmReg(), d);
      commitFlags();
      break;
    }
    case 0xc7: { // group 9: CMPXCHG8B Mq
      decodeModrm();
      if (modrmReg() != 1 || modrm >= 0xc0) {
        raiseUD();
        return;
      }
      const lin = linearWrite(eaSeg, eaOff, 2);
      if (cpu.faulted) return;
      const lin2 = linearWrite(eaSeg, eaOff + 4, 2);
      if (cpu.faulted) return;
      const lo = readLin32(lin);
      const hi = readLin32(lin2);
      if (cpu.faulted) return;
      if (lo == reg32(0) && hi == reg32(2)) {
        writeLin(2, lin, reg32(3));
        writeLin(2, lin2, reg32(1));
        if (cpu.faulted) return;
        setFlagBits(FLAG_ZF, true);
      } else {
        // The destination is written back unchanged (a locked read-modify-write).
        writeLin(2, lin, lo);
        writeLin(2, lin2, hi);
        if (cpu.faulted) return;
        setReg32(0, lo);
        setReg32(2, hi);
        setFlagBits(FLAG_ZF, false);
      }
      break;
    }
    case 0xc8: case 0xc9: case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: { // BSWAP
      const r = <i32>op & 7;
      // With a 16-bit operand the result is undefined; we clear the low word as P6 does.
      if (cpu.opsz == 2) setReg32(r, bswap<u32>(reg32(r)));
      else setReg16(r, 0);
      break;
    }
    default:
      raiseUD();
      return;
  }
}
