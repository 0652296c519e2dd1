// Intel 8254 programmable interval timer (data sheet order no. 231164): three 16-bit down
// counters clocked at 1.193182 MHz, ports 0–2 (counters) and 3 (control word). On the PC,
// counter 0 drives IRQ0, counter 1 once paced DRAM refresh, counter 2 feeds the speaker and its
// gate and OUT are seen through system control port B (0x61, system-control.ts).
//
// Nothing here steps per clock: each counter remembers the input-clock tick at which its
// current count was loaded, and its value, OUT level and next rising edge of OUT are computed
// from the tick count at the moment they are needed. The machine asks for the next deadline
// (the next rising edge of counter 0's OUT) and calls tick() once it has passed.

import {
  type AccessWidth,
  type DeadlineChanged,
  type IrqLine,
  type PortDevice,
  type TimeSource,
  type TimedDevice,
  WIDTH_8,
  checkedState,
  copyState,
  noDeadlineChange,
} from "./device.js";

export const PIT_HZ = 1193182;

/** Input-clock ticks elapsed by virtual time `ns` (monotonic in ns). */
export function pitTicks(ns: number): number {
  return Math.floor((ns * PIT_HZ) / 1e9);
}

/** The earliest virtual ns at which pitTicks() reaches `tick`. */
export function pitTickStart(tick: number): number {
  let ns = Math.ceil((tick * 1e9) / PIT_HZ);
  while (pitTicks(ns) < tick) ns++;
  while (ns > 0 && pitTicks(ns - 1) >= tick) ns--;
  return ns;
}

/** Access modes of the control word's RW bits (§ "Control Word Format"). */
const RW_LATCH = 0;
const RW_LSB = 1;
const RW_MSB = 2;
const RW_LSB_MSB = 3;

export interface Pit8254CounterState {
  mode: number;
  rw: number;
  bcd: boolean;
  /** Has a count been written since the control word (otherwise the counter does not count)? */
  hasCount: boolean;
  /** LSB-then-MSB write: the LSB has been written and the MSB is next. */
  writeMsbNext: boolean;
  /** The LSB held while waiting for the MSB. */
  writeLsb: number;
  /** LSB-then-MSB read of the live count: the MSB is next. */
  readMsbNext: boolean;
  /** Output latch: a latched count (-1 none), and whether its MSB is the next byte read. */
  latch: number;
  latchMsbNext: boolean;
  /** A latched status byte (-1 none); read before a latched count. */
  status: number;
  gate: boolean;
  /** Counting: the CE holds `n` at input tick `start` and counts from there. */
  counting: boolean;
  start: number;
  n: number;
  /** One-shot modes: the terminal-count event of this countdown is still ahead. */
  armed: boolean;
  /** Modes 2 and 3: a count written while counting takes effect at `pendingStart` (-1 none). */
  pendingStart: number;
  pendingN: number;
  /** Value and OUT while not counting. */
  frozen: number;
  outFrozen: boolean;
}

export interface Pit8254State {
  counters: Pit8254CounterState[];
  /** The input tick up to which counter 0's OUT edges have been delivered to IRQ0. */
  lastTick: number;
}

function freshCounter(): Pit8254CounterState {
  return {
    mode: 0,
    rw: RW_LSB_MSB,
    bcd: false,
    hasCount: false,
    writeMsbNext: false,
    writeLsb: 0,
    readMsbNext: false,
    latch: -1,
    latchMsbNext: false,
    status: -1,
    gate: true,
    counting: false,
    start: 0,
    n: 0,
    armed: false,
    pendingStart: -1,
    pendingN: 0,
    frozen: 0,
    outFrozen: false,
  };
}

export class Pit8254 implements PortDevice, TimedDevice {
  readonly name = "8254 PIT";
  readonly portCount = 4;
  readonly widths = WIDTH_8;
  s: Pit8254State = { counters: [freshCounter(), freshCounter(), freshCounter()], lastTick: 0 };

  constructor(
    private readonly clock: TimeSource,
    /** Counter 0's OUT (IRQ0 on a PC). */
    private readonly irq0: IrqLine,
    private readonly deadlineChanged: DeadlineChanged = noDeadlineChange,
  ) {
    this.reset();
  }

  /**
   * The 8254 has no reset pin: this is what a PC BIOS leaves. Counter 0 in mode 3 with count
   * 0 (65536: 18.2 Hz), counter 1 in mode 2 with count 18 (the 15 µs refresh), counter 2
   * unprogrammed with its gate low (port 0x61 bit 0 is 0 after reset). Counter 0's OUT (high)
   * goes on IRQ0, as every device drives its line from reset.
   */
  reset(): void {
    this.s = { counters: [freshCounter(), freshCounter(), freshCounter()], lastTick: pitTicks(this.clock.now()) };
    const now = this.s.lastTick;
    this.controlWord(0x36, now);
    this.writeCounter(0, 0, now);
    this.writeCounter(0, 0, now);
    this.controlWord(0x54, now);
    this.writeCounter(1, 18, now);
    this.s.counters[2].gate = false;
    this.driveIrq0(now);
    this.deadlineChanged();
  }

  // ---- the counter arithmetic --------------------------------------------------------------

  private modulus(c: Pit8254CounterState): number {
    return c.bcd ? 10000 : 0x10000;
  }

  /** The period of a count: 0 means the largest count (§ "Counter Loading"). */
  private period(c: Pit8254CounterState, n: number): number {
    return n === 0 ? this.modulus(c) : n;
  }

  /** Apply a deferred reload (modes 2 and 3) whose time has come. */
  private settle(c: Pit8254CounterState, t: number): void {
    if (c.pendingStart >= 0 && t >= c.pendingStart) {
      c.start = c.pendingStart;
      c.n = c.pendingN;
      c.pendingStart = -1;
    }
  }

  /** The count in the counting element at input tick `t`. */
  private value(c: Pit8254CounterState, t: number): number {
    this.settle(c, t);
    if (!c.counting || t < c.start) return c.frozen;
    const e = t - c.start;
    const m = this.modulus(c);
    switch (c.mode) {
      case 2: {
        const p = this.period(c, c.n);
        return (p - (e % p)) % m;
      }
      case 3: {
        // Square wave: the count drops by two per clock through each half period (§ "Mode 3").
        const p = this.period(c, c.n);
        const high = (p + 1) >> 1;
        const r = e % p;
        return ((p & ~1) - 2 * (r < high ? r : r - high) + m) % m;
      }
      default: // modes 0, 1, 4, 5 count down and wrap
        return (((c.n - e) % m) + m) % m;
    }
  }

  /** The OUT pin at input tick `t`. */
  private outAt(c: Pit8254CounterState, t: number): boolean {
    this.settle(c, t);
    if (!c.counting || t < c.start) return c.outFrozen;
    const e = t - c.start;
    const p = this.period(c, c.n);
    switch (c.mode) {
      case 0:
      case 1:
        return !c.armed || e >= p;
      case 2:
        return e % p !== p - 1;
      case 3:
        return e % p < (p + 1) >> 1;
      default: // 4, 5: one clock low when the count reaches zero
        return !(c.armed && e === p);
    }
  }

  /** The first input tick after `t` at which OUT rises, or -1. */
  private nextRise(c: Pit8254CounterState, t: number): number {
    this.settle(c, t);
    if (!c.counting) return -1;
    const p = this.period(c, c.n);
    switch (c.mode) {
      case 0:
      case 1:
        return c.armed && c.start + p > t ? c.start + p : -1;
      case 4:
      case 5:
        return c.armed && c.start + p + 1 > t ? c.start + p + 1 : -1;
      default: {
        const k = t < c.start ? 1 : Math.floor((t - c.start) / p) + 1;
        const rise = c.start + k * p;
        return c.pendingStart >= 0 && c.pendingStart < rise ? c.pendingStart : rise;
      }
    }
  }

  /** Start counting `n` at tick `t` (the CE is loaded on the CLK pulse after the write). */
  private load(c: Pit8254CounterState, n: number, t: number): void {
    c.counting = true;
    c.start = t;
    c.n = n;
    c.armed = true;
    c.pendingStart = -1;
  }

  private stop(c: Pit8254CounterState, t: number): void {
    c.frozen = this.value(c, t);
    c.outFrozen = this.outAt(c, t);
    if (c.counting && t >= c.start) {
      // Remember whether this countdown's terminal-count event is behind it.
      const e = t - c.start;
      const p = this.period(c, c.n);
      if (c.mode === 0 || c.mode === 1 ? e >= p : e > p) c.armed = false;
    }
    c.counting = false;
    c.pendingStart = -1;
  }

  // ---- programming -------------------------------------------------------------------------

  private controlWord(v: number, t: number): void {
    const sel = v >> 6;
    if (sel === 3) {
      this.readBack(v, t);
      return;
    }
    const c = this.s.counters[sel];
    const rw = (v >> 4) & 3;
    if (rw === RW_LATCH) {
      // Counter latch command: a second latch before the count is read is ignored.
      if (c.latch < 0) {
        c.latch = this.value(c, t);
        c.latchMsbNext = c.rw === RW_MSB;
      }
      return;
    }
    // A control word resets the counter's logic and sets OUT to the mode's initial state
    // (low in mode 0, high in the others); counting waits for a new count.
    c.rw = rw;
    c.mode = (v >> 1) & 7;
    if (c.mode > 5) c.mode -= 4; // x10 = mode 2, x11 = mode 3
    c.bcd = (v & 1) !== 0;
    c.hasCount = false;
    c.writeMsbNext = false;
    c.readMsbNext = false;
    c.latch = -1;
    c.status = -1;
    c.frozen = this.value(c, t);
    c.counting = false;
    c.pendingStart = -1;
    c.outFrozen = c.mode !== 0;
  }

  /** Read-back command (§ "Read-Back Command"): bits 5/4 are active-low COUNT/STATUS. */
  private readBack(v: number, t: number): void {
    for (let i = 0; i < 3; i++) {
      if ((v & (2 << i)) === 0) continue;
      const c = this.s.counters[i];
      if ((v & 0x10) === 0 && c.status < 0) {
        const nullCount = !c.hasCount || (c.counting && t < c.start) || (c.pendingStart >= 0 && t < c.pendingStart);
        c.status = (this.outAt(c, t) ? 0x80 : 0) | (nullCount ? 0x40 : 0) | (c.rw << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
      }
      if ((v & 0x20) === 0 && c.latch < 0) {
        c.latch = this.value(c, t);
        c.latchMsbNext = c.rw === RW_MSB;
      }
    }
  }

  private writeCounter(i: number, byte: number, t: number): void {
    const c = this.s.counters[i];
    let n: number;
    switch (c.rw) {
      case RW_LSB:
        n = byte;
        break;
      case RW_MSB:
        n = byte << 8;
        break;
      default:
        if (!c.writeMsbNext) {
          c.writeLsb = byte;
          c.writeMsbNext = true;
          // Mode 0: writing the first byte stops the count (§ "Mode 0").
          if (c.mode === 0 && c.counting) this.stop(c, t);
          return;
        }
        c.writeMsbNext = false;
        n = c.writeLsb | (byte << 8);
    }
    if (c.bcd) n = fromBcd(n);
    const first = !c.hasCount;
    c.hasCount = true;
    const at = t + 1;
    switch (c.mode) {
      case 0:
      case 4:
        c.outFrozen = c.mode === 4;
        if (c.gate) this.load(c, n, at);
        else {
          c.counting = false;
          c.frozen = n;
          c.n = n;
          c.armed = true;
        }
        break;
      case 1:
      case 5:
        // Hardware-triggered: the count waits for a rising edge of GATE.
        c.n = n;
        if (first) c.frozen = n;
        break;
      default: // 2, 3
        if (first || !c.counting) {
          c.n = n;
          if (c.gate) this.load(c, n, at);
          else c.frozen = n;
        } else {
          // A new count while counting is loaded at the end of the current cycle (§ "Mode 2").
          this.settle(c, t);
          const p = this.period(c, c.n);
          const k = t < c.start ? 1 : Math.floor((t - c.start) / p) + 1;
          c.pendingStart = c.start + k * p;
          c.pendingN = n;
        }
    }
    if (i === 0) this.deadlineChanged();
  }

  private readCounter(i: number, t: number): number {
    const c = this.s.counters[i];
    if (c.status >= 0) {
      const st = c.status;
      c.status = -1;
      return st;
    }
    if (c.latch >= 0) {
      const v = c.bcd ? toBcd(c.latch) : c.latch;
      if (c.rw === RW_LSB_MSB && !c.latchMsbNext) {
        c.latchMsbNext = true;
        return v & 0xff;
      }
      c.latch = -1;
      return c.rw === RW_LSB ? v & 0xff : (v >> 8) & 0xff;
    }
    const raw = this.value(c, t);
    const v = c.bcd ? toBcd(raw) : raw;
    switch (c.rw) {
      case RW_LSB:
        return v & 0xff;
      case RW_MSB:
        return (v >> 8) & 0xff;
      default:
        c.readMsbNext = !c.readMsbNext;
        return c.readMsbNext ? v & 0xff : (v >> 8) & 0xff;
    }
  }

  // ---- PortDevice --------------------------------------------------------------------------

  read(offset: number, _width: AccessWidth): number {
    if (offset >= 3) return 0xff; // the control word register cannot be read (bus floats)
    return this.readCounter(offset, pitTicks(this.clock.now()));
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    const t = pitTicks(this.clock.now());
    if (offset >= 3) {
      this.controlWord(value & 0xff, t);
      // Only a new mode for counter 0 can move IRQ0; latch commands (polled often) cannot. The
      // new mode's OUT is on the pin at once: high (a rising edge if it was low) but in mode 0.
      if ((value & 0xc0) === 0 && (value & 0x30) !== 0) {
        this.driveIrq0(t);
        this.deadlineChanged();
      }
    } else this.writeCounter(offset, value & 0xff, t);
  }

  // ---- gates and outputs (counter 2 through port 0x61) -------------------------------------

  /** Drive counter `i`'s GATE input (§ "Gate" table: modes 0/4 pause, 1/5 trigger, 2/3 restart). */
  setGate(i: number, level: boolean): void {
    const c = this.s.counters[i];
    if (c.gate === level) return;
    const t = pitTicks(this.clock.now());
    c.gate = level;
    if (!level) {
      if (c.counting && c.mode !== 1 && c.mode !== 5) this.stop(c, t);
      if (c.mode === 2 || c.mode === 3) c.outFrozen = true;
    } else if (c.hasCount) {
      switch (c.mode) {
        case 0:
        case 4: {
          // Resume from where the count stood; a terminal count already passed stays passed.
          const armed = c.armed;
          this.load(c, c.frozen, t + 1);
          c.armed = armed;
          break;
        }
        default: // 1, 5 trigger; 2, 3 reload and start over
          this.load(c, c.n, t + 1);
      }
    }
    if (i === 0) this.deadlineChanged();
  }

  gate(i: number): boolean {
    return this.s.counters[i].gate;
  }

  /** Counter `i`'s OUT pin now. */
  out(i: number): boolean {
    return this.outAt(this.s.counters[i], pitTicks(this.clock.now()));
  }

  // ---- TimedDevice -------------------------------------------------------------------------

  nextDeadline(now: number): number {
    const c = this.s.counters[0];
    const rise = this.nextRise(c, this.s.lastTick);
    if (rise < 0) return Infinity;
    const at = pitTickStart(rise);
    return at > now ? at : now;
  }

  tick(now: number): void {
    const t = pitTicks(now);
    if (t <= this.s.lastTick) return;
    const c = this.s.counters[0];
    const rise = this.nextRise(c, this.s.lastTick);
    this.s.lastTick = t;
    if (rise < 0 || rise > t) return;
    // One rising edge however many periods passed: the PIC's request latch is one bit.
    this.irq0(false);
    this.irq0(true);
    this.driveIrq0(t);
  }

  /** Put counter 0's OUT at tick `t` on IRQ0. */
  private driveIrq0(t: number): void {
    this.irq0(this.outAt(this.s.counters[0], t));
  }

  save(): Pit8254State {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, { counters: [freshCounter(), freshCounter(), freshCounter()], lastTick: 0 }, state);
    this.deadlineChanged();
  }
}

function fromBcd(n: number): number {
  // Digits above 9 are not valid BCD; the counter still counts them as its decade logic
  // would, which we approximate by clamping each digit.
  let v = 0;
  for (let shift = 12; shift >= 0; shift -= 4) v = v * 10 + Math.min((n >> shift) & 0xf, 9);
  return v;
}

function toBcd(v: number): number {
  return (v % 10) | (Math.floor(v / 10) % 10 << 4) | (Math.floor(v / 100) % 10 << 8) | (Math.floor(v / 1000) % 10 << 12);
}
