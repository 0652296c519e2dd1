// v86 (the npm package) as a benchmark engine, in its two modes: interpreter only
// (disable_jit) and with its x86-to-wasm JIT. Both use the release build/v86.wasm.
//
// Booting: v86 loads a multiboot v1 kernel itself (ELF program headers or the a.out kludge).
// Without a BIOS it enters the kernel at once in flat 32-bit protected mode, as our loader
// does, so the counter and the clock start at the guest's first instruction. With --v86-bios
// it boots SeaBIOS first, which hands over from an option ROM by reading port 0xF4; the
// counter and clock then start at that hand-over, so BIOS instructions are not counted.
//
// Exit: v86's multiboot support claims port 0xF4 for kvm-unit-tests' exit (it throws to stop
// the CPU). We replace that write handler with ours, which samples the counter and the clock,
// then stops the emulator.
//
// Linux: v86 boots a bzImage only through a BIOS: its loader puts the setup code, the kernel and
// the initrd (at 64 MiB, so the guest needs more than that) in memory and adds an option ROM
// that jumps to the real-mode setup code, which SeaBIOS runs at the end of its POST. So the
// clock and the counter start at emulator.run(), SeaBIOS's first instruction; its POST and the
// kernel's real-mode setup are counted (vmi386 enters the 32-bit entry point directly).
//
// Counting: V86.get_instruction_counter() is the CPU's own 32-bit instruction counter, which
// both the interpreter and JIT-compiled code advance by the instructions they retire. It wraps
// at 2^32, so it is sampled every SAMPLE_EVERY_MS and the deltas are summed.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { V86, type V86Options } from "v86";
import type { BiosImages } from "../seabios.js";
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

const PORT_DEBUG_EXIT = 0xf4;

/** The few internals we touch: v86's port table. Not in v86.d.ts. */
interface V86Internals {
  v86: {
    cpu: {
      io: {
        ports: { read32: () => number }[];
        register_write(port: number, device: object, w8: (v: number) => void, w16?: (v: number) => void, w32?: (v: number) => void): void;
      };
      /** The control registers, a view into v86's wasm memory. */
      cr: Int32Array;
    };
  };
}

export type V86Mode = "interpreter" | "jit";

/**
 * bios: boot multiboot guests through it (--v86-bios). linuxBios: what Linux boots need (v86
 * cannot boot a bzImage without one); looked up only when a Linux boot runs.
 */
export function v86Engine(mode: V86Mode, bios?: BiosImages, linuxBios?: () => BiosImages): Engine {
  return {
    id: `v86-${mode}`,
    label: `v86 ${mode === "jit" ? "JIT" : "interpreter"}${bios ? " (SeaBIOS)" : ""}`,
    run: (image, progress) => runOnV86(image, mode, bios, progress),
    bootLinux: (boot, progress) => {
      const b = bios ?? linuxBios?.();
      if (!b) return Promise.reject(new Error(`v86 ${mode}: booting Linux needs SeaBIOS`));
      return bootOnV86(boot, mode, b, progress);
    },
  };
}

function wasmPath(): string {
  const require = createRequire(import.meta.url);
  // main is build/libv86.mjs; the release wasm sits beside it.
  return new URL("v86.wasm", `file://${require.resolve("v86")}`).pathname;
}

/**
 * v86's wasm, compiled once per process and instantiated for each emulator: V8 keeps the
 * optimized code with the module, so, as for vmi386 (src/core-module.ts), the warm-up run
 * warms the timed runs instead of each run compiling and tiering up its own copy.
 */
let compiledV86: Promise<WebAssembly.Module> | undefined;
function instantiateV86(imports: WebAssembly.Imports): Promise<WebAssembly.Exports> {
  compiledV86 ??= readFile(wasmPath()).then((bytes) => WebAssembly.compile(bytes));
  return compiledV86.then(async (module) => (await WebAssembly.instantiate(module, imports)).exports);
}

function arrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function runOnV86(image: GuestImage, mode: V86Mode, bios: BiosImages | undefined, progress?: ProgressFn): Promise<EngineRun> {
  const options: V86Options = {
    wasm_fn: instantiateV86,
    memory_size: GUEST_MEMORY_BYTES,
    multiboot: { buffer: arrayBuffer(image.bytes) },
    disable_jit: mode === "interpreter",
    autostart: false,
    ...(bios ? { bios: { buffer: arrayBuffer(bios.bios) }, vga_bios: { buffer: arrayBuffer(bios.vgaBios) } } : {}),
  };
  const emulator = new V86(options);
  const serial: number[] = [];
  emulator.add_listener("serial0-output-byte", (b) => serial.push(b));

  return new Promise<EngineRun>((resolve, reject) => {
    // The 32-bit counter, widened: total = instructions since `started`.
    let started = false;
    let last = 0;
    let total = 0;
    let t0 = 0;
    const sample = (): number => {
      const now = emulator.get_instruction_counter();
      total += (now - last) >>> 0;
      last = now;
      return total;
    };
    const startCounting = (): void => {
      started = true;
      last = emulator.get_instruction_counter();
      total = 0;
      t0 = performance.now();
    };
    const samples: Sample[] = [];
    const record = sampleRecorder(samples, progress);
    const poll = setInterval(() => {
      if (!started) return;
      record(performance.now() - t0, sample());
    }, SAMPLE_EVERY_MS);
    const timeout = setTimeout(() => finish(new Error(`v86 ${mode}: ${image.name} did not reach debug-exit within ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS);

    const finish = (outcome: EngineRun | Error): void => {
      clearInterval(poll);
      clearTimeout(timeout);
      // destroy() stops the CPU loop at its next turn; the guest's remaining instructions are not counted.
      void emulator.destroy().then(
        () => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
        (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      );
    };

    emulator.add_listener("emulator-loaded", () => {
      const io = (emulator as unknown as V86Internals).v86.cpu.io;
      const onExit = (value: number): void => {
        const wallMs = performance.now() - t0;
        if (!started) return finish(new Error(`v86 ${mode}: port 0xF4 written before the guest started`));
        const instructions = sample();
        samples.push({ wallMs, instructions });
        finish({ instructions, wallMs, guestExitCode: value, serial: Buffer.from(serial).toString("latin1"), samples });
      };
      io.register_write(PORT_DEBUG_EXIT, {}, onExit, onExit, onExit);
      if (bios) {
        // The multiboot option ROM reads port 0xF4 once to enter the kernel: start counting there.
        const entry = io.ports[PORT_DEBUG_EXIT]!;
        const enterKernel = entry.read32;
        entry.read32 = function (this: unknown) {
          startCounting();
          return enterKernel.call(this);
        };
      } else {
        startCounting();
      }
      void emulator.run();
    });
  });
}

function bootOnV86(boot: LinuxBoot, mode: V86Mode, bios: BiosImages, progress?: ProgressFn): Promise<EngineRun> {
  const emulator = new V86({
    wasm_fn: instantiateV86,
    memory_size: boot.memBytes,
    bios: { buffer: arrayBuffer(bios.bios) },
    vga_bios: { buffer: arrayBuffer(bios.vgaBios) },
    bzimage: { buffer: arrayBuffer(boot.kernel) },
    initrd: { buffer: arrayBuffer(boot.initrd) },
    cmdline: boot.cmdline,
    disable_jit: mode === "interpreter",
    autostart: false,
  });
  const serial: number[] = [];
  const marks: Mark[] = [];

  return new Promise<EngineRun>((resolve, reject) => {
    let started = false;
    let last = 0;
    let total = 0;
    let t0 = 0;
    let done = false;
    const sample = (): number => {
      const now = emulator.get_instruction_counter();
      total += (now - last) >>> 0;
      last = now;
      return total;
    };
    let kernel: Mark | undefined;
    const poll = setInterval(() => {
      if (!started || done) return;
      const n = sample();
      if (!kernel && ((emulator as unknown as V86Internals).v86.cpu.cr[0]! & CR0_PG) !== 0) kernel = { name: KERNEL_MARK, wallMs: performance.now() - t0, instructions: n };
      progress?.(n);
    }, PROGRESS_EVERY_MS);
    const timeout = setTimeout(
      () => finish(new Error(`v86 ${mode}: ${boot.name} did not reach "${boot.markers[marks.length]?.text}" within ${RUN_TIMEOUT_MS / 1000} s; serial ends: ${tail()}`)),
      RUN_TIMEOUT_MS,
    );
    const tail = (): string => Buffer.from(serial).toString("latin1").trim().split("\n").slice(-3).join(" | ");

    const finish = (outcome: EngineRun | Error): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(timeout);
      void emulator.destroy().then(
        () => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
        (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))),
      );
    };

    const watch = markerWatcher(boot.markers, (i) => {
      const wallMs = performance.now() - t0;
      marks.push({ name: boot.markers[i]!.name, wallMs, instructions: sample() });
      if (i === boot.markers.length - 1) {
        const end = marks[marks.length - 1]!;
        if (kernel) marks.unshift(kernel);
        finish({ instructions: end.instructions, wallMs: end.wallMs, guestExitCode: 0, serial: Buffer.from(serial).toString("latin1"), marks });
      }
    });
    emulator.add_listener("serial0-output-byte", (b) => {
      serial.push(b);
      if (!done) watch(String.fromCharCode(b));
    });
    emulator.add_listener("emulator-loaded", () => {
      started = true;
      last = emulator.get_instruction_counter();
      total = 0;
      t0 = performance.now();
      void emulator.run();
    });
  });
}
