// Runs system-level fuzz sequences through harness.elf, on vmi386 (the library API, in process)
// or under qemu-system-i386, and parses what the harness prints: one record per step.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SYSFUZZ_DIR = dirname(fileURLToPath(import.meta.url));
export const HARNESS_ELF = join(SYSFUZZ_DIR, "harness.elf");
export const GOLDEN_DIR = join(SYSFUZZ_DIR, "golden");
const SEQ_MAGIC = 0x315a4653;
const MEM = 32 << 20;

/** One step: it starts by IRET at `cpl` with these registers, at CODE + eip. */
export interface Step {
  cpl: number;
  eip: number;
  eflags: number;
  /** eax ecx edx ebx esp ebp esi edi */
  regs: number[];
  /**
   * Where QEMU is known to depart from the SDM for this step: the SDM's record made from QEMU's
   * (undefined when this record is not the case), and the reference. Not part of the module.
   */
  sdm?: (rec: StepRecord) => { rec: StepRecord; note: string } | undefined;
}

/** What sequences.ts makes and the harness runs: ENV patches, code, steps. */
export interface Sequence {
  name: string;
  patches: [number, number][];
  code: number[];
  steps: Step[];
}

/** The record of one step, as harness.asm lays it out (REC_WORDS dwords). */
export const RECORD_FIELDS = [
  "vector", "cs", "ss", "esp",
  "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9",
  "eax", "ecx", "edx", "ebx", "ebp", "esi", "edi",
  "ds", "es", "fs", "gs", "eflags", "cr2",
] as const;
export type StepRecord = number[];

/** The boot module the harness reads: all little-endian dwords. */
export function encodeModule(seqs: readonly Sequence[]): Uint8Array {
  const words: number[] = [SEQ_MAGIC, seqs.length];
  for (const s of seqs) {
    const code = [...s.code];
    while (code.length % 4) code.push(0x90);
    if (code.length > 0x1000) throw new Error(`${s.name}: ${code.length} bytes of code, at most 4096`);
    words.push(s.patches.length, code.length / 4, s.steps.length);
    for (const [a, v] of s.patches) words.push(a, v);
    for (let i = 0; i < code.length; i += 4) words.push(code[i] | (code[i + 1] << 8) | (code[i + 2] << 16) | (code[i + 3] << 24));
    for (const st of s.steps) words.push(st.cpl, st.eip, st.eflags, ...st.regs);
  }
  const out = new Uint8Array(words.length * 4);
  const dv = new DataView(out.buffer);
  words.forEach((w, i) => dv.setUint32(i * 4, w >>> 0, true));
  return out;
}

export interface BatchResult {
  /** records[i][j]: sequence i, step j; a sequence the run never reached has fewer (or none). */
  records: StepRecord[][];
  /** The run reached the harness's END line. */
  complete: boolean;
  /** How the run stopped, when it did not end at END. */
  stop?: string;
}

/** Parses the harness's output ("seq.step: w0 ... w26" lines, then END). */
export function parseOutput(out: string, seqs: readonly Sequence[]): BatchResult {
  const records: StepRecord[][] = seqs.map(() => []);
  let complete = false;
  for (const line of out.replace(/\r/g, "").split("\n")) {
    if (line === "END") complete = true;
    const m = /^([0-9a-f]+)\.([0-9a-f]+): (.*)$/.exec(line);
    if (!m) continue;
    const i = parseInt(m[1], 16), j = parseInt(m[2], 16);
    const words = m[3].split(" ").map((w) => parseInt(w, 16) >>> 0);
    if (i < seqs.length && j === records[i].length && words.length === RECORD_FIELDS.length) records[i].push(words);
  }
  return { records, complete };
}

/** Runs a batch on vmi386 (deterministic mode, the release core unless VMI386_CORE_WASM says). */
export async function runVmi386(seqs: readonly Sequence[]): Promise<BatchResult> {
  const { Machine } = await import("../../src/machine.js");
  const { loadMultiboot } = await import("../../src/loaders/multiboot.js");
  const wasm = process.env.VMI386_CORE_WASM ? new Uint8Array(readFileSync(process.env.VMI386_CORE_WASM)) : undefined;
  const machine = await Machine.create({ memSize: MEM, deterministic: true, wasm });
  loadMultiboot(machine, new Uint8Array(readFileSync(HARNESS_ELF)), {
    name: "harness.elf",
    modules: [{ data: encodeModule(seqs), name: "sequences" }],
  });
  const r = await machine.run({ maxInstructions: 200_000 + seqs.length * 200_000, wallTimeoutMs: 120_000 });
  const result = parseOutput(machine.serialOutput, seqs);
  if (!result.complete || r.reason !== "debug-exit") result.stop = `${r.reason}${r.message ? `: ${r.message}` : ""}`;
  return result;
}

/** Runs a batch under qemu-system-i386 (TCG), its COM1 into a file. */
export function runQemu(seqs: readonly Sequence[]): BatchResult {
  const dir = mkdtempSync(join(tmpdir(), "sysfuzz-"));
  try {
    const mod = join(dir, "sequences.bin"), log = join(dir, "com1.txt");
    writeFileSync(mod, encodeModule(seqs));
    const r = spawnSync(
      "qemu-system-i386",
      ["-kernel", HARNESS_ELF, "-initrd", mod, "-m", "32", "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", `file:${log}`, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"],
      { encoding: "utf8", timeout: 300_000 },
    );
    if (r.error) throw r.error;
    const result = parseOutput(readFileSync(log, "utf8"), seqs);
    // isa-debug-exit: status (0 << 1) | 1 after END.
    if (!result.complete || r.status !== 1) result.stop = `qemu exit status ${r.status}${r.signal ? ` (${r.signal})` : ""}: ${r.stderr.trim()}`;
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
