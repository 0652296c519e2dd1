// The Intel 82093AA I/O APIC (data sheet order no. 290566): 24 interrupt input pins, each with a
// 64-bit redirection table entry saying which vector, delivery mode, trigger and destination it
// sends to the local APICs. Software reaches its registers indirectly: write the register's
// index to IOREGSEL (offset 0x00), then read or write IOWIN (offset 0x10).
//
// One CPU: a message either reaches this machine's local APIC (by its destination) or nobody.

import { type AccessWidth, checkedState, copyState } from "./device.js";

/** Where the interrupt messages go: the local APIC, as the I/O APIC sees it over the APIC bus. */
export interface ApicMessageSink {
  /** Would a message to `dest` (physical ID, or a logical mask when `logical`) reach the CPU? */
  matchesDestination(dest: number, logical: boolean): boolean;
  /** A fixed interrupt with `vector`; `level` marks it level triggered (its EOI comes back: eoi()). */
  accept(vector: number, level: boolean): void;
  /** An NMI message. */
  acceptNmi(): void;
  /** The ExtINT pin's entry changed: whether the 8259A's INT passes may have (passesPic). */
  routingChanged(): void;
}

export const IOAPIC_PINS = 24;
export const IOREGSEL = 0x00;
export const IOWIN = 0x10;
/** Register indices (§3.2). */
export const IOAPICID = 0x00;
export const IOAPICVER = 0x01;
export const IOAPICARB = 0x02;
export const IOREDTBL = 0x10;
/** IOAPICVER (§3.2.2): version 0x11, maximum redirection entry 23. */
export const IOAPIC_VERSION = 0x11;
const VERSION = ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;

const RTE_MASKED = 1 << 16;
const RTE_LEVEL = 1 << 15;
const RTE_REMOTE_IRR = 1 << 14;
const RTE_ACTIVE_LOW = 1 << 13;
const RTE_DELIVERY_STATUS = 1 << 12;
const RTE_LOGICAL = 1 << 11;
/** Bits software may write in an entry's low word: all but delivery status and remote IRR. */
const RTE_LOW_WRITABLE = 0x1afff;
const DELIVERY_FIXED = 0;
const DELIVERY_LOWEST = 1;
const DELIVERY_NMI = 4;
const DELIVERY_EXTINT = 7;
/** The pin a PC wires the 8259A's INT to (virtual wire mode B; the MP table's ExtINT entry). */
export const IOAPIC_EXTINT_PIN = 0;

export interface IoApicState {
  /** The ID register's bits 24-27. */
  id: number;
  ioregsel: number;
  /** Redirection entries as [low, high] 32-bit words, pin i at 2i and 2i+1. */
  redirection: number[];
  /** The level each pin is driven at (before polarity). */
  inputs: number;
}

/**
 * Reset state (§3.2.4: every entry masked). The ID is the one our MP table gives it (a BIOS sets
 * it; 1, next to the CPU's 0, as SeaBIOS does on one CPU).
 */
export const IOAPIC_RESET_ID = 1;

function freshState(): IoApicState {
  const redirection: number[] = [];
  for (let i = 0; i < IOAPIC_PINS; i++) redirection.push(RTE_MASKED, 0);
  return { id: IOAPIC_RESET_ID, ioregsel: 0, redirection, inputs: 0 };
}

export class IoApic {
  readonly name = "82093AA I/O APIC";
  s: IoApicState = freshState();

  constructor(private readonly cpu: ApicMessageSink) {}

  reset(): void {
    const inputs = this.s.inputs;
    this.s = freshState();
    this.s.inputs = inputs;
  }

  /** Drive pin `pin` to `level`: an edge-triggered entry sends on the rising edge; a level one while asserted. */
  setInput(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const bit = 1 << pin;
    const was = this.asserted(pin);
    this.s.inputs = level ? this.s.inputs | bit : this.s.inputs & ~bit;
    const now = this.asserted(pin);
    const low = this.s.redirection[2 * pin];
    // An NMI entry is edge triggered whatever its trigger bit says (82093AA §3.2.4).
    const levelTriggered = (low & RTE_LEVEL) !== 0 && ((low >> 8) & 7) !== DELIVERY_NMI;
    if (levelTriggered ? now : now && !was) this.send(pin);
  }

  /** Is the pin asserted, after the entry's polarity? */
  private asserted(pin: number): boolean {
    const high = (this.s.inputs & (1 << pin)) !== 0;
    return (this.s.redirection[2 * pin] & RTE_ACTIVE_LOW) !== 0 ? !high : high;
  }

  /** Deliver pin `pin`'s interrupt, unless masked or (level) still awaiting its EOI (§3.2.4). */
  private send(pin: number): void {
    const r = this.s.redirection;
    const low = r[2 * pin];
    if ((low & RTE_MASKED) !== 0) return;
    const level = (low & RTE_LEVEL) !== 0;
    if (level && (low & RTE_REMOTE_IRR) !== 0) return;
    const mode = (low >> 8) & 7;
    // ExtINT is not a message but passesPic(); SMI and INIT entries are not modelled.
    if (mode !== DELIVERY_FIXED && mode !== DELIVERY_LOWEST && mode !== DELIVERY_NMI) return;
    if (!this.cpu.matchesDestination(r[2 * pin + 1] >>> 24, (low & RTE_LOGICAL) !== 0)) return;
    if (mode === DELIVERY_NMI) {
      this.cpu.acceptNmi();
      return;
    }
    if (level) r[2 * pin] = low | RTE_REMOTE_IRR;
    this.cpu.accept(low & 0xff, level);
  }

  /**
   * Does the 8259A's INT reach the CPU through this I/O APIC: its pin's entry unmasked in
   * ExtINT mode for our APIC (virtual wire mode B, MP spec §3.6.2.2)? The CPU then takes the
   * vector from the 8259A's INTA cycle, outside the local APIC's IRR and ISR (SDM §10.5.1).
   */
  passesPic(): boolean {
    const low = this.s.redirection[2 * IOAPIC_EXTINT_PIN];
    if ((low & RTE_MASKED) !== 0 || ((low >> 8) & 7) !== DELIVERY_EXTINT) return false;
    return this.cpu.matchesDestination(this.s.redirection[2 * IOAPIC_EXTINT_PIN + 1] >>> 24, (low & RTE_LOGICAL) !== 0);
  }

  /** The local APIC's EOI of a level-triggered `vector`: clear remote IRR, and resend a pin still asserted (§3.2.4). */
  eoi(vector: number): void {
    const r = this.s.redirection;
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const low = r[2 * pin];
      if ((low & RTE_REMOTE_IRR) === 0 || (low & 0xff) !== vector) continue;
      r[2 * pin] = low & ~RTE_REMOTE_IRR;
      if (this.asserted(pin)) this.send(pin);
    }
  }

  /** A read in the I/O APIC's page: IOREGSEL or IOWIN (32-bit registers; narrower reads see their low bytes). */
  read(offset: number, width: AccessWidth): number {
    let v: number;
    if ((offset & 0xff) === IOREGSEL) v = this.s.ioregsel;
    else if ((offset & 0xff) === IOWIN) v = this.readRegister(this.s.ioregsel);
    else return 0;
    return width === 4 ? v >>> 0 : v & (width === 2 ? 0xffff : 0xff);
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    if ((offset & 0xff) === IOREGSEL) this.s.ioregsel = value & 0xff;
    else if ((offset & 0xff) === IOWIN) this.writeRegister(this.s.ioregsel, value >>> 0);
  }

  private readRegister(index: number): number {
    switch (index) {
      case IOAPICID: return this.s.id << 24;
      case IOAPICVER: return VERSION;
      case IOAPICARB: return this.s.id << 24; // arbitration ID: loaded from the ID (§3.2.3)
    }
    const i = index - IOREDTBL;
    return i >= 0 && i < IOAPIC_PINS * 2 ? this.s.redirection[i] >>> 0 : 0;
  }

  private writeRegister(index: number, value: number): void {
    if (index === IOAPICID) {
      this.s.id = (value >>> 24) & 0xf;
      return;
    }
    const i = index - IOREDTBL;
    if (i < 0 || i >= IOAPIC_PINS * 2) return;
    const r = this.s.redirection;
    if (i & 1) r[i] = value & 0xff000000;
    else {
      r[i] = (value & RTE_LOW_WRITABLE) | (r[i] & (RTE_REMOTE_IRR | RTE_DELIVERY_STATUS));
      // An edge entry has no remote IRR; an asserted level pin just unmasked sends now.
      if ((r[i] & RTE_LEVEL) === 0) r[i] &= ~RTE_REMOTE_IRR;
      else if (this.asserted(i >> 1)) this.send(i >> 1);
    }
    if (i >> 1 === IOAPIC_EXTINT_PIN) this.cpu.routingChanged();
  }

  save(): IoApicState {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, freshState(), state);
    this.cpu.routingChanged();
  }
}
