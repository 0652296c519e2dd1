// run()'s yield where there is no setImmediate (a browser): a MessageChannel message, not
// setTimeout(0), which a browser clamps to 4 ms once timers chain five deep (Node: 1 ms each).

import { afterEach, describe, expect, it, vi } from "vitest";
import { yieldToEventLoop } from "../../src/event-loop.js";

describe("yieldToEventLoop without setImmediate", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("takes a turn of the event loop without waiting on a timer", async () => {
    vi.stubGlobal("setImmediate", undefined);
    // A chain of yields as run() makes them: setTimeout(0) would take at least 1 ms each here.
    const start = performance.now();
    for (let i = 0; i < 200; i++) await yieldToEventLoop();
    expect(performance.now() - start).toBeLessThan(100);
  });

  it("lets a timer in: each yield is a task, not a microtask", async () => {
    vi.stubGlobal("setImmediate", undefined);
    let timerRan = false;
    setTimeout(() => (timerRan = true), 1);
    const start = performance.now();
    while (!timerRan && performance.now() - start < 1000) await yieldToEventLoop();
    expect(timerRan).toBe(true);
  });

  it("resolves concurrent yields in the order they were asked for", async () => {
    vi.stubGlobal("setImmediate", undefined);
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((i) => yieldToEventLoop().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3]);
  });
});
