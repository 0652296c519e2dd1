// The Machine: the core, the port bus with the PC's devices on it, the virtual clock, and the
// run loop that ties them together.
//
// The run loop runs the CPU in slices. A slice's instruction budget is bounded by the earliest
// device deadline, so a timer's interrupt is raised at its virtual time however
// the guest spends its instructions; after each slice the clock has advanced and the devices
// that are due get their tick(). Interrupt requests do not wait for slice ends: the PIC
// recomputes its INT output on every change and writes the core's INTR word at once, and the
// core samples that word after every port access. A device that reprograms its timer mid-slice
// asks for the slice to end early (core.requestStop) so the new deadline is not overshot.
//
// Deterministic mode: virtual time is a function of the instruction count (clock.ts; default
// 10 ns per instruction, `nsPerInstruction`), HLT jumps virtual time to the next deadline, and
// slice boundaries depend only on guest-visible state, so two runs give identical output and
// counters. Real-time mode: virtual time is wall time while running, HLT sleeps until the next
// deadline or serial input, and run() yields to the host's event loop every few milliseconds;
// the TSC is that clock in cycles (REALTIME_TSC_HZ), read at each RDTSC, so it and the VMI
// alarm keep time through HLT as the PIT and the RTC do.

import * as L from "../assembly/layout.js";
import { Clock, REALTIME_TSC_HZ, hostEpochMs, wallNow } from "./clock.js";
import { Core, type CoreImports } from "./core.js";
import type { JitOptions } from "./jit/jit.js";
import { type MachineSnapshot, type SavedMachineOptions, SNAPSHOT_FORMAT, SnapshotError, checkHostState } from "./snapshot/snapshot.js";
import { PortBus } from "./devices/bus.js";
import { DebugExit } from "./devices/debug-exit.js";
import { DebugCon } from "./devices/debugcon.js";
import { FirmwareRom } from "./devices/firmware-rom.js";
import { FwCfg } from "./devices/fw-cfg.js";
import { checkBiosImage } from "./loaders/bios.js";
import { CmosRtc, DETERMINISTIC_EPOCH_MS } from "./devices/cmos-rtc.js";
import { type AccessWidth, type IrqLine, type TimedDevice, allOnes } from "./devices/device.js";
import { I8042 } from "./devices/i8042.js";
import { IOAPIC_RESET_ID, IOAPIC_VERSION, IoApic } from "./devices/io-apic.js";
import { LOCAL_APIC_VERSION, LocalApic } from "./devices/local-apic.js";
import { IOAPIC_ADDRESS, MP_TABLE_BASE, buildMpTable, isaIrqToIoApicPin } from "./mp-table.js";
import { DualPic8259 } from "./devices/pic8259.js";
import { Pit8254 } from "./devices/pit8254.js";
import { PostCode } from "./devices/post-code.js";
import { SystemControlA, SystemControlB } from "./devices/system-control.js";
import { Uart16550 } from "./devices/uart16550.js";
import { VmiAlarm } from "./devices/vmi-timer.js";
import { Vmi, type VmiOptions } from "./vmi/hypervisor.js";
import { yieldToEventLoop } from "./event-loop.js";

// ---- the board: where each device sits (the devices themselves only see offsets) -----------
export const PORT_PIC_MASTER = 0x20;
export const PORT_PIC_SLAVE = 0xa0;
export const PORT_ELCR = 0x4d0;
export const PORT_PIT = 0x40;
export const PORT_I8042_DATA = 0x60;
export const PORT_I8042_COMMAND = 0x64;
export const PORT_RTC = 0x70;
export const PORT_SYSTEM_CONTROL_B = 0x61;
export const PORT_POST = 0x80;
export const PORT_SYSTEM_CONTROL_A = 0x92;
export const PORT_DEBUG_EXIT = 0xf4;
export const PORT_COM1 = 0x3f8;
/** QEMU's fw_cfg on a PC: selector, data. */
export const PORT_FW_CFG = 0x510;
/** QEMU's -debugcon default port, and the one QEMU's SeaBIOS builds (Debian's too) log to. */
export const PORT_DEBUGCON = 0xe9;
export const PORT_DEBUGCON_SEABIOS = 0x402;
export const IRQ_PIT = 0;
export const IRQ_COM1 = 4;
export const IRQ_KEYBOARD = 1;
export const IRQ_RTC = 8;
export const IRQ_AUX = 12;

export interface MachineOptions {
  /** Bytes of guest RAM (a multiple of 4 KiB, at least 1 MiB). */
  memSize: number;
  /** Virtual time = f(instruction count): two runs give identical output and counters. */
  deterministic?: boolean;
  /** Use build/core.debug.wasm. */
  debugCore?: boolean;
  /** Compile hot guest code to WebAssembly (docs/jit.md), or not (false); default: on, unless VMI386_JIT says otherwise. */
  jit?: JitOptions | false;
  /** Module bytes (browser, or a custom build); compiled once per buffer object, so new bytes need a new buffer. */
  wasm?: BufferSource;
  /** COM1 output sink; default: collect into machine.serialOutput. The array is the callee's to keep. */
  serialOut?: (bytes: Uint8Array) => void;
  /**
   * End the slice at each newline COM1 transmits, so that serialOut receives every line as it is
   * written and what the host reads then (counters) is the machine's state right after it: a
   * guest's marker lines split its run into parts. No guest-visible effect.
   */
  serialLineStops?: boolean;
  /** Deterministic mode: virtual nanoseconds per instruction (default 10, a nominal 100 MIPS). */
  nsPerInstruction?: number;
  /** Deterministic mode: virtual nanoseconds per IN/OUT (default 1000, an ISA bus cycle). */
  nsPerPortAccess?: number;
  /**
   * The RTC's date and time, as epoch milliseconds (UTC). Default: in deterministic mode
   * 2026-01-01 00:00:00 plus virtual time; in real time the host's wall clock (clock.ts, hostEpochMs).
   */
  rtcEpochMs?: () => number;
  /** Offer the VMI ROM (docs/vmi.md): true, or the deferred queue's size. */
  vmi?: boolean | VmiOptions;
  /**
   * Deterministic mode: charge every VMI exit this many TSC cycles of virtual time, to model a
   * hypervisor whose exits cost that much (the batching benchmark sweeps it).
   */
  exitCostCycles?: number;
  /**
   * Give the PC its APICs: the CPU's local APIC (CPUID's APIC flag, IA32_APIC_BASE, the page at
   * 0xFEE00000), an 82093AA I/O APIC at 0xFEC00000 on which the ISA IRQs also arrive, and an MP
   * table in the BIOS area describing them. Off by default: without it the board is the
   * 8259A-only PC that the test guests and their expected counters assume.
   */
  apic?: boolean;
  /**
   * Boot firmware instead of a loader (docs/firmware.md): the image (a whole number of 64 KiB,
   * at most 16 MiB) is the ROM below 4 GiB and its last 128 KiB are at 0xE0000, and the CPU
   * starts at its reset vector. Adds QEMU's fw_cfg at ports 0x510-0x511. Such a machine cannot
   * be snapshotted (the snapshot would not hold the ROM).
   */
  firmware?: Uint8Array;
  /**
   * QEMU's ISA debug console, at port 0xE9 and at 0x402 (where SeaBIOS logs): the bytes the
   * guest writes there. The array is the callee's to keep.
   */
  debugcon?: (bytes: Uint8Array) => void;
}

/** What Machine.restore takes besides the snapshot: the host's side, which a snapshot cannot hold. */
export type RestoreOptions = Pick<MachineOptions, "serialOut" | "wasm" | "debugCore" | "rtcEpochMs" | "jit">;

/** A part of the machine that keeps plain-data state (a device, the clock). */
interface Stateful {
  save(): unknown;
  restore(state: unknown): void;
}

export interface RunOptions {
  /** Stop after this many instructions (counted in this run() call). Default: no limit. */
  maxInstructions?: number;
  /** Stop after this much host wall time. Default: no limit. */
  wallTimeoutMs?: number;
}

export type StopReason =
  | "debug-exit"
  | "hlt-disabled"
  | "triple-fault"
  | "max-instructions"
  | "timeout"
  | "reset"
  /** The guest called VMI Shutdown. */
  | "shutdown"
  /** The host asked the machine to stop (requestQuit: the console's Ctrl-A x). */
  | "quit"
  /** Deterministic mode: HLT with interrupts on, and no device will ever raise one. */
  | "idle"
  /** An exception stopped the core because core.trapExceptions is set (tests). */
  | "exception";

export interface RunResult {
  reason: StopReason;
  /** For debug-exit: (v << 1) | 1. */
  exitCode?: number;
  /** Human-readable detail, e.g. "triple fault at EIP=0x00101234". */
  message?: string;
  /** Instructions retired in this run() call. */
  instructions: number;
  /** Host wall time this run() call took. */
  wallMs: number;
  /** instructions / wallMs / 1000. */
  mips: number;
  /**
   * Of wallMs, the time the CPU sat halted waiting for an interrupt (real-time mode; always 0
   * when deterministic, where HLT skips virtual time instead of waiting).
   */
  haltedMs: number;
  /**
   * Totals since the machine was created: the core's counters (instructions, portIn, portOut,
   * mmioRead, mmioWrite, hypercall, interrupts, exceptions, tlbMisses, tlbFlushes), the bus's
   * (unclaimedPortReads, unclaimedPortWrites, portWidthMismatches), unmapped MMIO
   * (mmioUnmappedReads, mmioUnmappedWrites) and virtualNs, the virtual time. All deterministic.
   */
  counters: Record<string, number>;
}

/** CPUID(1).EAX: family 6, model 1, stepping 9 (assembly/ops/system.ts), for the MP table. */
const CPU_SIGNATURE = 0x619;

/**
 * Deterministic mode: the longest slice. Device reads see time move mid-slice anyway (see
 * instructionsNow); this only bounds how late the host looks at the wall clock (--timeout).
 */
const DETERMINISTIC_SLICE_MAX = 1_000_000;
/** Real-time mode: the longest slice, and the initial guess of the interpreter's speed. */
const REALTIME_SLICE_MAX = 1_000_000;
const INITIAL_INSTRUCTIONS_PER_NS = 0.1;
/** Host event-loop turns: how often run() yields in wall time. */
const YIELD_EVERY_MS = 20;
/** Deterministic mode: consecutive HLT wake-ups that raised no interrupt before giving up as idle. */
const MAX_FRUITLESS_IDLE_SKIPS = 100_000;

const WAIT = 0;
const YIELD = 1;
type Pause = typeof WAIT | typeof YIELD;

/** Per-run() bookkeeping, allocated once per call (never per slice). */
interface RunState {
  startInstructions: number;
  maxInstructions: number;
  startWall: number;
  wallDeadline: number;
  lastYield: number;
  fruitlessSkips: number;
  haltedMs: number;
}

export class Machine {
  readonly core: Core;
  readonly bus: PortBus;
  readonly clock: Clock;
  readonly pic: DualPic8259;
  readonly pit: Pit8254;
  readonly uart: Uart16550;
  readonly debugExit: DebugExit;
  readonly postCode: PostCode;
  readonly systemControlA: SystemControlA;
  readonly systemControlB: SystemControlB;
  readonly rtc: CmosRtc;
  readonly i8042: I8042;
  readonly deterministic: boolean;
  /** The VMI hypervisor, when the machine offers the ROM. */
  readonly vmi: Vmi | undefined;
  readonly vmiAlarm: VmiAlarm;
  /** The CPU's local APIC and the board's I/O APIC, with the `apic` option. */
  readonly localApic: LocalApic | undefined;
  readonly ioApic: IoApic | undefined;
  /** The boot ROM, with the `firmware` option. */
  readonly firmware: FirmwareRom | undefined;
  readonly fwCfg: FwCfg | undefined;
  readonly debugcon: DebugCon | undefined;
  /** The 8259A pair's INT output (the CPU's INTR without APICs). */
  private picInt = false;

  /**
   * Where this machine was restored from (Machine.restore): the snapshot's instruction count
   * and virtual time, so statistics can tell the snapshot's part of the totals from this run's.
   */
  get restoredFrom(): { instructions: number; virtualNs: number } | undefined {
    return this.restored;
  }
  private restored: { instructions: number; virtualNs: number } | undefined;

  private readonly timed: TimedDevice[];
  /** Every part with state, by the name its state has in saveDevices(): the one list save, restore and the tests walk. */
  private readonly board: Record<string, Stateful>;
  /** The options a snapshot must rebuild this machine with. */
  private readonly savedOptions: SavedMachineOptions;
  private readonly serialSink: ((bytes: Uint8Array) => void) | undefined;
  private readonly serialLineStops: boolean;
  private serialText = "";
  private readonly decoder = new TextDecoder("utf-8");
  private outBuf = new Uint8Array(4096);
  private outLen = 0;

  /** Earliest device deadline (virtual ns), valid unless deadlineDirty. */
  private nextDeadline = Infinity;
  private deadlineDirty = true;
  private inSlice = false;
  /** Why the core was asked to stop: null = only to reschedule. */
  private stopCause: "debug-exit" | "reset" | "shutdown" | "quit" | null = null;
  /** Which port asked for the reset (for the stop message). */
  private resetSource = "";
  private exitCode = 0;
  private instructionsPerNs = INITIAL_INSTRUCTIONS_PER_NS;
  private wake: (() => void) | null = null;
  private mmioUnmappedReads = 0;
  private mmioUnmappedWrites = 0;
  /** Deterministic mode: TSC ticks added to the core's TSC offset for time beyond instructions. */
  private tscAdded = 0;

  private constructor(core: Core, opts: MachineOptions) {
    this.core = core;
    this.deterministic = opts.deterministic ?? false;
    this.serialSink = opts.serialOut;
    this.serialLineStops = opts.serialLineStops ?? false;
    const u32 = core.u32;
    const work = {
      instructions: () => this.instructionsNow(),
      // The core bumps these before each host call, so they are live mid-slice.
      portAccesses: () =>
        u32[L.COUNTER_PORT_IN >> 2] + u32[(L.COUNTER_PORT_IN >> 2) + 1] * 2 ** 32 + u32[L.COUNTER_PORT_OUT >> 2] + u32[(L.COUNTER_PORT_OUT >> 2) + 1] * 2 ** 32,
    };
    this.clock = this.deterministic ? Clock.deterministic(work, opts.nsPerInstruction, opts.nsPerPortAccess) : Clock.realTime(work);
    const deadlineChanged = () => this.onDeadlineChanged();
    this.bus = new PortBus();
    this.pic = new DualPic8259((level) => {
      this.picInt = level;
      this.updateIntr();
    });
    if (opts.apic) {
      core.apicPresent = true;
      const apic = new LocalApic(
        this.clock,
        () => (core.apicBase & L.APIC_BASE_ENABLE) !== 0,
        () => this.updateIntr(),
        (vector) => this.ioApic?.eoi(vector),
        deadlineChanged,
        { nmi: () => core.raiseNmi(), init: () => this.requestReset("an INIT IPI to itself") },
      );
      this.localApic = apic;
      this.ioApic = new IoApic(apic);
      this.writeMpTable();
    }
    // IRQ0: the PIT drives the pin; the VMI alarm's requests are edges of their own (vmi-timer.ts).
    this.pit = new Pit8254(this.clock, this.isaIrq(IRQ_PIT), deadlineChanged);
    this.vmiAlarm = new VmiAlarm(() => this.tscNow(), () => this.tscNsPerCycle, () => this.pic.pulseIrq(IRQ_PIT), deadlineChanged);
    this.uart = new Uart16550(this.clock, this.isaIrq(IRQ_COM1), (b) => this.serialByte(b), deadlineChanged, "16550A UART (COM1)");
    this.debugExit = new DebugExit((code) => this.stop("debug-exit", code));
    this.postCode = new PostCode();
    this.systemControlA = new SystemControlA(() => this.requestReset("port 0x92"));
    this.systemControlB = new SystemControlB(this.clock, this.pit);
    // The RTC's calendar: an epoch advanced by virtual time, fixed when deterministic (so two
    // runs see the same dates), the host's date at start otherwise, as a PC's battery-backed
    // RTC keeps the real date; either way it moves with the clock every other timer follows.
    const clock = this.clock;
    const epochMs = this.deterministic ? DETERMINISTIC_EPOCH_MS : hostEpochMs();
    const rtcEpochMs = opts.rtcEpochMs ?? (() => epochMs + clock.now() / 1e6);
    this.rtc = new CmosRtc(this.clock, this.isaIrq(IRQ_RTC), { memSize: opts.memSize, epochMs: rtcEpochMs }, deadlineChanged);
    this.i8042 = new I8042(() => this.requestReset("the keyboard controller"), this.isaIrq(IRQ_KEYBOARD), this.isaIrq(IRQ_AUX));
    this.timed = [this.pit, this.uart, this.rtc, this.vmiAlarm];
    if (this.localApic) this.timed.push(this.localApic);
    this.board = {
      clock: this.clock as Stateful,
      pic: this.pic,
      pit: this.pit,
      uart: this.uart,
      debugExit: this.debugExit,
      postCode: this.postCode,
      systemControlA: this.systemControlA,
      systemControlB: this.systemControlB,
      rtc: this.rtc,
      i8042: this.i8042,
      vmiAlarm: this.vmiAlarm,
      ...(this.localApic && this.ioApic ? { localApic: this.localApic, ioApic: this.ioApic } : {}),
    };
    this.savedOptions = {
      memSize: opts.memSize,
      deterministic: this.deterministic,
      debugCore: opts.debugCore ?? false,
      nsPerInstruction: this.clock.nsPerInstruction,
      nsPerPortAccess: this.clock.nsPerPortAccess,
      vmi: opts.vmi === undefined || typeof opts.vmi === "boolean" ? (opts.vmi ?? false) : { ...opts.vmi },
      exitCostCycles: opts.exitCostCycles ?? 0,
      apic: opts.apic ?? false,
    };
    const exitCost = opts.exitCostCycles ?? 0;
    if (!(exitCost >= 0)) throw new Error(`exitCostCycles must be a non-negative number, not ${exitCost}`);
    if (opts.vmi) {
      this.vmi = new Vmi(
        {
          core,
          alarm: this.vmiAlarm,
          cycleFrequency: Math.round(1e9 / this.tscNsPerCycle),
          wallclockNs: () => rtcEpochMs() * 1e6,
          reboot: () => this.requestReset("VMI Reboot"),
          shutdown: () => this.stop("shutdown", 0),
          onExit: exitCost > 0 && this.deterministic ? () => this.chargeExit(exitCost) : () => {},
        },
        opts.vmi === true ? {} : opts.vmi,
      );
      this.vmi.install();
    }

    this.bus.claim(PORT_PIC_MASTER, this.pic.master);
    this.bus.claim(PORT_PIC_SLAVE, this.pic.slave);
    this.bus.claim(PORT_ELCR, this.pic.elcr);
    this.bus.claim(PORT_PIT, this.pit);
    this.bus.claim(PORT_I8042_DATA, this.i8042.dataPort);
    this.bus.claim(PORT_I8042_COMMAND, this.i8042.commandPort);
    this.bus.claim(PORT_RTC, this.rtc);
    this.bus.claim(PORT_SYSTEM_CONTROL_B, this.systemControlB);
    this.bus.claim(PORT_POST, this.postCode);
    this.bus.claim(PORT_SYSTEM_CONTROL_A, this.systemControlA);
    this.bus.claim(PORT_DEBUG_EXIT, this.debugExit);
    this.bus.claim(PORT_COM1, this.uart);
    if (opts.firmware) {
      checkBiosImage(opts.firmware, "the firmware image");
      this.firmware = new FirmwareRom(opts.firmware);
      this.fwCfg = new FwCfg({ ramSize: opts.memSize, cpus: 1 });
      this.bus.claim(PORT_FW_CFG, this.fwCfg);
      this.board.fwCfg = this.fwCfg;
      this.installFirmware();
    }
    if (opts.debugcon) {
      this.debugcon = new DebugCon(opts.debugcon);
      this.bus.claim(PORT_DEBUGCON, this.debugcon);
      this.bus.claim(PORT_DEBUGCON_SEABIOS, this.debugcon);
    }
    this.uart.reset();
    this.systemControlB.reset();
  }

  static async create(opts: MachineOptions): Promise<Machine> {
    // The imports close over the machine, which exists only once the core does.
    let m: Machine | undefined;
    const imports: CoreImports = {
      portIn: (port, size) => {
        const v = m!.bus.read(port, size as AccessWidth);
        m!.afterPortAccess();
        return v;
      },
      portOut: (port, size, value) => {
        m!.bus.write(port, value, size as AccessWidth);
        m!.afterPortAccess();
      },
      mmioRead: (addr, size) => m!.mmioRead(addr, size as AccessWidth),
      mmioWrite: (addr, size, value) => m!.mmioWrite(addr, size as AccessWidth, value),
      ackInterrupt: () => m!.acknowledgeInterrupt(),
      hypercall: (call) => {
        // The core lets only ROM code at CPL 0-2 get here, and the ROM exists only with VMI on.
        if (!m!.vmi) throw new Error(`hypercall at ROM offset ${call} on a machine without VMI`);
        m!.vmi.hypercall(call);
      },
      readTsc: () => {
        // A guest polling the TSC (a delay loop) reaches a timer's deadline without a port access.
        const cycles = m!.clockCycles();
        m!.stopAtDeadline();
        return cycles;
      },
    };
    const core = await Core.load({ ramSize: opts.memSize, imports, wasm: opts.wasm, debug: opts.debugCore, jit: opts.jit });
    m = new Machine(core, opts);
    if (!m.deterministic) core.useHostTsc(true);
    return m;
  }

  /** Guest physical RAM. */
  get ram(): Uint8Array {
    return this.core.ram;
  }

  /** Everything COM1 has transmitted so far (when no serialOut sink was given), UTF-8 decoded. */
  get serialOutput(): string {
    this.flushSerial();
    return this.serialText;
  }

  /** Bytes arriving on COM1's line; a string is sent as UTF-8. Wakes a CPU halted waiting for input. */
  sendSerialInput(bytes: Uint8Array | string): void {
    this.uart.receive(typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes);
    this.deadlineDirty = true;
    const w = this.wake;
    if (w) w();
  }

  /** RESET: the CPU to its power-on state, every device to its reset state. RAM is kept. */
  reset(): void {
    this.core.reset();
    for (const { device } of this.bus.devices()) device.reset();
    this.pic.reset();
    this.vmiAlarm.reset();
    this.localApic?.reset();
    this.ioApic?.reset();
    if (this.localApic) this.writeMpTable();
    this.installFirmware();
    this.vmi?.install();
    this.stopCause = null;
    this.deadlineDirty = true;
  }

  /** The devices' state as plain JSON-able data (CPU state and RAM are the core's: see core.u8). */
  saveDevices(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name in this.board) out[name] = this.board[name].save();
    return out;
  }

  restoreDevices(state: Record<string, unknown>): void {
    for (const name in this.board) {
      if (state?.[name] === undefined) throw new Error(`cannot restore the devices: the state has no ${name}`);
    }
    for (const name in this.board) this.board[name].restore(state[name]);
    this.deadlineDirty = true;
  }

  /**
   * The whole machine, between run() calls: the core (registers, caches, every global, RAM), every
   * device, the VMI host state, virtual time and the run loop's timing. Machine.restore(snapshot)
   * continues from here exactly: in deterministic mode, running N instructions, saving, restoring
   * and running M gives what running N+M gives. The snapshot does not share memory with the machine.
   */
  save(): MachineSnapshot {
    if (this.inSlice) throw new Error("Machine.save() was called while the machine runs: call it between run() calls");
    if (this.firmware) throw new SnapshotError("a machine booted from firmware (--bios) cannot be snapshotted: the snapshot would not hold its ROM");
    this.flushSerial();
    return {
      format: SNAPSHOT_FORMAT,
      options: { ...this.savedOptions, vmi: typeof this.savedOptions.vmi === "object" ? { ...this.savedOptions.vmi } : this.savedOptions.vmi },
      core: this.core.save(),
      devices: this.saveDevices(),
      host: {
        tscAdded: this.tscAdded,
        instructionsPerNs: this.instructionsPerNs,
        mmioUnmappedReads: this.mmioUnmappedReads,
        mmioUnmappedWrites: this.mmioUnmappedWrites,
        bus: { ...this.bus.stats },
        picInt: this.picInt,
        vmi: this.vmi ? this.vmi.save() : null,
      },
      instructions: this.core.instructions,
      virtualNs: this.clock.now(),
    };
  }

  /**
   * A new machine that continues where `snapshot` was saved. `opts` gives what a snapshot cannot
   * hold (the serial sink, the module's bytes, a custom RTC calendar); the rest comes from the
   * snapshot. The core must be the build that saved it.
   */
  static async restore(snapshot: MachineSnapshot, opts: RestoreOptions = {}): Promise<Machine> {
    if (snapshot?.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`not a machine snapshot of format ${SNAPSHOT_FORMAT}`);
    const m = await Machine.create({ ...snapshot.options, ...opts, debugCore: opts.debugCore ?? snapshot.options.debugCore });
    m.restoreState(snapshot);
    return m;
  }

  private restoreState(snapshot: MachineSnapshot): void {
    // The build first: a snapshot from another vmi386 may differ anywhere, and this says why.
    if (this.core.buildIdentity !== snapshot.core.build) {
      throw new SnapshotError(`the snapshot was saved by core build ${snapshot.core.build}, this is build ${this.core.buildIdentity ?? "(none)"}: rebuild or use the same vmi386`);
    }
    const host = checkHostState(snapshot.host, this.vmi !== undefined);
    this.restoreDevices(snapshot.devices);
    this.vmi?.restore(host.vmi);
    this.tscAdded = host.tscAdded;
    this.instructionsPerNs = host.instructionsPerNs;
    this.mmioUnmappedReads = host.mmioUnmappedReads;
    this.mmioUnmappedWrites = host.mmioUnmappedWrites;
    Object.assign(this.bus.stats, host.bus);
    this.picInt = host.picInt;
    this.core.restore(snapshot.core);
    this.stopCause = null;
    this.deadlineDirty = true;
    this.restored = { instructions: snapshot.instructions, virtualNs: snapshot.virtualNs };
  }

  /** Run until a stop reason (see RunResult). Yields to the host's event loop as it goes. */
  async run(opts: RunOptions = {}): Promise<RunResult> {
    const st = this.begin(opts);
    try {
      for (;;) {
        const r = this.loop(st);
        if (r === YIELD) {
          await yieldToEventLoop();
          st.lastYield = wallNow();
        } else if (r === WAIT) {
          await this.waitForEvent(st);
        } else return this.finish(st, r);
      }
    } finally {
      this.inSlice = false;
      this.clock.pause();
    }
  }

  /**
   * run() without giving the event loop a turn: for deterministic runs (where nothing outside
   * the machine happens during a run anyway) and for callers that cannot await. In real-time
   * mode an idle wait blocks the thread (Atomics.wait), and serial input cannot arrive meanwhile.
   */
  runSync(opts: RunOptions = {}): RunResult {
    const st = this.begin(opts);
    try {
      for (;;) {
        const r = this.loop(st);
        if (r === YIELD) st.lastYield = wallNow();
        else if (r === WAIT) {
          const start = wallNow();
          sleepSync(this.idleWaitMs(st));
          st.haltedMs += wallNow() - start;
        }
        else return this.finish(st, r);
      }
    } finally {
      this.inSlice = false;
      this.clock.pause();
    }
  }

  // ---- interrupts and the APIC pages ------------------------------------------------------

  /**
   * ISA IRQ `irq`'s line: to the 8259A pair, and with APICs also to the I/O APIC's pin for it
   * (both see every ISA IRQ on a PC; the guest masks the one it does not use).
   */
  private isaIrq(irq: number): IrqLine {
    const pic = this.pic.line(irq);
    const io = this.ioApic;
    if (!io) return pic;
    const pin = isaIrqToIoApicPin(irq);
    return (level) => {
      pic(level);
      io.setInput(pin, level);
    };
  }

  /** The CPU's INTR: the 8259A's INT, or with a local APIC its own requests and the PIC's virtual wire. */
  private updateIntr(): void {
    const apic = this.localApic;
    const level = apic ? apic.interruptPending() || (this.picInt && this.apicsPassPic()) : this.picInt;
    this.core.intr = level;
    this.vmi?.setPending(level);
  }

  /** INTA: the local APIC's vector first (as QEMU's cpu_get_pic_interrupt), else the 8259A's through LINT0. */
  private acknowledgeInterrupt(): number {
    const apic = this.localApic;
    if (!apic) return this.pic.acknowledge();
    const v = apic.acknowledge();
    if (v >= 0) return v;
    return this.picInt && this.apicsPassPic() ? this.pic.acknowledge() : -1;
  }

  /** The 8259A's INT reaches the CPU through LINT0 (virtual wire mode A) or the I/O APIC's ExtINT pin (mode B). */
  private apicsPassPic(): boolean {
    return this.localApic!.passesPic() || this.ioApic!.passesPic();
  }

  /**
   * The board's NMI (a front-panel button, a parity or channel check): through the NMI gate of
   * port 0x70 bit 7, then LINT1 of the local APIC (as its LVT says), or the CPU's NMI pin.
   */
  nmi(): void {
    if (this.rtc.nmiMasked) return;
    if (this.localApic) this.localApic.lint1();
    else this.core.raiseNmi();
  }

  /** The device decoding `addr` outside RAM: the local APIC's page where IA32_APIC_BASE puts it (while enabled), the I/O APIC's. */
  private mmioDevice(addr: number): LocalApic | IoApic | undefined {
    if (!this.localApic) return undefined;
    const base = this.core.apicBase;
    if ((base & L.APIC_BASE_ENABLE) !== 0 && ((addr ^ base) & 0xfffff000) === 0) return this.localApic;
    if (((addr ^ IOAPIC_ADDRESS) & 0xfffff000) === 0) return this.ioApic;
    return undefined;
  }

  private mmioRead(addr: number, size: AccessWidth): number {
    const rom = this.firmware;
    if (rom && rom.contains(addr)) return rom.read(addr, size);
    const d = this.mmioDevice(addr);
    if (d) return d.read(addr & 0xfff, size);
    // Nothing else is mapped outside RAM: an undriven bus reads as all ones.
    this.mmioUnmappedReads++;
    return allOnes(size);
  }

  private mmioWrite(addr: number, size: AccessWidth, value: number): void {
    if (this.firmware?.contains(addr)) return; // ROM: the write goes nowhere
    const d = this.mmioDevice(addr);
    if (d) d.write(addr & 0xfff, value, size);
    else this.mmioUnmappedWrites++;
  }

  /**
   * The firmware's last 128 KiB into the RAM at 0xE0000–0xFFFFF (firmware-rom.ts says why RAM),
   * as at power-on and at every RESET: the CPU then starts at the ROM's reset vector.
   */
  private installFirmware(): void {
    const rom = this.firmware;
    if (!rom) return;
    const { addr, bytes } = rom.lowAlias();
    this.core.ram.set(bytes, addr);
    this.core.ramWritten(addr, bytes.length);
  }

  /** The MP table a BIOS would leave in its ROM area (RAM here, which the e820 map reserves). */
  private writeMpTable(): void {
    const table = buildMpTable({
      cpuSignature: CPU_SIGNATURE,
      cpuFeatures: 0, // optional (MP spec §4.3.1): Linux takes the features from CPUID
      localApicVersion: LOCAL_APIC_VERSION,
      ioApicId: IOAPIC_RESET_ID,
      ioApicVersion: IOAPIC_VERSION,
    });
    if (MP_TABLE_BASE + table.length > this.core.ramSize) return;
    this.core.ram.set(table, MP_TABLE_BASE);
    this.core.ramWritten(MP_TABLE_BASE, table.length);
  }

  // ---- the run loop ------------------------------------------------------------------------

  private begin(opts: RunOptions): RunState {
    const max = opts.maxInstructions ?? Infinity;
    const wall = opts.wallTimeoutMs ?? Infinity;
    if (!(max >= 0)) throw new Error(`maxInstructions must be a non-negative number, not ${max}`);
    if (!(wall >= 0)) throw new Error(`wallTimeoutMs must be a non-negative number, not ${wall}`);
    const now = wallNow();
    this.clock.resume();
    this.deadlineDirty = true;
    return {
      startInstructions: this.core.instructions,
      maxInstructions: max,
      startWall: now,
      wallDeadline: now + wall,
      lastYield: now,
      fruitlessSkips: 0,
      haltedMs: 0,
    };
  }

  /** Runs slices until the run must end (a RunResult), wait for an event (WAIT), or yield (YIELD). */
  private loop(st: RunState): RunResult | Pause {
    const core = this.core;
    const clock = this.clock;
    const det = this.deterministic;
    for (;;) {
      let now = clock.now();
      if (this.deadlineDirty || now >= this.nextDeadline) this.tickDevices(now);

      const done = core.instructions - st.startInstructions;
      if (done >= st.maxInstructions) return this.result("max-instructions");
      const wall = wallNow();
      if (wall >= st.wallDeadline) return this.result("timeout", `wall-clock timeout after ${Math.round(wall - st.startWall)} ms`);
      if (wall - st.lastYield >= YIELD_EVERY_MS) return YIELD;

      let budget = Math.min(st.maxInstructions - done, det ? DETERMINISTIC_SLICE_MAX : REALTIME_SLICE_MAX);
      if (this.nextDeadline !== Infinity) {
        const until = det ? clock.instructionsFor(this.nextDeadline - now) : Math.floor((this.nextDeadline - now) * this.instructionsPerNs);
        if (until < budget) budget = until > 1 ? until : 1;
      }

      const before = core.instructions;
      if (!det) clock.setIdle(false);
      this.inSlice = true;
      let exit = core.run(budget);
      this.inSlice = false;
      const ran = core.instructions - before;
      // The APIC's global enable (IA32_APIC_BASE, which ends the slice when written) routes the 8259A.
      if (this.localApic) this.updateIntr();
      if (this.outLen > 0) this.flushSerial();
      if (det) this.syncTsc();
      if (!det && ran > 1000) {
        const ns = (wallNow() - wall) * 1e6;
        if (ns > 0) this.instructionsPerNs = 0.8 * this.instructionsPerNs + 0.2 * (ran / ns);
      }
      if (ran > 0) st.fruitlessSkips = 0;
      if (this.stopCause !== null && exit !== L.EXIT_STOP) {
        // The stopping write was the slice's last instruction: report it now, not next run().
        core.u32[L.STATE_STOP_REQUEST >> 2] = 0;
        exit = L.EXIT_STOP;
      }

      switch (exit) {
        case L.EXIT_BUDGET:
          break;
        case L.EXIT_HLT: {
          // HLT with IF=1: nothing to do until a device interrupts.
          now = clock.now();
          if (this.deadlineDirty || now >= this.nextDeadline) this.tickDevices(now);
          if (core.intr) break;
          if (!det) {
            // Idle: the clock follows the wall clock, after making up what it lags (clock.ts).
            clock.setIdle(true);
            clock.skipTo(this.nextDeadline);
            if (clock.now() >= this.nextDeadline) break;
            return WAIT;
          }
          if (this.nextDeadline === Infinity || ++st.fruitlessSkips > MAX_FRUITLESS_IDLE_SKIPS) {
            return this.result("idle", `HLT with interrupts enabled at EIP=${hex32(core.eip)}, and no device will raise an interrupt`);
          }
          clock.skipTo(this.nextDeadline);
          this.syncTsc();
          break;
        }
        case L.EXIT_HLT_DISABLED:
          return this.result("hlt-disabled", `HLT with interrupts disabled at EIP=${hex32(core.eip)}`);
        case L.EXIT_TRIPLE_FAULT:
          return this.result("triple-fault", `triple fault at EIP=${hex32(core.eip)} (last exception: vector ${core.lastException.vector})`);
        case L.EXIT_EXCEPTION: {
          const e = core.lastException;
          return this.result("exception", `exception ${e.vector} (error code ${hex32(e.error)}) at EIP=${hex32(core.eip)}`);
        }
        case L.EXIT_STOP: {
          const cause = this.stopCause;
          this.stopCause = null;
          if (cause === "debug-exit") return this.result("debug-exit", `debug-exit: the guest wrote ${(this.exitCode - 1) / 2} to port 0xf4`, this.exitCode);
          if (cause === "reset") return this.result("reset", `the guest requested a CPU reset through ${this.resetSource}`);
          if (cause === "shutdown") return this.result("shutdown", "the guest shut the machine down (VMI Shutdown)");
          if (cause === "quit") return this.result("quit", "stopped at the host's request");
          break; // a device moved its deadline: reschedule
        }
        default:
          throw new Error(`core.run returned an unknown exit reason ${exit}`);
      }
    }
  }

  private tickDevices(now: number): void {
    const timed = this.timed;
    let next = Infinity;
    for (let i = 0; i < timed.length; i++) {
      const d = timed[i];
      if (d.nextDeadline(now) <= now) d.tick(now);
      const t = d.nextDeadline(now);
      if (t < next) next = t;
    }
    this.nextDeadline = next;
    this.deadlineDirty = false;
    this.clock.setLimit(next);
  }

  /**
   * Port accesses move time within a slice (deterministic: each costs nsPerPortAccess; real
   * time: they take a while): a guest polling ports must not run past a device deadline.
   */
  private afterPortAccess(): void {
    if (this.deterministic) this.syncTsc();
    this.stopAtDeadline();
  }

  /** Mid-slice: end the slice once virtual time has reached the next device deadline. */
  private stopAtDeadline(): void {
    if (this.inSlice && this.clock.now() >= this.nextDeadline) this.core.requestStop();
  }

  private onDeadlineChanged(): void {
    this.deadlineDirty = true;
    if (this.inSlice) this.core.requestStop();
  }

  private requestReset(source: string): void {
    if (this.stopCause === null) this.resetSource = source;
    this.stop("reset", 0);
  }

  /**
   * Ends the current run() (or the next one) with reason "quit", from outside the guest: an
   * event handler while run() is awaited (the console's Ctrl-A x). Wakes an idle wait.
   */
  requestQuit(): void {
    this.stop("quit", 0);
    const w = this.wake;
    if (w) w();
  }

  private stop(cause: "debug-exit" | "reset" | "shutdown" | "quit", code: number): void {
    // Debug-exit wins over a reset requested in the same slice: it is what a test asked for.
    if (this.stopCause !== "debug-exit") {
      this.stopCause = cause;
      this.exitCode = code;
    }
    this.core.requestStop();
  }

  /**
   * The guest's TSC now, as the core computes it (ops/system.ts): instructions (deterministic;
   * see syncTsc) or clockCycles() (real time), plus the TSC offset, a u64 read as signed so
   * that a guest's WRMSR of a smaller value stays exact.
   */
  private tscNow(): number {
    const u32 = this.core.u32;
    const o = L.STATE_TSC_OFFSET >> 2;
    const base = this.deterministic ? this.core.instructions : this.clockCycles();
    return base + u32[o] + (u32[o + 1] | 0) * 2 ** 32;
  }

  /** Real-time mode: the virtual clock in TSC cycles (what RDTSC reads before the offset). */
  private clockCycles(): number {
    return Math.floor(this.clock.now() / this.tscNsPerCycle);
  }

  /**
   * Virtual ns per TSC cycle, which VMI's GetCycleFrequency reports as a rate: the
   * deterministic clock's ns per instruction, REALTIME_TSC_HZ's period in real time.
   */
  private get tscNsPerCycle(): number {
    return this.deterministic ? this.clock.nsPerInstruction : 1e9 / REALTIME_TSC_HZ;
  }

  /** The exit-cost model: virtual time (and so the TSC) moves on by `cycles` per exit. */
  private chargeExit(cycles: number): void {
    this.clock.skipTo(this.clock.now() + cycles * this.clock.nsPerInstruction);
    this.afterPortAccess();
  }

  /** Instructions retired so far: the clock's input in deterministic mode. */
  private instructionsNow(): number {
    // Live, also mid-slice: the core publishes how many instructions the current run() has
    // retired (STATE_RUN_RETIRED) before every host call, and 0 once run() has returned.
    // Without it a guest that calibrates one clock against another inside a slice (Linux
    // reading the PIT and RDTSC in a tight loop) would see the PIT stand still while the
    // TSC moves, and compute a TSC frequency that is off.
    return this.core.instructions + this.core.u32[L.STATE_RUN_RETIRED >> 2];
  }

  /**
   * Deterministic mode: keep the guest's TSC a clock of virtual time (one tick per
   * nsPerInstruction), as a real TSC keeps counting through I/O cycles and HLT. The core counts
   * instructions; the time spent in port accesses and skipped in HLT is added to its TSC offset
   * as it accrues (added, so that a guest's own WRMSR to the TSC survives). Called after every
   * port access as well as after every slice, so that RDTSC and the PIT agree at every
   * instruction, not only at slice ends.
   */
  private syncTsc(): void {
    const clock = this.clock;
    const extra = Math.floor((clock.now() - this.instructionsNow() * clock.nsPerInstruction) / clock.nsPerInstruction);
    const delta = extra - this.tscAdded;
    if (delta <= 0) return;
    this.tscAdded = extra;
    const u32 = this.core.u32;
    const o = L.STATE_TSC_OFFSET >> 2;
    const lo = u32[o] + delta;
    u32[o] = lo >>> 0;
    u32[o + 1] = (u32[o + 1] + Math.floor(lo / 2 ** 32)) >>> 0;
  }

  private idleWaitMs(st: RunState): number {
    const now = this.clock.now();
    const untilDeadline = this.nextDeadline === Infinity ? Infinity : (this.nextDeadline - now) / 1e6;
    const untilTimeout = st.wallDeadline - wallNow();
    return Math.max(0, Math.min(untilDeadline, untilTimeout, YIELD_EVERY_MS * 50));
  }

  /** Real-time HLT: sleep until the next deadline, serial input, or the wall timeout. */
  private waitForEvent(st: RunState): Promise<void> {
    const ms = this.idleWaitMs(st);
    const start = wallNow();
    return new Promise<void>((resolve) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      // setTimeout cannot sleep less than about a millisecond (a browser's chained ones, 4 ms):
      // a nearer deadline is met by yielding once and looking again.
      if (ms >= 1) timer = setTimeout(done, Math.floor(ms));
      else void yieldToEventLoop().then(done);
      this.wake = done;
    }).then(() => {
      st.lastYield = wallNow();
      st.haltedMs += st.lastYield - start;
    });
  }

  private result(reason: StopReason, message?: string, exitCode?: number): RunResult {
    const r: RunResult = { reason, instructions: 0, wallMs: 0, mips: 0, haltedMs: 0, counters: {} };
    if (message !== undefined) r.message = message;
    if (exitCode !== undefined) r.exitCode = exitCode;
    return r;
  }

  private finish(st: RunState, r: RunResult): RunResult {
    this.flushSerial();
    this.debugcon?.flush();
    r.instructions = this.core.instructions - st.startInstructions;
    r.wallMs = wallNow() - st.startWall;
    r.mips = r.wallMs > 0 ? r.instructions / r.wallMs / 1000 : 0;
    r.haltedMs = st.haltedMs;
    r.counters = this.counters();
    return r;
  }

  /** Every counter of RunResult.counters, now. */
  counters(): Record<string, number> {
    const c = this.core.counters();
    c.unclaimedPortReads = this.bus.stats.unclaimedReads;
    c.unclaimedPortWrites = this.bus.stats.unclaimedWrites;
    c.portWidthMismatches = this.bus.stats.widthMismatches;
    c.mmioUnmappedReads = this.mmioUnmappedReads;
    c.mmioUnmappedWrites = this.mmioUnmappedWrites;
    c.virtualNs = this.clock.now();
    if (this.vmi) {
      const v = this.vmi.stats;
      let exits = 0;
      for (const k in v.exits) exits += v.exits[k];
      let inRom = 0;
      const rom = this.vmi.inRomCounts();
      for (const k in rom) inRom += rom[k];
      c.vmiExits = exits;
      c.vmiCallsInRom = inRom;
      c.vmiBatches = v.batches;
      c.vmiBatchedEntries = v.batchedEntries;
      c.vmiRefusedBatches = v.refusedBatches;
      let refused = 0;
      for (const k in v.refusedCalls) refused += v.refusedCalls[k];
      c.vmiRefusedCalls = refused;
      c.vmiAlarms = this.vmiAlarm.fired;
      const core = this.core.vmiCounters();
      for (const k in core) c["vmi" + k[0].toUpperCase() + k.slice(1)] = core[k];
    }
    return c;
  }

  // ---- COM1 output -------------------------------------------------------------------------

  private serialByte(b: number): void {
    if (this.outLen === this.outBuf.length) {
      const bigger = new Uint8Array(this.outBuf.length * 2);
      bigger.set(this.outBuf);
      this.outBuf = bigger;
    }
    this.outBuf[this.outLen++] = b;
    if (b === 0x0a && this.serialLineStops && this.inSlice) this.core.requestStop();
  }

  private flushSerial(): void {
    if (this.outLen === 0) return;
    const bytes = this.outBuf.slice(0, this.outLen);
    this.outLen = 0;
    if (this.serialSink) this.serialSink(bytes);
    else this.serialText += this.decoder.decode(bytes, { stream: true });
  }
}

function hex32(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}

/** Block the thread for `ms` (Node, workers); a busy wait where Atomics.wait is not allowed. */
function sleepSync(ms: number): void {
  if (ms <= 0) return;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  } catch {
    const end = wallNow() + ms;
    while (wallNow() < end) {
      /* the browser's main thread may not block */
    }
  }
}
