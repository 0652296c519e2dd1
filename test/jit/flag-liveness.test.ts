// The flag liveness that lets INC/DEC skip computing the CF they keep (src/jit/flag-liveness.ts):
// the analysis on small event sequences, and compiled units run against a stand-in core that
// counts the calls for CF (jitCarry) they make.

import { describe, expect, it } from "vitest";
import {
  liveKeeps, flagEvent, FLAG_USE, FLAG_KILL, FLAG_KEEP, FLAG_EDGE, FLAG_ARRIVE, FLAG_ENTRY,
} from "../../src/jit/flag-liveness.js";
import { compileUnit } from "../../src/jit/compile.js";
import { UNIT_IMPORTS } from "../../src/jit/unit.js";
import { REG_BASE } from "../../assembly/layout.js";

const USE = flagEvent(FLAG_USE);
const KILL = flagEvent(FLAG_KILL);
const keep = (k: number) => flagEvent(FLAG_KEEP, k);
const edge = (t: number) => flagEvent(FLAG_EDGE, t);
const arrive = (i: number) => flagEvent(FLAG_ARRIVE, i);
const entry = (i: number) => flagEvent(FLAG_ENTRY, i);

describe("liveKeeps", () => {
  it("a kept CF is live when a use comes before a kill, dead when a kill comes first", () => {
    expect([...liveKeeps([arrive(0), keep(0), arrive(1), USE, arrive(2), KILL, USE], 3, 1)]).toEqual([1]);
    expect([...liveKeeps([arrive(0), keep(0), arrive(1), KILL, arrive(2), USE], 3, 1)]).toEqual([0]);
    // Through a second keep (CF passes through INC/DEC) to a use, and to nothing at all.
    expect([...liveKeeps([arrive(0), keep(0), arrive(1), keep(1), USE], 2, 2)]).toEqual([1, 1]);
    expect([...liveKeeps([arrive(0), keep(0), arrive(1), keep(1), KILL, USE], 2, 2)]).toEqual([0, 0]);
  });

  it("a use inside a conditional exit counts: either path may be taken", () => {
    // keep; if (miss) exit; kill: the exit sees the kept CF.
    expect([...liveKeeps([arrive(0), keep(0), arrive(1), USE, KILL, USE], 2, 1)]).toEqual([1]);
  });

  it("follows forward edges: a use on the taken path only", () => {
    // 0: keep; 1: jcc to 3; 2: kill; 3: use.
    const events = [arrive(0), keep(0), arrive(1), edge(3), arrive(2), KILL, arrive(3), USE];
    expect([...liveKeeps(events, 4, 1)]).toEqual([1]);
    // The same without the edge: the fall-through kills it.
    expect([...liveKeeps(events.filter((e) => e !== edge(3)), 4, 1)]).toEqual([0]);
  });

  it("an instruction no fall-through reaches starts with what its edges bring", () => {
    // 0: keep, jump to 2; 1 (reached by no one): use; 2: kill.
    expect([...liveKeeps([arrive(0), keep(0), edge(2), entry(1), USE, arrive(2), KILL, USE], 3, 1)]).toEqual([0]);
  });

  it("follows backward edges to any earlier instruction, to a fixpoint", () => {
    // 0: use; 1: keep; 2: jcc back to 0; 3: kill.
    expect([...liveKeeps([arrive(0), USE, arrive(1), keep(0), arrive(2), edge(0), arrive(3), KILL, USE], 4, 1)]).toEqual([1]);
    // 0: kill; 1: keep; 2: jcc back to 0; 3: kill.
    expect([...liveKeeps([arrive(0), KILL, arrive(1), keep(0), arrive(2), edge(0), arrive(3), KILL, USE], 4, 1)]).toEqual([0]);
    // A cycle without a use stays dead (the least fixpoint): 0: use; 1: jcc to 3; 2: kill;
    // 3: keep; 4: jcc back to 1; 5: kill.
    const cycle = (two: number) => [
      arrive(0), USE, arrive(1), edge(3), arrive(2), two, arrive(3), keep(0), arrive(4), edge(1), arrive(5), KILL, USE,
    ];
    expect([...liveKeeps(cycle(KILL), 6, 1)]).toEqual([0]);
    // With a use at 2 the keep at 3 is live through the back edge to 1 and the fall-through to 2.
    expect([...liveKeeps(cycle(USE), 6, 1)]).toEqual([1]);
    // Two back edges in a chain: 3's keep reaches 1 (back), 1 jumps back to 0's use only through
    // 2's edge to 0: more than one round.
    const chain = [
      arrive(0), USE, arrive(1), KILL, arrive(2), edge(0), KILL, arrive(3), keep(0), arrive(4), edge(2), KILL, USE,
    ];
    expect([...liveKeeps(chain, 5, 1)]).toEqual([1]);
  });
});

/** Run the unit compiled from `code` on a stand-in core: the registers given, counting jitCarry calls. */
async function run(code: number[], regs: number[]): Promise<{ carries: number; regs: number[] }> {
  const page = new Uint8Array(0x2000);
  const start = 0x1000;
  page.set(code, start);
  const unit = compileUnit(page, start);
  if (unit === null) throw new Error("no unit");
  const memory = new WebAssembly.Memory({ initial: 20 });
  const u32 = new Uint32Array(memory.buffer);
  regs.forEach((v, r) => (u32[(REG_BASE >> 2) + r] = v));
  let carries = 0;
  const funcs: Record<string, (...args: number[]) => number | void> = {
    jitCondition: () => 0,
    jitCarry: () => (carries++, 0),
    jitWriteFlags: () => {},
    jitInterpret: () => 0,
  };
  const c: Record<string, WebAssembly.ImportValue> = {};
  for (const imp of UNIT_IMPORTS) {
    if (imp.kind === "func") c[imp.name] = funcs[imp.name];
    else if (imp.kind === "memory") c[imp.name] = memory;
    else c[imp.name] = new WebAssembly.Global({ value: "i32", mutable: true }, 0);
  }
  const { instance } = await WebAssembly.instantiate(unit.bytes, { c });
  (instance.exports.u as (room: number) => number)(1000);
  return { carries, regs: Array.from({ length: 8 }, (_, r) => u32[(REG_BASE >> 2) + r]) };
}

describe("units skip the CF no one sees", () => {
  it("memcmp's loop: INC at the loop head, CMP before anything reads CF", async () => {
    // L: inc eax; inc edx; cmp eax, ecx; jne L
    const { carries, regs } = await run([0x40, 0x42, 0x39, 0xc8, 0x75, 0xfa], [0, 5, 0]);
    expect(regs.slice(0, 3)).toEqual([5, 5, 5]);
    expect(carries).toBe(0);
  });

  it("the sieve's loop: INC at a join of paths with different flag kinds", async () => {
    // L: test ebx, ebx; je J; inc edi; add eax, edx; J: inc eax; cmp eax, esi; jne L
    const code = [0x85, 0xdb, 0x74, 0x03, 0x47, 0x01, 0xd0, 0x40, 0x39, 0xf0, 0x75, 0xf4];
    const { carries, regs } = await run(code, [0, 0, 0, 1, 0, 0, 4, 0]);
    expect(regs[0]).toBe(4);
    expect(regs[7]).toBe(4);
    expect(carries).toBe(0);
  });

  it("an INC whose CF an ADC reads still asks the core for it at the loop head", async () => {
    // L: inc eax; adc ebx, ebx; cmp eax, ecx; jne L
    const { carries, regs } = await run([0x40, 0x11, 0xdb, 0x39, 0xc8, 0x75, 0xf9], [0, 5, 0, 0]);
    expect(regs[0]).toBe(5);
    expect(carries).toBe(5);
  });
});
