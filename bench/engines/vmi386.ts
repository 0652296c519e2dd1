// vmi386 as a benchmark engine: the public Machine API and its multiboot and Linux loaders,
// exactly as the CLI uses them (real-time mode, the release core build/core.wasm).

import * as L from "../../assembly/layout.js";
import { Machine } from "../../src/machine.js";
import { loadLinux } from "../../src/loaders/linux.js";
import { loadMultiboot } from "../../src/loaders/multiboot.js";
import { JIT_DEFAULT_THRESHOLD, type JitOptions } from "../../src/jit/jit.js";
import {
  type Engine,
  type EngineRun,
  type GuestImage,
  type LinuxBoot,
  type Mark,
  type Sample,
  type ProgressFn,
  CR0_PG,
  GUEST_MEMORY_BYTES,
  KERNEL_MARK,
  markerWatcher,
  PROGRESS_EVERY_MS,
  SAMPLE_EVERY_MS,
  sampleRecorder,
  RUN_TIMEOUT_MS,
} from "./engine.js";

export const vmi386Engine: Engine = {
  id: "vmi386",
  label: "vmi386",
  run: (image, progress) => runOnVmi386(image, false, progress),
  bootLinux: (boot, progress) => bootOnVmi386(boot, false, progress),
};

/** vmi386 with its JIT (docs/jit.md) at the default threshold. */
export const vmi386JitEngine: Engine = {
  id: "vmi386-jit",
  label: "vmi386 JIT",
  run: (image, progress) => runOnVmi386(image, { threshold: JIT_DEFAULT_THRESHOLD }, progress),
  bootLinux: (boot, progress) => bootOnVmi386(boot, { threshold: JIT_DEFAULT_THRESHOLD }, progress),
};

/**
 * Linux: loadLinux (the CLI's --kernel path: zero page, e820, initrd, command line, 32-bit entry,
 * no BIOS), then run in real time until the last marker. The clock starts at run(), the kernel's
 * first instruction; each marker's time is taken in the serial callback, as the byte leaves the
 * UART; the run then stops (requestQuit) within the current slice.
 */
async function bootOnVmi386(boot: LinuxBoot, jit: JitOptions | false, progress?: ProgressFn): Promise<EngineRun> {
  const chunks: Uint8Array[] = [];
  const marks: Mark[] = [];
  let t0 = 0;
  let machine: Machine | undefined = undefined;
  const decoder = new TextDecoder("latin1");
  const watch = markerWatcher(boot.markers, (i) => {
    const m = machine!;
    // Mid-slice the core publishes the current run()'s retired count before every host call.
    const now = m.core.instructions + m.core.u32[L.STATE_RUN_RETIRED >> 2]!;
    marks.push({ name: boot.markers[i]!.name, wallMs: performance.now() - t0, instructions: now - start });
    if (i === boot.markers.length - 1) m.requestQuit();
  });
  try {
    machine = await Machine.create({
      memSize: boot.memBytes,
      jit,
      serialOut: (bytes) => {
        chunks.push(bytes);
        watch(decoder.decode(bytes));
      },
    });
  } catch (e) {
    throw new Error(`vmi386: cannot create a Machine (${(e as Error).message}); run \`npm run build\` first`);
  }
  loadLinux(machine, boot.kernel, { initrd: boot.initrd, cmdline: boot.cmdline, name: boot.name });

  const start = machine.core.instructions;
  const m = machine;
  let kernel: Mark | undefined;
  const timer = setInterval(() => {
    if (!kernel && (m.core.cr(0) & CR0_PG) !== 0) kernel = { name: KERNEL_MARK, wallMs: performance.now() - t0, instructions: m.core.instructions - start };
    progress?.(m.core.instructions - start);
  }, PROGRESS_EVERY_MS);
  let result;
  t0 = performance.now();
  try {
    result = await machine.run({ wallTimeoutMs: RUN_TIMEOUT_MS });
  } finally {
    clearInterval(timer);
  }
  if (kernel) marks.unshift(kernel);
  const serial = Buffer.concat(chunks).toString("latin1");
  const seen = marks.filter((k) => k.name !== KERNEL_MARK).length;
  if (seen < boot.markers.length) {
    const tail = serial.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`vmi386: ${boot.name} stopped (${result.reason}${result.message ? `: ${result.message}` : ""}) before "${boot.markers[seen]!.text}" on COM1; serial ends: ${tail}`);
  }
  const end = marks[marks.length - 1]!;
  return { instructions: end.instructions, wallMs: end.wallMs, guestExitCode: 0, serial, marks, ...jitStats(m) };
}

async function runOnVmi386(image: GuestImage, jit: JitOptions | false, progress?: ProgressFn): Promise<EngineRun> {
  const chunks: Uint8Array[] = [];
  let machine: Machine;
  try {
    machine = await Machine.create({ memSize: GUEST_MEMORY_BYTES, jit, serialOut: (bytes) => chunks.push(bytes) });
  } catch (e) {
    throw new Error(`vmi386: cannot create a Machine (${(e as Error).message}); run \`npm run build\` first`);
  }
  loadMultiboot(machine, image.bytes, { name: image.name });

  const start = machine.core.instructions;
  const samples: Sample[] = [];
  const record = sampleRecorder(samples, progress);
  const timer = setInterval(() => {
    // Mid-slice the core publishes the current run()'s retired count before every host call.
    const n = machine.core.instructions + machine.core.u32[L.STATE_RUN_RETIRED >> 2]! - start;
    record(performance.now() - t0, n);
  }, SAMPLE_EVERY_MS);
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
  samples.push({ wallMs, instructions: result.instructions });
  return {
    instructions: result.instructions,
    wallMs,
    samples,
    ...jitStats(machine),
    // isa-debug-exit reports (value << 1) | 1.
    guestExitCode: result.exitCode >>> 1,
    portAccesses: (c.portIn ?? 0) + (c.portOut ?? 0),
    serial: Buffer.concat(chunks).toString("latin1"),
  };
}

function jitStats(m: Machine): { jit?: Record<string, number> } {
  const stats = m.core.jit?.stats;
  return stats ? { jit: { ...stats } } : {};
}
