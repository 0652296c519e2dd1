// Motorola MC146818A real-time clock with 128 bytes of CMOS RAM, as on the IBM PC AT: port 0
// (0x70) selects a register (bit 7 of the index masks NMI on the AT), port 1 (0x71) reads or
// writes it. Registers 0x00–0x09 are the time of day, calendar and alarm (MC146818A data sheet,
// "Address Map"), 0x0A–0x0D the control and status registers A–D, and 0x0E–0x7F battery-backed
// RAM whose layout (memory sizes, equipment byte, century at 0x32) is the IBM AT BIOS's
// (IBM PC AT Technical Reference, "CMOS RAM Address Map").
//
// Nothing here steps per clock. The time of day is the epoch-milliseconds source given at
// construction plus an offset the guest sets by writing the time registers, so the device never
// reads the wall clock itself; the machine passes a fixed epoch plus virtual time (deterministic
// mode) or the host's clock (real time). The periodic interrupt runs off the 32.768 kHz time
// base counted in virtual time. Flags are brought up to date when register A or C is read and at
// the deadlines the machine asks for (only while an interrupt they could raise is enabled).

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

/** The time base (MC146818A: 32.768 kHz crystal with divider bits DV2–0 = 010). */
export const RTC_BASE_HZ = 32768;

/** Register numbers (data sheet "Address Map"). */
export const RTC_SECONDS = 0x00;
export const RTC_SECONDS_ALARM = 0x01;
export const RTC_MINUTES = 0x02;
export const RTC_MINUTES_ALARM = 0x03;
export const RTC_HOURS = 0x04;
export const RTC_HOURS_ALARM = 0x05;
export const RTC_DAY_OF_WEEK = 0x06;
export const RTC_DAY_OF_MONTH = 0x07;
export const RTC_MONTH = 0x08;
export const RTC_YEAR = 0x09;
export const RTC_REG_A = 0x0a;
export const RTC_REG_B = 0x0b;
export const RTC_REG_C = 0x0c;
export const RTC_REG_D = 0x0d;
/** IBM AT CMOS layout. */
export const CMOS_EQUIPMENT = 0x14;
export const CMOS_BASE_MEM_LO = 0x15;
export const CMOS_EXT_MEM_LO = 0x17;
export const CMOS_CHECKSUM_HI = 0x2e;
export const CMOS_EXT_MEM2_LO = 0x30;
export const CMOS_CENTURY = 0x32;
export const CMOS_HIGH_MEM_LO = 0x34;

/** Register A: update in progress (read-only). */
export const A_UIP = 0x80;
/** Register B bits. */
export const B_SET = 0x80;
export const B_PIE = 0x40;
export const B_AIE = 0x20;
export const B_UIE = 0x10;
export const B_SQWE = 0x08;
export const B_DM = 0x04; // 1 = binary, 0 = BCD
export const B_24H = 0x02;
export const B_DSE = 0x01;
/** Register C bits (read-only, cleared by reading C). */
export const C_IRQF = 0x80;
export const C_PF = 0x40;
export const C_AF = 0x20;
export const C_UF = 0x10;
/** Register D: valid RAM and time (the battery is good). */
export const D_VRT = 0x80;

/**
 * UIP is high for 244 µs before each update cycle (data sheet, "Update Cycle"): a read that sees
 * UIP = 0 has at least that long before the time registers change.
 */
const UIP_LEAD_MS = 0.244;

/** 2026-01-01 00:00:00 UTC: the date a deterministic machine starts at. */
export const DETERMINISTIC_EPOCH_MS = Date.UTC(2026, 0, 1, 0, 0, 0);

/** Decoded time-of-day fields, all binary: sec, min, hour (0–23), dow (1 = Sunday), day, month, year (0–99), century. */
type Fields = [number, number, number, number, number, number, number, number];
const F_SEC = 0;
const F_MIN = 1;
const F_HOUR = 2;
const F_DOW = 3;
const F_DAY = 4;
const F_MONTH = 5;
const F_YEAR = 6;
const F_CENTURY = 7;

export interface CmosRtcState {
  /** The register the next data-port access reaches (index port bits 6–0). */
  index: number;
  /** Index port bit 7: NMI masked (the AT's NMI gate; remembered only, we raise no NMI). */
  nmiMasked: boolean;
  /** Registers 0x00–0x7F. The time registers' entries are unused (computed); A, B and the alarms live here. */
  ram: number[];
  /** Register C's flags (PF, AF, UF); IRQF is derived. */
  flags: number;
  /** Guest time minus the epoch source, in ms (set by writing the time registers). */
  offsetMs: number;
  /** While SET is 1: the time registers as the guest sees and writes them (Fields). */
  held: number[];
  /** The guest-time second of the last update cycle whose flags have been raised. */
  lastUpdateSec: number;
  /** The periodic-interrupt period number (time-base ticks / period) last flagged. */
  lastPeriod: number;
  /** The level the IRQ output is driven at (IRQF). */
  irqLevel: boolean;
}

function bcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | v % 10;
}

function unbcd(v: number): number {
  return (v >> 4) * 10 + (v & 0x0f);
}

/** Time-base ticks (32.768 kHz) at virtual time `ns`. */
function baseTicks(ns: number): number {
  return Math.floor((ns * RTC_BASE_HZ) / 1e9);
}

/** The earliest virtual ns at which baseTicks() reaches `tick`. */
function baseTickStart(tick: number): number {
  let ns = Math.ceil((tick * 1e9) / RTC_BASE_HZ);
  while (baseTicks(ns) < tick) ns++;
  return ns;
}

/**
 * Periodic interrupt period in time-base ticks for rate select RS3–0 (data sheet Table
 * "Periodic Interrupt Rate and Square-Wave Output Frequency", 32.768 kHz time base): 0 = none,
 * 1 and 2 = 3.90625 ms and 7.8125 ms, 3..15 = 122.070 µs doubling up to 500 ms.
 */
export function periodicTicks(rs: number): number {
  rs &= 0x0f;
  if (rs === 0) return 0;
  if (rs <= 2) return 1 << (rs + 6);
  return 1 << (rs - 1);
}

/** The last second fieldsAt converted: a guest polling the clock asks for the same one often. */
let lastSec = NaN;
let lastFields: Fields = [0, 0, 0, 0, 0, 0, 0, 0];

function fieldsAt(sec: number): Fields {
  if (sec !== lastSec) {
    const d = new Date(sec * 1000);
    const y = d.getUTCFullYear();
    lastFields = [d.getUTCSeconds(), d.getUTCMinutes(), d.getUTCHours(), d.getUTCDay() + 1, d.getUTCDate(), d.getUTCMonth() + 1, y % 100, Math.floor(y / 100)];
    lastSec = sec;
  }
  return lastFields.slice() as Fields;
}

function secondsOf(f: number[]): number {
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, takes years below 100 literally.
  d.setUTCFullYear(f[F_CENTURY] * 100 + f[F_YEAR], f[F_MONTH] - 1, f[F_DAY]);
  d.setUTCHours(f[F_HOUR], f[F_MIN], f[F_SEC], 0);
  return Math.floor(d.getTime() / 1000);
}

export interface CmosRtcOptions {
  /** Bytes of guest RAM: sets the memory-size bytes. */
  memSize: number;
  /** Guest date and time as epoch milliseconds (UTC): the device never reads the host clock itself. */
  epochMs: () => number;
}

export class CmosRtc implements PortDevice, TimedDevice {
  readonly name = "MC146818 RTC/CMOS";
  readonly portCount = 2;
  readonly widths = WIDTH_8;
  s: CmosRtcState;
  private readonly epochMs: () => number;
  private readonly memSize: number;

  constructor(
    private readonly clock: TimeSource,
    /** IRQ8 on the PC AT (the slave PIC's IR0). */
    private readonly irq: IrqLine,
    opts: CmosRtcOptions,
    private readonly deadlineChanged: DeadlineChanged = noDeadlineChange,
  ) {
    this.epochMs = opts.epochMs;
    this.memSize = opts.memSize;
    this.s = this.powerOn();
  }

  /**
   * Battery-backed state as an AT BIOS leaves it: divider running at 32.768 kHz with the
   * 1.024 kHz periodic rate (A = 0x26), 24-hour BCD mode (B = 0x02), memory sizes and the
   * equipment byte filled in, checksum over 0x10–0x2D (IBM AT TR) valid.
   */
  private powerOn(): CmosRtcState {
    const ram = new Array<number>(128).fill(0);
    ram[RTC_REG_A] = 0x26;
    ram[RTC_REG_B] = B_24H;
    // Equipment byte (IBM AT TR): bit 1 math coprocessor present; no diskette drives; display
    // bits 5–4 = 00, an adapter with its own BIOS.
    ram[CMOS_EQUIPMENT] = 0x02;
    const put16 = (at: number, v: number) => {
      ram[at] = v & 0xff;
      ram[at + 1] = (v >> 8) & 0xff;
    };
    put16(CMOS_BASE_MEM_LO, 640);
    const extKiB = Math.min(Math.max(0, Math.floor((this.memSize - 0x100000) / 1024)), 0xffff);
    put16(CMOS_EXT_MEM_LO, extKiB);
    put16(CMOS_EXT_MEM2_LO, extKiB);
    put16(CMOS_HIGH_MEM_LO, Math.min(Math.max(0, Math.floor((this.memSize - 0x1000000) / 0x10000)), 0xffff));
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += ram[i];
    // The checksum is stored high byte first: 0x2E high, 0x2F low (IBM AT TR).
    ram[CMOS_CHECKSUM_HI] = (sum >> 8) & 0xff;
    ram[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
    const now = this.clock.now();
    const p = periodicTicks(ram[RTC_REG_A]);
    return {
      index: 0,
      nmiMasked: false,
      ram,
      flags: 0,
      offsetMs: 0,
      held: [0, 0, 0, 1, 1, 1, 0, 0],
      lastUpdateSec: Math.floor(this.epochMs() / 1000),
      lastPeriod: p ? Math.floor(baseTicks(now) / p) : 0,
      irqLevel: false,
    };
  }

  /**
   * The RESET pin (data sheet "RESET"): clears PIE, AIE, UIE, SQWE and the IRQF, PF, AF, UF
   * flags; the time, the other control bits and the RAM are unaffected.
   */
  reset(): void {
    this.s.ram[RTC_REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
    this.s.flags = 0;
    this.updateIrq();
    this.deadlineChanged();
  }

  // ---- time of day ---------------------------------------------------------------------------

  /** Guest time in epoch ms (ignores SET). */
  private guestMs(): number {
    return this.epochMs() + this.s.offsetMs;
  }

  private get setMode(): boolean {
    return (this.s.ram[RTC_REG_B] & B_SET) !== 0;
  }

  /** The time registers' values now (decoded). */
  private fields(): Fields {
    if (this.setMode) return this.s.held.slice() as Fields;
    return fieldsAt(Math.floor(this.guestMs() / 1000));
  }

  /** Make `f` the guest's time, starting at the beginning of its second. */
  private setTime(f: number[]): void {
    const sec = secondsOf(f);
    this.s.offsetMs = sec * 1000 - this.epochMs();
    this.s.lastUpdateSec = sec;
  }

  private encode(field: number, v: number): number {
    const b = this.s.ram[RTC_REG_B];
    const binary = (b & B_DM) !== 0;
    if (field === F_HOUR && (b & B_24H) === 0) {
      // 12-hour mode: 1–12 with bit 7 set for PM (data sheet "Address Map" table).
      const pm = v >= 12 ? 0x80 : 0;
      const h = v % 12 === 0 ? 12 : v % 12;
      return (binary ? h : bcd(h)) | pm;
    }
    return binary ? v : bcd(v);
  }

  private decode(field: number, v: number): number {
    const b = this.s.ram[RTC_REG_B];
    const dec = (x: number) => ((b & B_DM) !== 0 ? x : unbcd(x));
    if (field === F_HOUR && (b & B_24H) === 0) {
      const h = dec(v & 0x7f) % 12;
      return (v & 0x80) !== 0 ? h + 12 : h;
    }
    return dec(v);
  }

  /** The Fields index of a time register, or -1. */
  private static fieldOf(reg: number): number {
    switch (reg) {
      case RTC_SECONDS:
        return F_SEC;
      case RTC_MINUTES:
        return F_MIN;
      case RTC_HOURS:
        return F_HOUR;
      case RTC_DAY_OF_WEEK:
        return F_DOW;
      case RTC_DAY_OF_MONTH:
        return F_DAY;
      case RTC_MONTH:
        return F_MONTH;
      case RTC_YEAR:
        return F_YEAR;
      case CMOS_CENTURY:
        return F_CENTURY;
      default:
        return -1;
    }
  }

  // ---- flags and the interrupt ---------------------------------------------------------------

  /** Raise the flags of every update cycle and periodic edge up to virtual time `now`. */
  private catchUp(now: number): void {
    const s = this.s;
    if (!this.setMode) {
      // Update cycles happen once a second while SET = 0 (data sheet "Update Cycle"); UF is set
      // at the end of each, and AF when the new time matches the alarm ("don't care" codes
      // 0xC0–0xFF match anything).
      const sec = Math.floor(this.guestMs() / 1000);
      if (sec > s.lastUpdateSec) {
        s.lastUpdateSec = sec;
        s.flags |= C_UF;
        const f = fieldsAt(sec);
        const match = (alarm: number, field: number) => {
          const a = s.ram[alarm];
          return (a & 0xc0) === 0xc0 || a === this.encode(field, f[field]);
        };
        if (match(RTC_SECONDS_ALARM, F_SEC) && match(RTC_MINUTES_ALARM, F_MIN) && match(RTC_HOURS_ALARM, F_HOUR)) s.flags |= C_AF;
      }
    }
    // PF is set at the programmed rate whether or not PIE is set (data sheet "Periodic Interrupt").
    const p = periodicTicks(s.ram[RTC_REG_A]);
    if (p) {
      const k = Math.floor(baseTicks(now) / p);
      if (k > s.lastPeriod) {
        s.lastPeriod = k;
        s.flags |= C_PF;
      }
    }
    this.updateIrq();
  }

  /** IRQF = PF·PIE + AF·AIE + UF·UIE (data sheet "Register C"); the IRQ line follows it. */
  private irqf(): boolean {
    const b = this.s.ram[RTC_REG_B];
    return (this.s.flags & b & (C_PF | C_AF | C_UF)) !== 0;
  }

  private updateIrq(): void {
    const level = this.irqf();
    if (level !== this.s.irqLevel) {
      this.s.irqLevel = level;
      this.irq(level);
    }
  }

  // ---- PortDevice ----------------------------------------------------------------------------

  read(offset: number, _width: AccessWidth): number {
    // The index port is write-only on the AT (IBM AT TR): the bus floats.
    if (offset === 0) return 0xff;
    const s = this.s;
    const reg = s.index;
    switch (reg) {
      case RTC_REG_A: {
        this.catchUp(this.clock.now());
        const ms = this.guestMs();
        const frac = ms - Math.floor(ms / 1000) * 1000;
        const uip = !this.setMode && frac >= 1000 - UIP_LEAD_MS;
        return (s.ram[RTC_REG_A] & 0x7f) | (uip ? A_UIP : 0);
      }
      case RTC_REG_B:
        return s.ram[RTC_REG_B];
      case RTC_REG_C: {
        // Reading C returns the flags and clears them all, dropping IRQ (data sheet "Register C").
        this.catchUp(this.clock.now());
        const v = s.flags | (this.irqf() ? C_IRQF : 0);
        s.flags = 0;
        this.updateIrq();
        if (v !== 0) this.deadlineChanged();
        return v;
      }
      case RTC_REG_D:
        return D_VRT;
    }
    const field = CmosRtc.fieldOf(reg);
    if (field >= 0) return this.encode(field, this.fields()[field]);
    return s.ram[reg];
  }

  write(offset: number, value: number, _width: AccessWidth): void {
    value &= 0xff;
    const s = this.s;
    if (offset === 0) {
      s.index = value & 0x7f;
      s.nmiMasked = (value & 0x80) !== 0;
      return;
    }
    const reg = s.index;
    switch (reg) {
      case RTC_REG_A: {
        // UIP is read-only. A new rate restarts the period count from now.
        this.catchUp(this.clock.now());
        s.ram[RTC_REG_A] = value & 0x7f;
        const p = periodicTicks(value);
        s.lastPeriod = p ? Math.floor(baseTicks(this.clock.now()) / p) : 0;
        this.deadlineChanged();
        return;
      }
      case RTC_REG_B: {
        this.catchUp(this.clock.now());
        const wasSet = this.setMode;
        // Setting SET clears UIE (data sheet "Register B", UIE).
        if (value & B_SET) value &= ~B_UIE;
        if (!wasSet && (value & B_SET) !== 0) s.held = this.fields();
        s.ram[RTC_REG_B] = value;
        // Clearing SET starts the clock from the time the guest wrote.
        if (wasSet && (value & B_SET) === 0) this.setTime(s.held);
        this.updateIrq();
        this.deadlineChanged();
        return;
      }
      case RTC_REG_C:
      case RTC_REG_D:
        return; // read-only
    }
    const field = CmosRtc.fieldOf(reg);
    if (field >= 0) {
      if (field === F_CENTURY) s.ram[reg] = value;
      const v = this.decode(field, value);
      if (this.setMode) {
        s.held[field] = v;
      } else {
        this.catchUp(this.clock.now());
        const f = this.fields();
        f[field] = v;
        this.setTime(f);
        this.deadlineChanged();
      }
      return;
    }
    s.ram[reg] = value;
  }

  /** Index port bit 7 as the guest last wrote it. */
  get nmiMasked(): boolean {
    return this.s.nmiMasked;
  }

  // ---- TimedDevice ---------------------------------------------------------------------------

  nextDeadline(now: number): number {
    const s = this.s;
    // While IRQF is set nothing new can happen on the line until C is read.
    if (s.irqLevel) return Infinity;
    const b = s.ram[RTC_REG_B];
    let next = Infinity;
    const p = periodicTicks(s.ram[RTC_REG_A]);
    if ((b & B_PIE) !== 0 && p) next = baseTickStart((s.lastPeriod + 1) * p);
    if ((b & (B_UIE | B_AIE)) !== 0 && (b & B_SET) === 0) {
      const ms = (s.lastUpdateSec + 1) * 1000 - this.guestMs();
      const at = now + Math.max(0, Math.ceil(ms * 1e6)) + 1;
      if (at < next) next = at;
    }
    return next > now ? next : now;
  }

  tick(now: number): void {
    this.catchUp(now);
  }

  save(): CmosRtcState {
    return copyState(this.s);
  }

  restore(state: unknown): void {
    this.s = checkedState(this.name, this.powerOn(), state);
    this.irq(this.s.irqLevel);
    this.deadlineChanged();
  }
}
