// The VMI alarm (docs/vmi.md "The timer and the alarm"): SetAlarm arms it in cycles of the guest's
// TSC, one-shot or periodic; when the TSC passes the expiry it requests its interrupt (IRQ0).
// Missed periods are coalesced into one interrupt, as a guest catching up from HLT expects.
//
// The request is an edge of its own, not a level wired-OR with the PIT's output: Linux's
// vmi_time_init stops the PIT by putting counter 0 in mode 5, whose output then stays high, and
// still expects the alarm on IRQ0. Behind a shared level every alarm after that would be lost.

import type { TimedDevice, DeadlineChanged } from "./device.js";

export interface VmiAlarmState {
  expiry: number | null;
  period: number;
  /** Interrupts raised so far (a statistic; a state without it restores as 0). */
  fired?: number;
}

export class VmiAlarm implements TimedDevice {
  readonly name = "VMI alarm";
  private expiry = Infinity;
  private period = 0;
  /** Interrupts raised so far. */
  fired = 0;

  /**
   * `cycles`: the guest's TSC now; `nsPerCycle`: virtual nanoseconds per TSC cycle (to turn an
   * expiry into a deadline); `interrupt`: one IRQ0 request.
   */
  constructor(
    private readonly cycles: () => number,
    private readonly nsPerCycle: () => number,
    private readonly interrupt: () => void,
    private readonly deadlineChanged: DeadlineChanged,
  ) {}

  reset(): void {
    this.expiry = Infinity;
    this.period = 0;
  }

  /** Arm: fire when the TSC reaches `expiry`, then every `period` cycles (0 = one-shot). */
  set(expiry: number, period: number): void {
    this.expiry = expiry;
    this.period = period;
    this.deadlineChanged();
  }

  cancel(): void {
    this.expiry = Infinity;
    this.period = 0;
  }

  get armed(): boolean {
    return this.expiry !== Infinity;
  }

  nextDeadline(now: number): number {
    if (this.expiry === Infinity) return Infinity;
    const d = this.expiry - this.cycles();
    return d <= 0 ? now : now + d * this.nsPerCycle();
  }

  tick(_now: number): void {
    const c = this.cycles();
    if (c < this.expiry) return;
    this.interrupt();
    this.fired++;
    if (this.period > 0) this.expiry += this.period * (Math.floor((c - this.expiry) / this.period) + 1);
    else this.expiry = Infinity;
  }

  save(): VmiAlarmState {
    return { expiry: this.expiry === Infinity ? null : this.expiry, period: this.period, fired: this.fired };
  }

  restore(state: unknown): void {
    const s = state as VmiAlarmState;
    if (typeof s?.period !== "number" || (s.expiry !== null && typeof s.expiry !== "number")) throw new Error("VMI alarm: cannot restore: malformed state");
    this.expiry = s.expiry === null ? Infinity : s.expiry;
    this.period = s.period;
    if (typeof s.fired === "number") this.fired = s.fired;
  }
}
