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
// timers fire a burst of missed ticks.
//
// This file is the only place that reads the host's clocks (performance.now(), Date.now()).

import type { TimeSource } from "./devices/device.js";

/** Milliseconds of host wall time, for timeouts and statistics (never for guest-visible time). */
export function wallNow(): number {
  return performance.now();
}

export const DEFAULT_NS_PER_INSTRUCTION = 10;
export const DEFAULT_NS_PER_PORT_ACCESS = 1000;

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
  /** Deterministic mode: time skipped in HLT. Real-time mode: virtual time at the last resume. */
  private offsetNs = 0;
  /** Real-time mode: wall ms at the last resume, or -1 while paused. */
  private resumedAtMs = -1;

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

  /** Wall time while running; paused until resume(). */
  static realTime(): Clock {
    return new Clock(false, { instructions: () => 0, portAccesses: () => 0 }, 0, 0);
  }

  now(): number {
    if (this.deterministic) {
      return this.work.instructions() * this.nsPerInstruction + this.work.portAccesses() * this.nsPerPortAccess + this.offsetNs;
    }
    if (this.resumedAtMs < 0) return this.offsetNs;
    return this.offsetNs + (wallNow() - this.resumedAtMs) * 1e6;
  }

  /**
   * The CPU is idle until `t` (HLT with interrupts on): deterministic time jumps there at once.
   * Real time must be waited for instead, so this does nothing there.
   */
  skipTo(t: number): void {
    if (!this.deterministic) return;
    const now = this.now();
    if (t > now) this.offsetNs += t - now;
  }

  /** Virtual ns → instructions at the nominal rate (deterministic mode), rounded up. */
  instructionsFor(ns: number): number {
    return Math.ceil(ns / this.nsPerInstruction);
  }

  /** Real-time mode: start the clock running (no-op if running, or deterministic). */
  resume(): void {
    if (this.deterministic || this.resumedAtMs >= 0) return;
    this.resumedAtMs = wallNow();
  }

  /** Real-time mode: stop the clock (time stands still until resume()). */
  pause(): void {
    if (this.deterministic || this.resumedAtMs < 0) return;
    this.offsetNs = this.now();
    this.resumedAtMs = -1;
  }

  save(): { offsetNs: number } {
    return { offsetNs: this.deterministic ? this.offsetNs : this.now() };
  }

  restore(state: { offsetNs: number }): void {
    if (typeof state?.offsetNs !== "number" || !Number.isFinite(state.offsetNs)) throw new Error("clock: cannot restore: offsetNs is not a finite number");
    this.offsetNs = state.offsetNs;
    if (!this.deterministic && this.resumedAtMs >= 0) this.resumedAtMs = wallNow();
  }
}

/** Milliseconds since the Unix epoch from the host: the time of day a real-time RTC shows. */
export function hostEpochMs(): number {
  return Date.now();
}
