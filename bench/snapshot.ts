// Figures for a snapshot file (docs/benchmarks.md "Snapshots"): how many pages it holds, and
// how long decoding, restoring, saving and encoding take, best of three after the first, in wall
// time and in this process's CPU time (user + system: on a busy host the wall time is mostly
// waiting for a core).
//
// Usage: node --import tsx bench/snapshot.ts FILE.snap   (make one with vmi386 run --save-on-output)

import { readFileSync } from "node:fs";
import { Machine } from "../src/machine.js";
import { decodeSnapshot, encodeSnapshot } from "../src/snapshot/file.js";

async function main(): Promise<void> {
  const path = process.argv[2];
  if (path === undefined) throw new Error("usage: bench/snapshot.ts FILE.snap");
  const file = readFileSync(path);
  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const ms = async (f: () => unknown) => {
    const t = performance.now();
    const c = cpuMs();
    await f();
    return `${(performance.now() - t).toFixed(0)} ms (CPU ${(cpuMs() - c).toFixed(0)} ms)`;
  };
  let snapshot!: Awaited<ReturnType<typeof decodeSnapshot>>;
  const decodeFirst = await ms(async () => (snapshot = await decodeSnapshot(file)));
  const t = performance.now();
  const c = cpuMs();
  const machine = await Machine.restore(snapshot);
  const restoreFirst = `${(performance.now() - t).toFixed(0)} ms (CPU ${(cpuMs() - c).toFixed(0)} ms)`;
  const { pages, bytes } = snapshot.core.memory;
  console.log(`${path}: ${(file.length / 2 ** 20).toFixed(1)} MiB; ${pages.length} non-zero pages of ${bytes / 4096} (${((pages.length * 4096) / 2 ** 20).toFixed(1)} MiB raw)`);
  console.log(`first in this process: decodeSnapshot ${decodeFirst}, Machine.restore ${restoreFirst}`);
  for (let i = 0; i < 3; i++) {
    let s!: ReturnType<Machine["save"]>;
    const save = await ms(() => (s = machine.save()));
    let f!: Uint8Array;
    const encode = await ms(async () => (f = await encodeSnapshot(s)));
    const decode = await ms(() => decodeSnapshot(f));
    console.log(`run ${i + 1}: machine.save ${save}, encodeSnapshot ${encode}, decodeSnapshot ${decode}`);
  }
}

void main();
