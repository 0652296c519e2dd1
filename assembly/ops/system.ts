// System instructions: control and debug registers, descriptor-table registers, LLDT/LTR,
// LAR/LSL/VERR/VERW, CPUID, RDTSC, RDPMC, RDMSR/WRMSR. Privileged ones raise #GP(0) above CPL 0.

import {
  STATE_CR0, STATE_CR2, STATE_CR3, STATE_CR4, STATE_DR_BASE, STATE_GDTR_BASE, STATE_GDTR_LIMIT,
  STATE_IDTR_BASE, STATE_IDTR_LIMIT, SEG_LDTR, SEG_TR, COUNTER_INSTRUCTIONS, STATE_TSC_OFFSET,
  STATE_SYSENTER_CS, STATE_SYSENTER_ESP, STATE_SYSENTER_EIP, COUNTER_PRIVILEGED, STATE_APIC_PRESENT, STATE_APIC_BASE,
  APIC_BASE_ENABLE, STATE_STOP_REQUEST,
} from "../layout";
import * as cpu from "../cpu";
import { reg32, setReg32, setSegCache, protectedMode, CR0_PG, CR0_PE, CR0_WP, CR0_ET, CR4_PSE, CR4_PGE, CR4_PCE, CR4_TSD, CR4_DE, CR0_TS, SIZE_16 } from "../cpu";
import { setFlagBits, FLAG_ZF } from "../flags";
import { raise, EXC_GP, EXC_UD, EXC_NP } from "../exceptions";
import { tlbFlush } from "../tlb";
import { shadowActive, shadowLeave, shadowEnter, dropAllContexts } from "../shadow";
import { vmiShadowControlRegisters } from "../vmi";
import { readDescriptor, descLo, descHi, descAttr, descBase, descLimit, segmentsChanged } from "../segments";
import { writeLin32 } from "../mmu";
import { updateAccessMasks } from "../mmu";
import { publishRetired } from "../cpu";
import { hostReadTsc } from "../imports";

/** True (and nothing raised) if the current privilege may run a privileged instruction. */
export function privileged(): bool {
  if (protectedMode() && cpu.cpl != 0) {
    raise(EXC_GP, 0);
    return false;
  }
  store<u64>(COUNTER_PRIVILEGED, load<u64>(COUNTER_PRIVILEGED) + 1);
  return true;
}

// CR0 bits we implement; the rest are reserved (#GP on setting them). ET is hardwired to 1 on
// i486 and later.
const CR0_VALID: u32 = 0xe005003f;
// OSFXSR (bit 9): Linux sets it whenever CPUID advertises FXSR (it only selects FXSAVE's SSE part).
const CR4_VALID: u32 = CR4_PSE | CR4_PGE | CR4_PCE | CR4_TSD | CR4_DE | (1 << 9);

export function readCr(n: i32): u32 {
  switch (n) {
    case 0: return load<u32>(STATE_CR0);
    case 2: return load<u32>(STATE_CR2);
    case 3: return load<u32>(STATE_CR3);
    case 4: return load<u32>(STATE_CR4);
    default:
      raise(EXC_UD, 0);
      return 0;
  }
}

/** Would MOV CRn with `v` raise #GP (reserved bits, PG without PE, NW without CD)? */
export function crValueValid(n: i32, v: u32): bool {
  if (n == 0) return (v & ~CR0_VALID) == 0 && ((v & CR0_PG) == 0 || (v & CR0_PE) != 0) && ((v & 0x20000000) == 0 || (v & 0x40000000) != 0);
  if (n == 4) return (v & ~CR4_VALID) == 0;
  return true;
}

/** MOV CRn, r32 (SDM Vol. 3 §2.5, Vol. 2 MOV—Move to/from Control Registers). */
export function writeCr(n: i32, v: u32): void {
  if (n != 0 && n != 2 && n != 3 && n != 4) {
    raise(EXC_UD, 0);
    return;
  }
  if (!crValueValid(n, v)) {
    raise(EXC_GP, 0);
    return;
  }
  applyCr(n, v);
}

/** Load a control register already checked by crValueValid (the instruction, or a VMI call). */
export function applyCr(n: i32, v: u32): void {
  switch (n) {
    case 0: {
      const old = load<u32>(STATE_CR0);
      store<u32>(STATE_CR0, v | CR0_ET);
      if (((old ^ v) & (CR0_PG | CR0_WP | CR0_PE)) != 0) {
        tlbFlush(false);
        dropAllContexts();
        segmentsChanged();
      }
      break;
    }
    case 2:
      store<u32>(STATE_CR2, v);
      break;
    case 3:
      store<u32>(STATE_CR3, v);
      // A CR3 load flushes every non-global translation (SDM Vol. 3 §4.10.4.1); a VMI guest's
      // announced address spaces keep theirs in shadow contexts.
      if (shadowActive()) shadowLeave();
      tlbFlush((load<u32>(STATE_CR4) & CR4_PGE) != 0);
      if (shadowActive()) shadowEnter(v);
      break;
    case 4: {
      const old = load<u32>(STATE_CR4);
      store<u32>(STATE_CR4, v);
      if (((old ^ v) & (CR4_PSE | CR4_PGE)) != 0) {
        tlbFlush(false);
        dropAllContexts();
      }
      break;
    }
  }
  if (shadowActive()) vmiShadowControlRegisters();
}

export function readDr(n: i32): u32 {
  // DR4/DR5 alias DR6/DR7 when CR4.DE is clear.
  if (n == 4 || n == 5) {
    if ((load<u32>(STATE_CR4) & CR4_DE) != 0) {
      raise(EXC_UD, 0);
      return 0;
    }
    n += 2;
  }
  const v = load<u32>(STATE_DR_BASE + (n << 2));
  return n == 6 ? v | 0xffff0ff0 : n == 7 ? v | 0x400 : v;
}

export function writeDr(n: i32, v: u32): void {
  if (n == 4 || n == 5) {
    if ((load<u32>(STATE_CR4) & CR4_DE) != 0) {
      raise(EXC_UD, 0);
      return;
    }
    n += 2;
  }
  store<u32>(STATE_DR_BASE + (n << 2), v);
}

/** LGDT/LIDT: 6-byte operand; with a 16-bit operand size only 24 bits of base are loaded. */
export function loadDescriptorTable(idt: bool, limit: u32, base: u32, sz: i32): void {
  if (sz == SIZE_16) base &= 0xffffff;
  store<u32>(idt ? STATE_IDTR_BASE : STATE_GDTR_BASE, base);
  store<u32>(idt ? STATE_IDTR_LIMIT : STATE_GDTR_LIMIT, limit & 0xffff);
}

/** LLDT: a null selector leaves LDTR unusable; otherwise an LDT descriptor (type 2) in the GDT. */
export function lldt(selector: u32): void {
  if ((selector & 0xfffc) == 0) {
    setSegCache(SEG_LDTR, selector, 0, 0, 0);
    return;
  }
  if ((selector & 4) != 0 || !readDescriptor(selector)) {
    if (!cpu.faulted) raise(EXC_GP, selector & 0xfffc);
    return;
  }
  const attr = descAttr();
  if ((attr & 0x1f) != 0x02) {
    raise(EXC_GP, selector & 0xfffc);
    return;
  }
  if ((attr & 0x80) == 0) {
    raise(EXC_NP, selector & 0xfffc);
    return;
  }
  setSegCache(SEG_LDTR, selector, descBase(), descLimit(), attr);
}

/** LTR: an available TSS (type 1 or 9) in the GDT, which becomes busy. */
export function ltr(selector: u32): void {
  if ((selector & 0xfffc) == 0) {
    raise(EXC_GP, 0);
    return;
  }
  if ((selector & 4) != 0 || !readDescriptor(selector)) {
    if (!cpu.faulted) raise(EXC_GP, selector & 0xfffc);
    return;
  }
  const attr = descAttr();
  const type = attr & 0x1f;
  if (type != 0x01 && type != 0x09) {
    raise(EXC_GP, selector & 0xfffc);
    return;
  }
  if ((attr & 0x80) == 0) {
    raise(EXC_NP, selector & 0xfffc);
    return;
  }
  // Mark the descriptor busy (type 3 / 11).
  const hi = descHi | 0x200;
  const gdtBase = load<u32>(STATE_GDTR_BASE);
  writeLin32(gdtBase + (selector & 0xfff8) + 4, hi);
  if (cpu.faulted) return;
  setSegCache(SEG_TR, selector, descBase(), descLimit(), attr | 0x2);
}

/**
 * LAR/LSL/VERR/VERW: ZF = 1 if the selector names a descriptor visible at CPL/RPL with the
 * right type. Returns the access rights (LAR) or limit (LSL) via descLo/descHi; -1 if invalid.
 */
export function descriptorVisible(selector: u32, kind: i32): bool {
  if ((selector & 0xfffc) == 0 || !readDescriptor(selector)) return false;
  const attr = descAttr();
  const type = attr & 0x1f;
  const dpl = <i32>((attr >>> 5) & 3);
  const rpl = <i32>(selector & 3);
  const conformingCode = (type & 0x1c) == 0x1c;
  if (!conformingCode && (dpl < cpu.cpl || dpl < rpl)) return false;
  if ((type & 0x10) == 0) {
    // System types: LAR accepts TSS, LDT, call/task gates; LSL only those with a limit.
    if (kind == 0) return type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9 || type == 11 || type == 12;
    if (kind == 1) return type == 1 || type == 2 || type == 3 || type == 9 || type == 11;
    return false;
  }
  if (kind == 2) return (type & 0x08) == 0 || (type & 0x02) != 0; // VERR: data, or readable code
  if (kind == 3) return (type & 0x0a) == 0x02; // VERW: writable data
  return true;
}

// ---- CPUID ------------------------------------------------------------------------------------
// Report exactly what is implemented: PSE, TSC, MSR (RDMSR/WRMSR), CX8, SEP (SYSENTER/SYSEXIT),
// PGE, CMOV, the x87 FPU and FXSAVE/FXRSTOR (FXSR, without SSE); and APIC (bit 9) only while
// the machine has one and IA32_APIC_BASE enables it (SDM Vol. 3 §10.4.3: a globally disabled
// APIC reads as absent in CPUID).
const CPUID_APIC: u32 = 1 << 9;
const CPUID_FEATURES: u32 = (1 << 0) | (1 << 24) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11) | (1 << 13) | (1 << 15);

function apicEnabled(): bool {
  return load<u32>(STATE_APIC_PRESENT) != 0 && (load<u32>(STATE_APIC_BASE) & APIC_BASE_ENABLE) != 0;
}

/** CPUID(1).EAX: family 6 (P6), model 1, stepping 9; also EDX after RESET (SDM Vol. 3 §9.1.3). */
export const CPU_SIGNATURE: u32 = 0x00000619;

export function cpuid(): void {
  const leaf = reg32(0);
  if (leaf == 0) {
    setReg32(0, 1);
    // "GenuineIntel" in EBX, EDX, ECX
    setReg32(3, 0x756e6547);
    setReg32(2, 0x49656e69);
    setReg32(1, 0x6c65746e);
  } else if (leaf == 1) {
    setReg32(0, CPU_SIGNATURE);
    setReg32(3, 0);
    setReg32(1, 0);
    setReg32(2, CPUID_FEATURES | (apicEnabled() ? CPUID_APIC : 0));
  } else {
    setReg32(0, 0);
    setReg32(3, 0);
    setReg32(1, 0);
    setReg32(2, 0);
  }
}

/** Real-time machines: the TSC follows the host's virtual clock instead of the instruction count. */
let tscFromHost: bool = false;

export function setTscFromHost(on: bool): void {
  tscFromHost = on;
}

/** The TSC before the offset: instructions retired (deterministic time), or the host's clock in cycles. */
function tscBase(): u64 {
  if (tscFromHost) {
    publishRetired(); // the host's clock moves with the work done (clock.ts)
    const t = hostReadTsc();
    return t > 0 && t < 1.8e19 ? <u64>t : 0;
  }
  return load<u64>(COUNTER_INSTRUCTIONS) + <u64>cpu.retiredThisRun;
}

/** The time-stamp counter: its base (tscBase) plus the offset a WRMSR or the host set. */
export function tsc(): u64 {
  return tscBase() + load<u64>(STATE_TSC_OFFSET);
}

export function rdtsc(): void {
  if ((load<u32>(STATE_CR4) & CR4_TSD) != 0 && cpu.cpl != 0 && protectedMode()) {
    raise(EXC_GP, 0);
    return;
  }
  const t = tsc();
  setReg32(0, <u32>t);
  setReg32(2, <u32>(t >>> 32));
}

/**
 * RDPMC (SDM Vol. 2B RDPMC; Vol. 3 §2.5 CR4.PCE): at CPL 0, or at any CPL with CR4.PCE set,
 * EDX:EAX gets performance-monitoring counter ECX; otherwise #GP(0). The P6 family has two
 * counters, 0 and 1, and raises #GP(0) for any other ECX (Vol. 2B RDPMC, "P6 family
 * processors"; its 40-bit counters read in EDX[7:0]:EAX). Nothing is counted here (no event is
 * ever selected, as IA32_PERFEVTSEL0/1 are not implemented), so both read 0.
 */
export function rdpmc(): void {
  if ((load<u32>(STATE_CR4) & CR4_PCE) == 0 && cpu.cpl != 0 && protectedMode()) {
    raise(EXC_GP, 0);
    return;
  }
  if (reg32(1) > 1) {
    raise(EXC_GP, 0);
    return;
  }
  setReg32(0, 0);
  setReg32(2, 0);
}

const MSR_TSC: u32 = 0x10;
/**
 * IA32_BIOS_SIGN_ID (SDM Vol. 4, table 2-2 and Vol. 3 "Microcode Update Facilities"): software
 * writes 0, executes CPUID(1), and reads the loaded microcode update's revision from EDX. No
 * update is ever loaded here, so it reads 0 and writes are accepted and dropped. Linux's
 * early_init_intel() does exactly that sequence on every family 6 CPU.
 */
const MSR_BIOS_SIGN_ID: u32 = 0x8b;
/**
 * IA32_APIC_BASE (SDM Vol. 3 §10.4.4, figure 10-5): bit 8 BSP (read-only), bit 11 global
 * enable, bits 12+ the base. Only with a local APIC; bits 0-7, 9-10 and any above bit 31 (no
 * physical address reaches that far here) are reserved and #GP(0) when set.
 */
const MSR_APIC_BASE: u32 = 0x1b;
const APIC_BASE_WRITABLE: u32 = 0xfffff800;
const MSR_SYSENTER_CS: u32 = 0x174;
const MSR_SYSENTER_ESP: u32 = 0x175;
const MSR_SYSENTER_EIP: u32 = 0x176;

/** RDMSR: the MSRs a 686 kernel touches; any other raises #GP(0). */
export function rdmsr(): void {
  if (!privileged()) return;
  const n = reg32(1);
  let v: u64;
  switch (n) {
    case MSR_TSC: v = tsc(); break;
    case MSR_BIOS_SIGN_ID: v = 0; break;
    case MSR_APIC_BASE:
      if (load<u32>(STATE_APIC_PRESENT) == 0) {
        raise(EXC_GP, 0);
        return;
      }
      v = load<u32>(STATE_APIC_BASE);
      break;
    case MSR_SYSENTER_CS: v = load<u32>(STATE_SYSENTER_CS); break;
    case MSR_SYSENTER_ESP: v = load<u32>(STATE_SYSENTER_ESP); break;
    case MSR_SYSENTER_EIP: v = load<u32>(STATE_SYSENTER_EIP); break;
    default:
      raise(EXC_GP, 0);
      return;
  }
  setReg32(0, <u32>v);
  setReg32(2, <u32>(v >>> 32));
}

export function wrmsr(): void {
  if (!privileged()) return;
  const n = reg32(1);
  const v: u64 = (<u64>reg32(2) << 32) | <u64>reg32(0);
  switch (n) {
    case MSR_TSC:
      store<u64>(STATE_TSC_OFFSET, v - tscBase());
      break;
    case MSR_BIOS_SIGN_ID: break;
    case MSR_APIC_BASE:
      if (load<u32>(STATE_APIC_PRESENT) == 0 || (v & ~<u64>(APIC_BASE_WRITABLE | 0x100)) != 0) {
        raise(EXC_GP, 0);
        return;
      }
      store<u32>(STATE_APIC_BASE, (<u32>v & APIC_BASE_WRITABLE) | (load<u32>(STATE_APIC_BASE) & 0x100));
      // The global enable decides whether the 8259A reaches INTR directly (§10.4.3): end the
      // slice so the host recomputes INTR before the next instruction samples it.
      store<u32>(STATE_STOP_REQUEST, 1);
      cpu.attention = true;
      break;
    case MSR_SYSENTER_CS: store<u32>(STATE_SYSENTER_CS, <u32>v); break;
    case MSR_SYSENTER_ESP: store<u32>(STATE_SYSENTER_ESP, <u32>v); break;
    case MSR_SYSENTER_EIP: store<u32>(STATE_SYSENTER_EIP, <u32>v); break;
    default:
      raise(EXC_GP, 0);
  }
}
