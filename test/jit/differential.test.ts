// The JIT against the interpreter: random instruction streams, made mostly of the instructions
// the JIT compiles (in every operand form, with random bytes mixed in), run as a loop on two
// cores, one interpreting and one compiling every block start at once (threshold 1). After the
// same budget both must agree on everything a guest can see: registers, EFLAGS, EIP, the exit
// reason, the exception, the retired-instruction count and memory.

import { describe, it, expect, beforeAll } from "vitest";
import { createHash } from "node:crypto";
import { Core } from "../../src/core.js";
import * as L from "../../assembly/layout.js";
import { nullImports } from "../support/null-imports.js";
import { rng } from "../support/rng.js";

const RAM = 4 << 20;
const CODE = 0x100000;
const DATA = 0x200000;
const STACK = 0x280000;
const RUNS = Number(process.env.VMI386_JIT_FUZZ_RUNS ?? 2000);

/** One random instruction the JIT compiles (or, now and then, one it does not). */
function randomInstruction(r: () => number): number[] {
  const pick = (n: number) => r() % n;
  const modrm = (): number[] => {
    const mod = pick(4);
    const rm = pick(8);
    const out = [(mod << 6) | (pick(8) << 3) | rm];
    if (mod !== 3 && rm === 4) out.push(pick(256));
    if (mod === 1) out.push(pick(256));
    else if (mod === 2 || (mod === 0 && (rm === 5 || (rm === 4 && (out[1] & 7) === 5)))) {
      const d = DATA + pick(0x10000);
      out.push(d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24);
    }
    return out;
  };
  const imm32 = () => {
    const v = pick(4) === 0 ? r() : pick(64) - 32;
    return [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff];
  };
  switch (pick(40)) {
    case 0: case 1: case 2: return [(pick(8) << 3) | pick(4), ...modrm()]; // ALU E,G / G,E
    case 3: return [(pick(8) << 3) | 5, ...imm32()]; // ALU EAX, imm32
    case 4: { const m = modrm(); const op = [0x80, 0x81, 0x83][pick(3)]; return [op, ...m, ...(op === 0x81 ? imm32() : [pick(256)])]; }
    case 5: return [0x84 + pick(2), ...modrm()]; // TEST
    case 6: case 7: return [0x88 + pick(4), ...modrm()]; // MOV
    case 8: { const m = modrm(); if (m[0] >= 0xc0) m[0] &= 0x3f; return [0x8d, ...m]; } // LEA
    case 9: { const sz = pick(2); const m = modrm(); m[0] &= 0xc7; return [0xc6 + sz, ...m, ...(sz ? imm32() : [pick(256)])]; }
    case 10: return [0x40 + pick(16)]; // INC/DEC r32
    case 11: return [0x50 + pick(16)]; // PUSH/POP r32
    case 12: return pick(2) ? [0x68, ...imm32()] : [0x6a, pick(256)];
    case 13: { const m = modrm(); return pick(2) ? [0xc1, ...m, pick(40)] : [0xd1, ...m]; } // shifts, rotates
    case 14: return [0x70 + pick(16), pick(8)]; // Jcc forward
    case 15: return [0x0f, 0x80 + pick(16), pick(8), 0, 0, 0];
    case 16: return [0x0f, 0xb6 + pick(2), ...modrm()]; // MOVZX
    case 17: { const m = modrm(); m[0] &= 0xcf; return [0xff, ...m]; } // INC/DEC Ev
    case 18: return [[0x90, 0xf5, 0xf8, 0xf9, 0x9c, 0x9d, 0x99, 0x98][pick(8)]]; // NOP, CMC, CLC, STC, PUSHF, POPF, CDQ, CWDE
    case 19: return [pick(256), pick(256), pick(256)]; // anything
    case 20: return [0xb8 + pick(8), ...imm32()]; // MOV r32, imm32
    case 21: { const d = DATA + pick(0x10000); return [0xa1 + 2 * pick(2), d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >>> 24]; } // MOV EAX, moffs
    case 22: { const m = modrm(); m[0] = (m[0] & 0xc7) | ((2 + pick(3)) << 3); return [0xf7, ...m]; } // NOT, NEG, MUL
    case 23: { const m = modrm(); return [0xd3, ...m]; } // shifts by CL
    case 24: { const m = modrm(); const k = pick(3); return k === 0 ? [0x0f, 0xaf, ...m] : k === 1 ? [0x69, ...m, ...imm32()] : [0x6b, ...m, pick(256)]; } // IMUL
    case 25: return [0xeb, pick(6)]; // JMP forward
    case 26: return [0xe8, pick(6), 0, 0, 0]; // CALL forward (what it pushes stays)
    default: return [(pick(8) << 3) | pick(4), 0xc0 | pick(64)]; // ALU on registers
  }
}

/** A loop body of random instructions; the loop jumps back to its start until the budget ends. */
function randomProgram(r: () => number): Uint8Array {
  const bytes: number[] = [];
  const n = 4 + (r() % 24);
  for (let i = 0; i < n; i++) bytes.push(...randomInstruction(r));
  if (r() % 4 === 0) {
    // A call to a two-instruction function that returns.
    bytes.push(0xe8, 1, 0, 0, 0, 0xeb, 2, 0x40, 0xc3);
  }
  const back = -(bytes.length + 5);
  bytes.push(0xe9, back & 0xff, (back >> 8) & 0xff, (back >> 16) & 0xff, (back >>> 24) & 0xff);
  return Uint8Array.from(bytes);
}

function state(core: Core, reason: number): string {
  const regs = Array.from({ length: 8 }, (_, i) => core.reg(i).toString(16));
  const mem = createHash("sha256")
    .update(core.ram.subarray(CODE, CODE + 0x1000))
    .update(core.ram.subarray(DATA, DATA + 0x11000))
    .update(core.ram.subarray(STACK - 0x1000, STACK + 0x100))
    .digest("hex")
    .slice(0, 16);
  const exc = core.lastException;
  return `exit ${reason} eip ${core.eip.toString(16)} eflags ${core.eflags.toString(16)} regs ${regs.join(" ")} ` +
    `instructions ${core.instructions} exception ${exc.vector}/${exc.error} memory ${mem}`;
}

describe("JIT against the interpreter", () => {
  let interp: Core;
  let jit: Core;
  beforeAll(async () => {
    // Interpreting whatever VMI386_JIT says: the suite's JIT-forced pass must still compare
    // compiled code with the interpreter, not with itself.
    interp = await Core.load({ ramSize: RAM, imports: nullImports, jit: false });
    jit = await Core.load({ ramSize: RAM, imports: nullImports, jit: { threshold: 1, maxUnits: 64 } });
  });

  it(`agrees on ${RUNS} random loops`, async () => {
    expect(interp.jit).toBeUndefined();
    const next = rng(0x717);
    let compiled = 0;
    const exits: Record<number, number> = {};
    for (let run = 0; run < RUNS; run++) {
      // A long synchronous test starves vitest's worker RPC (it timed out after 60 s).
      if (run % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
      const seed = next();
      const out: string[] = [];
      for (const core of [interp, jit]) {
        const r = rng(seed);
        const program = randomProgram(r);
        core.reset();
        core.trapExceptions = true;
        core.enterFlatProtectedMode(CODE);
        for (let i = 0; i < 8; i++) core.setReg(i, DATA + (r() & 0xfffc));
        core.setReg(4, STACK);
        core.eflags = r() & 0xcd5;
        core.ram.fill(0, CODE, CODE + 0x1000);
        core.ram.set(program, CODE);
        for (let i = 0; i < 0x11000; i += 4) core.ram[DATA + i] = (i * 0x9e3779b1) >>> 24;
        core.ram.fill(0, STACK - 0x1000, STACK + 0x100);
        const budget = 50 + (r() % 400);
        const reason = core.run(budget);
        out.push(state(core, reason));
        if (core === jit) exits[reason] = (exits[reason] ?? 0) + 1;
      }
      if (out[0] !== out[1]) throw new Error(`seed ${seed}:\n  interpreter ${out[0]}\n  JIT         ${out[1]}`);
    }
    compiled = jit.jit!.stats.unitsCompiled;
    // The streams must exercise the JIT, loops and evictions included.
    expect(compiled).toBeGreaterThan(RUNS);
    expect(jit.jit!.stats.evictions).toBeGreaterThan(0);
    expect(jit.jit!.lastError).toBeUndefined();
    // Most loops must run out their budget rather than stop at a fault.
    expect(exits[L.EXIT_BUDGET]).toBeGreaterThan(RUNS / 2);
  }, 600_000);

  it("recompiles a hot loop whose code the loop's own program rewrites", async () => {
    // The loop adds 5 to EAX a thousand times, then its own code patches the immediate to 7
    // and runs the loop again: EAX = 1000 * 5 + 1000 * 7 (SDM semantics, nothing cached).
    const a = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
    const program = [
      0xb9, ...a(1000), // +0  mov ecx, 1000
      0x05, ...a(5), // +5  add eax, 5 (the immediate at +6)
      0x49, // +10 dec ecx
      0x75, 0xf8, // +11 jnz +5
      0x43, // +13 inc ebx
      0x83, 0xfb, 0x02, // +14 cmp ebx, 2
      0x74, 0x0c, // +17 je +31
      0xc7, 0x05, ...a(CODE + 6), ...a(7), // +19 mov dword [CODE + 6], 7
      0xeb, 0xe1, // +29 jmp +0
      0xf4, // +31 hlt
    ];
    const results: string[] = [];
    for (const core of [interp, jit]) {
      core.reset();
      core.trapExceptions = true;
      core.enterFlatProtectedMode(CODE);
      core.ram.fill(0, CODE, CODE + 0x1000);
      core.ram.set(program, CODE);
      core.setReg(0, 0);
      core.setReg(3, 0);
      core.setReg(4, STACK);
      const before = jit.jit!.stats.unitsCompiled;
      const reason = core.run(100_000);
      expect(reason).toBe(L.EXIT_HLT_DISABLED);
      expect(core.reg(0)).toBe(12000);
      if (core === jit) expect(jit.jit!.stats.unitsCompiled - before).toBeGreaterThanOrEqual(2);
      results.push(`${core.instructions} ${core.counters().codeInvalidations ?? "?"}`);
    }
    expect(results[1]).toBe(results[0]);
  });
});
