// Compiling one unit: decode its instructions from guest code (instructions.ts), emit each
// through a UnitBuilder (unit.ts) between the prologue that loads the registers it uses and the
// epilogue that writes back those it changed, and wrap the function in a module.

import { CodeWriter, I32, OP, assembleModule } from "./wasm-encoder.js";
import { decodeInstruction, type Instruction } from "./instructions.js";
import { liveKeeps } from "./flag-liveness.js";
import { UnitBuilder, UNIT_MAX_INSTRUCTIONS, PAGE_LIMIT, L_T, UNIT_TYPES, UNIT_IMPORTS, LOCALS, storeRegisters, loadRegisters } from "./unit.js";

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

/**
 * Decode the unit at host address `start` of `mem`: null if it would hold no instruction the
 * JIT compiles. A JMP or CALL to elsewhere on the page is followed: the unit goes on at its
 * target. With `info`, an instruction the JIT does not compile runs through the interpreter
 * inside the unit (one that may transfer control as the unit's last); without, it ends the
 * unit before it.
 */
export function decodeUnit(mem: Uint8Array, start: number, info?: InstructionInfo): Instruction[] | null {
  const page = start & ~0xfff;
  const list: Instruction[] = [];
  let p = start;
  let compiled = 0;
  while (list.length < UNIT_MAX_INSTRUCTIONS && p - page < PAGE_LIMIT) {
    let insn = decodeInstruction(mem, p);
    if (insn === null) {
      const known = info === undefined ? -1 : info(p);
      if (known < 0) break;
      insn = interpreted(known);
    } else compiled++;
    // A jump target computed from guest bytes that lands on host address 0 is the interpreter's case.
    if (insn.target === 0) break;
    insn.at = p;
    insn.next = p + insn.length;
    list.push(insn);
    if (insn.ends) {
      const t = insn.target;
      if (t === undefined || t === start || (t & ~0xfff) !== page || t - page >= PAGE_LIMIT) break;
      insn.follow = true;
      insn.next = t;
    }
    p = insn.next;
  }
  return compiled === 0 ? null : list;
}

function emitUnit(list: Instruction[], start: number): { code: CodeWriter; used: number } {
  const u = new UnitBuilder(start, list.length);
  u.loops = list.some((insn) => insn.target === start);
  const c = u.c;
  c.byte(OP.block).byte(I32);
  c.loop();
  // A jump to an instruction later in the trace branches forward inside the unit.
  const forward = list.map((insn, i) => {
    if (insn.target === undefined || insn.target === start || insn.follow) return -1;
    for (let j = i + 1; j < list.length; j++) if (list[j].at === insn.target) return j;
    return -1;
  });
  u.openForward(forward.filter((t) => t >= 0));
  for (let i = 0; i < list.length; i++) {
    const insn = list[i];
    u.arrive(i, i === 0 || !list[i - 1].ends || list[i - 1].follow === true);
    u.forwardTarget = forward[i];
    u.index = i;
    u.at = insn.at!;
    u.next = insn.next!;
    u.follow = insn.follow === true;
    insn.emit(u);
  }
  const last = list[list.length - 1];
  if (!last.ends || last.follow) {
    u.index = list.length - 1;
    u.exit(list.length, () => c.i32(last.next!));
  }
  c.end().op(OP.unreachable).end();
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
  const { code } = emitUnit(list, start);
  const bytes = assembleModule(UNIT_TYPES, UNIT_IMPORTS, 0, LOCALS, code, "u");
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
