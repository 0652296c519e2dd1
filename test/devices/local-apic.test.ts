// The local APIC's register model, driven directly as a driver would (Intel SDM Vol. 3A ch. 10),
// with a settable virtual clock. The whole-guest check of the same behaviour under QEMU is
// test/guests/apic (guests.test.ts).
import { describe, expect, it } from "vitest";
import {
  APIC_EOI, APIC_ISR, APIC_LVT_TIMER, APIC_PPR, APIC_SVR, APIC_TIMER_CURRENT, APIC_TIMER_DIVIDE, APIC_TIMER_INITIAL,
  APIC_TPR, APIC_ICR_LOW, APIC_VERSION, LocalApic,
} from "../../src/devices/local-apic.js";
import { FakeClock } from "./fake.js";

function make(enabled = true) {
  const clock = new FakeClock();
  const eois: number[] = [];
  const apic = new LocalApic(clock, () => enabled, () => {}, (v) => eois.push(v), () => {});
  return { clock, apic, eois };
}

/** Runs the timer as the machine does: tick() at each deadline up to `until`; returns interrupts delivered. */
function runUntil(clock: FakeClock, apic: LocalApic, until: number): number {
  let delivered = 0;
  for (;;) {
    const d = apic.nextDeadline(clock.t);
    if (d > until) break;
    clock.t = d;
    apic.tick(d);
    while (apic.interruptPending()) {
      apic.acknowledge();
      apic.write(APIC_EOI, 0, 4);
      delivered++;
    }
  }
  clock.t = until;
  return delivered;
}

describe("local APIC", () => {
  it("reads as a P6 integrated APIC left enabled by the BIOS (version 0x10, 4 LVTs, SVR 0x1FF)", () => {
    const { apic } = make();
    expect(apic.read(APIC_VERSION, 4)).toBe(0x00030010);
    expect(apic.read(APIC_SVR, 4)).toBe(0x1ff);
  });

  it("periodic timer: one interrupt per initial count x divide bus clocks (1 GHz)", () => {
    const { clock, apic } = make();
    apic.write(APIC_TIMER_DIVIDE, 0x3, 4); // divide by 16 (SDM figure 10-10)
    apic.write(APIC_LVT_TIMER, (1 << 17) | 0x30, 4);
    apic.write(APIC_TIMER_INITIAL, 1000, 4);
    clock.t = 8000;
    expect(apic.read(APIC_TIMER_CURRENT, 4)).toBe(500);
    expect(runUntil(clock, apic, 1_000_000)).toBe(Math.floor(1_000_000 / 16_000));
  });

  it("one-shot timer: one interrupt, current count 0 after; divide 1 is code 0xB", () => {
    const { clock, apic } = make();
    apic.write(APIC_TIMER_DIVIDE, 0xb, 4);
    apic.write(APIC_LVT_TIMER, 0x30, 4);
    apic.write(APIC_TIMER_INITIAL, 5000, 4);
    expect(runUntil(clock, apic, 4999)).toBe(0);
    expect(runUntil(clock, apic, 100_000)).toBe(1);
    expect(apic.read(APIC_TIMER_CURRENT, 4)).toBe(0);
  });

  it("TPR holds a class at or below it; PPR is the in-service class; EOI ends the highest in service", () => {
    const { apic } = make();
    apic.write(APIC_TPR, 0x50, 4);
    apic.write(APIC_ICR_LOW, (1 << 18) | 0x51, 4); // self-IPI, vector 0x51 (class 5)
    expect(apic.interruptPending()).toBe(false);
    apic.write(APIC_TPR, 0x40, 4);
    expect(apic.acknowledge()).toBe(0x51);
    expect(apic.read(APIC_PPR, 4)).toBe(0x50);
    expect(apic.read(APIC_ISR + 0x20, 4)).toBe(1 << (0x51 - 64));
    apic.write(APIC_EOI, 0, 4);
    expect(apic.read(APIC_ISR + 0x20, 4)).toBe(0);
  });

  it("software disable (SVR bit 8 clear) masks every LVT and keeps them masked (SDM 10.4.7.2)", () => {
    const { apic } = make();
    apic.write(APIC_SVR, 0xff, 4);
    apic.write(APIC_LVT_TIMER, 0x30, 4);
    expect(apic.read(APIC_LVT_TIMER, 4) & (1 << 16)).not.toBe(0);
    expect(apic.passesPic()).toBe(false);
  });

  it("hostile register values do not throw", () => {
    const { clock, apic } = make();
    for (let off = 0; off < 0x1000; off += 4) {
      for (const w of [1, 2, 4] as const) {
        apic.read(off, w);
        apic.write(off, 0xffffffff, w);
      }
    }
    apic.write(APIC_TIMER_INITIAL, 1, 4);
    expect(runUntil(clock, apic, 1000)).toBeGreaterThanOrEqual(0);
  });
});
