// The JIT decodes through the instruction table (gen/x86-table.ts, the `jit` column) by way of
// the generated map (src/jit/generated/decode.ts, which test/gen/table.test.ts checks is what the
// table makes): every emitter a row names must exist, the map must hold exactly the rows marked
// `jit`, and the lengths, ends and targets it gives follow the SDM's encodings.

import { describe, expect, it } from "vitest";
import { INSTRUCTIONS } from "../../gen/x86-table.js";
import { EMITTERS, decodeInstruction } from "../../src/jit/instructions.js";
import { JIT_ONE_BYTE, JIT_ONE_BYTE_16, JIT_TWO_BYTE, type JitOpcode } from "../../src/jit/generated/decode.js";

const describeRow = (opcode: number, digit?: number): string =>
  `${opcode > 0xff ? "0F " : ""}${(opcode & 0xff).toString(16).padStart(2, "0")}${digit === undefined ? "" : ` /${digit}`}`;

describe("the JIT's instruction map", () => {
  it("every emitter a row names exists, and every emitter is named by a row", () => {
    const named = new Set<string>();
    for (const r of INSTRUCTIONS) {
      if (!r.jit) continue;
      named.add(r.jit);
      expect(Object.hasOwn(EMITTERS, r.jit), `${describeRow(r.opcode, r.digit)} ${r.mnemonic}: no emitter ${r.jit}`).toBe(true);
    }
    expect(Object.keys(EMITTERS).sort()).toEqual([...named].sort());
  });

  it("holds exactly the forms whose rows are marked jit", () => {
    // Read from the committed map, so that a form added to it by hand (or left after `jit` was
    // removed from a row) fails here.
    const inMap = new Set<string>();
    const collect = (map: readonly JitOpcode[], base: number, prefix = "") =>
      map.forEach((entry, op) => {
        if (entry === null) return;
        if (Array.isArray(entry)) entry.forEach((f, digit) => f && inMap.add(`${prefix}${describeRow(base | op, digit)} ${f.emitter}`));
        else for (let digit = 0; digit < 8; digit++) inMap.add(`${prefix}${describeRow(base | op, digit)} ${(entry as { emitter: string }).emitter}`);
      });
    collect(JIT_ONE_BYTE, 0);
    collect(JIT_TWO_BYTE, 0x0f00);
    collect(JIT_ONE_BYTE_16, 0, "66 ");
    const marked = new Set<string>();
    for (const r of INSTRUCTIONS) {
      if (!r.jit) continue;
      for (let k = 0; k < (r.span ?? 1); k++) {
        for (const digit of r.digit === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [r.digit]) {
          marked.add(`${describeRow(r.opcode + k, digit)} ${r.jit}`);
          if (r.jitArgs16) marked.add(`66 ${describeRow(r.opcode + k, digit)} ${r.jit}`);
        }
      }
    }
    expect([...inMap].sort()).toEqual([...marked].sort());
  });

  // Lengths by the SDM's encoding rules (Vol. 2 §2.1: opcode, ModRM, SIB, displacement, immediate).
  const mem = new Uint8Array(0x3000);
  const at = 0x1100;
  const decode = (bytes: number[]) => {
    mem.fill(0x90, at, at + 32);
    mem.set(bytes, at);
    const insn = decodeInstruction(mem, at);
    return insn && { length: insn.length, ends: insn.ends, target: insn.target };
  };

  it("decodes lengths, unit ends and targets from the table's operand notation", () => {
    expect(decode([0x81, 0xc0, 1, 2, 3, 4])).toEqual({ length: 6, ends: false, target: undefined }); // ADD EAX, imm32
    expect(decode([0x83, 0x44, 0x24, 0x08, 0x05])).toEqual({ length: 5, ends: false, target: undefined }); // ADD [ESP+8], 5
    expect(decode([0x8d, 0x04, 0x8d, 0, 0x10, 0, 0])).toEqual({ length: 7, ends: false, target: undefined }); // LEA EAX, [ECX*4+0x1000]
    expect(decode([0xc7, 0x80, 0, 1, 0, 0, 9, 0, 0, 0])).toEqual({ length: 10, ends: false, target: undefined }); // MOV [EAX+0x100], 9
    expect(decode([0xc1, 0xe0, 0x05])).toEqual({ length: 3, ends: false, target: undefined }); // SHL EAX, 5
    expect(decode([0xa1, 0, 0x20, 0, 0])).toEqual({ length: 5, ends: false, target: undefined }); // MOV EAX, [0x2000]
    expect(decode([0x0f, 0xb6, 0x45, 0xfc])).toEqual({ length: 4, ends: false, target: undefined }); // MOVZX EAX, BYTE [EBP-4]
    expect(decode([0x74, 0xfe])).toEqual({ length: 2, ends: false, target: at }); // JE to itself
    expect(decode([0x0f, 0x85, 0x10, 0, 0, 0])).toEqual({ length: 6, ends: false, target: at + 6 + 0x10 }); // JNE rel32
    expect(decode([0xe8, 0xfb, 0xff, 0xff, 0xff])).toEqual({ length: 5, ends: true, target: at }); // CALL to itself
    expect(decode([0xeb, 0x00])).toEqual({ length: 2, ends: true, target: at + 2 }); // JMP to the next
    expect(decode([0xc3])).toEqual({ length: 1, ends: true, target: undefined }); // RET
    expect(decode([0x3c, 0x80])).toEqual({ length: 2, ends: false, target: undefined }); // CMP AL, 0x80
    expect(decode([0xa8, 0x01])).toEqual({ length: 2, ends: false, target: undefined }); // TEST AL, 1
    expect(decode([0xb4, 0x07])).toEqual({ length: 2, ends: false, target: undefined }); // MOV AH, 7
    expect(decode([0x0f, 0x43, 0x45, 0xf8])).toEqual({ length: 4, ends: false, target: undefined }); // CMOVAE EAX, [EBP-8]
    expect(decode([0x0f, 0xbf, 0xc1])).toEqual({ length: 3, ends: false, target: undefined }); // MOVSX EAX, CX
    expect(decode([0x0f, 0x92, 0x45, 0xff])).toEqual({ length: 4, ends: false, target: undefined }); // SETB [EBP-1]
    expect(decode([0xac])).toEqual({ length: 1, ends: false, target: undefined }); // LODSB
    expect(decode([0xc9])).toEqual({ length: 1, ends: false, target: undefined }); // LEAVE
    expect(decode([0xf6, 0x44, 0x24, 0x04, 0x01])).toEqual({ length: 5, ends: false, target: undefined }); // TEST BYTE [ESP+4], 1
    expect(decode([0xf7, 0xc1, 0, 1, 0, 0])).toEqual({ length: 6, ends: false, target: undefined }); // TEST ECX, 0x100
  });

  it("decodes the 16-bit forms after the operand-size prefix", () => {
    expect(decode([0x66, 0x89, 0xc8])).toEqual({ length: 3, ends: false, target: undefined }); // MOV AX, CX
    expect(decode([0x66, 0x8b, 0x44, 0x24, 0x08])).toEqual({ length: 5, ends: false, target: undefined }); // MOV AX, [ESP+8]
    expect(decode([0x66, 0x89, 0x05, 0, 0x20, 0, 0])).toEqual({ length: 7, ends: false, target: undefined }); // MOV [0x2000], AX: disp32 (address size 32)
    expect(decode([0x66, 0xc1, 0xe8, 0x04])).toEqual({ length: 4, ends: false, target: undefined }); // SHR AX, 4
    expect(decode([0x66, 0xd1, 0xe0])).toEqual({ length: 3, ends: false, target: undefined }); // SHL AX, 1
    expect(decode([0x3e, 0x8d, 0x74, 0x26, 0x00])).toEqual({ length: 5, ends: false, target: undefined }); // LEA ESI, DS:[ESI+0]
    expect(decode([0x36, 0x66, 0x89, 0xc8])).toEqual({ length: 4, ends: false, target: undefined }); // SS: MOV AX, CX
  });

  it("leaves to the interpreter the forms the table does not mark", () => {
    expect(decode([0xc1, 0x20, 0x05])).toBeNull(); // SHL [EAX], 5: jitForm "register"
    expect(decode([0xc1, 0xd0, 0x05])).toBeNull(); // RCL EAX, 5: no jit
    expect(decode([0x8d, 0xc0])).toBeNull(); // LEA with a register operand: M is memory only (#UD)
    expect(decode([0xf6, 0xf1])).toBeNull(); // DIV CL: 32-bit DIV and IDIV only
    expect(decode([0xff, 0xd0])).toBeNull(); // CALL EAX
    expect(decode([0x66, 0x01, 0xc0])).toBeNull(); // ADD AX, AX: no 16-bit form in the table's JIT column
    expect(decode([0x66, 0xd3, 0xe0])).toBeNull(); // SHL AX, CL: 16-bit by constant counts only
    expect(decode([0x66, 0xc1, 0x20, 0x05])).toBeNull(); // SHL WORD [EAX], 5: register forms only
    expect(decode([0x66, 0x66, 0x89, 0xc0])).toBeNull(); // a second prefix
    expect(decode([0x66, 0x0f, 0xb6, 0xc0])).toBeNull(); // the 0F map after the prefix
    expect(decode([0xf3, 0x89, 0xc0])).toBeNull(); // any other prefix
    expect(decode([0x64, 0x8b, 0x00])).toBeNull(); // FS is not flat in a unit
    expect(decode([0x3e, 0x3e, 0x90])).toBeNull(); // a second segment override
  });
});
