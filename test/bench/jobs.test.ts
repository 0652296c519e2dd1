// The batching sweep on worker threads (--jobs N): the runs are independent deterministic
// machines, so every count must be the same whether they run one after another in this thread
// or two at a time on workers; only host times may differ.

import { describe, expect, it } from "vitest";
import { sweep } from "../../src/bench/sweep.js";

const SMALL = { scale: 1, rounds: 1, queues: [64], costs: [0, 1000] };

describe("bench batching --jobs", () => {
  it("gives identical counts with 1 and with 2 jobs", async () => {
    const one = await sweep({ pvkernel: SMALL, linux: null, jobs: 1 });
    const two = await sweep({ pvkernel: SMALL, linux: null, jobs: 2 });
    const counts = (r: (typeof one.pvkernel)[number]) => {
      const { hostMs: _h, hostMsAll: _a, ...rest } = r;
      return rest;
    };
    expect(two.pvkernel.length).toBe(SMALL.costs.length * 3);
    expect(two.pvkernel.map(counts)).toEqual(one.pvkernel.map(counts));
  }, 120_000);
});
