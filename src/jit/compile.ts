// Compiling one unit: decode its instructions from guest code (instructions.ts), emit each
// through a UnitBuilder (unit.ts) between the prologue that loads the registers it uses and the
// epilogue that writes back those it changed, and wrap the function in a module.

import { CodeWriter, I32, OP, assembleModule } from "./wasm-encoder.js";
import { decodeInstruction, type Instruction } from "./instructions.js";
import { liveKeeps } from "./flag-liveness.js";
import { layoutUnit, orderUnit } from "./layout.js";
import { UnitBuilder, UNIT_MAX_INSTRUCTIONS, PAGE_LIMIT, L_T, UNIT_TYPES, UNIT_IMPORTS, LOCALS, LOCALS_64, storeRegisters, loadRegisters } from "./unit.js";

/** A compiled unit: the module's bytes and how many instructions one pass retires at most. */
export interface CompiledUnit {
  bytes: Uint8Array;
  bound: number;
  instructions: Instruction[];
}

/**
 * The core's own decoder on the instruction at a host address (its jitInstructionInfo): the
 * length, plus 0x100 when it may transfer control; negative when the core cannot tell.
 */
export type InstructionInfo = (at: number) => number;

/** An instruction the JIT does not compile: the unit has the core's interpreter run it. */
function interpreted(info: number): Instruction {
  const ends = (info & 0x100) !== 0;
  return { length: info & 0xff, ends, interpreted: true, emit: (u) => u.interpret(ends) };
}

/** Per byte of a code page (and the 15 an instruction at its limit may reach past it), in decodeUnit. */
const FREE = 0;
const FIRST = 1;
const INSIDE = 2;

/**
 * Decode the unit at host address `start` of `mem`: null if it would hold no instruction the
 * JIT compiles. The unit is the code on `start`'s page that jumps reach from it, up to
 * UNIT_MAX_INSTRUCTIONS: each path is decoded until an unconditional jump, an instruction
 * already decoded, one the JIT cannot take, or the page limit, and the targets of its relative
 * jumps on the page are decoded in turn. The list is in the order the unit is emitted in
 * (orderUnit: the entry first, each loop in one piece). With `info`, an
 * instruction the JIT does not compile runs through the interpreter inside the unit (one that
 * may transfer control ends its path); without, it ends the path before it. A jump into the
 * middle of a decoded instruction, or a path running into one, leaves the unit there.
 */
export function decodeUnit(mem: Uint8Array, start: number, info?: InstructionInfo): Instruction[] | null {
  const page = start & ~0xfff;
  const bytes = new Uint8Array(PAGE_LIMIT + 16);
  const list: Instruction[] = [];
  const paths = [start];
  let compiled = 0;
  for (let k = 0; k < paths.length && list.length < UNIT_MAX_INSTRUCTIONS; k++) {
    let p = paths[k];
    while (list.length < UNIT_MAX_INSTRUCTIONS && p - page < PAGE_LIMIT && bytes[p - page] === FREE) {
      let insn = decodeInstruction(mem, p);
      if (insn === null) {
        const known = info === undefined ? -1 : info(p);
        if (known < 0) break;
        insn = interpreted(known);
      }
      // A jump target computed from guest bytes that lands on host address 0 is the interpreter's case.
      if (insn.target === 0) break;
      const from = p - page;
      if (bytes.subarray(from + 1, from + insn.length).some((b) => b !== FREE)) break;
      bytes.fill(INSIDE, from + 1, from + insn.length);
      bytes[from] = FIRST;
      if (!insn.interpreted) compiled++;
      insn.at = p;
      insn.next = p + insn.length;
      list.push(insn);
      const t = insn.target;
      if (t !== undefined && (t & ~0xfff) === page && t - page < PAGE_LIMIT) paths.push(t);
      if (insn.ends) break;
      p = insn.next;
    }
  }
  if (compiled === 0) return null;
  // In the order they are emitted in (layout.ts): the entry first, loops in one piece.
  list.sort((a, b) => a.at! - b.at!);
  const indexAt = new Map(list.map((insn, i) => [insn.at!, i]));
  const successors = list.map((insn) => [insn.target, insn.ends ? undefined : insn.next].flatMap((to) => (to === undefined ? [] : (indexAt.get(to) ?? []))));
  const order = orderUnit(successors, indexAt.get(start)!).map((i) => list[i]);
  if (order[0].at !== start) throw new Error("the JIT's unit order does not begin at the unit's entry");
  return order;
}

/**
 * The unit's function body. Its instructions are emitted in decodeUnit's order: a fall-through to
 * the next listed instruction is the code's own order, every other way from one instruction to
 * another of the unit is a jump (UnitBuilder.jumpTo), forward to the end of a block or back to
 * the start of a loop, where layout.ts could place one.
 */
function emitUnit(list: Instruction[]): { code: CodeWriter; used: number } {
  const indexAt = new Map(list.map((insn, i) => [insn.at!, i]));
  const u = new UnitBuilder(list.map((insn) => insn.at!), indexAt);
  const c = u.c;
  // Where an instruction goes on other than to the next listed one: its jump's target, or its
  // fall-through when the next listed instruction is elsewhere.
  const gap = (i: number) => !list[i].ends && list[i + 1]?.at !== list[i].next;
  const edges: [number, number][] = [];
  list.forEach((insn, i) => {
    for (const to of [insn.target, gap(i) ? insn.next : undefined]) {
      const t = to === undefined ? undefined : indexAt.get(to);
      if (t !== undefined) edges.push([i, t]);
    }
  });
  const { loops, blocks } = layoutUnit(edges);
  // Loops by the index of the last instruction inside them, innermost (the latest head) first.
  const closing = new Map<number, number[]>();
  for (const [head, end] of loops) closing.set(end, [...(closing.get(end) ?? []), head].sort((a, b) => b - a));
  c.byte(OP.block).byte(I32);
  u.openBlocks(blocks.get(-1) ?? []);
  for (let i = 0; i < list.length; i++) {
    const insn = list[i];
    u.arrive(i, i > 0 && !list[i - 1].ends && !gap(i - 1));
    if (loops.has(i)) {
      u.openLoop(i);
      u.openBlocks(blocks.get(i) ?? []);
    }
    u.index = i;
    u.at = insn.at!;
    u.next = insn.next!;
    insn.emit(u);
    if (gap(i)) u.jumpTo(insn.next!);
    for (const _ of closing.get(i) ?? []) u.closeLoop();
  }
  c.op(OP.unreachable).end();
  // The epilogue every exit branches to, with the retired count: the registers written anywhere
  // in the unit go back (a loop may have come round since an early exit's instruction).
  c.set(L_T);
  storeRegisters(c, u.written);
  c.get(L_T).end();
  // The prologue, known only now: load the registers the unit uses. Then the body, without the
  // code of the INC/DEC keep sites whose CF nothing can see (each is straight-line code that
  // leaves the stack as it was and sets only L_CARRY and a copy of the record in the globals).
  const code = new CodeWriter(c.length + 128);
  loadRegisters(code, u.used);
  const body = c.finish();
  const live = liveKeeps(u.flagEvents, list.length, u.keepCode.length >> 1);
  let from = 0;
  for (let k = 0; k < live.length; k++) {
    if (live[k]) continue;
    code.bytes(body.subarray(from, u.keepCode[2 * k]));
    from = u.keepCode[2 * k + 1];
  }
  code.bytes(body.subarray(from));
  return { code, used: u.used };
}

/** Compile the unit starting at host address `start` (a hot block start), or null. */
export function compileUnit(mem: Uint8Array, start: number, info?: InstructionInfo): CompiledUnit | null {
  const list = decodeUnit(mem, start, info);
  if (list === null) return null;
  const { code } = emitUnit(list);
  const bytes = assembleModule(UNIT_TYPES, UNIT_IMPORTS, 0, LOCALS, code, "u", LOCALS_64);
  return { bytes, bound: list.length, instructions: list };
}

/**
 * The host address range of the guest bytes the decoding of `unit` (at `ip`) read: from its
 * lowest instruction to 16 bytes past its highest (the instruction that stopped it, at most 15
 * bytes), within the page.
 */
export function codeRange(unit: CompiledUnit, ip: number): [number, number] {
  let lo = ip;
  let hi = ip;
  for (const insn of unit.instructions) {
    lo = Math.min(lo, insn.at!);
    hi = Math.max(hi, insn.at! + insn.length + 16);
  }
  return [lo, Math.min(hi, (ip & ~0xfff) + 0x1000)];
}
