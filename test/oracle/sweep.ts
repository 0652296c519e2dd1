// The table sweep's plan: which variants of each instruction form the sweep group of
// generate.ts runs under qemu-i386 (golden/sweep.jsonl), read from the form's operand notation
// alone, so that a row added to gen/x86-table.ts is swept without a line written for it. Shared
// by the generator and by test/gen/oracle-sweep.test.ts, which fails when a form that should be
// swept has no recorded case.

import type { OracleEncoding } from "./generated/instructions.js";

export type SweepSize = 8 | 16 | 32;
/** `reg`/`mem`: the ModRM operand is a register / memory; `none`: the form has no E or M operand. */
export type SweepForm = "reg" | "mem" | "none";

export interface SweepVariant {
  /** What the case names start with: the form, the member's opcode, the size and the form. */
  key: string;
  /** The member's opcode bytes (a +r or +cc row has one member per opcode). */
  opcode: number[];
  size: SweepSize;
  form: SweepForm;
}

export const operandTokens = (e: OracleEncoding): string[] => (e.operands === "" ? [] : e.operands.split(","));

/** Operand tokens the sweep can set up (ModRM, registers, immediates, relative targets, string and moffs operands). */
const SWEEPABLE = /^(E[bwvd]|G[bwvzd]|M|Ma|Mq|I[bwzv]|J[bz]|Z[bvd]|AL|eAX|CL|1|X[bvz]|Y[bvz]|O[bv])$/;

/**
 * Operand sizes a form runs at: a relative jump only at 32 bits (a 16-bit operand size truncates
 * EIP to 16 bits, outside the harness's code); a form with a v or z operand at 16 and 32; one
 * whose operands are bytes at 8; a d or q operand at 32; anything else (no operand, or an
 * immediate only, which the operand size may still change: PUSH Ib, PUSHA) at 16 and 32.
 */
export function sweepSizes(e: OracleEncoding): SweepSize[] {
  const t = operandTokens(e);
  if (t.some((o) => o.startsWith("J"))) return [32];
  if (t.some((o) => o === "eAX" || /^[A-Z][vz]$/.test(o))) return [16, 32];
  if (t.some((o) => o === "AL" || /^[EGZXYO]b$/.test(o))) return [8];
  if (t.some((o) => /^[A-Z][dq]$/.test(o))) return [32];
  return [16, 32];
}

/**
 * The ModRM forms: register and memory for an E operand (memory only when the row says why in
 * `skipRegister`), memory only for M, none without.
 */
export function sweepForms(e: OracleEncoding): SweepForm[] {
  const t = operandTokens(e);
  if (t.some((o) => o.startsWith("E"))) return e.skipRegister ? ["mem"] : ["reg", "mem"];
  if (t.some((o) => o.startsWith("M"))) return ["mem"];
  return ["none"];
}

const hexBytes = (bytes: number[]): string => bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");

/** Every variant the sweep runs for form `e`: per member of a span, per size, per ModRM form. */
export function sweepVariants(e: OracleEncoding): SweepVariant[] {
  if (e.skip) return [];
  const bad = operandTokens(e).filter((o) => !SWEEPABLE.test(o));
  if (bad.length) {
    throw new Error(`${e.mnemonic} ${e.operands}: the sweep cannot set up ${bad.join(", ")}; list the form under its category in SWEEP_SKIPS (gen/x86-table.ts)`);
  }
  const out: SweepVariant[] = [];
  for (let n = 0; n < (e.span ?? 1); n++) {
    const opcode = [...e.opcode.slice(0, -1), e.opcode.at(-1)! + n];
    for (const size of sweepSizes(e)) {
      for (const form of sweepForms(e)) {
        const key = `${hexBytes(opcode)}${e.digit !== undefined ? `/${e.digit}` : ""} ${e.mnemonic} ${e.operands} o${size} ${form}`.replace(/ +/g, " ");
        out.push({ key, opcode, size, form });
      }
    }
  }
  return out;
}

/** The variant key a sweep case's name starts with (the name goes on with " #k" and details). */
export const sweepKeyOf = (caseName: string): string => caseName.replace(/ #\d+.*$/, "");

/** Variant keys that `encodings` call for and `recorded` (case names of golden/sweep.jsonl) lacks. */
export function missingFromSweep(encodings: readonly OracleEncoding[], recorded: readonly string[]): string[] {
  const have = new Set(recorded.map(sweepKeyOf));
  return encodings.flatMap((e) => sweepVariants(e).map((v) => v.key)).filter((k) => !have.has(k));
}
