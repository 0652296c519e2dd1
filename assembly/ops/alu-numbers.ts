// The ALU operations' numbers, as the opcode map numbers them (00 ADD .. 38 CMP, and group 1's
// /digit). Plain constants, so that the host's JIT (src/jit/emitter-args.ts) reads the same
// file as the core.

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;
