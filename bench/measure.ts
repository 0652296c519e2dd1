// Best of N: each engine runs the guest once to warm up (wasm tier-up, JIT caches, page
// faults in the host), then N timed runs; engines take turns round by round, so drift on a
// shared host touches all of them alike. The best (shortest) run is the engine's figure.

import type { Engine, EngineRun } from "./engines/engine.js";
import type { BenchGuest } from "./guests.js";
import { createProgress } from "./progress.js";

export interface Measurement {
  engine: Engine;
  /** The timed runs, in order (warm-ups excluded). */
  runs: EngineRun[];
  best: EngineRun;
  /** The guest's result line on this engine (e.g. its checksum), the same on every run. */
  result: string;
}

export interface MeasureOptions {
  runs: number;
  warmups: number;
}

export function mips(run: EngineRun): number {
  return run.instructions / run.wallMs / 1000;
}

/**
 * The run's steady state from its samples: MIPS over its second half, and the first sample
 * period (ms since the start) whose own rate reached 90% of that: how long warm-up (tier-up,
 * JIT compilation) took. Undefined without enough samples.
 */
export function steadyState(run: EngineRun): { mips: number; fromMs: number } | undefined {
  const s = run.samples ?? [];
  if (s.length < 4) return undefined;
  const end = s[s.length - 1]!;
  const mid = s.find((x) => x.wallMs >= end.wallMs / 2)!;
  if (end.wallMs <= mid.wallMs) return undefined;
  const steady = (end.instructions - mid.instructions) / (end.wallMs - mid.wallMs) / 1000;
  let prev = { wallMs: 0, instructions: 0 };
  for (const x of s) {
    if (x.wallMs > prev.wallMs && (x.instructions - prev.instructions) / (x.wallMs - prev.wallMs) / 1000 >= 0.9 * steady) {
      return { mips: steady, fromMs: prev.wallMs };
    }
    prev = x;
  }
  return { mips: steady, fromMs: end.wallMs };
}

export async function measureGuest(guest: BenchGuest, engines: Engine[], opts: MeasureOptions): Promise<Measurement[]> {
  const rounds = opts.warmups + opts.runs;
  const progress = createProgress(guest.id, rounds * engines.length);
  const timed = engines.map(() => [] as EngineRun[]);
  const results = engines.map(() => "");
  const expected: (number | undefined)[] = engines.map(() => undefined);
  try {
    for (let round = 0; round < rounds; round++) {
      const warm = round < opts.warmups;
      for (const [i, engine] of engines.entries()) {
        const label = `${engine.label}, ${warm ? `warm-up ${round + 1}/${opts.warmups}` : `run ${round - opts.warmups + 1}/${opts.runs}`}`;
        progress.beginRun(round * engines.length + i, label);
        const onProgress = (n: number): void => progress.update(n, expected[i]);
        const run = await (guest.linux ? engine.bootLinux(guest.linux, onProgress) : engine.run(guest.image, onProgress));
        const result = guest.check(run);
        if (results[i] && results[i] !== result) throw new Error(`${engine.label} gave "${result}" on ${guest.id}, "${results[i]}" on an earlier run`);
        results[i] = result;
        expected[i] = run.instructions;
        if (!warm) timed[i]!.push(run);
        const marks = run.marks ? `, ${run.marks.map((m) => `${m.name} at ${m.wallMs.toFixed(0)} ms`).join(", ")}` : "";
        progress.endRun(`${guest.id}: ${label}: ${run.wallMs.toFixed(0)} ms, ${mips(run).toFixed(1)} MIPS, ${run.instructions.toLocaleString("en-US")} instructions${marks}`);
      }
    }
  } finally {
    progress.finish();
  }
  return engines.map((engine, i) => {
    const runs = timed[i]!;
    const best = runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
    return { engine, runs, best, result: results[i]! };
  });
}
