// The CPU's local APIC in xAPIC mode (Intel SDM Vol. 3A, chapter 10 "Advanced Programmable
// Interrupt Controller"): its 4 KiB register page, decoded at IA32_APIC_BASE (the core keeps that
// MSR; the machine routes the page's MMIO here), the priority logic (IRR, ISR, TMR, TPR, PPR,
// EOI), the LVT timer, LINT0 as the 8259A's virtual wire, LINT1 as the board's NMI, the error
// register and self-IPIs through the ICR (fixed, NMI, INIT). One CPU: there is no APIC bus, so
// an IPI either targets this APIC or nobody.
//
// The register file is a P6's (version 0x10, four LVT entries: timer, LINT0, LINT1, error; SDM
// §10.4.8 and §10.5.1). The timer counts a 1 GHz bus clock (QEMU's rate), so the divide
// configuration register alone sets how many virtual ns a count lasts.

import {
  type AccessWidth,
  type DeadlineChanged,
  type TimeSource,
  type TimedDevice,
  checkedState,
  copyState,
} from "./device.js";

/** Register offsets in the APIC page (SDM table 10-1). */
export const APIC_ID = 0x20;
export const APIC_VERSION = 0x30;
export const APIC_TPR = 0x80;
export const APIC_APR = 0x90;
export const APIC_PPR = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_LDR = 0xd0;
export const APIC_DFR = 0xe0;
export const APIC_SVR = 0xf0;
export const APIC_ISR = 0x100;
export const APIC_TMR = 0x180;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR_LOW = 0x300;
export const APIC_ICR_HIGH = 0x310;
export const APIC_LVT_TIMER = 0x320;
export const APIC_LVT_LINT0 = 0x350;
export const APIC_LVT_LINT1 = 0x360;
export const APIC_LVT_ERROR = 0x370;
export const APIC_TIMER_INITIAL = 0x380;
export const APIC_TIMER_CURRENT = 0x390;
export const APIC_TIMER_DIVIDE = 0x3e0;

/** Version register: integrated APIC version 0x10, max LVT entry 3 (a P6's, SDM figure 10-7). */
export const LOCAL_APIC_VERSION = 0x10;
const VERSION = 0x00030000 | LOCAL_APIC_VERSION;
/** The timer's input clock before the divider, in ticks per virtual ns. */
const BUS_TICKS_PER_NS = 1;

const LVT_MASKED = 1 << 16;
const LVT_PERIODIC = 1 << 17;
const LVT_LEVEL = 1 << 15;
const SVR_ENABLE = 1 << 8;
const DELIVERY_FIXED = 0;
const DELIVERY_LOWEST = 1;
const DELIVERY_NMI = 4;
const DELIVERY_INIT = 5;
const DELIVERY_EXTINT = 7;
/** ICR bit 14: assert (an INIT with it clear is the level de-assert, which only syncs arbitration IDs). */
const ICR_ASSERT = 1 << 14;
/** ESR bits (SDM figure 10-9). */
const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
const ESR_ILLEGAL_REGISTER = 1 << 7;

/** LVT index: timer, LINT0, LINT1, error. */
const LVT_TIMER = 0;
const LVT_LINT0 = 1;
const LVT_LINT1 = 2;
const LVT_ERROR = 3;
const LVT_OFFSETS = [APIC_LVT_TIMER, APIC_LVT_LINT0, APIC_LVT_LINT1, APIC_LVT_ERROR];
/** Writable bits of each LVT (figure 10-8): vector, delivery mode (LINT only), polarity and trigger (LINT), mask, timer mode. */
const LVT_WRITABLE = [0x300ff, 0x1a7ff, 0x1a7ff, 0x100ff];

export interface LocalApicState {
  id: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  /** 256-bit registers as eight 32-bit words, word i holding vectors 32i..32i+31. */
  irr: number[];
  isr: number[];
  tmr: number[];
  /** The ESR as software last latched it, and errors seen since. */
  esr: number;
  esrPending: number;
  icrLow: number;
  icrHigh: number;
  lvt: number[];
  initialCount: number;
  divide: number;
  /** Virtual ns at which the current count was loaded (or last reloaded). */
  timerStart: number;
  /** Virtual ns of the next count-reaches-zero, or -1 when the timer is not counting down. */
  timerExpiry: number;
}

/**
 * The state a PC BIOS leaves (SeaBIOS, as seen under QEMU 7.2): software-enabled with spurious
 * vector 0xFF, LINT0 as ExtINT (the 8259A's virtual wire, SDM §10.5.1 and MP spec §3.6.2.2),
 * LINT1 as NMI, the rest masked.
 */
function freshState(): LocalApicState {
  return {
    id: 0,
    tpr: 0,
    ldr: 0,
    dfr: 0xffffffff,
    svr: 0x1ff,
    irr: new Array<number>(8).fill(0),
    isr: new Array<number>(8).fill(0),
    tmr: new Array<number>(8).fill(0),
    esr: 0,
    esrPending: 0,
    icrLow: 0,
    icrHigh: 0,
    lvt: [LVT_MASKED, 0x8700, 0x8400, LVT_MASKED],
    initialCount: 0,
    divide: 0,
    timerStart: 0,
    timerExpiry: -1,
  };
}

/** The highest vector set in a 256-bit register, or -1. */
function highest(bits: number[]): number {
  for (let w = 7; w >= 0; w--) if (bits[w] !== 0) return w * 32 + 31 - Math.clz32(bits[w]);
  return -1;
}

function setBit(bits: number[], v: number): void {
  bits[v >> 5] |= 1 << (v & 31);
}
function clearBit(bits: number[], v: number): void {
  bits[v >> 5] &= ~(1 << (v & 31));
}
function testBit(bits: number[], v: number): boolean {
  return (bits[v >> 5] & (1 << (v & 31))) !== 0;
}

/** What the local APIC drives besides INTR: the CPU's NMI and INIT inputs. */
export interface ApicCpuSignals {
  /** An NMI for the CPU (SDM §10.5.1 delivery mode NMI: vector 2, whatever IF says). */
  nmi(): void;
  /** INIT for the CPU: on the bootstrap processor a reset, but of caches, x87 and MSRs (SDM Vol. 3 §9.1). */
  init(): void;
}

const NO_SIGNALS: ApicCpuSignals = { nmi: () => {}, init: () => {} };

export class LocalApic implements TimedDevice {
  readonly name = "local APIC";
  s: LocalApicState = freshState();
  /** Timer interrupts raised (also while masked nothing is counted). */
  timerInterrupts = 0;

  constructor(
    private readonly clock: TimeSource,
    /** IA32_APIC_BASE's global enable (bit 11), which the core holds. */
    private readonly globallyEnabled: () => boolean,
    /** The INTR input may have changed: the machine recomputes it (see interruptPending). */
    private readonly changed: () => void,
    /** An EOI for a level-triggered vector: the I/O APIC clears its remote IRR (SDM §10.8.5). */
    private readonly levelEoi: (vector: number) => void,
    private readonly deadlineChanged: DeadlineChanged,
    private readonly signals: ApicCpuSignals = NO_SIGNALS,
  ) {}

  reset(): void {
    this.s = freshState();
    this.changed();
    this.deadlineChanged();
  }

  private get softwareEnabled(): boolean {
    return (this.s.svr & SVR_ENABLE) !== 0;
  }

  /** PPR (SDM §10.8.3.1): the TPR, or the in-service class if that is higher. */
  private ppr(): number {
    const isrv = Math.max(highest(this.s.isr), 0);
    return (this.s.tpr & 0xf0) >= (isrv & 0xf0) ? this.s.tpr & 0xff : isrv & 0xf0;
  }

  /** The vector the APIC would dispatch now (an IRR bit in a class above the PPR), or -1. */
  private deliverable(): number {
    if (!this.globallyEnabled() || !this.softwareEnabled) return -1;
    const v = highest(this.s.irr);
    return v >= 0 && (v & 0xf0) > (this.ppr() & 0xf0) ? v : -1;
  }

  /** Does the APIC assert INTR for an interrupt of its own? */
  interruptPending(): boolean {
    return this.deliverable() >= 0;
  }

  /**
   * Does the 8259A's INT reach the CPU through LINT0? With the APIC globally disabled the CPU's
   * INTR pin is the PIC's again (§10.4.3); otherwise only with LINT0 unmasked as ExtINT. (LINT0
   * in another delivery mode is not modelled: nothing we boot uses it.)
   */
  passesPic(): boolean {
    if (!this.globallyEnabled()) return true;
    const lint0 = this.s.lvt[LVT_LINT0];
    return (lint0 & LVT_MASKED) === 0 && ((lint0 >> 8) & 7) === DELIVERY_EXTINT;
  }

  /** The INTA cycle for the APIC's own interrupts: the vector moved from IRR to ISR, or -1. */
  acknowledge(): number {
    const v = this.deliverable();
    if (v < 0) return -1;
    clearBit(this.s.irr, v);
    setBit(this.s.isr, v);
    this.changed();
    return v;
  }

  /**
   * An interrupt message for this APIC (from its LVT, an IPI or the I/O APIC). Vectors 0-15 are
   * illegal (§10.5.2): refused and reported in the ESR.
   */
  accept(vector: number, level: boolean): void {
    vector &= 0xff;
    if (vector < 16) {
      this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(this.s.irr, vector);
    if (level) setBit(this.s.tmr, vector);
    else clearBit(this.s.tmr, vector);
    this.changed();
  }

  /** The I/O APIC's ExtINT pin was reprogrammed: the machine recomputes INTR. */
  routingChanged(): void {
    this.changed();
  }

  /** An NMI message (from the I/O APIC or an IPI): taken while software-disabled too (§10.4.7.2). */
  acceptNmi(): void {
    if (this.globallyEnabled()) this.signals.nmi();
  }

  /**
   * An edge on LINT1, where a PC wires the board's NMI (the MP table says so): delivered as its
   * LVT entry says, NMI as the BIOS leaves it. With the APIC globally disabled LINT1 is the
   * CPU's NMI pin itself (§10.4.3); a masked entry drops it.
   */
  lint1(): void {
    if (!this.globallyEnabled()) {
      this.signals.nmi();
      return;
    }
    const lvt = this.s.lvt[LVT_LINT1];
    if ((lvt & LVT_MASKED) !== 0) return;
    const mode = (lvt >> 8) & 7;
    if (mode === DELIVERY_NMI) this.signals.nmi();
    else if (mode === DELIVERY_FIXED) this.accept(lvt & 0xff, false);
  }

  /** Is `vector` pending or in service? (The I/O APIC's level re-delivery asks.) */
  hasVector(vector: number): boolean {
    return testBit(this.s.irr, vector) || testBit(this.s.isr, vector);
  }

  /** Would a message with this destination reach this APIC (§10.6.2: physical ID, or flat/cluster logical)? */
  matchesDestination(dest: number, logical: boolean): boolean {
    dest &= 0xff;
    if (!logical) return dest === 0xff || dest === this.s.id >>> 24;
    const ldr = this.s.ldr >>> 24;
    if ((this.s.dfr >>> 28) === 0xf) return (dest & ldr) !== 0;
    // Cluster model: the high nibbles name the cluster, the low ones the members.
    return ((dest >> 4) === 0xf || dest >> 4 === ldr >> 4) && (dest & ldr & 0xf) !== 0;
  }

  private error(bits: number): void {
    this.s.esrPending |= bits;
    const lvt = this.s.lvt[LVT_ERROR];
    if ((lvt & LVT_MASKED) === 0 && (lvt & 0xff) >= 16) this.accept(lvt & 0xff, false);
  }

  // ---- registers ---------------------------------------------------------------------------

  /** A read at `offset` in the APIC page. Registers are 32 bits on 16-byte boundaries (§10.4.1). */
  read(offset: number, width: AccessWidth): number {
    if ((offset & 0xc) !== 0) return 0;
    const v = this.readRegister(offset & 0xff0);
    const shift = (offset & 3) * 8;
    return width === 4 ? v >>> 0 : (v >>> shift) & (width === 2 ? 0xffff : 0xff);
  }

  private readRegister(reg: number): number {
    const s = this.s;
    switch (reg) {
      case APIC_ID: return s.id;
      case APIC_VERSION: return VERSION;
      case APIC_TPR: return s.tpr;
      case APIC_APR: return 0;
      case APIC_PPR: return this.ppr();
      case APIC_EOI: return 0;
      case APIC_LDR: return s.ldr;
      case APIC_DFR: return s.dfr;
      case APIC_SVR: return s.svr;
      case APIC_ESR: return s.esr;
      case APIC_ICR_LOW: return s.icrLow;
      case APIC_ICR_HIGH: return s.icrHigh;
      case APIC_TIMER_INITIAL: return s.initialCount;
      case APIC_TIMER_CURRENT: return this.currentCount();
      case APIC_TIMER_DIVIDE: return s.divide;
    }
    if (reg >= APIC_ISR && reg < APIC_ISR + 0x80) return s.isr[(reg - APIC_ISR) >> 4] >>> 0;
    if (reg >= APIC_TMR && reg < APIC_TMR + 0x80) return s.tmr[(reg - APIC_TMR) >> 4] >>> 0;
    if (reg >= APIC_IRR && reg < APIC_IRR + 0x80) return s.irr[(reg - APIC_IRR) >> 4] >>> 0;
    const lvt = LVT_OFFSETS.indexOf(reg);
    if (lvt >= 0) return s.lvt[lvt];
    this.error(ESR_ILLEGAL_REGISTER);
    return 0;
  }

  /** A write at `offset`: only aligned 32-bit writes reach a register (§10.4.1: others are undefined). */
  write(offset: number, value: number, width: AccessWidth): void {
    if (width !== 4 || (offset & 0xf) !== 0) return;
    const s = this.s;
    const reg = offset & 0xff0;
    value >>>= 0;
    switch (reg) {
      case APIC_ID:
        s.id = value & 0xff000000;
        return;
      case APIC_TPR:
        s.tpr = value & 0xff;
        this.changed();
        return;
      case APIC_EOI:
        this.eoi();
        return;
      case APIC_LDR:
        s.ldr = value & 0xff000000;
        return;
      case APIC_DFR:
        s.dfr = (value | 0x0fffffff) >>> 0;
        return;
      case APIC_SVR:
        this.writeSvr(value);
        return;
      case APIC_ESR:
        // A write latches the errors seen since the last one into the readable ESR (§10.5.3).
        s.esr = s.esrPending;
        s.esrPending = 0;
        return;
      case APIC_ICR_LOW:
        s.icrLow = value & 0x000ccfff;
        this.sendIpi();
        return;
      case APIC_ICR_HIGH:
        s.icrHigh = value & 0xff000000;
        return;
      case APIC_TIMER_INITIAL:
        this.startTimer(value);
        return;
      case APIC_TIMER_DIVIDE:
        this.setDivide(value & 0xb);
        return;
    }
    const lvt = LVT_OFFSETS.indexOf(reg);
    if (lvt >= 0) {
      this.writeLvt(lvt, value);
      return;
    }
    const readOnly = reg === APIC_VERSION || reg === APIC_APR || reg === APIC_PPR || reg === APIC_TIMER_CURRENT || (reg >= APIC_ISR && reg < APIC_IRR + 0x80);
    if (!readOnly) this.error(ESR_ILLEGAL_REGISTER);
  }

  /** EOI (§10.8.5): the highest in-service vector is done; a level-triggered one also tells the I/O APIC. */
  private eoi(): void {
    const v = highest(this.s.isr);
    if (v < 0) return;
    clearBit(this.s.isr, v);
    if (testBit(this.s.tmr, v)) this.levelEoi(v);
    this.changed();
  }

  /** SVR: P6 hardwires the spurious vector's low nibble to 1s (§10.9); clearing bit 8 masks every LVT (§10.4.7.2). */
  private writeSvr(value: number): void {
    this.s.svr = (value & 0x3f0) | 0xf;
    if (!this.softwareEnabled) for (let i = 0; i < 4; i++) this.s.lvt[i] |= LVT_MASKED;
    this.changed();
  }

  private writeLvt(i: number, value: number): void {
    let v = value & LVT_WRITABLE[i];
    // Software-disabled, the mask bits stay set (§10.4.7.2).
    if (!this.softwareEnabled) v |= LVT_MASKED;
    // Remote IRR (bit 14) is read-only status: keep it.
    this.s.lvt[i] = v | (this.s.lvt[i] & (1 << 14));
    if (i === LVT_TIMER) this.deadlineChanged();
    this.changed();
  }

  /**
   * A self-IPI, or an IPI nobody on this one-CPU board receives (§10.6.1). NMI to itself is an
   * NMI; INIT to itself resets the CPU, as QEMU does (the BIOS then reboots the machine); SMI
   * (no SMM here) and STARTUP (the bootstrap processor never waits for one) do nothing.
   */
  private sendIpi(): void {
    const s = this.s;
    const vector = s.icrLow & 0xff;
    const mode = (s.icrLow >> 8) & 7;
    const shorthand = (s.icrLow >> 18) & 3;
    const toSelf =
      shorthand === 1 || shorthand === 2 || (shorthand === 0 && this.matchesDestination(s.icrHigh >>> 24, (s.icrLow & (1 << 11)) !== 0));
    if (mode === DELIVERY_NMI) {
      if (toSelf) this.signals.nmi();
      return;
    }
    if (mode === DELIVERY_INIT) {
      if (toSelf && (s.icrLow & ICR_ASSERT) !== 0) this.signals.init();
      return;
    }
    if (mode !== DELIVERY_FIXED && mode !== DELIVERY_LOWEST) return;
    if (vector < 16) {
      this.error(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    if (toSelf) this.accept(vector, false);
  }

  // ---- timer (§10.5.4) ---------------------------------------------------------------------

  /** Virtual ns per count at the current divide: divide configuration bits 0, 1 and 3 (figure 10-10). */
  private nsPerCount(): number {
    const d = this.s.divide;
    const code = (d & 3) | ((d >> 1) & 4);
    return (code === 7 ? 1 : 2 << code) / BUS_TICKS_PER_NS;
  }

  private period(): number {
    return this.s.initialCount * this.nsPerCount();
  }

  private startTimer(count: number): void {
    const s = this.s;
    s.initialCount = count;
    s.timerStart = this.clock.now();
    // Writing 0 stops the timer (§10.5.4).
    s.timerExpiry = count === 0 ? -1 : s.timerStart + this.period();
    this.deadlineChanged();
  }

  /** A new divide takes effect from now on: the count reached so far carries over. */
  private setDivide(value: number): void {
    const s = this.s;
    const now = this.clock.now();
    const current = this.currentCount();
    s.divide = value;
    if (s.timerExpiry < 0) return;
    const per = this.nsPerCount();
    s.timerExpiry = now + current * per;
    s.timerStart = s.timerExpiry - this.period();
    this.deadlineChanged();
  }

  private currentCount(): number {
    const s = this.s;
    if (s.timerExpiry < 0) return 0;
    const now = this.clock.now();
    if (now >= s.timerExpiry) return 0; // not yet ticked: counting has reached zero
    return Math.min(s.initialCount, Math.ceil((s.timerExpiry - now) / this.nsPerCount()));
  }

  nextDeadline(_now: number): number {
    return this.s.timerExpiry < 0 ? Infinity : this.s.timerExpiry;
  }

  tick(now: number): void {
    const s = this.s;
    if (s.timerExpiry < 0 || now < s.timerExpiry) return;
    const lvt = s.lvt[LVT_TIMER];
    if ((lvt & LVT_MASKED) === 0) {
      this.timerInterrupts++;
      this.accept(lvt & 0xff, false);
    }
    if ((lvt & LVT_PERIODIC) !== 0) {
      // Periods the machine slept through raise one interrupt: the IRR holds one bit per vector.
      const per = this.period();
      const missed = Math.floor((now - s.timerExpiry) / per);
      s.timerStart = s.timerExpiry + missed * per;
      s.timerExpiry = s.timerStart + per;
    } else {
      s.timerExpiry = -1;
    }
  }

  save(): LocalApicState {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, freshState(), state);
    this.changed();
    this.deadlineChanged();
  }
}
