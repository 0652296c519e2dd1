// The real-time clock: wall time, except that a host stall is not passed on to a running guest
// as a jump (it becomes lag, made up later), and the running clock stops at the next device
// deadline until the machine has ticked it. The host's clock is faked here.

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Clock, REALTIME_CARRY_NS, REALTIME_CATCH_UP, REALTIME_MAX_NS_PER_INSTRUCTION, REALTIME_MAX_NS_PER_PORT_ACCESS } from "../src/clock.js";

let wallMs = 0;
let instructions = 0;
let ports = 0;

beforeEach(() => {
  wallMs = 1000;
  instructions = 0;
  ports = 0;
  vi.spyOn(performance, "now").mockImplementation(() => wallMs);
});
afterEach(() => vi.restoreAllMocks());

function running(): Clock {
  const c = Clock.realTime({ instructions: () => instructions, portAccesses: () => ports });
  c.resume();
  return c;
}

describe("real-time clock", () => {
  it("follows the wall clock while the guest's work keeps pace with it", () => {
    const c = running();
    instructions += 1_000_000; // 1 ms at 1000 MIPS: well within 20 ns an instruction
    wallMs += 1;
    expect(c.now()).toBeCloseTo(1e6, 3);
    ports += 10;
    wallMs += 0.002;
    expect(c.now()).toBeCloseTo(1.002e6, 3);
    expect(c.lag).toBe(0);
  });

  it("does not pass a host stall on as a jump: it moves no further than the work allows, and lags", () => {
    const c = running();
    instructions += 10;
    ports += 2;
    wallMs += 20; // a 20 ms stall across two port reads
    const allowed = 10 * REALTIME_MAX_NS_PER_INSTRUCTION + 2 * REALTIME_MAX_NS_PER_PORT_ACCESS;
    // (and, lagging from then on, it runs REALTIME_CATCH_UP faster)
    expect(c.now()).toBeCloseTo(allowed * (1 + REALTIME_CATCH_UP), 6);
    expect(c.lag).toBeCloseTo(20e6 - allowed * (1 + REALTIME_CATCH_UP), 6);
    // What was allowed and not spent carries over, at most REALTIME_CARRY_NS.
    instructions += 1_000_000;
    wallMs += 0.001;
    const t = c.now();
    expect(t).toBeCloseTo((allowed + 1000) * (1 + REALTIME_CATCH_UP), 3);
    wallMs += 20;
    expect(c.now() - t).toBeLessThanOrEqual(REALTIME_CARRY_NS * (1 + REALTIME_CATCH_UP));
  });

  it("makes up its lag running faster while the CPU runs, not while it halts", () => {
    const c = running();
    wallMs += 50;
    c.now();
    expect(c.lag).toBe(50e6);
    instructions += 1e9;
    wallMs += 8;
    expect(c.now()).toBeCloseTo(8e6 * (1 + REALTIME_CATCH_UP), 0);
    expect(c.lag).toBeCloseTo(49e6, 0);
    c.setIdle(true);
    const now = c.now();
    c.skipTo(now + 4e6);
    expect(c.now()).toBe(now);
    // Halted, it is plain wall time.
    wallMs += 3;
    expect(c.now()).toBeCloseTo(now + 3e6, 0);
    expect(c.lag).toBeCloseTo(49e6, 0);
  });

  it("makes up what an idle wait overslept at the next HLT, up to the next deadline", () => {
    const c = running();
    c.setIdle(true);
    c.setLimit(1e6);
    wallMs += 3; // overslept the deadline by 2 ms
    expect(c.now()).toBe(1e6);
    expect(c.lag).toBeCloseTo(2e6, 0);
    c.setLimit(2e6);
    c.skipTo(2e6);
    expect(c.now()).toBe(2e6);
    c.setLimit(5e6);
    c.skipTo(5e6);
    expect(c.now()).toBeCloseTo(3e6, 0);
    expect(c.lag).toBeCloseTo(0, 0);
  });

  it("stops at the limit (the next device deadline), running or idle", () => {
    const c = running();
    c.setLimit(1e6);
    instructions += 1e9;
    wallMs += 3;
    expect(c.now()).toBe(1e6);
    expect(c.lag).toBeCloseTo(2e6, 0);
    c.setLimit(Infinity);
    instructions += 1e9;
    wallMs += 1;
    expect(c.now()).toBeCloseTo(1e6 + 1e6 * (1 + REALTIME_CATCH_UP), 0);
    const t = c.now();
    c.setLimit(t + 0.5e6);
    c.setIdle(true);
    wallMs += 1;
    expect(c.now()).toBe(t + 0.5e6);
    c.setLimit(Infinity);
    wallMs += 1;
    expect(c.now()).toBeCloseTo(t + 1.5e6, 0);
  });

  it("stands still while paused", () => {
    const c = running();
    instructions += 1e9;
    wallMs += 2;
    c.pause();
    const t = c.now();
    wallMs += 100;
    expect(c.now()).toBe(t);
    c.resume();
    instructions += 1e9;
    wallMs += 1;
    expect(c.now()).toBeCloseTo(t + 1e6, 0);
  });
});
