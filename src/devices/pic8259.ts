// The PC/AT pair of Intel 8259A programmable interrupt controllers: the master decodes two
// ports (A0 = 0/1), the slave another two, and the slave's INT output drives the master's IR2
// (cascade). The CPU's INTR line is the master's INT output; the INTA cycle (acknowledge())
// returns the vector. The PIIX edge/level control registers (ELCR, two ports) are a third
// small port device. References are to the Intel 8259A data sheet (order no. 231468).

import { type AccessWidth, type IrqLine, type PortDevice, WIDTH_8, checkedState, copyState } from "./device.js";

/** The master input the slave's INT output is wired to on the PC/AT. */
export const CASCADE_IRQ = 2;

export interface Pic8259State {
  /** Interrupt request register: inputs that have requested service. */
  irr: number;
  /** In-service register: requests acknowledged and not yet ended by an EOI. */
  isr: number;
  /** Interrupt mask register (OCW1). */
  imr: number;
  /** The level each IR input is driven at now: an edge is a 0 → 1 change of this. */
  inputs: number;
  /** ICW2 with the low three bits cleared: vector = base + IR (8086 mode). */
  vectorBase: number;
  /** ICW3: on the master, which IRs have slaves; on the slave, its ID. */
  icw3: number;
  /** 0 = operational; 2, 3, 4 = the next write to A0 = 1 is that ICW. */
  initStep: number;
  /** ICW1 said ICW4 follows (IC4). */
  icw4Needed: boolean;
  /** ICW1 SNGL: no cascade, no ICW3. */
  single: boolean;
  /** ICW1 LTIM: every input level triggered. */
  levelTriggered: boolean;
  /** ICW4 AEOI: the second INTA pulse ends the interrupt itself. */
  autoEoi: boolean;
  /** OCW2 "rotate in automatic EOI mode". */
  rotateOnAutoEoi: boolean;
  /** ICW4 SFNM (special fully nested mode). */
  specialFullyNested: boolean;
  /** OCW3 special mask mode: a masked in-service level no longer blocks lower ones (§ "Special Mask Mode"). */
  specialMask: boolean;
  /** The IR with the lowest priority (7 after init; moved by the rotate commands). */
  lowestPriority: number;
  /** OCW3 RR/RIS: reads of A0 = 0 return the ISR rather than the IRR. */
  readIsr: boolean;
  /** OCW3 P: the next read of A0 = 0 is a poll (an INTA in disguise). */
  poll: boolean;
  /** PIIX ELCR bits for this chip's inputs: 1 = level triggered. */
  elcr: number;
}

function freshState(): Pic8259State {
  return {
    irr: 0,
    isr: 0,
    imr: 0xff,
    inputs: 0,
    vectorBase: 0,
    icw3: 0,
    initStep: 0,
    icw4Needed: false,
    single: false,
    levelTriggered: false,
    autoEoi: false,
    rotateOnAutoEoi: false,
    specialFullyNested: false,
    specialMask: false,
    lowestPriority: 7,
    readIsr: false,
    poll: false,
    elcr: 0,
  };
}

/**
 * One 8259A. It does not drive anything itself: after every change its owner (DualPic8259)
 * recomputes the INT outputs, so the cascade and the CPU's INTR line always follow the registers.
 */
export class Pic8259 implements PortDevice {
  readonly portCount = 2;
  readonly widths = WIDTH_8;
  s: Pic8259State = freshState();

  constructor(
    readonly name: string,
    private readonly changed: () => void,
    private readonly onPoll: (chip: Pic8259) => number = (chip) => chip.acknowledge(),
  ) {}

  reset(): void {
    // The IR pins' levels are the devices' to drive, not the chip's state (as ICW1 keeps them).
    const inputs = this.s.inputs;
    this.s = freshState();
    this.s.inputs = inputs;
  }

  /** Priority rank of IR `irq`: 0 is the highest (§ "Interrupt Sequence", rotation). */
  private rank(irq: number): number {
    return (irq - this.s.lowestPriority - 1) & 7;
  }

  /** The highest-priority IR among the bits of `mask`, or -1. */
  private highest(mask: number): number {
    if (mask === 0) return -1;
    for (let r = 0; r < 8; r++) {
      const irq = (this.s.lowestPriority + 1 + r) & 7;
      if (mask & (1 << irq)) return irq;
    }
    return -1;
  }

  /** The IR the chip would present at the next INTA, or -1 (this is the INT output). */
  pending(): number {
    const s = this.s;
    const req = s.irr & ~s.imr;
    if (req === 0) return -1;
    const irq = this.highest(req);
    let blocking = s.isr;
    // Special mask mode: a level that is both in service and masked stops inhibiting others.
    if (s.specialMask) blocking &= ~s.imr;
    // Special fully nested mode: a slave already in service may still pass up a higher-priority
    // request of its own, so its IR's in-service bit does not block itself (§ "Special Fully Nested Mode").
    if (s.specialFullyNested) blocking &= ~s.icw3;
    const cur = this.highest(blocking);
    if (cur >= 0 && this.rank(cur) <= this.rank(irq)) return -1;
    return irq;
  }

  get int(): boolean {
    return this.pending() >= 0;
  }

  /** Drive IR input `irq` (0..7) to `level`. */
  setInput(irq: number, level: boolean): void {
    const s = this.s;
    const bit = 1 << irq;
    if (level) {
      if ((s.inputs & bit) === 0 || this.isLevel(bit)) s.irr |= bit;
      s.inputs |= bit;
    } else {
      s.inputs &= ~bit;
      // Level mode: the request is the level itself, so it goes away with it. Edge mode keeps
      // the latched request (QEMU and Bochs agree; the data sheet only asks the input to stay
      // high until INTA, or an IR7 spurious vector results).
      if (this.isLevel(bit)) s.irr &= ~bit;
    }
  }

  /**
   * A request from a source that does not share the pin's level (the VMI alarm on IRQ0): latched
   * as a rising edge on its own input would be, whatever level the pin's other driver holds. In
   * level-triggered mode the request is the level, and a pulse that has ended is none.
   */
  pulse(irq: number): void {
    const bit = 1 << irq;
    if (!this.isLevel(bit)) this.s.irr |= bit;
  }

  private isLevel(bit: number): boolean {
    return this.s.levelTriggered || (this.s.elcr & bit) !== 0;
  }

  /**
   * The chip's part of an INTA sequence: the IR it answers for (ISR set, IRR cleared for an
   * edge), or 7 for a spurious request (nothing pending any more: the data sheet's IR7 default,
   * with no ISR bit set).
   */
  acknowledge(): number {
    const s = this.s;
    const irq = this.pending();
    if (irq < 0) return 7;
    const bit = 1 << irq;
    if (!this.isLevel(bit)) s.irr &= ~bit;
    if (!s.autoEoi) s.isr |= bit;
    else if (s.rotateOnAutoEoi) s.lowestPriority = irq;
    return irq;
  }

  read(offset: number, _width: AccessWidth): number {
    const s = this.s;
    if (offset & 1) return s.imr;
    if (s.poll) {
      // Poll command (OCW3 P): this read is the INTA; the byte says whether and which (§ "The Poll Command").
      s.poll = false;
      const has = this.int;
      const irq = has ? this.onPoll(this) : 0;
      this.changed();
      return has ? 0x80 | irq : 0;
    }
    return s.readIsr ? s.isr : s.irr;
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    const s = this.s;
    value &= 0xff;
    if ((offset & 1) === 0) {
      if (value & 0x10) this.icw1(value);
      else if (value & 0x08) this.ocw3(value);
      else this.ocw2(value);
    } else {
      switch (s.initStep) {
        case 2:
          s.vectorBase = value & 0xf8;
          s.initStep = s.single ? (s.icw4Needed ? 4 : 0) : 3;
          break;
        case 3:
          s.icw3 = value;
          s.initStep = s.icw4Needed ? 4 : 0;
          break;
        case 4:
          // ICW4: bit 0 µPM (8086 mode; the 8080 call sequence is not modelled), bit 1 AEOI,
          // bits 2–3 buffered mode (no effect on a PC), bit 4 SFNM.
          s.autoEoi = (value & 0x02) !== 0;
          s.specialFullyNested = (value & 0x10) !== 0;
          s.initStep = 0;
          break;
        default:
          s.imr = value; // OCW1
      }
    }
    this.changed();
  }

  /** ICW1 restarts initialization (§ "Initialization Command Words"). */
  private icw1(value: number): void {
    const s = this.s;
    const elcr = s.elcr;
    const inputs = s.inputs;
    this.s = freshState();
    // The sequence resets the edge-sense latches (so a level already high must fall and rise
    // again), clears the IMR, gives IR7 the lowest priority, clears special mask mode, selects
    // the IRR for status reads, and zeroes the ICW4 functions until ICW4 says otherwise.
    this.s.imr = 0;
    this.s.inputs = inputs;
    this.s.elcr = elcr;
    this.s.levelTriggered = (value & 0x08) !== 0;
    this.s.single = (value & 0x02) !== 0;
    this.s.icw4Needed = (value & 0x01) !== 0;
    this.s.initStep = 2;
  }

  private ocw2(value: number): void {
    const s = this.s;
    const level = value & 7;
    switch (value >> 5) {
      case 0b001: // non-specific EOI
        this.eoi(this.highest(s.isr), false);
        break;
      case 0b011: // specific EOI
        this.eoi(level, false);
        break;
      case 0b101: // rotate on non-specific EOI
        this.eoi(this.highest(s.isr), true);
        break;
      case 0b111: // rotate on specific EOI
        this.eoi(level, true);
        break;
      case 0b100:
        s.rotateOnAutoEoi = true;
        break;
      case 0b000:
        s.rotateOnAutoEoi = false;
        break;
      case 0b110: // set priority: `level` becomes the lowest
        s.lowestPriority = level;
        break;
      default: // 0b010: no operation
    }
  }

  private eoi(irq: number, rotate: boolean): void {
    if (irq < 0) return;
    this.s.isr &= ~(1 << irq);
    if (rotate) this.s.lowestPriority = irq;
  }

  private ocw3(value: number): void {
    const s = this.s;
    if (value & 0x40) s.specialMask = (value & 0x20) !== 0; // ESMM gates SMM
    if (value & 0x04) s.poll = true;
    if (value & 0x02) s.readIsr = (value & 0x01) !== 0; // RR gates RIS
  }

  save(): Pic8259State {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, freshState(), state);
  }
}

/**
 * The PIIX edge/level control registers (ports 0x4D0/0x4D1 on a PC): one bit per IRQ, 1 = level
 * triggered. IRQ 0, 1, 2, 8 and 13 are always edge triggered, so their bits read as 0.
 */
export class Elcr implements PortDevice {
  readonly name = "ELCR";
  readonly portCount = 2;
  readonly widths = WIDTH_8;
  private static readonly WRITABLE = [0xf8, 0xde];

  constructor(
    private readonly chips: readonly [Pic8259, Pic8259],
    private readonly changed: () => void,
  ) {}

  reset(): void {
    for (const c of this.chips) c.s.elcr = 0;
  }

  read(offset: number, _width: AccessWidth): number {
    return this.chips[offset & 1].s.elcr;
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    const chip = this.chips[offset & 1];
    chip.s.elcr = value & Elcr.WRITABLE[offset & 1];
    // A level-triggered input's request is its level: bring the IRR in line at once.
    chip.s.irr = (chip.s.irr & ~chip.s.elcr) | (chip.s.inputs & chip.s.elcr);
    this.changed();
  }

  save(): number[] {
    return this.chips.map((c) => c.s.elcr);
  }

  restore(_state: unknown): void {
    // The ELCR bits live in each chip's state and come back with DualPic8259.restore().
  }
}

export interface DualPic8259State {
  master: Pic8259State;
  slave: Pic8259State;
}

/**
 * The two chips as a PC/AT wires them: IRQ 0–7 on the master, 8–15 on the slave, the slave's INT
 * on the master's IR2, the master's INT on the CPU's INTR (the `intr` callback, called whenever
 * the level may have changed).
 */
export class DualPic8259 {
  readonly name = "8259A PIC pair";
  readonly master: Pic8259;
  readonly slave: Pic8259;
  readonly elcr: Elcr;
  private readonly lines: IrqLine[];

  constructor(private readonly intr: (level: boolean) => void) {
    const changed = () => this.update();
    this.master = new Pic8259("8259A PIC (master)", changed, () => this.acknowledgeIrq());
    this.slave = new Pic8259("8259A PIC (slave)", changed);
    this.elcr = new Elcr([this.master, this.slave], changed);
    this.lines = Array.from({ length: 16 }, (_, irq) => (level: boolean) => this.setIrq(irq, level));
    this.reset();
  }

  /**
   * There is no reset pin on an 8259A; this is the state a PC BIOS leaves (master at vector 8,
   * slave at 0x70, cascaded on IR2, 8086 mode), with every IRQ masked because no BIOS installed
   * handlers here. Guests program the pair themselves (Linux, our test guests).
   */
  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.master.s.vectorBase = 0x08;
    this.master.s.icw3 = 1 << CASCADE_IRQ;
    this.slave.s.vectorBase = 0x70;
    this.slave.s.icw3 = CASCADE_IRQ;
    this.update();
  }

  /** The interrupt line of ISA IRQ `irq` (0..15), for a device's constructor. */
  line(irq: number): IrqLine {
    return this.lines[irq & 15];
  }

  /**
   * Drive ISA IRQ `irq` (0..15) to `level`. IRQ 2 does not reach the master's IR2 (that is the
   * cascade): on the AT bus the IRQ2 pin is wired to the slave's IR1, i.e. IRQ 9.
   */
  setIrq(irq: number, level: boolean): void {
    const pin = this.pin(irq);
    pin.chip.setInput(pin.input, level);
    this.update();
  }

  /** An edge on ISA IRQ `irq` from a second source beside the pin's own driver (Pic8259.pulse). */
  pulseIrq(irq: number): void {
    const pin = this.pin(irq);
    pin.chip.pulse(pin.input);
    this.update();
  }

  /** The chip input ISA IRQ `irq` (0..15) reaches. */
  private pin(irq: number): { chip: Pic8259; input: number } {
    irq &= 15;
    if (irq === CASCADE_IRQ) irq = 9;
    return irq < 8 ? { chip: this.master, input: irq } : { chip: this.slave, input: irq - 8 };
  }

  /** The CPU's INTR input: the master's INT output. */
  get int(): boolean {
    return this.master.int;
  }

  /**
   * The INTA cycle: the vector of the highest-priority request, with the ISR/IRR updates of both
   * chips. A spurious request (withdrawn before INTA) yields the IR7 vector of the chip that
   * answered, with no ISR bit set, as the data sheet says.
   */
  acknowledge(): number {
    const m = this.master;
    const irq = m.acknowledge();
    let vector: number;
    if (!m.s.single && (m.s.icw3 & (1 << irq)) !== 0) {
      // Cascade: the master puts the slave's ID on CAS0–2; the slave whose ICW3 ID matches
      // supplies the vector. Nothing answering leaves the data bus floating.
      vector = (this.slave.s.icw3 & 7) === irq ? this.slave.s.vectorBase + this.slave.acknowledge() : 0xff;
      // The slave's INT falls during the INTA sequence; if it still has a request to pass up,
      // that is a new rising edge on the master's IR2.
      m.s.inputs &= ~(1 << CASCADE_IRQ);
    } else {
      vector = m.s.vectorBase + irq;
    }
    this.update();
    return vector;
  }

  /** The master's poll read: like INTA, but the answer is an IR number (through the cascade). */
  private acknowledgeIrq(): number {
    const irq = this.master.acknowledge();
    if (!this.master.s.single && (this.master.s.icw3 & (1 << irq)) !== 0) this.slave.acknowledge();
    return irq;
  }

  private update(): void {
    this.master.setInput(CASCADE_IRQ, this.slave.int);
    this.intr(this.master.int);
  }

  save(): DualPic8259State {
    return { master: this.master.save(), slave: this.slave.save() };
  }

  restore(state: unknown): void {
    const fresh = { master: copyState(this.master.s), slave: copyState(this.slave.s) };
    const s = checkedState(this.name, fresh, state);
    this.master.restore(s.master);
    this.slave.restore(s.slave);
    this.update();
  }
}
