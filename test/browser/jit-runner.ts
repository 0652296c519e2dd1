// Bundled for Chromium by jit.test.ts: runs a guest with or without the JIT on whichever thread
// loads it. On a page it offers runGuest (this thread) and runGuestInWorker (a Worker loading this
// same script); in a Worker it answers each message with runGuest's result.

import { Machine, loadMultiboot, type MachineOptions } from "vmi386";

export interface GuestRun {
  image: string;
  jit: MachineOptions["jit"];
}

async function fetchBytes(name: string): Promise<Uint8Array> {
  const res = await fetch(new URL(name, location.href));
  if (!res.ok) throw new Error(`cannot fetch ${name}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function runGuest({ image, jit }: GuestRun) {
  const [wasm, elf] = await Promise.all([fetchBytes("core.wasm"), fetchBytes(image)]);
  const m = await Machine.create({ memSize: 32 << 20, deterministic: true, wasm, jit });
  loadMultiboot(m, elf, { name: image });
  const r = await m.run({ maxInstructions: 400_000_000, wallTimeoutMs: 120_000 });
  const observed = { reason: r.reason, exitCode: r.exitCode, instructions: r.instructions, counters: r.counters, serial: m.serialOutput };
  return { observed, mips: r.mips, stats: m.core.jit ? { ...m.core.jit.stats } : undefined, lastError: m.core.jit?.lastError?.message };
}

function runGuestInWorker(run: GuestRun): Promise<Awaited<ReturnType<typeof runGuest>>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("jit-runner.js", location.href), { type: "module" });
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error) reject(new Error(e.data.error));
      else resolve(e.data.result);
    };
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage(run);
  });
}

if (typeof window === "undefined") {
  onmessage = (e: MessageEvent<GuestRun>) =>
    runGuest(e.data).then(
      (result) => postMessage({ result }),
      (err: unknown) => postMessage({ error: err instanceof Error ? err.message : String(err) }),
    );
} else {
  Object.assign(window, { runGuest, runGuestInWorker });
}
