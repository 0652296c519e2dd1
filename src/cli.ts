// The `vmi386` command. `main(argv, io)` does everything and returns the exit status, so tests
// can call it in-process with their own stdout/stderr; bin/vmi386.js is the thin launcher.
//
// Bad input (options, unreadable or malformed image) is one line `vmi386: error: ...` and
// status 2 with nothing run: the image is checked completely before a Machine is created.

import { appendFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { Machine, type RunResult } from "./machine.js";
import { LoadError } from "./loaders/load-error.js";
import { loadLinux, planLinux } from "./loaders/linux.js";
import { loadMultiboot, planMultiboot } from "./loaders/multiboot.js";
import { BIOS_MAX_SIZE, checkBiosImage } from "./loaders/bios.js";
import { SizeError, parseMemSize } from "./size.js";
import { collectStats, formatStatsJson, formatStatsText } from "./stats.js";
import { benchCommand } from "./bench/command.js";
import { decodeSnapshot } from "./snapshot/file.js";
import { JIT_DEFAULT_THRESHOLD, jitOptionsFromEnvironment, type JitOptions } from "./jit/jit.js";
import { SaveTriggers, type SavePlan, splitTwoValueOptions } from "./snapshot/cli-support.js";
import { InputFileError, readInputFile } from "./cli/input-file.js";
import { packageVersion } from "./cli/package-version.js";
import { ProgressLine } from "./cli/progress-line.js";

/**
 * Exit statuses. A guest's debug-exit status (value << 1) | 1 is always odd, so the statuses
 * the emulator itself chooses are even and can never be mistaken for a guest's; but after a
 * signal it is the shell's 128 + the signal's number, which scripts test for.
 */
export const EXIT_OK = 0;
export const EXIT_USAGE = 2;
export const EXIT_TRIPLE_FAULT = 4;
export const EXIT_HALTED = 6;
export const EXIT_TIMEOUT = 8;
export const EXIT_INTERNAL = 70;
export const EXIT_SIGINT = 128 + 2;
export const EXIT_SIGTERM = 128 + 15;

/** The signals that stop a run cleanly: the guest's output so far and the statistics are kept. */
export type StopSignal = "SIGINT" | "SIGTERM";
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: EXIT_SIGINT, SIGTERM: EXIT_SIGTERM };

export const DEFAULT_MEM = "128M";

/** CR0.PG: paging enabled (SDM Vol. 3, 2.5). */
const CR0_PG = 0x80000000;

export interface CliInput {
  readonly isTTY?: boolean;
  /** A terminal's raw mode (Node's tty.ReadStream): keys go to the guest unprocessed. */
  setRawMode?(raw: boolean): unknown;
  resume?(): unknown;
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  removeListener(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  pause(): unknown;
}

export interface CliIO {
  /** Guest serial output and --help text. */
  stdout(chunk: Uint8Array | string): void;
  /** Errors and statistics. */
  stderr(text: string): void;
  /** Piped to the guest's COM1 when it is not a TTY; null for none. */
  stdin: CliInput | null;
  /** stdout is a terminal: the guest's output shares the screen with stderr's lines. */
  stdoutIsTTY: boolean;
  /** stderr is a terminal: a long run shows a progress line there. */
  stderrIsTTY: boolean;
  /** Calls `handler` on the first SIGINT or SIGTERM until the returned function is called. */
  onStopSignal(handler: (signal: StopSignal) => void): () => void;
}

class UsageError extends Error {}

const EXIT_HELP = `
Exit status:
  the guest's debug-exit status  when it wrote v to port 0xf4: (v << 1) | 1, modulo 256 (always odd)
  0   stopped by --max-instructions or Ctrl-A x, the guest wrote the --success-exit value
      to port 0xf4, reset the machine (or shut it down through VMI), or a Linux guest
      (--kernel) halted with paging on: Linux's halt and power-off without ACPI end in
      CLI; HLT
  2   bad command line or image (nothing was run)
  4   triple fault
  6   the CPU halted for good (HLT with interrupts off, or nothing left to wake it)
  8   wall-clock timeout (--timeout)
  70  internal emulator error
  130, 143  stopped by SIGINT, SIGTERM (the guest's output so far and the statistics are printed)

COM1 goes to stdout as the guest writes it, and stdin is fed to COM1: a terminal in raw mode,
key by key (Ctrl-A x quits, Ctrl-A s saves a snapshot, Ctrl-A Ctrl-A sends Ctrl-A), anything
else as it is. Statistics go to stderr at the end; on a terminal, a run longer than a second
shows a progress line there meanwhile.`;

interface RunArgs {
  /** The multiboot image (the positional argument); exactly one of it and `kernel`. */
  image?: string;
  /** A Linux bzImage, booted by the Linux boot protocol. */
  kernel?: string;
  initrd?: string;
  mem: string;
  maxInstructions?: string;
  stats: string;
  deterministic: boolean;
  append?: string;
  timeout?: string;
  vmi: boolean;
  vmiQueue?: string;
  exitCost?: string;
  restore?: string;
  saveOnOutput?: string;
  saveOnOutputFile?: string;
  saveAtInstructions?: string;
  saveAtInstructionsFile?: string;
  snapshotFile: string;
  successExit?: string;
  apic: boolean;
  /** A firmware image to boot instead of IMAGE or --kernel. */
  bios?: string;
  /** Where the ISA debug console's bytes go: a file, or "stdio". */
  debugcon?: string;
  /** --jit / --no-jit (undefined: neither given). */
  jit?: boolean;
  jitThreshold?: string;
  jitCompile?: string;
}

function buildProgram(io: CliIO, onRun: (a: RunArgs) => void): Command {
  const program = new Command();
  program
    .name("vmi386")
    .description("An i386 PC emulator with a WebAssembly core")
    .version(packageVersion(), "-V, --version", "print the version")
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {}, outputError: () => {} })
    .addHelpText("after", EXIT_HELP);
  program
    .command("run")
    .description("boot a multiboot v1 kernel (IMAGE: ELF32, or any image using the a.out kludge) or a Linux bzImage (--kernel)")
    .argument("[image]", "the multiboot kernel image")
    .option("--kernel <bzImage>", "boot a Linux bzImage by the Linux boot protocol (instead of IMAGE)")
    .option("--initrd <file>", "the initial ramdisk for --kernel")
    .option("--mem <size>", "guest RAM, 1M to 3G in 4 KiB multiples (K, M, G suffixes)", DEFAULT_MEM)
    .option("--max-instructions <n>", "stop after n guest instructions (exit status 0)")
    .option("--stats <format>", "statistics on stderr at the end: text or json", "text")
    .option("--deterministic", "virtual time from the instruction count: identical runs give identical output", false)
    .option("--append <cmdline>", "the kernel command line (multiboot cmdline, or Linux's)")
    .option("--timeout <seconds>", "stop after this much wall-clock time (exit status 8)")
    .option("--success-exit <value>", "the debug-exit value (written to port 0xf4) that means the guest passed: exit status 0 for it")
    .option("--bios <file>", "boot this firmware image (SeaBIOS's bios.bin; 64 KiB multiples, at most 16 MiB) from the reset vector, instead of IMAGE or --kernel, which it cannot be combined with")
    .option("--debugcon <file|stdio>", "QEMU's ISA debug console at ports 0xe9 and 0x402 (SeaBIOS's log): what the guest writes there goes to FILE, or to stdout")
    .option("--jit", `compile hot guest code to WebAssembly (the default, unless VMI386_JIT=0)`)
    .option("--no-jit", "interpret only, whatever VMI386_JIT says")
    .option("--jit-threshold <n>", `block entries before a block is compiled (default ${JIT_DEFAULT_THRESHOLD}, or VMI386_JIT's)`)
    .option("--jit-compile <where>", "where units are compiled: worker (a compiler thread) or sync (the machine's thread); default worker, sync at threshold 1")
    .option("--apic", "give the PC a local APIC, an I/O APIC and an MP table (default: the 8259A PICs only)", false)
    .option("--vmi", "offer the VMware VMI paravirtual ROM (API 3.0) to the guest", false)
    .option("--vmi-queue <entries>", "VMI deferred-queue size: a power of two from 1 to 256 (default 64)")
    .option("--exit-cost <cycles>", "with --deterministic: charge each VMI exit this many cycles of virtual time")
    .option("--restore <file>", "continue a machine saved in a snapshot file (instead of booting; its RAM size and modes are the snapshot's)")
    .option("--save-on-output <string>", "followed by FILE: save a snapshot to FILE when the guest's console first prints STRING")
    .option("--save-at-instructions <n>", "followed by FILE: save a snapshot to FILE after n guest instructions of this run")
    .option("--snapshot-file <file>", "where the console's Ctrl-A s saves a snapshot", "vmi386.snap")
    .addOption(new Option("--save-on-output-file <file>").hideHelp())
    .addOption(new Option("--save-at-instructions-file <file>").hideHelp())
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {}, outputError: () => {} })
    .addHelpText("after", EXIT_HELP)
    .action((image: string | undefined, o: Omit<RunArgs, "image">) => onRun({ image, ...o }));
  return program;
}

/** Runs the CLI with `argv` (the arguments after the program name). Resolves to the exit status. */
export async function main(argv: readonly string[], ioOverrides: Partial<CliIO> = {}): Promise<number> {
  const io: CliIO = {
    stdout: ioOverrides.stdout ?? ((c) => void process.stdout.write(c)),
    stderr: ioOverrides.stderr ?? ((t) => void process.stderr.write(t)),
    stdin: ioOverrides.stdin === undefined ? process.stdin : ioOverrides.stdin,
    // A caller that captures a stream is not a terminal unless it says so.
    stdoutIsTTY: ioOverrides.stdoutIsTTY ?? (ioOverrides.stdout === undefined && process.stdout.isTTY === true),
    stderrIsTTY: ioOverrides.stderrIsTTY ?? (ioOverrides.stderr === undefined && process.stderr.isTTY === true),
    onStopSignal: ioOverrides.onStopSignal ?? processStopSignals,
  };
  const fail = (msg: string) => {
    io.stderr(`vmi386: error: ${msg}\n`);
    return EXIT_USAGE;
  };

  let args: RunArgs | undefined;
  let bench: (() => Promise<number>) | undefined;
  const program = buildProgram(io, (a) => (args = a));
  program.addCommand(benchCommand(io, (job) => (bench = job)));
  if (argv.length === 0) return fail("no command given: try vmi386 run IMAGE, or vmi386 --help for the commands and options");
  try {
    await program.parseAsync(splitTwoValueOptions(argv), { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT_OK;
      return fail(e.message.replace(/^error: /, ""));
    }
    throw e;
  }
  if (!args && !bench) return fail(`unknown command "${argv[0]}" (try vmi386 --help)`);

  try {
    return bench ? await bench() : await runImage(args!, io);
  } catch (e) {
    if (e instanceof UsageError || e instanceof SizeError || e instanceof LoadError || e instanceof InputFileError) return fail(e.message);
    io.stderr(`vmi386: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT_INTERNAL;
  }
}

async function runImage(a: RunArgs, io: CliIO): Promise<number> {
  const memSize = parseMemSize(a.mem, "--mem");
  const maxInstructions = a.maxInstructions === undefined ? undefined : parseCount(a.maxInstructions, "--max-instructions");
  const wallTimeoutMs = a.timeout === undefined ? undefined : parseSeconds(a.timeout, "--timeout") * 1000;
  const successExit = a.successExit === undefined ? undefined : parsePortValue(a.successExit, "--success-exit");
  if (a.stats !== "text" && a.stats !== "json") throw new UsageError(`--stats must be text or json, not "${a.stats}"`);
  if (a.image !== undefined && a.kernel !== undefined) throw new UsageError(`give either IMAGE (multiboot) or --kernel (Linux bzImage), not both`);
  if (a.restore !== undefined && (a.image ?? a.kernel ?? a.initrd ?? a.append) !== undefined) throw new UsageError(`--restore continues a saved machine: it takes no IMAGE, --kernel, --initrd or --append`);
  if (a.bios !== undefined && (a.image ?? a.kernel ?? a.initrd ?? a.append ?? a.restore) !== undefined) {
    throw new UsageError(`--bios boots the firmware alone: it takes no IMAGE, --kernel, --initrd, --append or --restore (the machine has no disk for it to boot them from)`);
  }
  if (a.bios !== undefined && (a.saveOnOutput ?? a.saveAtInstructions) !== undefined) throw new UsageError(`a machine booted with --bios cannot be saved: a snapshot would not hold its ROM`);
  if (a.image === undefined && a.kernel === undefined && a.restore === undefined && a.bios === undefined) throw new UsageError(`nothing to boot: give IMAGE (multiboot), --kernel (Linux bzImage) or --bios (firmware)`);
  const saves = new SaveTriggers(planSaves(a), io.stderr);
  if (a.initrd !== undefined && a.kernel === undefined) throw new UsageError(`--initrd needs --kernel: a multiboot IMAGE takes no initrd`);
  // Read and check everything before paying for a Machine: bad input must run nothing. No file
  // larger than guest RAM can be loaded, so none is read.
  const read = (path: string) => readInputFile(path, memSize, `guest RAM (--mem ${a.mem})`);
  let load: (m: Machine) => void;
  const snapshot = a.restore === undefined ? undefined : await readSnapshot(a.restore);
  let firmware: Uint8Array | undefined;
  if (snapshot !== undefined) load = () => {};
  else if (a.bios !== undefined) {
    firmware = await readInputFile(a.bios, BIOS_MAX_SIZE, `the ${BIOS_MAX_SIZE / 0x100000} MiB a firmware image can be`);
    checkBiosImage(firmware, a.bios);
    load = () => {}; // the machine starts at the firmware's reset vector
  } else if (a.kernel !== undefined) {
    const kernel = await read(a.kernel);
    const initrd = a.initrd === undefined ? undefined : await read(a.initrd);
    const opts = { name: basename(a.kernel), initrd, initrdName: a.initrd && basename(a.initrd), cmdline: a.append ?? "" };
    planLinux(kernel, memSize, opts);
    load = (m) => void loadLinux(m, kernel, opts);
  } else {
    const path = a.image!;
    const image = await read(path);
    const opts = { name: basename(path), cmdline: a.append ?? "" };
    planMultiboot(image, memSize, opts);
    load = (m) => void loadMultiboot(m, image, opts);
  }

  if ((a.vmiQueue !== undefined || a.exitCost !== undefined) && !a.vmi) throw new UsageError(`--vmi-queue and --exit-cost need --vmi`);
  if (a.exitCost !== undefined && !a.deterministic) throw new UsageError(`--exit-cost models time, so it needs --deterministic`);
  const queueCapacity = a.vmiQueue === undefined ? undefined : parseCount(a.vmiQueue, "--vmi-queue");
  if (queueCapacity !== undefined && (queueCapacity < 1 || queueCapacity > 256 || (queueCapacity & (queueCapacity - 1)) !== 0)) {
    throw new UsageError(`--vmi-queue must be a power of two from 1 to 256, not ${a.vmiQueue}`);
  }
  const exitCostCycles = a.exitCost === undefined ? undefined : parseCount(a.exitCost, "--exit-cost", true);
  const jit = jitChoice(a);

  // The guest's output so far ends a line (or there is none): what follows on the same
  // terminal (the progress line, the statistics) may start there.
  let guestAtLineStart = true;
  let progress: ProgressLine | undefined;
  const serialOut = (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    if (io.stdoutIsTTY) progress?.hide();
    io.stdout(bytes);
    guestAtLineStart = bytes[bytes.length - 1] === 0x0a;
    saves.output(bytes);
  };
  if (a.debugcon !== undefined && snapshot !== undefined) throw new UsageError(`--debugcon is not kept in a snapshot's machine: it cannot be added to --restore`);
  const debugcon = a.debugcon === undefined ? undefined : openDebugcon(a.debugcon, io);
  const machine =
    snapshot !== undefined
      ? await restoreSnapshot(snapshot, a.restore!, serialOut, jit)
      : await Machine.create({
          memSize,
          deterministic: a.deterministic,
          vmi: a.vmi ? { queueCapacity } : false,
          exitCostCycles,
          apic: a.apic,
          serialOut,
          firmware,
          debugcon,
          jit,
        });
  load(machine);

  // stdin feeds COM1: a pipe or file as it is; a terminal in raw mode, each key as typed, with
  // QEMU's escape: Ctrl-A x quits, Ctrl-A Ctrl-A (or Ctrl-A a) sends one Ctrl-A.
  const stdin = io.stdin;
  const tty = stdin?.isTTY === true && typeof stdin.setRawMode === "function";
  const keys = new ConsoleKeys();
  const onInput = (chunk: Uint8Array | string) => {
    if (!tty) return machine.sendSerialInput(chunk);
    const k = keys.feed(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
    if (k.send.length > 0) machine.sendSerialInput(k.send);
    if (k.quit) machine.requestQuit();
    if (k.save) saves.consoleKey();
  };
  if (stdin && (tty || !stdin.isTTY)) {
    if (tty) {
      stdin.setRawMode!(true);
      io.stderr("vmi386: the guest's console is on this terminal; Ctrl-A x quits, Ctrl-A s saves a snapshot\n");
    }
    stdin.on("data", onInput);
    stdin.resume?.();
  }
  // A signal ends the run as Ctrl-A x does, so the output in flight and the statistics are not
  // lost; only the exit status tells it apart. A second one finds no handler and kills.
  let stoppedBy: StopSignal | undefined;
  const stopSignals = io.onStopSignal((signal) => {
    stoppedBy ??= signal;
    machine.requestQuit();
  });
  if (io.stderrIsTTY) {
    const start = machine.core.instructions;
    progress = new ProgressLine({
      write: io.stderr,
      sample: () => ({ instructions: machine.core.instructions - start, phase: phaseOf(machine, a.kernel !== undefined) }),
      canDraw: () => !io.stdoutIsTTY || guestAtLineStart,
    });
    progress.begin();
  }
  let result: RunResult;
  try {
    result = await saves.run(machine, { maxInstructions, wallTimeoutMs });
  } finally {
    progress?.stop();
    stopSignals();
    if (stdin && (tty || !stdin.isTTY)) {
      stdin.removeListener("data", onInput);
      if (tty) stdin.setRawMode!(false);
      stdin.pause();
    }
  }

  // After a half-written line on the same terminal (a shell's prompt, then Ctrl-A x), start
  // what the CLI prints on a line of its own.
  if (io.stdoutIsTTY && !guestAtLineStart) io.stderr("\n");
  const stats = collectStats(result, machine.restoredFrom);
  if (machine.core.jit) stats.jit = { ...machine.core.jit.stats };
  io.stderr(a.stats === "json" ? formatStatsJson(stats) : formatStatsText(stats));
  if (stoppedBy !== undefined && result.reason === "quit") {
    io.stderr(`vmi386: stopped by ${stoppedBy}\n`);
    return SIGNAL_EXIT[stoppedBy];
  }
  if (successExit !== undefined && result.reason === "debug-exit" && result.exitCode === successExit * 2 + 1) return EXIT_OK;
  if ((a.kernel !== undefined || a.restore !== undefined) && result.reason === "hlt-disabled" && (machine.core.cr(0) & CR0_PG) !== 0) {
    // This machine has no ACPI (nor APM), so Linux cannot switch it off: `poweroff` and `halt`
    // both end in machine_halt(), whose stop_this_cpu() disables interrupts and halts for
    // good. That is a Linux guest's clean end here. Paging tells it from the decompressor's
    // own "System halted" after an error, which halts with paging still off.
    return EXIT_OK;
  }
  return exitStatus(result, io);
}

/**
 * What the guest is doing, as the progress line says it: a Linux kernel (--kernel) runs its
 * decompressor with paging off; after that, ring 0 is the kernel and ring 3 user space.
 */
function phaseOf(machine: Machine, linux: boolean): string {
  if (linux && (machine.core.cr(0) & CR0_PG) === 0) return "decompressing";
  return machine.core.cpl === 3 ? "user" : "kernel";
}

/** SIGINT and SIGTERM of this process, each handled once. */
function processStopSignals(handler: (signal: StopSignal) => void): () => void {
  const onInt = () => handler("SIGINT");
  const onTerm = () => handler("SIGTERM");
  process.once("SIGINT", onInt);
  process.once("SIGTERM", onTerm);
  return () => {
    process.removeListener("SIGINT", onInt);
    process.removeListener("SIGTERM", onTerm);
  };
}

/**
 * --debugcon's sink: stdout ("stdio", as QEMU's -debugcon stdio), or a file emptied first (QEMU's
 * file:). The console hands on whole lines, so appending each costs one write per line.
 */
function openDebugcon(target: string, io: CliIO): (bytes: Uint8Array) => void {
  if (target === "stdio") return (bytes) => io.stdout(bytes);
  try {
    writeFileSync(target, "");
  } catch (e) {
    throw new UsageError(`--debugcon: cannot write ${target}: ${(e as Error).message}`);
  }
  return (bytes) => appendFileSync(target, bytes);
}

/** Maps how the run ended to the documented exit status (see EXIT_HELP). */
function exitStatus(r: RunResult, io: CliIO): number {
  const why = r.message ? `: ${r.message}` : "";
  switch (r.reason) {
    case "debug-exit":
      // A process status is 8 bits; the shell would see the low byte anyway, so say so.
      return (r.exitCode ?? 1) & 0xff;
    case "max-instructions":
    case "reset":
    case "shutdown":
    case "quit":
      return EXIT_OK;
    case "triple-fault":
      io.stderr(`vmi386: the guest triple-faulted${why}\n`);
      return EXIT_TRIPLE_FAULT;
    case "hlt-disabled":
    case "idle":
      io.stderr(`vmi386: the guest halted and nothing can wake it (${r.reason})${why}\n`);
      return EXIT_HALTED;
    case "timeout":
      // The machine's message says it all ("wall-clock timeout after 1000 ms").
      io.stderr(`vmi386: ${r.message ?? "wall-clock timeout"} (--timeout)\n`);
      return EXIT_TIMEOUT;
    default:
      io.stderr(`vmi386: the run stopped unexpectedly (${r.reason})${why}\n`);
      return EXIT_INTERNAL;
  }
}

function planSaves(a: RunArgs): SavePlan {
  const plan: SavePlan = { consoleFile: a.snapshotFile };
  if (a.saveOnOutput !== undefined) {
    if (a.saveOnOutputFile === undefined || a.saveOnOutput === "") throw new UsageError(`--save-on-output takes a non-empty STRING and a FILE`);
    plan.onOutput = { text: a.saveOnOutput, file: a.saveOnOutputFile };
  }
  if (a.saveAtInstructions !== undefined) {
    if (a.saveAtInstructionsFile === undefined) throw new UsageError(`--save-at-instructions takes a count N and a FILE`);
    plan.atInstructions = { instructions: parseCount(a.saveAtInstructions, "--save-at-instructions"), file: a.saveAtInstructionsFile };
  }
  return plan;
}

async function readSnapshot(path: string) {
  // A snapshot holds at most all of the core's memory, deflated: never more than the 4 GiB of wasm32.
  const bytes = await readInputFile(path, 2 ** 32, "the 4 GiB a snapshot can hold");
  try {
    return await decodeSnapshot(bytes);
  } catch (e) {
    throw new UsageError(`cannot restore ${path}: ${(e as Error).message}`);
  }
}

/** A machine from a checked snapshot; any refusal (another build, a malformed state) is the file's fault. */
async function restoreSnapshot(
  snapshot: Awaited<ReturnType<typeof decodeSnapshot>>, path: string, serialOut: (bytes: Uint8Array) => void, jit: JitOptions | false,
): Promise<Machine> {
  try {
    return await Machine.restore(snapshot, { serialOut, jit });
  } catch (e) {
    throw new UsageError(`cannot restore ${path}: ${(e as Error).message}`);
  }
}

/** The machine's JIT option from --jit, --no-jit, --jit-threshold and --jit-compile, else from VMI386_JIT. */
function jitChoice(a: RunArgs): JitOptions | false {
  if (a.jitCompile !== undefined && a.jitCompile !== "worker" && a.jitCompile !== "sync") {
    throw new UsageError(`--jit-compile must be worker or sync, not ${a.jitCompile}`);
  }
  const compile = a.jitCompile === undefined ? {} : { compile: a.jitCompile as "worker" | "sync" };
  if (a.jitThreshold !== undefined || a.jitCompile !== undefined) {
    if (a.jit === false) throw new UsageError(`${a.jitThreshold !== undefined ? "--jit-threshold" : "--jit-compile"} needs the JIT: drop --no-jit`);
    let threshold = JIT_DEFAULT_THRESHOLD;
    if (a.jitThreshold !== undefined) {
      threshold = parseCount(a.jitThreshold, "--jit-threshold");
      if (threshold < 1 || threshold > 0xffff) throw new UsageError(`--jit-threshold must be from 1 to 65535, not ${a.jitThreshold}`);
    }
    return { threshold, ...compile };
  }
  if (a.jit !== undefined) return a.jit ? { threshold: JIT_DEFAULT_THRESHOLD } : false;
  try {
    return jitOptionsFromEnvironment();
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A value a guest can write to the debug-exit port: a whole number that fits in 32 bits. */
function parsePortValue(text: string, what: string): number {
  const n = /^\s*(?:\d+|0x[0-9a-f]+)\s*$/i.test(text) ? Number(text) : NaN;
  if (!(n <= 0xffffffff)) throw new UsageError(`${what} "${text}" is not a value a guest can write to port 0xf4 (0 to 0xffffffff)`);
  return n;
}

/** A positive number of seconds, fractions allowed (0.5). */
function parseSeconds(text: string, what: string): number {
  const n = /^\s*\d+(?:\.\d+)?\s*$/.test(text) ? Number(text) : NaN;
  if (!(n > 0)) throw new UsageError(`${what} "${text}" is not a positive number of seconds`);
  return n;
}

/** A positive whole number: digits, or scientific notation that is exactly an integer (1e9). */
function parseCount(text: string, what: string, allowZero = false): number {
  const n = /^\s*\d+(?:\.\d+)?(?:e\d+)?\s*$/i.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1)) throw new UsageError(`${what} "${text}" is not a ${allowZero ? "non-negative" : "positive"} whole number`);
  return n;
}

/** Ctrl-A, the console's escape key (as QEMU's -nographic console). */
export const ESCAPE_KEY = 0x01;

/**
 * The raw terminal's keys on their way to COM1: Ctrl-A starts an escape; Ctrl-A x quits, Ctrl-A s saves,
 * Ctrl-A Ctrl-A and Ctrl-A a send one Ctrl-A, Ctrl-A then anything else sends both bytes.
 * An escape split across two chunks still works.
 */
export class ConsoleKeys {
  private escaped = false;

  /** `save`: present (true) only when Ctrl-A s was typed. */
  feed(chunk: Uint8Array): { send: Uint8Array; quit: boolean; save?: true } {
    const out: number[] = [];
    let save: true | false = false;
    for (const b of chunk) {
      if (!this.escaped) {
        if (b === ESCAPE_KEY) this.escaped = true;
        else out.push(b);
        continue;
      }
      this.escaped = false;
      if (b === 0x78 /* x */) return { send: Uint8Array.from(out), quit: true, ...(save ? { save } : {}) };
      if (b === 0x73 /* s */) save = true;
      else if (b === ESCAPE_KEY || b === 0x61 /* a */) out.push(ESCAPE_KEY);
      else out.push(ESCAPE_KEY, b);
    }
    return { send: Uint8Array.from(out), quit: false, ...(save ? { save } : {}) };
  }
}
