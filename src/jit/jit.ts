// The JIT's host side: compiles the units the core asks for (unit.ts), instantiates each as a
// small module over the core's memory, and installs it in the function table the core calls
// units through. The cache is bounded in units and in module bytes; the oldest unit goes first
// (the core's map entry for it is cleared, so the core never calls an evicted slot).

import { unitImportObject } from "./unit.js";
import { codeRange, compileUnit, decodeUnit } from "./compile.js";
import { openCompileThread } from "./compile-thread.js";
import type { CompileAnswer, CompilePort, CompileRequest } from "./compile-protocol.js";

export interface JitOptions {
  /** Block entries before a block start is compiled (1 = at once). */
  threshold: number;
  /** Live units at most (function table slots). */
  maxUnits?: number;
  /** Live module bytes at most. */
  maxBytes?: number;
  /**
   * How units become functions: "auto" (default) is "worker" in Node unless the threshold is 1;
   * otherwise it compiles synchronously and falls back to WebAssembly.instantiate for modules
   * as large as one the host refused to compile synchronously (Chromium's main thread: over
   * 4 KB in older versions, 8 MB in recent ones);
   * "async" always compiles asynchronously (the tests use it to exercise that path);
   * "worker" generates and compiles units on a compiler thread (Node; elsewhere as "sync")
   * while this thread goes on interpreting, and installs each once it has arrived;
   * "sync" compiles at once, on this thread (with the same fallback).
   */
  compile?: "auto" | "async" | "worker" | "sync";
}

export interface JitStats {
  unitsCompiled: number;
  /** Hot block starts the JIT would not compile (no instruction it compiles before the unit would end). */
  refused: number;
  /** Of those, the ones whose compilation failed (a JIT bug; lastError has the last). */
  failed: number;
  evictions: number;
  /** Bytes of the modules compiled so far, and of those live now. */
  wasmBytes: number;
  liveBytes: number;
  /** Hot block starts given a live unit compiled earlier from the same bytes (see Jit.byIp). */
  reused: number;
  /** Milliseconds this thread spent generating, instantiating and installing units (or requesting them). */
  compileMs: number;
  /** Milliseconds the compiler thread spent generating and compiling units. */
  workerMs: number;
  /** Guest instructions in the compiled units (their bounds, summed). */
  instructions: number;
  /** Of those, the ones the units hand to the core's interpreter. */
  interpreted: number;
  /**
   * Units compiled asynchronously or on the compiler thread, and those of them whose guest bytes
   * had changed by the time they arrived (not installed).
   */
  asyncCompiled: number;
  asyncStale: number;
  /** Asynchronous compiles not yet settled. */
  pending: number;
}

export const JIT_DEFAULT_THRESHOLD = 10_000;

/**
 * The JIT setting of a machine or core whose caller did not choose: on at the default threshold,
 * unless the environment variable VMI386_JIT says otherwise (0: off; N: threshold N). The test
 * suites use it to run with the JIT off, or compiling every block start (1).
 */
export function jitOptionsFromEnvironment(): JitOptions | false {
  const value = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.VMI386_JIT;
  if (value === undefined || value.trim() === "") return { threshold: JIT_DEFAULT_THRESHOLD };
  const threshold = Number(value);
  if (!Number.isInteger(threshold) || threshold < 0) throw new Error(`VMI386_JIT must be 0 (off) or a threshold, not "${value}"`);
  return threshold > 0 ? { threshold } : false;
}
const DEFAULT_MAX_UNITS = 4096;
/** Requests to the compiler thread sent together at most (a boot's first slices ask for hundreds). */
const OUTBOX_SIZE = 32;
const DEFAULT_MAX_BYTES = 16 << 20;
/** The core's map entry slot meaning "refused" (assembly/jit/units.ts SLOT_REFUSED, with bound 0). */
const SLOT_REFUSED = 0xffff;
/** The core's map entry slot meaning "being compiled" (assembly/jit/units.ts SLOT_PENDING, with bound 0). */
const SLOT_PENDING = 0xfffe;

interface CoreJitExports {
  memory: WebAssembly.Memory;
  jitConfigure(hits: number): void;
  jitMapRestored(): void;
  jitEvicted(entry: number, slot: number): void;
  jitInstructionInfo(ip: number): number;
}

export class Jit {
  readonly table: WebAssembly.Table;
  readonly stats: JitStats = { unitsCompiled: 0, refused: 0, failed: 0, evictions: 0, reused: 0, wasmBytes: 0, liveBytes: 0, compileMs: 0, workerMs: 0, instructions: 0, interpreted: 0, asyncCompiled: 0, asyncStale: 0, pending: 0 };
  /** The last compilation failure, for debugging. */
  lastError: Error | undefined;
  private core: (WebAssembly.Exports & CoreJitExports) | undefined;
  private imports: WebAssembly.Imports | undefined;
  private readonly maxUnits: number;
  private readonly maxBytes: number;
  /** Per slot (1..maxUnits): the core map entry it is installed at, and its module's size. */
  private readonly slotEntry: Int32Array;
  private readonly slotBytes: Int32Array;
  /**
   * The live unit compiled at each host address, with a copy of the guest bytes its decoding
   * read: the core's map is direct mapped, so two hot block starts that share an entry take it
   * from each other, and the one that comes back is found here instead of compiled again (a
   * Debian boot asked for 11,092 units where 4,096 slots were live at most).
   */
  private readonly byIp = new Map<number, { slot: number; bound: number; lo: number; code: Uint8Array }>();
  private readonly slotIp: Uint32Array;
  /** Slots in install order, a ring: the next to reuse is the oldest. */
  private nextSlot = 1;
  private live = 0;
  private u8: Uint8Array = new Uint8Array(0);
  /** The compiler thread (compile "worker"), once start() has opened it. */
  private thread: CompilePort | undefined;
  /** Requests sent to the compiler thread, by id, and by host address (one per address). */
  private readonly requests = new Map<number, WorkerRequest>();
  private readonly requestAt = new Map<number, WorkerRequest>();
  private nextRequest = 1;
  /** Requests not sent yet: they go at the next slice, or once there are OUTBOX_SIZE of them. */
  private outbox: CompileRequest[] = [];

  constructor(readonly options: JitOptions) {
    this.maxUnits = Math.max(1, Math.min(options.maxUnits ?? DEFAULT_MAX_UNITS, SLOT_PENDING - 1));
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    // Slot 0 is "no unit" in the core's map.
    this.table = new WebAssembly.Table({ element: "anyfunc", initial: this.maxUnits + 1 });
    this.slotEntry = new Int32Array(this.maxUnits + 1);
    this.slotBytes = new Int32Array(this.maxUnits + 1);
    this.syncLimit = options.compile === "async" ? 0 : Infinity;
    this.slotIp = new Uint32Array(this.maxUnits + 1);
  }

  /**
   * Open the compiler thread (before the core runs) for compile "worker", and for "auto" unless
   * the threshold is 1: that setting is for tests that want every block start compiled as it
   * first runs, and a short run would end before most units arrived from the thread.
   */
  async start(): Promise<void> {
    const how = this.options.compile ?? "auto";
    if (how === "worker" || (how === "auto" && this.threshold > 1)) this.thread = await openCompileThread(this);
  }

  /** Bind to the instantiated core and turn the JIT on there. */
  attach(core: WebAssembly.Exports): void {
    this.core = core as WebAssembly.Exports & CoreJitExports;
    this.imports = unitImportObject(core);
    this.u8 = new Uint8Array(this.core.memory.buffer);
    this.core.jitConfigure(this.threshold);
  }

  /** The core's decoder, for the instructions a unit hands to its interpreter (compile.ts). */
  private readonly instructionInfo = (at: number): number => this.core!.jitInstructionInfo(at);

  /** The threshold as the core takes it (1 to 65535). */
  get threshold(): number {
    return Math.max(1, Math.min(Math.floor(this.options.threshold), 0xffff));
  }

  /** The core's hostJitCompile import: slot | bound << 16, SLOT_PENDING (compiling elsewhere), or 0 (refused). */
  compile(ip: number, entry: number): number {
    const core = this.core;
    if (!core) return 0;
    const t0 = performance.now();
    if (this.u8.buffer !== core.memory.buffer) this.u8 = new Uint8Array(core.memory.buffer);
    if (this.thread) this.receive();
    const known = this.byIp.get(ip);
    if (known !== undefined && this.sameCode(known.lo, known.code)) {
      // Still installed at its slot; the core's entry for `ip` is the one it had (entryFor).
      this.slotEntry[known.slot] = entry;
      this.stats.reused++;
      this.stats.compileMs += performance.now() - t0;
      return known.slot | (known.bound << 16);
    }
    if (this.thread) {
      const r = this.requestUnit(ip >>> 0, entry >>> 0);
      this.stats.compileMs += performance.now() - t0;
      return r;
    }
    let unit: ReturnType<typeof compileUnit> = null;
    let instance: WebAssembly.Instance | undefined;
    try {
      unit = compileUnit(this.u8, ip >>> 0, this.instructionInfo);
      if (unit && unit.bytes.length < this.syncLimit) instance = this.instantiateSync(unit.bytes);
    } catch (e) {
      // A JIT bug must not stop the machine: the interpreter runs this code instead.
      this.stats.failed++;
      this.lastError = e as Error;
      unit = null;
    }
    if (unit !== null && instance === undefined) {
      // The core marks the entry pending; compileLater installs the unit there when it is ready.
      this.compileLater(unit, ip >>> 0, entry >>> 0);
      this.stats.compileMs += performance.now() - t0;
      return SLOT_PENDING;
    }
    if (unit === null || instance === undefined) {
      this.stats.refused++;
      this.stats.compileMs += performance.now() - t0;
      return 0;
    }
    const r = this.install(unit, instance, ip >>> 0, entry);
    this.stats.compileMs += performance.now() - t0;
    return r;
  }

  /**
   * Modules of this size or more are compiled asynchronously: Chromium refuses
   * `new WebAssembly.Module` over a size on a page's main thread with a RangeError (4 KB in
   * older versions, 8 MB in recent ones), and a thread that refused one size refuses larger ones.
   */
  private syncLimit: number;

  /** A unit's instance, compiled synchronously; undefined when the host refuses (syncLimit drops). */
  private instantiateSync(bytes: Uint8Array): WebAssembly.Instance | undefined {
    try {
      return new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), this.imports);
    } catch (e) {
      if (!(e instanceof RangeError)) throw e;
      this.syncLimit = Math.min(this.syncLimit, bytes.length);
      return undefined;
    }
  }

  /**
   * Compile `unit` off the run loop and, when it is ready, install it at core map entry `entry`
   * if that entry still holds the block it was asked for (same host address, block table
   * generation and epoch) and marks it pending, as the core did when compile() returned
   * SLOT_PENDING. The core runs no guest code while a promise settles, so the entry cannot change
   * under this.
   */
  private compileLater(unit: NonNullable<ReturnType<typeof compileUnit>>, ip: number, entry: number): void {
    const core = this.core!;
    const key = new Uint32Array(core.memory.buffer, entry, 3).slice();
    this.stats.pending++;
    WebAssembly.instantiate(unit.bytes as BufferSource, this.imports).then(
      ({ instance }) => {
        this.stats.pending--;
        const now = pendingEntry(core.memory.buffer, entry, ip, key[1], key[2]);
        if (this.core !== core || now === undefined) {
          this.stats.asyncStale++;
          return;
        }
        this.stats.asyncCompiled++;
        now[3] = this.install(unit, instance, ip, entry);
      },
      (e: unknown) => {
        this.stats.pending--;
        this.stats.failed++;
        this.stats.refused++;
        this.lastError = e as Error;
        const now = pendingEntry(core.memory.buffer, entry, ip, key[1], key[2]);
        if (now !== undefined) now[3] = SLOT_REFUSED;
      },
    );
  }

  /** Put `instance`'s unit (compiled at host address `ip`) in a table slot for core map entry `entry`: slot | bound << 16. */
  private install(unit: NonNullable<ReturnType<typeof compileUnit>>, instance: WebAssembly.Instance, ip: number, entry: number): number {
    const [lo, hi] = codeRange(unit, ip);
    const interpreted = unit.instructions.filter((insn) => insn.interpreted).length;
    return this.installModule({ size: unit.bytes.length, bound: unit.bound, interpreted, lo, code: this.u8.slice(lo, hi) }, instance, ip, entry);
  }

  /** install() for a unit known by its size, bound and the guest bytes its decoding read (from `lo`). */
  private installModule(unit: { size: number; bound: number; interpreted: number; lo: number; code: Uint8Array }, instance: WebAssembly.Instance, ip: number, entry: number): number {
    const slot = this.takeSlot(unit.size);
    this.table.set(slot, instance.exports.u as WebAssembly.ExportValue as never);
    this.slotEntry[slot] = entry;
    this.slotBytes[slot] = unit.size;
    this.remember(ip, slot, unit.bound, unit.lo, unit.code);
    this.live++;
    this.stats.unitsCompiled++;
    this.stats.instructions += unit.bound;
    this.stats.interpreted += unit.interpreted;
    this.stats.wasmBytes += unit.size;
    this.stats.liveBytes += unit.size;
    return slot | (unit.bound << 16);
  }

  /** A free slot, evicting the oldest units while the cache is full (by count or bytes). */
  private takeSlot(bytes: number): number {
    const after = (s: number) => (s % this.maxUnits) + 1;
    while (this.live >= this.maxUnits || (this.live > 0 && this.stats.liveBytes + bytes > this.maxBytes)) {
      // Slots are taken in ring order: the first one in use from the ring's position is the oldest.
      let s = this.nextSlot;
      while (this.slotEntry[s] === 0) s = after(s);
      this.evict(s);
    }
    let slot = this.nextSlot;
    while (this.slotEntry[slot] !== 0) slot = after(slot);
    this.nextSlot = after(slot);
    return slot;
  }

  /** Know the unit at `slot` by its address and the guest bytes (from `lo`) its decoding read. */
  private remember(ip: number, slot: number, bound: number, lo: number, code: Uint8Array): void {
    this.forget(slot);
    const old = this.byIp.get(ip);
    if (old !== undefined) this.slotIp[old.slot] = 0;
    this.byIp.set(ip, { slot, bound, lo, code });
    this.slotIp[slot] = ip;
  }

  /**
   * Ask the compiler thread for the unit at host address `ip`, for core map entry `entry` (which
   * the core marks pending meanwhile): SLOT_PENDING, or 0 when the unit would hold no instruction
   * the JIT compiles (known at once: most hot block starts the JIT refuses). The unit is decoded
   * here first, because only this thread has the core: the core's answers about the instructions
   * the unit hands to the interpreter (their length, whether they may jump) go with the request,
   * so that the compiler thread decodes the same unit. The request also carries a copy of the
   * code page and the 16 bytes past it (an instruction starting at the page limit reads up to 15).
   */
  private requestUnit(ip: number, entry: number): number {
    const info: number[] = [];
    let known: boolean;
    try {
      known = decodeUnit(this.u8, ip, (at) => {
        const v = this.instructionInfo(at);
        info.push(at, v);
        return v;
      }) !== null;
    } catch (e) {
      // A JIT bug must not stop the machine: the interpreter runs this code instead.
      this.stats.failed++;
      this.lastError = e as Error;
      known = false;
    }
    if (!known) {
      this.stats.refused++;
      return 0;
    }
    const key = new Uint32Array(this.u8.buffer, entry, 3);
    const waiting = this.requestAt.get(ip);
    if (waiting !== undefined && waiting.gen === key[1]) {
      // Asked already, and its page not written to since (its entry was taken by another block
      // start meanwhile): the answer is for this entry now.
      waiting.entry = entry;
      waiting.owner = key[2];
      return SLOT_PENDING;
    }
    const base = ip & ~0xfff;
    const code = this.u8.slice(base, Math.min(base + 0x1000 + 16, this.u8.length));
    const req: WorkerRequest = { id: this.nextRequest++, ip, entry, gen: key[1], owner: key[2] };
    this.requests.set(req.id, req);
    this.requestAt.set(ip, req);
    this.stats.pending++;
    this.outbox.push({ id: req.id, ip, base, code, info });
    if (this.outbox.length >= OUTBOX_SIZE) this.send();
    return SLOT_PENDING;
  }

  /**
   * Take in the compiler thread's answers that have arrived (the core calls no unit meanwhile:
   * between slices, or from the core's compile request). A unit whose guest bytes are unchanged
   * is installed, and put in its core map entry if that still holds its block (same address,
   * block table generation and epoch) marked pending, as the core left it; otherwise it waits in
   * byIp for its block start to come back. One the JIT refused marks its entry refused.
   */
  poll(): void {
    if (this.thread && this.stats.pending > 0) {
      const t0 = performance.now();
      if (this.outbox.length > 0) this.send();
      this.receive();
      this.stats.compileMs += performance.now() - t0;
    }
  }

  /** Send the requests made since the last send, in one message (a message costs more than its bytes). */
  private send(): void {
    this.thread!.request(this.outbox, this.outbox.map((r) => r.code.buffer as ArrayBuffer));
    this.outbox = [];
  }

  private receive(): void {
    if (this.u8.buffer !== this.core!.memory.buffer) this.u8 = new Uint8Array(this.core!.memory.buffer);
    for (let answers = this.thread!.next(); answers !== undefined; answers = this.thread!.next()) {
      for (const answer of answers) this.received(answer);
    }
  }

  private received(answer: CompileAnswer): void {
    const req = this.requests.get(answer.id);
    if (req === undefined) return;
    this.requests.delete(answer.id);
    if (this.requestAt.get(req.ip) === req) this.requestAt.delete(req.ip);
    this.stats.pending--;
    this.stats.workerMs += answer.ms;
    const now = pendingEntry(this.u8.buffer, req.entry, req.ip, req.gen, req.owner);
    if (answer.module === undefined) {
      this.stats.refused++;
      if (answer.error !== undefined) {
        this.stats.failed++;
        this.lastError = new Error(answer.error);
      }
      if (now !== undefined) now[3] = SLOT_REFUSED;
      return;
    }
    const lo = answer.lo!;
    const code = answer.code!;
    if (!this.sameCode(lo, code)) {
      this.stats.asyncStale++;
      return;
    }
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(answer.module, this.imports);
    } catch (e) {
      this.stats.failed++;
      this.stats.refused++;
      this.lastError = e as Error;
      if (now !== undefined) now[3] = SLOT_REFUSED;
      return;
    }
    this.stats.asyncCompiled++;
    const r = this.installModule({ size: answer.size!, bound: answer.bound!, interpreted: answer.interpreted!, lo, code }, instance, req.ip, req.entry);
    if (now !== undefined) now[3] = r;
  }

  private sameCode(lo: number, code: Uint8Array): boolean {
    const mem = this.u8;
    for (let i = 0; i < code.length; i++) if (mem[lo + i] !== code[i]) return false;
    return true;
  }

  /** Slot `slot` no longer holds the unit byIp knows it by. */
  private forget(slot: number): void {
    const ip = this.slotIp[slot] >>> 0;
    if (ip !== 0 && this.byIp.get(ip)?.slot === slot) this.byIp.delete(ip);
    this.slotIp[slot] = 0;
  }

  private evict(slot: number): void {
    this.forget(slot);
    this.core!.jitEvicted(this.slotEntry[slot], slot);
    this.table.set(slot, null);
    this.stats.liveBytes -= this.slotBytes[slot];
    this.slotEntry[slot] = 0;
    this.slotBytes[slot] = 0;
    this.live--;
    this.stats.evictions++;
  }
}

/** A request to the compiler thread, with the core map entry (and its key) the unit is for. */
interface WorkerRequest {
  id: number;
  ip: number;
  entry: number;
  gen: number;
  owner: number;
}

/**
 * The core's map entry at `entry` (host address, table generation, owner, slot) if it still
 * holds the block a compile was asked for (host address `ip`, generation `gen`, owner `owner`:
 * table index and epoch) marked pending, as the core left it; else undefined (its page was
 * written, the machine reset, or another block start took the entry).
 */
function pendingEntry(buffer: ArrayBufferLike, entry: number, ip: number, gen: number, owner: number): Uint32Array | undefined {
  const now = new Uint32Array(buffer, entry, 4);
  return now[0] === ip && now[1] === gen && now[2] === owner && now[3] === SLOT_PENDING ? now : undefined;
}
