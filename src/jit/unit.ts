// The builder a unit is emitted through (compile.ts drives it). A unit is the code a hot block
// start's jumps reach on its code page, in the order layout.ts gives (the entry first, each loop
// in one piece): a jump forward branches to the end of a block, a jump back to the start of a
// loop, a jump the layout has no construct for leaves the unit. An instruction the JIT does not
// compile runs through the core's interpreter from inside the unit (interpret()). The unit keeps
// the guest registers and the lazy-flag record in wasm locals and writes them back at every
// exit, so that at an exit the core sees exactly the state the interpreter would have after the
// same instructions.
//
// The function a unit compiles to is (room: i32) -> i32: it retires at most `room` instructions
// (the core enters it only when the unit's bound fits), returns how many it retired and leaves
// the host address of the next instruction in the core's jitExitIp. An instruction whose memory
// access misses the TLB (or needs any check the fast TLB entry does not prove) is not started:
// the unit exits before it and the interpreter runs it, faults included.

import { TLB_BASE, REG_BASE } from "../../assembly/layout.js";
import { CodeWriter, OP, type Import } from "./wasm-encoder.js";
import { flagEvent, FLAG_USE, FLAG_KILL, FLAG_KEEP, FLAG_EDGE, FLAG_ARRIVE, FLAG_ENTRY } from "./flag-liveness.js";

// The lazy-flag kinds of assembly/flags.ts (LAZY_*): a unit writes the same record the core reads.
export const LAZY_ADD = 1;
export const LAZY_ADC = 2;
export const LAZY_SUB = 3;
export const LAZY_SBB = 4;
export const LAZY_LOGIC = 5;
export const LAZY_INC = 6;
export const LAZY_DEC = 7;
export const LAZY_SZP = 8;
/** CF PF AF ZF SF OF in EFLAGS. */
export const FLAGS_ARITH = 0x8d5;
/** CF and OF in EFLAGS: what ROL and ROR replace. */
const FLAGS_CF_OF = 0x801;

/** The core globals a unit imports, by import index (the names the core exports them under). */
export const G_FLAGS = 0;
export const G_KIND = 1;
export const G_OP1 = 2;
export const G_OP2 = 3;
export const G_RESULT = 4;
export const G_CARRY = 5;
export const G_READ_MASK = 6;
export const G_WRITE_MASK = 7;
export const G_EIP_DELTA = 8;
export const G_EXIT_IP = 9;
const GLOBAL_EXPORTS = [
  "jitFlags", "jitLazyKindSize", "jitLazyOp1", "jitLazyOp2", "jitLazyResult", "jitLazyCarry",
  "jitReadMask", "jitWriteMask", "jitEipDelta", "jitExitIp",
];
/**
 * The core functions a unit imports: condition code on the lazy flags, CF, a write of some
 * EFLAGS bits, and one instruction run by the interpreter (assembly/jit/fallback.ts).
 */
const F_CONDITION = 0;
const F_CARRY = 1;
const F_WRITE_FLAGS = 2;
const F_INTERPRET = 3;
const FUNC_EXPORTS = ["jitCondition", "jitCarry", "jitWriteFlags", "jitInterpret"];

/** The function types of a unit module: its own (room) -> retired, then the imports'. */
export const UNIT_TYPES: [number, number][] = [[1, 1], [0, 1], [2, 0], [3, 1]];

export const UNIT_IMPORTS: Import[] = [
  { module: "c", name: "jitCondition", kind: "func", type: 0 },
  { module: "c", name: "jitCarry", kind: "func", type: 1 },
  { module: "c", name: "jitWriteFlags", kind: "func", type: 2 },
  { module: "c", name: "jitInterpret", kind: "func", type: 3 },
  { module: "c", name: "memory", kind: "memory", minPages: 1 },
  ...GLOBAL_EXPORTS.map((name): Import => ({ module: "c", name, kind: "global", mutable: true })),
];

/** The import object a unit needs, from the core instance's exports. */
export function unitImportObject(core: WebAssembly.Exports): WebAssembly.Imports {
  const c: Record<string, WebAssembly.ExportValue> = { memory: core.memory };
  for (const name of [...GLOBAL_EXPORTS, ...FUNC_EXPORTS]) {
    if (core[name] === undefined) throw new Error(`the core does not export ${name}: built without the JIT`);
    c[name] = core[name];
  }
  return { c };
}

// Locals: the parameter, then the registers, the lazy record, scratch.
const L_ROOM = 0;
export const L_REG = 1; // 1..8: EAX..EDI
export const L_KIND = 9;
export const L_OP1 = 10;
export const L_OP2 = 11;
export const L_RESULT = 12;
export const L_CARRY = 13;
export const L_LIN = 14;
export const L_HOST = 15;
export const L_T = 16;
const L_DONE = 17;
export const L_A = 18;
export const L_B = 19;
export const L_R = 20;
export const L_C = 21;
export const LOCALS = 21;
/** The i64 scratch local (after the i32 ones): a division's dividend and quotient. */
export const L_WIDE = 22;
export const LOCALS_64 = 1;

/** The most instructions a unit holds (and so the most one entry retires without looping). */
export const UNIT_MAX_INSTRUCTIONS = 256;
/** A unit's instructions start below this page offset: the run loop's page check needs the rest. */
export const PAGE_LIMIT = 0xff0;

/** Where the lazy-flag record is: in the core's globals, or in this unit's locals (kind known or not). */
type FlagState = { where: "globals" } | { where: "locals"; kind: number | null };

/** Write the registers in `mask` (bit per register) from the unit's locals to the core's. */
export function storeRegisters(c: CodeWriter, mask: number): void {
  for (let r = 0; r < 8; r++) if (mask & (1 << r)) c.i32(0).get(L_REG + r).mem(OP.i32Store, 2, REG_BASE + 4 * r);
}
/** Load the registers in `mask` from the core's into the unit's locals. */
export function loadRegisters(c: CodeWriter, mask: number): void {
  for (let r = 0; r < 8; r++) if (mask & (1 << r)) c.i32(0).mem(OP.i32Load, 2, REG_BASE + 4 * r).set(L_REG + r);
}

/**
 * A construct open around the code being emitted: the unit's outer block (which every exit
 * leaves through), a block that closes before instruction `at`, a loop that opens before it, or
 * an `if` inside an instruction.
 */
type Label = { kind: "exit" } | { kind: "block"; at: number } | { kind: "loop"; at: number } | { kind: "if" };

/** What the emitter knows on one path into an instruction a forward jump targets. */
interface PathState {
  flags: FlagState;
  dirty: number;
  synced: boolean;
}

/** What emitting an instruction may use: the unit's code writer and helpers (see Instruction.emit). */
export class UnitBuilder {
  /** Room for a long unit's body from the start: growing the buffer showed in compile time. */
  readonly c = new CodeWriter(1 << 16);
  /** Registers read or written (bit per register), found by a first emission pass. */
  used = 0;
  written = 0;
  /**
   * Registers set since the core's copy last matched the locals (the start, or the last call to
   * the interpreter), in emission order; and whether that order is the only one: after a loop's
   * head, a call comes with whatever the loop's previous round set (openLoop).
   */
  private dirty = 0;
  private synced = false;
  loops = false;
  private flags: FlagState = { where: "globals" };
  private carryLocal = false;
  /** The constructs open, innermost last (a br's depth counts from the end). */
  private readonly labels: Label[] = [{ kind: "exit" }];
  /** The states the forward jumps to each open block's instruction leave with. */
  private arriving = new Map<number, PathState[]>();
  index = 0;
  at = 0;
  next = 0;
  /** What the emitted code does with the flags, in order (flag-liveness.ts). */
  readonly flagEvents: number[] = [];
  /**
   * The code of each INC/DEC keep site (its FLAG_KEEP number): start and end offsets in `c`,
   * which emitUnit drops when that CF is dead.
   */
  readonly keepCode: number[] = [];

  /**
   * A unit of `addresses.length` instructions (the most one pass through it retires), at these
   * host addresses in this order; `indexAt` gives an address's index.
   */
  constructor(
    readonly addresses: readonly number[],
    private readonly indexAt: ReadonlyMap<number, number>,
  ) {}

  get bound(): number {
    return this.addresses.length;
  }

  // ---- registers ----------------------------------------------------------------------
  reg(r: number): void {
    this.used |= 1 << r;
    this.c.get(L_REG + r);
  }
  /** Pops the value into register r. */
  setReg(r: number): void {
    this.used |= 1 << r;
    this.written |= 1 << r;
    this.dirty |= 1 << r;
    this.c.set(L_REG + r);
  }
  /** Byte register r (AL CL DL BL AH CH DH BH), zero-extended. */
  reg8(r: number): void {
    this.reg(r & 3);
    if (r >= 4) this.c.i32(8).op(OP.i32ShrU);
    this.c.i32(0xff).op(OP.i32And);
  }
  /** Byte register r = the low byte of what `value` pushes. */
  setReg8(r: number, value: () => void): void {
    const shift = r >= 4 ? 8 : 0;
    this.reg(r & 3);
    this.c.i32(~(0xff << shift)).op(OP.i32And);
    value();
    this.c.i32(0xff).op(OP.i32And);
    if (shift) this.c.i32(shift).op(OP.i32Shl);
    this.c.op(OP.i32Or);
    this.setReg(r & 3);
  }
  /** Word register r (AX .. DI), zero-extended. */
  reg16(r: number): void {
    this.reg(r);
    this.c.i32(0xffff).op(OP.i32And);
  }
  /** Word register r = the low 16 bits of what `value` pushes; the upper half stays. */
  setReg16(r: number, value: () => void): void {
    this.reg(r);
    this.c.i32(~0xffff).op(OP.i32And);
    value();
    this.c.i32(0xffff).op(OP.i32And).op(OP.i32Or);
    this.setReg(r);
  }
  /** Register r of size index sz (0 byte, 1 word, 2 dword). */
  regSized(sz: number, r: number): void {
    if (sz === 2) this.reg(r);
    else if (sz === 1) this.reg16(r);
    else this.reg8(r);
  }
  setRegSized(sz: number, r: number, value: () => void): void {
    if (sz === 2) {
      value();
      this.setReg(r);
    } else if (sz === 1) this.setReg16(r, value);
    else this.setReg8(r, value);
  }

  // ---- exits --------------------------------------------------------------------------
  /**
   * Leave the unit having retired `retired` instructions of this pass; `target` pushes the next
   * host address. The registers are written back in the unit's one epilogue (emitUnit).
   */
  exit(retired: number, target: () => void): void {
    const c = this.c;
    this.flagEvents.push(FLAG_USE);
    this.writeFlags();
    target();
    c.gset(G_EXIT_IP);
    c.get(L_DONE);
    if (retired) c.i32(retired).op(OP.i32Add);
    // Out of everything open here, to the unit's outer block.
    c.byte(OP.br).u32(this.labels.length - 1);
  }

  /** Leave before the current instruction: the interpreter runs it. */
  exitBefore(): void {
    const at = this.at;
    this.exit(this.index, () => this.c.i32(at));
  }
  /**
   * After the current instruction, go on at host address `target` (a jump, or a fall-through to
   * an instruction not listed next): inside the unit when the construct for that instruction is
   * open here (a block closing before it, or a loop opening before it: layout.ts), else leave.
   */
  jumpTo(target: number): void {
    const t = this.indexAt.get(target);
    const forward = t !== undefined && t > this.index;
    if (t === undefined || this.depthTo(forward ? "block" : "loop", t) < 0) this.exit(this.index + 1, () => this.c.i32(target));
    else if (forward) this.jumpForward(t);
    else this.jumpBack(t);
  }
  // ---- jumps inside the unit -----------------------------------------------------------------
  // Every count stays exact by one rule: before instruction i runs, the pass has retired L_DONE
  // + i instructions. A jump from instruction i to instruction t adds i + 1 - t to L_DONE (taken
  // down past skipped instructions, up on the way back).
  /** The br depth of the open construct of `kind` for instruction `at`, or -1. */
  private depthTo(kind: "block" | "loop", at: number): number {
    for (let d = 0; d < this.labels.length; d++) {
      const l = this.labels[this.labels.length - 1 - d];
      if (l.kind === kind && l.at === at) return d;
    }
    return -1;
  }
  /**
   * Open a block for each instruction in `targets` (at the unit's top level, or right after a
   * loop opens): each closes right before its instruction (arrive), so a jump forward there is a
   * br to it.
   */
  openBlocks(targets: readonly number[]): void {
    for (const t of [...targets].sort((a, b) => b - a)) {
      this.c.block();
      this.labels.push({ kind: "block", at: t });
      this.arriving.set(t, []);
    }
  }
  /**
   * Open the loop that jumps back to instruction `index` (next) go to. They come with the lazy
   * record in locals, of a kind not known here, and every register counting as not written
   * back: the path that comes in from before brings its state into that form.
   */
  openLoop(index: number): void {
    this.joinFlags();
    this.flags = { where: "locals", kind: null };
    this.carryLocal = true;
    this.dirty = 0xff;
    this.synced = false;
    this.loops = true;
    this.c.loop();
    this.labels.push({ kind: "loop", at: index });
  }
  /** Close the innermost loop (after the last instruction that jumps back to its head). */
  closeLoop(): void {
    const l = this.labels.pop();
    if (l?.kind !== "loop") throw new Error("the JIT's unit layout closed a loop that is not the innermost construct");
    this.c.end();
  }
  /**
   * Jump to instruction `t` later in the unit: the lazy record goes to the target in locals
   * (loaded from the globals if it is there).
   */
  private jumpForward(t: number): void {
    const c = this.c;
    const skipped = t - this.index - 1;
    if (skipped > 0) c.get(L_DONE).i32(skipped).op(OP.i32Sub).set(L_DONE);
    this.flagEdge(t);
    this.arriving.get(t)!.push({ flags: this.joinFlags(), dirty: this.dirty, synced: this.synced });
    c.byte(OP.br).u32(this.depthTo("block", t));
  }
  /**
   * Jump back to instruction `t` (the current one's or an earlier one) through its loop, while a
   * whole pass still fits in the room left; else leave for it. The record goes in locals, as the
   * loop expects it (openLoop).
   */
  private jumpBack(t: number): void {
    const c = this.c;
    const up = this.index + 1 - t;
    if (up !== 0) c.get(L_DONE).i32(up).op(OP.i32Add).set(L_DONE);
    c.get(L_ROOM).get(L_DONE).op(OP.i32Sub).i32(this.bound).op(OP.i32GeU);
    this.ifTrue();
    this.flagEdge(t);
    this.joinFlags();
    c.byte(OP.br).u32(this.depthTo("loop", t));
    this.endIf();
    this.exit(t, () => c.i32(this.addresses[t]));
  }
  /**
   * The form of the lazy record every path into a join has: in the locals, L_CARRY included (a
   * path that kept it in the globals loads it, so that the locals written back at a later exit
   * hold what the interpreter's globals would). Emitted on the current path; returns its state.
   */
  private joinFlags(): FlagState {
    const c = this.c;
    if (this.flags.where === "globals") {
      c.gget(G_KIND).set(L_KIND).gget(G_OP1).set(L_OP1).gget(G_OP2).set(L_OP2).gget(G_RESULT).set(L_RESULT);
    }
    if (this.flags.where === "globals" || !this.carryLocal) c.gget(G_CARRY).set(L_CARRY);
    return this.flags.where === "globals" ? { where: "locals", kind: null } : this.flags;
  }
  /**
   * Instruction `index` comes next: if jumps target it, close its block and take the state all
   * paths agree on. `reached` says whether the previous instruction falls through.
   */
  arrive(index: number, reached: boolean): void {
    this.flagEvents.push(flagEvent(reached ? FLAG_ARRIVE : FLAG_ENTRY, index));
    const incoming = this.arriving.get(index);
    if (incoming === undefined) return;
    const paths = [...incoming];
    if (reached) paths.push({ flags: this.joinFlags(), dirty: this.dirty, synced: this.synced });
    const l = this.labels.pop();
    if (l?.kind !== "block" || l.at !== index) throw new Error("the JIT's unit layout closed a block that is not the innermost construct");
    this.c.end();
    this.arriving.delete(index);
    if (paths.length === 0) return;
    this.merge(paths);
  }
  /** Take the state all `paths` (each left through joinFlags) agree on. */
  private merge(paths: readonly PathState[]): void {
    // Every path has the record in locals; its kind is known only if all paths know the same.
    const kinds = new Set(paths.map((p) => (p.flags.where === "locals" ? p.flags.kind : null)));
    const kind = kinds.size === 1 ? [...kinds][0] : null;
    this.flags = { where: "locals", kind };
    this.carryLocal = true;
    this.dirty = paths.reduce((d, p) => d | p.dirty, 0);
    this.synced = paths.every((p) => p.synced);
  }
  /**
   * Emit `body` to run only when the value on the stack is not 0 (a shift by a CL count that
   * masks to 0 changes nothing), both paths joining after it as at a jump target: the record in
   * locals, its kind known when both know the same. A KILL in `body` is on one path only, so it
   * is dropped from the flag events: what follows may still see the record from before (a USE in
   * `body` stays, which at worst keeps a CF that only the skipping path could have dropped).
   */
  unlessZero(body: () => void): void {
    const c = this.c;
    const before = { flags: this.flags, carryLocal: this.carryLocal, dirty: this.dirty, synced: this.synced };
    this.ifTrue();
    const mark = this.flagEvents.length;
    body();
    for (let p = this.flagEvents.length - 1; p >= mark; p--) if (this.flagEvents[p] === FLAG_KILL) this.flagEvents.splice(p, 1);
    const done: PathState = { flags: this.joinFlags(), dirty: this.dirty, synced: this.synced };
    c.byte(OP.else);
    this.flags = before.flags;
    this.carryLocal = before.carryLocal;
    const skipped: PathState = { flags: this.joinFlags(), dirty: before.dirty, synced: before.synced };
    this.endIf();
    this.merge([done, skipped]);
  }

  /** Open an `if` on the value on the stack (closed by endIf). */
  ifTrue(): void {
    this.c.if();
    this.labels.push({ kind: "if" });
  }
  endIf(): void {
    this.labels.pop();
    this.c.end();
  }

  // ---- the interpreter --------------------------------------------------------------------
  /**
   * Run the current instruction through the core's interpreter (jitInterpret): the registers
   * and the lazy-flag record go to the core first, the registers come back after, and the unit
   * leaves having retired it (fault or not: the run loop takes a fault's count back) when the
   * core says it may not go on, or when the instruction may transfer control (`ends`), at the
   * address the core leaves in jitExitIp.
   */
  interpret(ends: boolean): void {
    const c = this.c;
    // The registers set since the core's copy last matched; before a looping unit's first call,
    // every register (one set later in the pass may hold a newer value than the core's).
    let store = this.dirty;
    if (this.loops && !this.synced) {
      store = 0xff;
      this.used = 0xff;
    }
    this.flushFlags();
    storeRegisters(c, store);
    c.i32(this.at).i32(this.next).get(L_DONE).i32(this.index).op(OP.i32Add).call(F_INTERPRET);
    loadRegisters(c, 0xff);
    this.dirty = 0;
    this.synced = true;
    const leave = () => this.exit(this.index + 1, () => c.gget(G_EXIT_IP));
    if (ends) {
      c.op(OP.drop);
      leave();
      return;
    }
    c.op(OP.i32Eqz);
    this.ifTrue();
    leave();
    this.endIf();
  }

  // ---- memory -------------------------------------------------------------------------
  /**
   * The linear address on the stack is accessed for `size` bytes: leave before this instruction
   * unless the TLB allows it now (the fast paths' test: entry bits, and no page crossing), and
   * leave its host address in L_HOST.
   */
  access(size: number, write: boolean): void {
    const c = this.c;
    c.tee(L_LIN).i32(12).op(OP.i32ShrU).i32(2).op(OP.i32Shl).mem(OP.i32Load, 2, TLB_BASE).tee(L_T);
    c.gget(write ? G_WRITE_MASK : G_READ_MASK).op(OP.i32And).i32(1).op(OP.i32Ne);
    if (size > 1) c.get(L_LIN).i32(0xfff).op(OP.i32And).i32(0x1000 - size).op(OP.i32GtU).op(OP.i32Or);
    this.ifTrue();
    this.exitBefore();
    this.endIf();
    c.get(L_T).i32(~0xfff).op(OP.i32And).get(L_LIN).op(OP.i32Xor).set(L_HOST);
  }

  // ---- flags ----------------------------------------------------------------------------
  /** Write the lazy record from the locals to the core's globals (state unchanged: an exit's copy). */
  private writeFlags(): void {
    if (this.flags.where !== "locals") return;
    const c = this.c;
    c.get(L_KIND).gset(G_KIND).get(L_OP1).gset(G_OP1).get(L_OP2).gset(G_OP2).get(L_RESULT).gset(G_RESULT);
    if (this.carryLocal) c.get(L_CARRY).gset(G_CARRY);
  }
  /** The record moves to the globals (before calling the core about it, which sees it). */
  private flushFlags(): void {
    this.flagEvents.push(FLAG_USE);
    this.writeFlags();
    this.flags = { where: "globals" };
    this.carryLocal = false;
  }
  /** The current instruction's record: kind|size (a constant, or null: already in L_KIND) and L_A, L_B, L_R. */
  setLazy(kindSize: number | null): void {
    const c = this.c;
    if (kindSize !== null) c.i32(kindSize).set(L_KIND);
    c.get(L_A).set(L_OP1).get(L_B).set(L_OP2).get(L_R).set(L_RESULT);
    // An INC/DEC record carries the CF its keepCarry kept; any other sets CF itself.
    const kind = kindSize === null ? 0 : kindSize >> 2;
    if (kind !== LAZY_INC && kind !== LAZY_DEC) this.flagEvents.push(FLAG_KILL);
    this.flags = { where: "locals", kind: kindSize };
  }
  /** A shift or multiply: CF and OF already written to the flags global, ZF SF PF from L_R. */
  setSzp(sz: number): void {
    this.c.i32((LAZY_SZP << 2) | sz).set(L_KIND).get(L_R).set(L_RESULT);
    this.flagEvents.push(FLAG_KILL);
    this.flags = { where: "locals", kind: (LAZY_SZP << 2) | sz };
  }
  /**
   * Replace the EFLAGS bits `mask` with the value on the stack (no bits outside `mask`): through
   * the core, which folds the lazy record first, unless only CF and OF change on a record the
   * unit knows to be a logic or SZP one.
   */
  writeFlagBits(mask: number): void {
    const c = this.c;
    const known = this.flags.where === "locals" ? this.flags.kind : null;
    const kind = known === null ? 0 : known >> 2;
    if (known !== null && (mask & ~FLAGS_CF_OF) === 0 && (kind === LAZY_LOGIC || kind === LAZY_SZP)) {
      // A record whose CF and OF alone are not from its result: the bits go in the flags global
      // as an SZP record keeps them, and the record becomes one of the same result and size, ZF
      // SF PF from it and AF clear as for both kinds. A logic record's CF and OF not in `mask`
      // are 0; an SZP record's are in the global already. CF is not an INC/DEC's kept one: no
      // flag event.
      c.gget(G_FLAGS).i32(kind === LAZY_LOGIC ? ~FLAGS_ARITH : ~mask).op(OP.i32And).op(OP.i32Or).gset(G_FLAGS);
      if (kind === LAZY_LOGIC) {
        const szp = (LAZY_SZP << 2) | (known & 3);
        c.i32(szp).set(L_KIND);
        this.flags = { where: "locals", kind: szp };
      }
      return;
    }
    c.i32(mask);
    this.flushFlags();
    c.call(F_WRITE_FLAGS);
  }
  /**
   * INC/DEC keep CF: record it in L_CARRY first (its record, set next, says CF is there). The code
   * is a keep site: emitUnit drops it when no path from here can see that CF (flag-liveness.ts),
   * so it changes nothing the builder knows but carryLocal, which it sets either way.
   */
  keepCarry(): void {
    const c = this.c;
    const known = this.flags.where === "locals" ? this.flags.kind : null;
    if (known !== null && ((known >> 2) === LAZY_INC || (known >> 2) === LAZY_DEC)) return;
    this.flagEvents.push(flagEvent(FLAG_KEEP, this.keepCode.length >> 1));
    const start = c.length;
    if (known === null) {
      // The core's CF of the record, the record staying where it is (a copy to the globals).
      this.writeFlags();
      c.call(F_CARRY);
    } else this.knownCarry(known);
    c.set(L_CARRY);
    this.keepCode.push(start, c.length);
    this.carryLocal = true;
  }
  /** Push CF (0 or 1). */
  carry(): void {
    const known = this.flags.where === "locals" ? this.flags.kind : null;
    this.flagEvents.push(FLAG_USE);
    if (known === null) {
      this.flushFlags();
      this.c.call(F_CARRY);
      return;
    }
    this.knownCarry(known);
  }
  /** Push CF of a record of kind|size `known` in the locals. */
  private knownCarry(known: number): void {
    const c = this.c;
    switch (known >> 2) {
      case LAZY_ADD: c.get(L_RESULT).get(L_OP1).op(OP.i32LtU); break;
      case LAZY_ADC: c.get(L_RESULT).get(L_OP1).op(OP.i32LeU); break;
      case LAZY_SUB: c.get(L_OP1).get(L_OP2).op(OP.i32LtU); break;
      case LAZY_SBB: c.get(L_OP1).get(L_OP2).op(OP.i32LeU); break;
      case LAZY_LOGIC: c.i32(0); break;
      case LAZY_INC: case LAZY_DEC: c.get(L_CARRY); break;
      default: c.gget(G_FLAGS).i32(1).op(OP.i32And); break; // LAZY_SZP
    }
  }
  /**
   * Control may go on at the start of instruction `t` of this unit (before or after the current
   * one): the flag liveness follows the edge.
   */
  flagEdge(t: number): void {
    this.flagEvents.push(flagEvent(FLAG_EDGE, t));
  }
  /** Push condition code cc (the low nibble of Jcc, SDM Appendix B) as 0 or 1. */
  condition(cc: number): void {
    const c = this.c;
    const known = this.flags.where === "locals" ? this.flags.kind : null;
    const kind = known === null ? 0 : known >> 2;
    if (known === null || kind === LAZY_ADC || kind === LAZY_SBB) {
      this.flushFlags();
      c.i32(cc).call(F_CONDITION);
      return;
    }
    const sz = known & 3;
    const t = cc >> 1;
    if (t === 1 || t === 3) this.flagEvents.push(FLAG_USE); // B/AE, BE/A: CF
    if (kind === LAZY_SUB && sz === 2 && t !== 0 && t !== 5) {
      // a - b: each condition is one comparison of the operands.
      const cmp = [0, OP.i32LtU, OP.i32Eq, OP.i32LeU, 0, 0, OP.i32LtS, OP.i32LeS][t];
      if (t === 4) c.get(L_RESULT).i32(0).op(OP.i32LtS);
      else c.get(L_OP1).get(L_OP2).op(cmp);
    } else {
      switch (t) {
        case 0: this.overflow(kind, sz); break;
        case 1: this.carry(); break;
        case 2: c.get(L_RESULT).op(OP.i32Eqz); break;
        case 3: this.carry(); c.get(L_RESULT).op(OP.i32Eqz).op(OP.i32Or); break;
        case 4: this.sign(sz); break;
        case 5: c.get(L_RESULT).i32(0xff).op(OP.i32And).op(OP.i32Popcnt).i32(1).op(OP.i32And).op(OP.i32Eqz); break;
        case 6: this.sign(sz); this.overflow(kind, sz); c.op(OP.i32Xor); break;
        default:
          this.sign(sz);
          this.overflow(kind, sz);
          c.op(OP.i32Xor).get(L_RESULT).op(OP.i32Eqz).op(OP.i32Or);
          break;
      }
    }
    if (cc & 1) c.op(OP.i32Eqz);
  }
  private sign(sz: number): void {
    this.c.get(L_RESULT).i32((8 << sz) - 1).op(OP.i32ShrU).i32(1).op(OP.i32And);
  }
  private overflow(kind: number, sz: number): void {
    const c = this.c;
    if (kind === LAZY_LOGIC) {
      c.i32(0);
      return;
    }
    if (kind === LAZY_SZP) {
      c.gget(G_FLAGS).i32(11).op(OP.i32ShrU).i32(1).op(OP.i32And);
      return;
    }
    if (kind === LAZY_ADD || kind === LAZY_INC) {
      c.get(L_OP1).get(L_RESULT).op(OP.i32Xor).get(L_OP2).get(L_RESULT).op(OP.i32Xor).op(OP.i32And);
    } else {
      c.get(L_OP1).get(L_OP2).op(OP.i32Xor).get(L_OP1).get(L_RESULT).op(OP.i32Xor).op(OP.i32And);
    }
    c.i32((8 << sz) - 1).op(OP.i32ShrU).i32(1).op(OP.i32And);
  }
}
