// What `vmi386 run` needs for snapshots (src/cli.ts): the options that take two values, the
// watch for a string on the guest's console, and saving a machine to a file (node:fs, imported
// when saving, as everything outside cli.ts imports Node's modules).

import { wallNow } from "../clock.js";
import type { Machine, RunResult } from "../machine.js";
import { encodeSnapshot } from "./file.js";
import { SnapshotError } from "./snapshot.js";

/** Options followed by two values (STRING FILE, N FILE), and the hidden option each FILE goes to. */
export const TWO_VALUE_OPTIONS: Record<string, string> = {
  "--save-on-output": "--save-on-output-file",
  "--save-at-instructions": "--save-at-instructions-file",
};

/**
 * Commander takes one value per option: `--save-on-output STRING FILE` becomes
 * `--save-on-output=STRING --save-on-output-file=FILE`. A missing value is left for commander
 * to report.
 */
export function splitTwoValueOptions(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const fileOption = TWO_VALUE_OPTIONS[argv[i]];
    if (fileOption !== undefined && i + 2 < argv.length) {
      out.push(`${argv[i]}=${argv[i + 1]}`, `${fileOption}=${argv[i + 2]}`);
      i += 2;
    } else out.push(argv[i]);
  }
  return out;
}

/** Finds a string in a byte stream that arrives in chunks (a match may straddle two). */
export class OutputWatch {
  private readonly needle: Uint8Array;
  private tail = new Uint8Array(0);
  found = false;

  constructor(text: string) {
    this.needle = new TextEncoder().encode(text);
  }

  /** True the first time the string has appeared. */
  feed(chunk: Uint8Array): boolean {
    if (this.found || this.needle.length === 0) return false;
    const hay = new Uint8Array(this.tail.length + chunk.length);
    hay.set(this.tail);
    hay.set(chunk, this.tail.length);
    if (indexOf(hay, this.needle) >= 0) {
      this.found = true;
      return true;
    }
    this.tail = hay.slice(Math.max(0, hay.length - (this.needle.length - 1)));
    return false;
  }
}

/** Save `machine` (between runs) to `path`. Returns the file's size and the time taken. */
export async function saveSnapshotFile(machine: Machine, path: string): Promise<{ bytes: number; saveMs: number; writeMs: number }> {
  const { writeFile } = await import("node:fs/promises");
  const t0 = wallNow();
  const file = await encodeSnapshot(machine.save());
  const t1 = wallNow();
  await writeFile(path, file);
  return { bytes: file.length, saveMs: t1 - t0, writeMs: wallNow() - t1 };
}

export interface SavePlan {
  /** Save when the guest's console first prints `text`. */
  onOutput?: { text: string; file: string };
  /** Save after `instructions` of this run. */
  atInstructions?: { instructions: number; file: string };
  /** Where the console's Ctrl-A s saves. */
  consoleFile: string;
}

/**
 * Runs a machine to the end as Machine.run does, stopping on the way to save it when a plan's
 * trigger fires. The run goes on after each save exactly as it would have without it.
 */
export class SaveTriggers {
  private readonly watch: OutputWatch | undefined;
  private pending: string | null = null;
  /**
   * A stop we asked for and no run has ended with yet: asked for as a run was ending, it ends
   * the next run at once (Machine.requestQuit), and that run is not the user's quit.
   */
  private ourQuit = false;
  private machine: Machine | undefined;

  constructor(
    private readonly plan: SavePlan,
    private readonly report: (line: string) => void,
  ) {
    this.watch = plan.onOutput && new OutputWatch(plan.onOutput.text);
  }

  /** The guest's console output, as it goes to stdout. */
  output(bytes: Uint8Array): void {
    if (this.watch?.feed(bytes)) this.request(this.plan.onOutput!.file);
  }

  /** The console's Ctrl-A s. */
  consoleKey(): void {
    this.request(this.plan.consoleFile);
  }

  private request(file: string): void {
    this.pending = file;
    this.ourQuit = true;
    this.machine?.requestQuit();
  }

  async run(machine: Machine, opts: { maxInstructions?: number; wallTimeoutMs?: number }): Promise<RunResult> {
    this.machine = machine;
    const at = this.plan.atInstructions;
    let atDone = at === undefined;
    let instructions = 0;
    let wallMs = 0;
    for (;;) {
      let max = opts.maxInstructions === undefined ? Infinity : opts.maxInstructions - instructions;
      const stopsForSave = !atDone && at!.instructions - instructions <= max;
      if (stopsForSave) max = at!.instructions - instructions;
      const wallLeft = opts.wallTimeoutMs === undefined ? undefined : Math.max(0, opts.wallTimeoutMs - wallMs);
      const r = await machine.run({ maxInstructions: max === Infinity ? undefined : max, wallTimeoutMs: wallLeft });
      instructions += r.instructions;
      wallMs += r.wallMs;
      const reachedAt = stopsForSave && r.reason === "max-instructions";
      if (reachedAt) {
        atDone = true;
        this.pending ??= at!.file;
      }
      const ours = r.reason === "quit" && this.ourQuit;
      if (r.reason === "quit") this.ourQuit = false;
      const pending = this.pending;
      this.pending = null;
      if (pending !== null) {
        try {
          const s = await saveSnapshotFile(machine, pending);
          this.report(
            `vmi386: saved the machine to ${pending} at ${machine.core.instructions.toLocaleString("en-US")} instructions ` +
              `(${(s.bytes / 2 ** 20).toFixed(1)} MiB; snapshot ${s.saveMs.toFixed(0)} ms, write ${s.writeMs.toFixed(0)} ms)\n`,
          );
        } catch (e) {
          // A machine that cannot be saved (one booted with --bios) goes on running: a key must not end it.
          if (!(e instanceof SnapshotError)) throw e;
          this.report(`vmi386: cannot save a snapshot: ${e.message}\n`);
        }
      }
      if (ours || reachedAt) continue;
      return { ...r, instructions, wallMs, mips: wallMs > 0 ? instructions / wallMs / 1000 : 0 };
    }
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
