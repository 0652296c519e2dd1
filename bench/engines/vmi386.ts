// vmi386 as a benchmark engine: the public Machine API and multiboot loader, exactly as the
// CLI uses them (real-time mode, the release core build/core.wasm).

import { Machine } from "../../src/machine.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { type Engine, type EngineRun, type GuestImage, type ProgressFn, GUEST_MEMORY_BYTES, PROGRESS_EVERY_MS, RUN_TIMEOUT_MS } from "./engine.js";

export const vmi386Engine: Engine = {
  id: "vmi386",
  label: "vmi386",
  run: runOnVmi386,
};

async function runOnVmi386(image: GuestImage, progress?: ProgressFn): Promise<EngineRun> {
  const chunks: Uint8Array[] = [];
  let machine: Machine;
  try {
    machine = await Machine.create({ memSize: GUEST_MEMORY_BYTES, serialOut: (bytes) => chunks.push(bytes) });
  } catch (e) {
    throw new Error(`vmi386: cannot create a Machine (${(e as Error).message}); run \`npm run build\` first`);
  }
  loadMultiboot(machine, image.bytes, { name: image.name });

  const start = machine.core.instructions;
  const timer = progress ? setInterval(() => progress(machine.core.instructions - start), PROGRESS_EVERY_MS) : undefined;
  let result;
  const t0 = performance.now();
  try {
    result = await machine.run({ wallTimeoutMs: RUN_TIMEOUT_MS });
  } finally {
    clearInterval(timer);
  }
  const wallMs = performance.now() - t0;

  if (result.reason !== "debug-exit" || result.exitCode === undefined) {
    throw new Error(`vmi386 did not reach debug-exit running ${image.name}: ${result.reason}${result.message ? ` (${result.message})` : ""}`);
  }
  const c = result.counters;
  return {
    instructions: result.instructions,
    wallMs,
    // isa-debug-exit reports (value << 1) | 1.
    guestExitCode: result.exitCode >>> 1,
    portAccesses: (c.portIn ?? 0) + (c.portOut ?? 0),
    serial: Buffer.concat(chunks).toString("latin1"),
  };
}
