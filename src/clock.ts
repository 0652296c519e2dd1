// Virtual time for the machine and its devices, in nanoseconds since the machine was created.
//
// Deterministic mode: time is a function of what the guest has executed: `nsPerInstruction`
// per instruction (default 10 ns: a 100 MIPS machine, close to what the interpreter sustains,
// so guests that calibrate delay loops against the PIT see plausible numbers), plus
// `nsPerPortAccess` per IN/OUT (default 1 µs, an ISA bus cycle: the reason Linux uses OUT to
// port 0x80 as a delay), plus the time skipped while the CPU sat in HLT waiting for the next
// timer. Two runs of the same guest therefore see the same time at every instruction, and so
// the same device behaviour. The port-access term has a second use: the core publishes its
// instruction count only when run() returns, but its port-access counters are live, so a
// guest polling a timer through ports sees time move within a slice.
//
// Real-time mode: wall time, but only while the machine runs (as QEMU's virtual clock stops
// when the VM is paused), so a host that pauses between run() calls does not make the guest's
// timers fire a burst of missed ticks. It runs on while the CPU sits in HLT, and every timer
// the guest sees follows it: the PIT, the RTC, the TSC (REALTIME_TSC_HZ cycles per virtual
// second, read from this clock at each RDTSC) and with it the VMI cycle counter and alarm.
//
// A busy host stops the emulator now and then (the scheduler, a garbage collection, a tier-up)
// for milliseconds, while no guest instruction runs. Passed on as it is, such a stall is a jump
// of time between two of the guest's instructions, which a guest calibrating one clock against
// another takes for an SMI and refuses: Linux's TSC calibration against the PIT then fails,
// time after time, on a loaded host. So while the CPU runs, the clock moves on by the wall time
// since it was last read but by no more than the guest's work allows (REALTIME_MAX_NS_PER_*,
// several times what the interpreter really takes, plus a small carry); what a stall withholds
// is lag, given back while the CPU runs (time then goes REALTIME_CATCH_UP faster). Not while it
// halts: a guest sleeping would wake early by the lag, and on a busy host that is seconds.
// While the CPU is halted the clock follows the wall clock alone.
//
// Nor does the clock pass the next device deadline (setLimit) before the machine has ticked
// that device: a slice that overran its deadline (its instructions took longer than the machine
// guessed) or an idle wait that overslept would otherwise let two timer periods pass with one
// interrupt, and a kernel counting ticks (jiffies) falls behind its TSC and declares the TSC
// unstable. What an idle wait overslept is made up at the next HLT (skipTo jumps up to the
// next timer, which nobody can tell from waiting), or while running like a stall's lag.
//
// This file is the only place that reads the host's clocks (performance.now(), Date.now()).

import type { TimeSource } from "./devices/device.js";

/** Milliseconds of host wall time, for timeouts and statistics (never for guest-visible time). */
export function wallNow(): number {
  return performance.now();
}

export const DEFAULT_NS_PER_INSTRUCTION = 10;
export const DEFAULT_NS_PER_PORT_ACCESS = 1000;
/**
 * Real-time mode: the TSC's nominal rate, 100 MHz, the same as deterministic mode's default
 * (one cycle per 10 ns instruction), so a guest sees one frequency in both modes. What a guest
 * calibrates against the PIT is this figure, however fast the host runs it.
 */
export const REALTIME_TSC_HZ = 1e9 / DEFAULT_NS_PER_INSTRUCTION;
/** Real-time mode: how far each instruction, and each port access, may move the clock at most. */
export const REALTIME_MAX_NS_PER_INSTRUCTION = 20;
export const REALTIME_MAX_NS_PER_PORT_ACCESS = 1000;
/** Real-time mode: allowance left unused at one read that the next may still spend. */
export const REALTIME_CARRY_NS = 2000;
/** Real-time mode: while lagging, the running clock goes this much faster than wall time. */
export const REALTIME_CATCH_UP = 1 / 8;

/** What deterministic time is computed from. */
export interface WorkCounters {
  /** Instructions retired so far. */
  instructions(): number;
  /** IN and OUT instructions executed so far (counted live, as each one happens). */
  portAccesses(): number;
}

export class Clock implements TimeSource {
  readonly deterministic: boolean;
  /** Deterministic mode: virtual ns per retired instruction. */
  readonly nsPerInstruction: number;
  /** Deterministic mode: virtual ns per port access. */
  readonly nsPerPortAccess: number;
  private readonly work: WorkCounters;
  /** Deterministic mode: time skipped in HLT. Real-time mode: virtual time at the last read. */
  private offsetNs = 0;
  /** Real-time mode: wall ms at the last read, or -1 while paused. */
  private lastWallMs = -1;
  /** Real-time mode: the work (workNs) at the last read, and the allowance it left. */
  private lastWorkNs = 0;
  private allowanceNs = 0;
  /** Real-time mode: wall time a stall withheld while running, and an idle wait overslept, not yet given back. */
  private lagNs = 0;
  private overslept = 0;
  /** Real-time mode: the CPU is halted, so the clock is wall time. */
  private idle = false;
  /** Real-time mode: the next device deadline, which the running clock does not pass (setLimit). */
  private limitNs = Infinity;

  private constructor(deterministic: boolean, work: WorkCounters, nsPerInstruction: number, nsPerPortAccess: number) {
    this.deterministic = deterministic;
    this.work = work;
    this.nsPerInstruction = nsPerInstruction;
    this.nsPerPortAccess = nsPerPortAccess;
  }

  /** Time = instructions × nsPerInstruction + port accesses × nsPerPortAccess + time skipped in HLT. */
  static deterministic(
    work: WorkCounters,
    nsPerInstruction = DEFAULT_NS_PER_INSTRUCTION,
    nsPerPortAccess = DEFAULT_NS_PER_PORT_ACCESS,
  ): Clock {
    if (!(nsPerInstruction > 0) || !Number.isFinite(nsPerInstruction)) {
      throw new Error(`nsPerInstruction must be a positive number of nanoseconds, not ${nsPerInstruction}`);
    }
    if (!(nsPerPortAccess >= 0) || !Number.isFinite(nsPerPortAccess)) {
      throw new Error(`nsPerPortAccess must be a non-negative number of nanoseconds, not ${nsPerPortAccess}`);
    }
    return new Clock(true, work, nsPerInstruction, nsPerPortAccess);
  }

  /** Wall time while running, held to what `work` allows (see the top of this file); paused until resume(). */
  static realTime(work: WorkCounters): Clock {
    return new Clock(false, work, 0, 0);
  }

  now(): number {
    if (this.deterministic) {
      return this.work.instructions() * this.nsPerInstruction + this.work.portAccesses() * this.nsPerPortAccess + this.offsetNs;
    }
    if (this.lastWallMs < 0) return this.offsetNs;
    const wall = wallNow();
    const elapsed = (wall - this.lastWallMs) * 1e6;
    if (!(elapsed > 0)) return this.offsetNs;
    this.lastWallMs = wall;
    const work = this.workNs();
    let next: number;
    if (this.idle) {
      next = this.offsetNs + elapsed;
    } else {
      const allowance = this.allowanceNs + (work - this.lastWorkNs);
      const step = Math.min(elapsed, allowance);
      this.allowanceNs = Math.min(allowance - step, REALTIME_CARRY_NS);
      this.lagNs += elapsed - step;
      const back = Math.min(this.lagNs + this.overslept, step * REALTIME_CATCH_UP);
      const fromOverslept = Math.min(back, this.overslept);
      this.overslept -= fromOverslept;
      this.lagNs -= back - fromOverslept;
      next = this.offsetNs + step + back;
    }
    this.lastWorkNs = work;
    if (next > this.limitNs) {
      const held = next - Math.max(this.limitNs, this.offsetNs);
      if (this.idle) this.overslept += held;
      else this.lagNs += held;
      this.offsetNs = Math.max(this.limitNs, this.offsetNs);
    } else this.offsetNs = next;
    return this.offsetNs;
  }

  /** Real-time mode: the most the guest's work so far lets the clock move (see now()). */
  private workNs(): number {
    return this.work.instructions() * REALTIME_MAX_NS_PER_INSTRUCTION + this.work.portAccesses() * REALTIME_MAX_NS_PER_PORT_ACCESS;
  }

  /**
   * The CPU is idle until `t` (HLT with interrupts on): deterministic time jumps there at once.
   * Real time must be waited for instead, but what an earlier wait overslept it makes up
   * here, up to `t`.
   */
  skipTo(t: number): void {
    const now = this.now();
    if (!(t > now)) return;
    if (this.deterministic) {
      this.offsetNs += t - now;
      return;
    }
    const jump = Math.min(this.overslept, t - now);
    this.offsetNs += jump;
    this.overslept -= jump;
  }

  /** Real-time mode: the clock stops at `t` (the next device deadline) until told a later one. */
  setLimit(t: number): void {
    this.limitNs = t;
  }

  /** Real-time mode: the CPU halts (true: the clock follows the wall clock alone) or runs again. */
  setIdle(idle: boolean): void {
    if (this.deterministic || idle === this.idle) return;
    this.now();
    this.idle = idle;
  }

  /** Real-time mode: virtual time behind the wall clock (stalls and oversleeping not yet made up). */
  get lag(): number {
    return this.lagNs + this.overslept;
  }

  /** Virtual ns → instructions at the nominal rate (deterministic mode), rounded up. */
  instructionsFor(ns: number): number {
    return Math.ceil(ns / this.nsPerInstruction);
  }

  /** Real-time mode: start the clock running (no-op if running, or deterministic). */
  resume(): void {
    if (this.deterministic || this.lastWallMs >= 0) return;
    this.lastWallMs = wallNow();
    this.lastWorkNs = this.workNs();
  }

  /** Real-time mode: stop the clock (time stands still until resume()). */
  pause(): void {
    if (this.deterministic || this.lastWallMs < 0) return;
    this.now();
    this.lastWallMs = -1;
  }

  save(): { offsetNs: number } {
    return { offsetNs: this.deterministic ? this.offsetNs : this.now() };
  }

  restore(state: { offsetNs: number }): void {
    if (typeof state?.offsetNs !== "number" || !Number.isFinite(state.offsetNs)) throw new Error("clock: cannot restore: offsetNs is not a finite number");
    this.offsetNs = state.offsetNs;
    this.lagNs = 0;
    this.overslept = 0;
    if (!this.deterministic && this.lastWallMs >= 0) {
      this.lastWallMs = wallNow();
      this.lastWorkNs = this.workNs();
    }
  }
}

/** Milliseconds since the Unix epoch from the host: the time of day a real-time RTC shows. */
export function hostEpochMs(): number {
  return Date.now();
}
