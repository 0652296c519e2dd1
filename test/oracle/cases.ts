// What an oracle case is, how it is written in a golden file, and how the harness (harness.c,
// run under qemu-i386) is built and fed. Shared by the generator, the core test and the live
// re-check, so the three cannot disagree on the format.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

export const ORACLE_DIR = dirname(fileURLToPath(import.meta.url));
export const GOLDEN_DIR = join(ORACLE_DIR, "golden");

// The guest's memory map while a case runs (harness.c has the same numbers).
export const CODE = 0x00300000;
export const DATA = 0x00200000;
export const DATA_SIZE = 0x1000;
export const STACK_LO = 0x00380000;
export const STACK_HI = 0x00390000;
/** The part of the stack that starts as a known pattern and whose changes are recorded. */
export const WINDOW_LO = 0x0038e000;
export const WINDOW_SIZE = STACK_HI - WINDOW_LO;
export const INITIAL_ESP = 0x0038f000;
/** A low area for memory operands addressed with 16-bit addressing (0x67): below 64 KiB. */
export const LOW = 0x00008000;
export const LOW_SIZE = 0x1000;
/** The areas whose initial contents are a pattern and whose changes are recorded, in pattern order. */
export const AREAS: readonly { base: number; size: number }[] = [
  { base: DATA, size: DATA_SIZE },
  { base: WINDOW_LO, size: WINDOW_SIZE },
  { base: LOW, size: LOW_SIZE },
];
export const AREAS_SIZE = DATA_SIZE + WINDOW_SIZE + LOW_SIZE;

// EFLAGS bits (SDM Vol. 1 §3.4.3).
export const CF = 0x001;
export const PF = 0x004;
export const AF = 0x010;
export const ZF = 0x040;
export const SF = 0x080;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
/** The flags a case may set: the six status flags and DF (user mode can set no others). */
export const CASE_FLAGS = CF | PF | AF | ZF | SF | DF | OF;

/** One golden-file line. Numbers that are register or memory values are hex strings. */
export interface GoldenCase {
  name: string;
  /** The instruction bytes, hex. */
  code: string;
  /** EAX ECX EDX EBX ESP EBP ESI EDI, hex. */
  regs: string[];
  /** Initial EFLAGS, hex (only CASE_FLAGS bits; IF is set as user mode has it). */
  flags: string;
  /** Seed of the data area's and the stack window's initial pattern (fillPattern). */
  seed: number;
  /** Patches over the pattern: [address hex, bytes hex]. */
  mem?: [string, string][];
  /** Which EFLAGS bits are compared: CASE_FLAGS minus those the SDM leaves undefined (masks.ts). */
  mask: string;
  out: {
    /** The registers that changed, by name (eax ... edi), hex; the others kept their value. */
    regs: Partial<Record<RegName, string>>;
    flags: string;
    /** Runs of the data area and stack window that differ from the initial contents. */
    mem?: [string, string][];
    /** Exception vector, or null when the code ran to its end. */
    exception: number | null;
    /** With an exception: the EIP it reported (the instruction for a fault, the next one for a trap). */
    eip?: string;
  };
  /** Why an expected value differs from what QEMU produced (masks.ts, QEMU_OVERRIDES). */
  override?: string;
}

/** The input of a case, before the oracle has run it. */
export type CaseInput = Omit<GoldenCase, "out" | "override">;

export const REG_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
export type RegName = (typeof REG_NAMES)[number];

/** The expected value of every register: the initial ones with the changes applied. */
export function expectedRegs(c: GoldenCase): number[] {
  return REG_NAMES.map((n, i) => parseInt(c.out.regs[n] ?? c.regs[i], 16) >>> 0);
}

export const hex = (n: number): string => (n >>> 0).toString(16);
export const toHex = (bytes: ArrayLike<number>): string =>
  Array.from(bytes, (b) => (b & 0xff).toString(16).padStart(2, "0")).join("");
export function fromHex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
  return out;
}

/**
 * The initial contents of the data area, the stack window and the low area (AREAS): xorshift32 (13, 17, 5)
 * from a state derived from the seed, one little-endian u32 per step. harness.c fill_pattern.
 */
export function fillPattern(seed: number): Uint8Array {
  const out = new Uint8Array(AREAS_SIZE);
  const view = new DataView(out.buffer);
  let s = (Math.imul(seed, 0x9e3779b9) ^ 0xa5a5a5a5) >>> 0;
  if (s === 0) s = 1;
  for (let i = 0; i < out.length; i += 4) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    view.setUint32(i, s >>> 0, true);
  }
  return out;
}

/** Offset of a guest address in fillPattern's buffer, or -1 outside the AREAS. */
export function areaOffset(addr: number): number {
  let off = 0;
  for (const a of AREAS) {
    if (addr >= a.base && addr < a.base + a.size) return off + addr - a.base;
    off += a.size;
  }
  return -1;
}

/** The guest address of an offset in fillPattern's buffer. */
export function areaAddress(offset: number): number {
  for (const a of AREAS) {
    if (offset < a.size) return a.base + offset;
    offset -= a.size;
  }
  throw new Error(`offset past the areas`);
}

// ---- golden files ----------------------------------------------------------------------

export function readGolden(path: string): GoldenCase[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l, i) => {
      try {
        return JSON.parse(l) as GoldenCase;
      } catch (e) {
        throw new Error(`${path}:${i + 1}: not a JSON case: ${(e as Error).message}`);
      }
    });
}

// ---- the harness under qemu-i386 ---------------------------------------------------------

export const HARNESS_SOURCES = [join(ORACLE_DIR, "harness.c"), join(ORACLE_DIR, "trampoline.S")];
export const HARNESS_BINARY = join(ORACLE_DIR, "build", "harness");

/** Builds the harness unless the binary is newer than its sources. */
export function buildHarness(): string {
  const fresh =
    existsSync(HARNESS_BINARY) &&
    HARNESS_SOURCES.every((s) => statSync(s).mtimeMs <= statSync(HARNESS_BINARY).mtimeMs);
  if (fresh) return HARNESS_BINARY;
  mkdirSync(dirname(HARNESS_BINARY), { recursive: true });
  const r = spawnSync("gcc", ["-m32", "-static", "-no-pie", "-O1", "-Wall", "-o", HARNESS_BINARY, ...HARNESS_SOURCES], {
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`building the oracle harness failed (gcc -m32 -static; is gcc-multilib installed?):\n${r.stderr}`);
  return HARNESS_BINARY;
}

export interface OracleResult {
  regs: number[];
  eflags: number;
  exception: number | null;
  eip: number;
  mem: [number, string][];
}

function inputLine(c: CaseInput): string {
  const patches = (c.mem ?? []).map(([a, b]) => ` ${a}=${b}`).join("");
  return `C ${c.code} ${c.regs.join(" ")} ${c.flags} ${c.seed.toString(16)}${patches}\n`;
}

/** Runs the cases through the harness under qemu-i386, in one process. */
export function runOracle(cases: CaseInput[]): OracleResult[] {
  const bin = buildHarness();
  const r = spawnSync("qemu-i386", [bin], {
    input: cases.map(inputLine).join(""),
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  const lines = r.stdout.split("\n").filter((l) => l.length > 0);
  if (r.status !== 0) {
    const at = cases[lines.length];
    throw new Error(
      `qemu-i386 harness died (status ${r.status}, signal ${r.signal}) at case ${lines.length} ` +
        `"${at?.name}" (${at ? inputLine(at).trim() : "?"}): ${r.stderr}`,
    );
  }
  if (lines.length !== cases.length) {
    throw new Error(`harness answered ${lines.length} of ${cases.length} cases: ${r.stderr}`);
  }
  return lines.map((line, i) => {
    const t = line.split(" ");
    if (t[0] !== "R" || t.length < 12) throw new Error(`harness: bad output line for ${cases[i].name}: ${line}`);
    const num = (s: string) => parseInt(s, 16) >>> 0;
    const vector = parseInt(t[10], 10);
    if (vector < -1) throw new Error(`harness: an unexpected signal in ${cases[i].name}: ${line}`);
    return {
      regs: t.slice(1, 9).map(num),
      eflags: num(t[9]),
      exception: vector < 0 ? null : vector,
      eip: num(t[11]),
      mem: t.slice(12).map((p) => {
        const [a, b] = p.split("=");
        return [num(a), b] as [number, string];
      }),
    };
  });
}
