// The constants the instruction table's `jitArgs` name (gen/x86-table.ts): the generated map
// (generated/decode.ts) passes them to the emitters (instructions.ts) as a form's arguments. The
// generator reads this module, so a row naming a constant that is not here stops it.

/** ALU operations, numbered as the opcode map numbers them (the core's own numbers). */
export { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP } from "../../assembly/ops/alu-numbers.js";
/** TEST: AND without a result. */
export const ALU_TEST = 8;

/** Operand sizes as log2 of their bytes (the index UnitBuilder's sized helpers take). */
export const SIZE_8 = 0;
export const SIZE_16 = 1;
export const SIZE_32 = 2;

/** Shifts and rotates, numbered as group 2's /digit (SAL, /6, is SHL). */
export const SHIFT_ROL = 0;
export const SHIFT_ROR = 1;
export const SHIFT_SHL = 4;
export const SHIFT_SHR = 5;
export const SHIFT_SAR = 7;

export const INC = 0;
export const DEC = 1;

/** BSF and BSR: which end of the source the scan starts from. */
export const SCAN_FORWARD = 0;
export const SCAN_REVERSE = 1;
