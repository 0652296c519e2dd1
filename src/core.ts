// The host's handle on the WebAssembly core: instantiates the module, sizes its memory once,
// and exposes the CPU state block and guest RAM as typed-array views over linear memory.
// Nothing here copies guest memory; everything is a view.

import * as L from "../assembly/layout.js";
import { coreModule } from "./core-module.js";
import { Jit, jitOptionsFromEnvironment, type JitOptions } from "./jit/jit.js";
import { type SavedGlobal, coreBuildIdentity, coreGlobals, restoreGlobals, saveGlobals } from "./snapshot/core-globals.js";
import { type PageImage, readPages, writePages } from "./snapshot/pages.js";

export interface CoreImports {
  portIn(port: number, size: number): number;
  portOut(port: number, size: number, value: number): void;
  mmioRead(addr: number, size: number): number;
  mmioWrite(addr: number, size: number, value: number): void;
  /** INTA: return the vector of the highest-priority pending interrupt, or -1. */
  ackInterrupt(): number;
  hypercall(call: number): void;
  /** The TSC before the guest's offset, in cycles, once useHostTsc(true) is set (real-time machines). */
  readTsc?(): number;
}

export interface CoreExports {
  memory: WebAssembly.Memory;
  init(ramSize: number): number;
  reset(): void;
  run(budget: number): number;
  flushTlb(): void;
  useHostTsc(on: number): void;
  ramWritten(phys: number, len: number): void;
  setApicPresent(present: number): void;
  // VMI (assembly/index.ts): what the host's call handlers ask of the core.
  vmiAnnouncePage(pfn: number, kind: number): number;
  vmiReleasePage(pfn: number): number;
  vmiEntryWritten(phys: number): void;
  vmiWriteCr(n: number, value: number): number;
  vmiFlushTlb(global: number): void;
  vmiInvalPage(linear: number): void;
  vmiShadowCrs(): void;
  vmiTranslate(linear: number): number;
  jitConfigure(hits: number): void;
  jitMapRestored(): void;
  vmiApplyEntries(base: number, head: number, n: number, mask: number, strict: number, linVa: number, linLength: number, linPa: number, virtualTop: number): number;
}

/** Segment register indices in the state block (Sreg encoding order, then LDTR and TR). */
export const enum Seg {
  ES = L.SEG_ES,
  CS = L.SEG_CS,
  SS = L.SEG_SS,
  DS = L.SEG_DS,
  FS = L.SEG_FS,
  GS = L.SEG_GS,
  LDTR = L.SEG_LDTR,
  TR = L.SEG_TR,
}

export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export type RegName = (typeof REG_NAMES)[number];

export const EXIT_NAMES: Record<number, string> = {
  [L.EXIT_BUDGET]: "budget",
  [L.EXIT_HLT]: "hlt",
  [L.EXIT_HLT_DISABLED]: "hlt-with-interrupts-disabled",
  [L.EXIT_TRIPLE_FAULT]: "triple-fault",
  [L.EXIT_EXCEPTION]: "exception",
  [L.EXIT_STOP]: "stop",
};

export const COUNTER_NAMES = L.COUNTER_NAMES.split(",");

export interface CoreOptions {
  ramSize: number;
  imports: CoreImports;
  /**
   * The module's bytes, for a browser or a custom build; default: build/core.wasm. Compiled once
   * per buffer object (src/core-module.ts): pass a new buffer for new bytes.
   */
  wasm?: BufferSource;
  /** Use the debug build (assertions on). */
  debug?: boolean;
  /** Compile hot guest code to WebAssembly (src/jit/), or not (false); default: on, unless VMI386_JIT says otherwise. */
  jit?: JitOptions | false;
}

/** The core's part of a snapshot (Core.save). */
export interface CoreState {
  build: string;
  memory: PageImage;
  globals: Record<string, SavedGlobal>;
}

export class Core {
  readonly exports: CoreExports;
  readonly memory: WebAssembly.Memory;
  /** Views over all of linear memory. Valid for the Core's lifetime: memory never grows after init. */
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  /** Guest physical RAM, [0, ramSize). */
  readonly ram: Uint8Array;
  readonly ramSize: number;
  /** The module's build identity (scripts/export-core-globals.ts); undefined: this build cannot be snapshotted. */
  readonly buildIdentity: string | undefined;
  private readonly globals: Map<string, WebAssembly.Global>;

  /** The JIT, when this core was loaded with one. */
  readonly jit: Jit | undefined;

  private constructor(exports: CoreExports, ramSize: number, buildIdentity: string | undefined, jit: Jit | undefined) {
    this.exports = exports;
    this.jit = jit;
    this.buildIdentity = buildIdentity;
    this.globals = coreGlobals(exports as unknown as WebAssembly.Exports);
    this.memory = exports.memory;
    this.ramSize = ramSize;
    const buf = this.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.i32 = new Int32Array(buf);
    this.ram = new Uint8Array(buf, L.RAM_BASE, ramSize);
  }

  static async load(opts: CoreOptions): Promise<Core> {
    const { ramSize } = opts;
    if (!Number.isInteger(ramSize) || ramSize < L.RAM_MIN || ramSize > L.RAM_MAX || ramSize % 4096 !== 0) {
      throw new Error(
        `guest RAM size ${ramSize} is out of range: it must be a multiple of 4 KiB between ${L.RAM_MIN} and ${L.RAM_MAX} bytes`,
      );
    }
    const imp = opts.imports;
    let exports!: CoreExports;
    const module = await coreModule(opts.wasm, opts.debug ?? false);
    const jitOptions = opts.jit === undefined ? jitOptionsFromEnvironment() : opts.jit;
    const jit = jitOptions ? new Jit(jitOptions) : undefined;
    await jit?.start();
    const instance = await WebAssembly.instantiate(module, {
      host: {
        portIn: (port: number, size: number) => imp.portIn(port, size),
        portOut: (port: number, size: number, value: number) => imp.portOut(port, size, value),
        mmioRead: (addr: number, size: number) => imp.mmioRead(addr >>> 0, size),
        mmioWrite: (addr: number, size: number, value: number) => imp.mmioWrite(addr >>> 0, size, value),
        ackInterrupt: () => imp.ackInterrupt(),
        hypercall: (call: number) => imp.hypercall(call),
        readTsc: () => (imp.readTsc ? imp.readTsc() : 0),
        jitCompile: jit ? (ip: number, entry: number) => jit.compile(ip, entry) : () => 0,
      },
      env: {
        // The units' function table (src/jit/jit.ts); a one-slot stand-in without the JIT.
        table: jit ? jit.table : new WebAssembly.Table({ element: "anyfunc", initial: 1 }),
        abort(msg: number, file: number, line: number, col: number) {
          throw new Error(`core assertion failed at ${readAsString(exports.memory, file)}:${line}:${col}: ${readAsString(exports.memory, msg)}`);
        },
      },
    });
    exports = instance.exports as unknown as CoreExports;
    const status = exports.init(ramSize);
    if (status !== 0) throw new Error(`core init failed (${status}): could not size linear memory for ${ramSize} bytes of RAM`);
    jit?.attach(instance.exports);
    return new Core(exports, ramSize, coreBuildIdentity(module), jit);
  }

  // ---- snapshots -------------------------------------------------------------------------
  /**
   * Everything the core is, between run() calls: all of linear memory (state block, TLB, shadow
   * contexts, block cache, guest RAM: a cache restored is the cache saved, so a restored run
   * takes the same misses as a straight one) and every mutable global.
   */
  save(): CoreState {
    if (this.buildIdentity === undefined) throw new Error("this core build cannot be snapshotted: it lacks the build step scripts/export-core-globals.ts");
    return { build: this.buildIdentity, memory: readPages(this.u8), globals: saveGlobals(this.globals) };
  }

  /** Take back what save() returned, from a core of the same build and RAM size. */
  restore(state: CoreState): void {
    if (state.build !== this.buildIdentity) throw new Error(`the snapshot is from core build ${state.build}, this core is build ${this.buildIdentity ?? "(none)"}`);
    if (state.memory.bytes !== this.u8.length) throw new Error(`the snapshot holds ${state.memory.bytes} bytes of core memory, this core has ${this.u8.length}`);
    restoreGlobals(this.globals, state.globals);
    writePages(this.u8, state.memory);
    // The saved unit map names the saving machine's function table slots, and its JIT setting.
    this.exports.jitMapRestored();
    this.exports.jitConfigure(this.jit ? this.jit.threshold : 0);
  }

  // ---- registers -------------------------------------------------------------------------
  reg(n: number): number {
    return this.u32[(L.REG_BASE >> 2) + n];
  }
  setReg(n: number, value: number): void {
    this.u32[(L.REG_BASE >> 2) + n] = value >>> 0;
  }
  get eip(): number {
    return this.u32[L.STATE_EIP >> 2];
  }
  /** Setting EIP also ends a HLT: the host is telling the CPU where to run next. */
  set eip(v: number) {
    this.u32[L.STATE_EIP >> 2] = v >>> 0;
    this.u32[L.STATE_HALTED >> 2] = 0;
  }
  /** EFLAGS. Authoritative between run() calls (the core folds its lazy flags in on return). */
  get eflags(): number {
    return this.u32[L.STATE_EFLAGS >> 2];
  }
  set eflags(v: number) {
    this.u32[L.STATE_EFLAGS >> 2] = (v | 2) >>> 0;
  }
  cr(n: 0 | 2 | 3 | 4): number {
    const off = n === 0 ? L.STATE_CR0 : n === 2 ? L.STATE_CR2 : n === 3 ? L.STATE_CR3 : L.STATE_CR4;
    return this.u32[off >> 2];
  }
  setCr(n: 0 | 2 | 3 | 4, v: number): void {
    const off = n === 0 ? L.STATE_CR0 : n === 2 ? L.STATE_CR2 : n === 3 ? L.STATE_CR3 : L.STATE_CR4;
    this.u32[off >> 2] = v >>> 0;
    this.exports.flushTlb();
  }
  get cpl(): number {
    return this.u32[L.STATE_CPL >> 2];
  }

  // ---- segments --------------------------------------------------------------------------
  segment(s: Seg): { selector: number; base: number; limit: number; attr: number } {
    const o = (L.SEG_BASE + s * L.SEG_SIZE) >> 2;
    return { selector: this.u32[o], base: this.u32[o + 1], limit: this.u32[o + 2], attr: this.u32[o + 3] };
  }
  /** Load a segment's hidden descriptor cache directly (as a loader or reset does, not as MOV Sreg). */
  setSegment(s: Seg, selector: number, base: number, limit: number, attr: number): void {
    const o = (L.SEG_BASE + s * L.SEG_SIZE) >> 2;
    this.u32[o] = selector >>> 0;
    this.u32[o + 1] = base >>> 0;
    this.u32[o + 2] = limit >>> 0;
    this.u32[o + 3] = attr >>> 0;
  }

  /**
   * The state a multiboot loader hands over (Multiboot 0.6.96 §3.2): protected mode, paging
   * off, flat 4 GiB 32-bit segments, interrupts off.
   */
  enterFlatProtectedMode(eip: number): void {
    this.setCr(0, (this.cr(0) | 1 | 0x10) & ~0x80000000);
    // code: present, DPL0, execute/read, accessed; G=1 D=1.  data: present, DPL0, read/write, accessed.
    this.setSegment(Seg.CS, 0x08, 0, 0xffffffff, 0xc09b);
    for (const s of [Seg.DS, Seg.ES, Seg.SS, Seg.FS, Seg.GS]) this.setSegment(s, 0x10, 0, 0xffffffff, 0xc093);
    this.u32[L.STATE_CPL >> 2] = 0;
    this.eflags = 0x2;
    this.eip = eip;
  }

  // ---- control ---------------------------------------------------------------------------
  run(budget: number): number {
    // Units the compiler thread has finished since the last slice go in before it.
    this.jit?.poll();
    return this.exports.run(budget);
  }
  reset(): void {
    this.exports.reset();
  }
  flushTlb(): void {
    this.exports.flushTlb();
  }
  /** RDTSC reads imports.readTsc (plus the guest's offset) instead of counting instructions; survives reset(). */
  useHostTsc(on: boolean): void {
    this.exports.useHostTsc(on ? 1 : 0);
  }
  /**
   * The host wrote guest RAM behind the CPU's back (a loader, a hypercall): the core drops the
   * decoded blocks cached for those pages. Every host write to RAM must be followed by this.
   */
  ramWritten(phys: number, len: number): void {
    if (len > 0) this.exports.ramWritten(phys >>> 0, len >>> 0);
  }
  /** Give the CPU a local APIC or take it away (CPUID and IA32_APIC_BASE follow; kept across reset). */
  set apicPresent(present: boolean) {
    this.exports.setApicPresent(present ? 1 : 0);
  }
  /** IA32_APIC_BASE's low half: where the APIC page is, and whether it is enabled (bit 11); 0 without an APIC. */
  get apicBase(): number {
    return this.u32[L.STATE_APIC_BASE >> 2];
  }
  set intr(asserted: boolean) {
    this.u32[L.STATE_INTR >> 2] = asserted ? 1 : 0;
  }
  get intr(): boolean {
    return this.u32[L.STATE_INTR >> 2] !== 0;
  }
  /**
   * An edge on the CPU's NMI input: latched until the CPU takes it, which it does whatever IF
   * says, once the handler of the previous one has executed IRET (SDM Vol. 3 §6.7.1). Safe to
   * call from an import: the core looks after the host call.
   */
  raiseNmi(): void {
    this.u32[L.STATE_NMI >> 2] |= L.NMI_PENDING;
  }
  /** Ask run() to return at the next instruction boundary (safe to call from an import). */
  requestStop(): void {
    this.u32[L.STATE_STOP_REQUEST >> 2] = 1;
  }
  set trapExceptions(on: boolean) {
    this.u32[L.STATE_TRAP_EXCEPTIONS >> 2] = on ? 1 : 0;
  }
  /** The last exception raised: vector (-1 none) and error code. */
  get lastException(): { vector: number; error: number } {
    return { vector: this.i32[L.STATE_EXC_VECTOR >> 2], error: this.u32[L.STATE_EXC_ERROR >> 2] };
  }
  get halted(): boolean {
    return this.u32[L.STATE_HALTED >> 2] !== 0;
  }

  /** The core's VMI counters by name (directPageTableWrites, shadowHits, …). */
  vmiCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    L.VMI_COUNTER_NAMES.split(",").forEach((name, i) => {
      out[name] = this.u32[(L.VMI_COUNTER_BASE >> 2) + i];
    });
    return out;
  }

  /** Counters by name (instructions, portIn, …); u64 in the state block, read as Numbers. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    COUNTER_NAMES.forEach((name, i) => {
      const o = (L.COUNTER_BASE >> 2) + i * 2;
      out[name] = this.u32[o] + this.u32[o + 1] * 2 ** 32;
    });
    return out;
  }
  get instructions(): number {
    const o = L.COUNTER_INSTRUCTIONS >> 2;
    return this.u32[o] + this.u32[o + 1] * 2 ** 32;
  }
}

function readAsString(memory: WebAssembly.Memory, ptr: number): string {
  if (!ptr) return "";
  const u32 = new Uint32Array(memory.buffer);
  const len = u32[(ptr - 4) >> 2] >>> 1;
  const u16 = new Uint16Array(memory.buffer, ptr, len);
  return String.fromCharCode(...u16);
}
