// The host side of VMI: installs the ROM, and serves each hypercall the ROM makes. Arguments
// and results are guest registers in the state block (regparm(3): EAX, EDX, ECX; the ROM moves
// stack arguments into ESI and EDI before exiting). A call the host refuses raises #GP(0) at
// the call, as a refused batch does; nothing is changed by a refused call (docs/vmi.md
// "Refusals and counters").
//
// Every exit first drains the deferred queue, so each call sees the MMU the guest believes in
// (docs/vmi.md "Lazy MMU mode and the deferred queue").

import * as L from "../../assembly/layout.js";
import type { Core } from "../core.js";
import { Seg } from "../core.js";
import { CALL_NAMES } from "./calls.js";
import {
  Call, FLUSH_GLOBAL, LAZY_FLUSH, LAZY_OFF, LINEAR_MAPPING_SLOTS, PAGE_CLONE, PAGE_PD, PAGE_PT, ALARM_COUNTER_MASK,
  ALARM_IS_PERIODIC, ALARM_WIRED_LVTT, CYCLES_AVAILABLE,
} from "../../assembly/vmi-abi.js";
import { ExitKind, ROM_PHYS, buildRom, type Rom } from "./rom.js";
import type { VmiAlarm } from "../devices/vmi-timer.js";
import { checkedState, copyState } from "../devices/device.js";

const EXC_UD = 6;
const INIT_SLOT = L.SP_CALL_SLOTS;
const REGS = L.REG_BASE >> 2;
const EXC_GP = 13;
const R_EAX = 0;
const R_ECX = 1;
const R_EDX = 2;
const R_ESI = 6;
const R_EDI = 7;

export interface VmiOptions {
  /** Deferred-queue entries (a power of two, 1..256). Default 64. */
  queueCapacity?: number;
}

/** What the hypervisor needs from the machine around it. */
export interface VmiHost {
  core: Core;
  alarm: VmiAlarm;
  /** The TSC's rate, which GetCycleFrequency reports. */
  cycleFrequency: number;
  /** GetWallclockTime: nanoseconds since the Unix epoch. */
  wallclockNs(): number;
  reboot(): void;
  shutdown(): void;
  /** Called once per exit (the exit-cost model charges it). */
  onExit(): void;
}

/** Counters of one machine's VMI traffic, by call (docs/vmi.md "Refusals and counters"). */
export interface VmiStats {
  /** Exits to the host, by call name (vmi_init included). */
  readonly exits: Record<string, number>;
  /** Of those, the exits of a call whose queued entry filled the queue (a drain, not an immediate call), by call name. */
  queueFullExits: Record<string, number>;
  /** Queue drains that applied something, and the entries they applied, by operation. */
  batches: number;
  batchedEntries: number;
  /** Batch sizes: size → how many batches had it. */
  batchSizes: Record<string, number>;
  refusedBatches: number;
  /** Calls the host refused (#GP), by call name. */
  refusedCalls: Record<string, number>;
  /** SetAlarm calls that asked for the local APIC timer's wiring (delivered on IRQ0: no local APIC here). */
  lvttAlarms: number;
  /** The last refusal's reason, for error messages. */
  lastRefusal: string;
}

/** Vmi.save(): plain data. */
export interface VmiState {
  head: number;
  linear: { va: number; pages: number; pfn: number }[];
  exitCounts: number[];
  stats: Omit<VmiStats, "exits">;
}

export class Vmi {
  readonly rom: Rom;
  readonly stats: VmiStats;
  private readonly core: Core;
  private readonly shared: number;
  /** Exit sites by ROM offset, with their call names (an array: the hypercall path indexes it). */
  private readonly sites: ({ call: number; kind: ExitKind; name: string } | undefined)[] = [];
  /** Exits by call number; vmi_init's in the last slot. */
  private readonly exitCounts = new Float64Array(L.SP_CALL_SLOTS + 1);
  /** The queue position the host has consumed up to (its own copy: the page's is untrusted). */
  private head = 0;
  private readonly linear: { va: number; pages: number; pfn: number }[] = [];

  constructor(private readonly host: VmiHost, opts: VmiOptions = {}) {
    this.core = host.core;
    this.rom = buildRom({ queueCapacity: opts.queueCapacity, cycleFrequency: host.cycleFrequency });
    for (const [offset, site] of this.rom.exits) this.sites[offset] = { ...site, name: CALL_NAMES.get(site.call) ?? "vmi_init" };
    const counts = this.exitCounts;
    this.shared = L.VMI_AREA_BASE + L.VMI_SHARED_OFFSET;
    this.stats = {
      get exits() {
        const out: Record<string, number> = {};
        counts.forEach((v, n) => {
          if (v !== 0) out[n === INIT_SLOT ? "vmi_init" : (CALL_NAMES.get(n) ?? String(n))] = v;
        });
        return out;
      },
      queueFullExits: {}, batches: 0, batchedEntries: 0, batchSizes: {}, refusedBatches: 0,
      refusedCalls: {}, lvttAlarms: 0, lastRefusal: "",
    };
  }

  /** Map the ROM and a fresh shared area; put the ROM's header where the guest scans for it. */
  install(): void {
    const core = this.core;
    const img = this.rom.image;
    if (core.ramSize < ROM_PHYS + img.length) throw new Error(`--vmi needs at least ${(ROM_PHYS + img.length) >> 10} KiB of RAM for the ROM at 0x${ROM_PHYS.toString(16)}`);
    core.ram.set(img, ROM_PHYS);
    core.ramWritten(ROM_PHYS, img.length);
    core.u8.fill(0, L.VMI_AREA_BASE, L.VMI_AREA_BASE + L.VMI_AREA_SIZE);
    core.u8.set(img, L.VMI_AREA_BASE);
    core.u32[L.STATE_VMI_TOP >> 2] = this.rom.virtualTop;
    core.u32[L.STATE_VMI_ROM_PAGES >> 2] = Math.ceil(img.length / 4096);
    core.u32[L.STATE_VMI_ACTIVE >> 2] = 0;
    core.u32[L.STATE_VMI_LAZY_SUSPENDED >> 2] = 0;
    this.setShared32(L.SP_VERSION, L.SP_LAYOUT_VERSION);
    this.setShared32(L.SP_QUEUE_CAPACITY, this.rom.queueCapacity);
    this.head = 0;
    this.linear.length = 0;
    this.host.alarm.reset();
  }

  /**
   * The host's side of the hypervisor for a snapshot: the queue position consumed, the linear
   * mappings, the counters. The ROM, the shared area and the core's VMI state are in the
   * core's memory; the ROM is rebuilt from the machine's options, which a snapshot keeps.
   */
  save(): VmiState {
    const { exits: _exits, ...stats } = this.stats;
    return copyState({ head: this.head, linear: this.linear, exitCounts: Array.from(this.exitCounts), stats });
  }

  restore(state: unknown): void {
    const s = state as VmiState;
    const counts = s?.exitCounts;
    if (!Array.isArray(counts) || counts.length !== this.exitCounts.length || counts.some((v) => !Number.isFinite(v))) {
      throw new Error("VMI: cannot restore: exitCounts is not a list of counts");
    }
    const linear = s.linear;
    if (!Array.isArray(linear) || linear.some((m) => ![m?.va, m?.pages, m?.pfn].every(Number.isFinite))) throw new Error("VMI: cannot restore: linear is not a list of mappings");
    const stats = checkedState("VMI", { ...this.save().stats, batchSizes: {}, refusedCalls: {} }, s.stats);
    if (!Number.isInteger(s.head)) throw new Error("VMI: cannot restore: head is not an integer");
    this.head = s.head;
    this.linear.length = 0;
    for (const m of linear) this.linear.push({ va: m.va, pages: m.pages, pfn: m.pfn });
    this.exitCounts.set(counts);
    Object.assign(this.stats, stats);
  }

  get active(): boolean {
    return this.core.u32[L.STATE_VMI_ACTIVE >> 2] !== 0;
  }

  /** The PIC's INTR line, mirrored for the ROM (it exits on enabling interrupts only if one waits). */
  setPending(level: boolean): void {
    this.core.u8[this.shared + L.SP_PENDING] = level ? 1 : 0;
  }

  /**
   * Calls served in the ROM without an exit, by name: the ROM's own counts in the shared area
   * (guest-writable, so only statistics) plus the entries it queued.
   */
  inRomCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [n, name] of CALL_NAMES) {
      const v = this.shared32(L.SP_ROM_COUNTS + 4 * n) + this.queued(n);
      if (v !== 0) out[name] = v;
    }
    return out;
  }

  /** Entries of call `n` the ROM queued (served without an exit), applied or refused: the core counts them. */
  queued(n: number): number {
    return this.core.u32[(L.VMI_QUEUED_COUNTS >> 2) + Math.min(n, L.SP_CALL_SLOTS)]!;
  }

  // ---- the hypercall ------------------------------------------------------------------------

  /** The core executed the hypercall at ROM offset `offset`. */
  hypercall(offset: number): void {
    const site = this.sites[offset];
    if (site === undefined) {
      // Not one of our sites (the guest jumped into the middle of an instruction): as any CPU would.
      this.fault(EXC_UD, "hypercall from an unknown ROM offset");
      return;
    }
    this.exitCounts[site.kind === ExitKind.Init ? INIT_SLOT : site.call]!++;
    this.host.onExit();
    if (site.kind === ExitKind.Init) {
      this.init();
      return;
    }
    if (!this.drain()) return;
    if (site.kind === ExitKind.QueueFull) {
      this.stats.queueFullExits[site.name] = (this.stats.queueFullExits[site.name] ?? 0) + 1;
      return;
    }
    // (A call that changes a control register does it through the core, which refreshes the shadows.)
    this.call(site.call, site.name);
  }

  private init(): void {
    const core = this.core;
    core.u32[L.STATE_VMI_ACTIVE >> 2] = 1;
    // The whole reserved range is the hypervisor's from now on: forget the guest's own
    // translations there (global ones too), made while only the ROM's pages were.
    core.flushTlb();
    core.u8[this.shared + L.SP_VIF] = (core.eflags & 0x200) !== 0 ? 1 : 0;
    core.u8[this.shared + L.SP_PENDING] = core.intr ? 1 : 0;
    core.exports.vmiShadowCrs();
    core.setReg(R_EAX, 0);
  }

  private call(n: number, name: string): void {
    const core = this.core;
    const regs = core.u32;
    const eax = regs[REGS + R_EAX]!;
    const edx = regs[REGS + R_EDX]!;
    const ecx = regs[REGS + R_ECX]!;
    const esi = regs[REGS + R_ESI]!;
    const edi = regs[REGS + R_EDI]!;
    switch (n) {
      case Call.UpdateKernelStack: {
        // (SS EAX, ESP0 EDX) into the current TSS's ring-0 stack fields.
        const tss = core.segment(Seg.TR).base;
        const esp0 = this.translate(tss + 4, 4);
        const ss0 = this.translate(tss + 8, 2);
        if (esp0 < 0 || ss0 < 0) return this.refuse(name, `the TSS at ${hex(tss)} is not mapped`);
        this.writeRam32(esp0, edx);
        core.ram[ss0] = eax & 0xff;
        core.ram[ss0 + 1] = (eax >>> 8) & 0xff;
        core.ramWritten(ss0, 2);
        return;
      }
      case Call.SetCR0:
      case Call.SetCR3:
      case Call.SetCR4: {
        const cr = n === Call.SetCR0 ? 0 : n === Call.SetCR3 ? 3 : 4;
        if (core.exports.vmiWriteCr(cr, eax) !== 0) return this.refuse(name, `CR${cr} value ${hex(eax)} is invalid`);
        return;
      }
      case Call.SetDR:
      case Call.GetDR: {
        let dr = eax;
        if (dr === 4 || dr === 5) dr += 2;
        if (dr > 7) return this.refuse(name, `no debug register ${eax}`);
        const at = (L.STATE_DR_BASE >> 2) + dr;
        if (n === Call.SetDR) core.u32[at] = edx;
        else core.setReg(R_EAX, core.u32[at]);
        return;
      }
      case Call.EnableInterrupts:
      case Call.SetInterruptMask:
      case Call.SYSEXIT:
        // The ROM already set the virtual IF; the exit lets the core deliver what waits.
        return;
      case Call.Reboot:
        this.host.reboot();
        return;
      case Call.Shutdown:
        this.host.shutdown();
        return;
      case Call.SetPxE:
        return this.immediate(name, Call.SetPxE, edx, eax, ecx);
      case Call.SetPxELong:
        // (entry EDX:EAX, pointer ECX, flags ESI): this CPU has no PAE, so the high half must be 0.
        if (edx !== 0) return this.refuse(name, `a 64-bit entry (${hex(edx)}:${hex(eax)}) without PAE`);
        return this.immediate(name, Call.SetPxE, ecx, eax, esi);
      case Call.UpdatePxE:
      case Call.UpdatePxELong:
        return this.immediate(name, Call.UpdatePxE, eax, 0, edx);
      case Call.InvalPage:
        core.exports.vmiInvalPage(eax);
        return;
      case Call.FlushTLB:
        core.exports.vmiFlushTlb(eax & FLUSH_GLOBAL ? 1 : 0);
        return;
      case Call.AllocatePage:
        return this.allocatePage(name, eax, edx, ecx, esi, edi);
      case Call.ReleasePage: {
        if (core.exports.vmiReleasePage(eax) === 0) return this.refuse(name, `page frame ${hex(eax)} is outside guest RAM`);
        return;
      }
      case Call.SetLinearMapping: {
        // (slot EAX, linear start EDX, pages ECX, first pfn ESI)
        if (eax >= LINEAR_MAPPING_SLOTS) return this.refuse(name, `no linear-mapping slot ${eax}`);
        if (edx % 4096 !== 0) return this.refuse(name, `linear start ${hex(edx)} is not page aligned`);
        const pages = Math.min(ecx, (2 ** 32 - edx) / 4096);
        this.linear[eax] = { va: edx, pages, pfn: esi };
        return;
      }
      case Call.SetIOPLMask:
        core.eflags = (core.eflags & ~0x3000) | (eax & 0x3000);
        return;
      case Call.SetInitialAPState:
        return this.refuse(name, "this machine has one CPU: there is no application processor to start");
      case Call.APICWrite:
        return; // no local APIC on this board: writes go nowhere
      case Call.APICRead:
        core.setReg(R_EAX, 0xffffffff); // …and reads float high, as an undriven bus
        return;
      case Call.SetAlarm: {
        // (flags EAX, expiry EDX low / ECX high, period ESI low / EDI high)
        const counter = eax & ALARM_COUNTER_MASK;
        if (counter > CYCLES_AVAILABLE) return this.refuse(name, `alarm on cycle counter ${counter}, which never advances`);
        // Wired to the local APIC timer (what Linux asks for when built with local APIC support):
        // this board has no local APIC, so the alarm arrives on IRQ0 either way; counted.
        if (eax & ALARM_WIRED_LVTT) this.stats.lvttAlarms++;
        const expiry = edx + ecx * 2 ** 32;
        const period = eax & ALARM_IS_PERIODIC ? esi + edi * 2 ** 32 : 0;
        if (eax & ALARM_IS_PERIODIC && period === 0) return this.refuse(name, "periodic alarm with a period of 0");
        this.host.alarm.set(expiry, period);
        return;
      }
      case Call.CancelAlarm:
        this.host.alarm.cancel();
        core.setReg(R_EAX, 0);
        return;
      case Call.GetWallclockTime: {
        const ns = BigInt(Math.floor(this.host.wallclockNs()));
        core.setReg(R_EAX, Number(ns & 0xffffffffn));
        core.setReg(R_EDX, Number((ns >> 32n) & 0xffffffffn));
        return;
      }
      case Call.SetLazyMode: {
        // Reached only to drain (done above) or with an unknown mode.
        if (eax === LAZY_OFF) this.core.u8[this.shared + L.SP_LAZY_MODE] = 0;
        else if (eax !== LAZY_FLUSH) return this.refuse(name, `lazy mode ${eax} does not exist`);
        return;
      }
      default:
        throw new Error(`VMI: the ROM exits for call ${n} (${name}) but the host has no handler`);
    }
  }

  /** SetPxE/UpdatePxE/InvalPage outside lazy mode: one entry, checked and applied by the core. */
  private immediate(name: string, op: number, pointer: number, value: number, flags: number): void {
    const at = L.STATE_VMI_ENTRY >> 2;
    const u32 = this.core.u32;
    u32[at] = op;
    u32[at + 1] = pointer;
    u32[at + 2] = value;
    u32[at + 3] = flags;
    if (this.applyEntries(L.STATE_VMI_ENTRY, 0, 1, 0, false) < 0) this.refuse(name, `${this.refusedReason()} (entry pointer ${hex(pointer)})`);
  }

  private allocatePage(name: string, pfn: number, flags: number, clonePfn: number, start: number, count: number): void {
    const core = this.core;
    const pages = core.ramSize / 4096;
    const level = flags & 0x0f;
    if (level !== PAGE_PT && level !== PAGE_PD) return this.refuse(name, `page kind ${hex(flags)}: only PT and PD exist without PAE`);
    if (pfn >= pages) return this.refuse(name, `page frame ${hex(pfn)} is outside guest RAM`);
    if (flags & PAGE_CLONE) {
      // Copy directory entries [start, start + count) of another directory (the kernel's part).
      if (level !== PAGE_PD) return this.refuse(name, "CLONE of a page that is not a directory");
      if (clonePfn >= pages) return this.refuse(name, `clone source ${hex(clonePfn)} is outside guest RAM`);
      if (start > 1024 || count > 1024 - start) return this.refuse(name, `clone range ${start}+${count} exceeds a directory`);
      core.ram.copyWithin(pfn * 4096 + start * 4, clonePfn * 4096 + start * 4, clonePfn * 4096 + (start + count) * 4);
      core.ramWritten(pfn * 4096 + start * 4, count * 4);
    }
    core.exports.vmiAnnouncePage(pfn, level === PAGE_PD ? L.PAGE_KIND_PD : L.PAGE_KIND_PT);
  }

  // ---- the deferred queue -------------------------------------------------------------------

  /** Apply what the ROM queued since the last drain. False (and #GP raised) if refused. */
  drain(): boolean {
    const tail = this.shared32(L.SP_QUEUE_TAIL);
    const n = (tail - this.head) >>> 0;
    if (n === 0) return true;
    const cap = this.rom.queueCapacity;
    const head = this.head;
    this.head = tail;
    this.setShared32(L.SP_QUEUE_HEAD, tail);
    const s = this.stats;
    if (n > cap) {
      s.refusedBatches++;
      this.fault(EXC_GP, `batch refused: the queue holds ${n} entries, more than its ${cap}`);
      return false;
    }
    const base = this.shared + L.SP_QUEUE;
    if (this.applyEntries(base, head, n, cap - 1, true) < 0) {
      s.refusedBatches++;
      this.fault(EXC_GP, `batch of ${n} refused at entry ${this.refusedIndex()}: ${this.refusedReason()}`);
      return false;
    }
    s.batches++;
    s.batchedEntries += n;
    s.batchSizes[n] = (s.batchSizes[n] ?? 0) + 1;
    return true;
  }

  /** Check and apply entries in the core (assembly/vmi-queue.ts). */
  private applyEntries(base: number, head: number, n: number, mask: number, strict: boolean): number {
    const lin = this.linear[0];
    const length = lin === undefined ? 0 : Math.min(lin.pages * 4096, 2 ** 32 - 4096);
    return this.core.exports.vmiApplyEntries(base, head, n, mask, strict ? 1 : 0, lin?.va ?? 0, length, lin === undefined ? 0 : lin.pfn * 4096, this.rom.virtualTop);
  }

  private refusedIndex(): number {
    return this.core.u32[L.STATE_VMI_REFUSED_INDEX >> 2];
  }

  private refusedReason(): string {
    return QUEUE_REFUSALS[this.core.u32[L.STATE_VMI_REFUSED_REASON >> 2]] ?? "refused";
  }

  // ---- helpers ----------------------------------------------------------------------------

  /** Physical address of `len` bytes at linear `lin` (within one page), or -1. */
  private translate(lin: number, len: number): number {
    if ((lin & 0xfff) + len > 0x1000) return -1;
    const p = this.core.exports.vmiTranslate(lin >>> 0);
    return p < 0 || p + len > this.core.ramSize ? -1 : p;
  }

  private writeRam32(phys: number, v: number): void {
    const ram = this.core.ram;
    ram[phys] = v & 0xff;
    ram[phys + 1] = (v >>> 8) & 0xff;
    ram[phys + 2] = (v >>> 16) & 0xff;
    ram[phys + 3] = (v >>> 24) & 0xff;
    this.core.ramWritten(phys, 4);
  }

  private refuse(name: string, why: string): void {
    this.stats.refusedCalls[name] = (this.stats.refusedCalls[name] ?? 0) + 1;
    this.fault(EXC_GP, `${name}: ${why}`);
  }

  private fault(vector: number, why: string): void {
    this.stats.lastRefusal = why;
    this.core.u32[L.STATE_HYPERCALL_FAULT >> 2] = vector + 1;
    this.core.u32[L.STATE_HYPERCALL_ERROR >> 2] = 0;
  }

  private shared32(off: number): number {
    return this.core.u32[(this.shared + off) >> 2];
  }
  private setShared32(off: number, v: number): void {
    this.core.u32[(this.shared + off) >> 2] = v >>> 0;
  }
}

function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16);
}

/** Why the core refused an entry (layout.ts QUEUE_BAD_*). */
const QUEUE_REFUSALS: Record<number, string> = {
  [L.QUEUE_BAD_OP]: "unknown operation",
  [L.QUEUE_BAD_ALIGN]: "entry address not 4-byte aligned",
  [L.QUEUE_BAD_ADDRESS]: "entry pointer not mapped to guest RAM",
  [L.QUEUE_BAD_UNANNOUNCED]: "update of a page that is not an announced page table",
  [L.QUEUE_BAD_LEVEL]: "PD-level update of a page that is not an announced page directory",
  [L.QUEUE_BAD_FLAGS]: "update flags name no page-table level (PT 0x1 or PD 0x2)",
  [L.QUEUE_BAD_VALUE]: "UpdatePxE entry carries a value",
  [L.QUEUE_BAD_RESERVED]: "directory entry would map over the reserved range",
  [L.QUEUE_BAD_INVAL]: "InvalPage entry has a pointer or flags",
};
