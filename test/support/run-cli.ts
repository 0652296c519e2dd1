// Runs the CLI's main() in-process with captured stdout/stderr, for the CLI tests.
import { expect } from "vitest";
import { EXIT_USAGE, main, type CliIO, type CliInput } from "../../src/cli.js";

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

/** A piece of stdout and the host time (performance.now(), ms) it was written at. */
export interface TimedChunk {
  at: number;
  text: string;
}

/**
 * `io` sets what the captured streams claim to be (a terminal or not) and the signal source;
 * `times`, when given, receives every stdout chunk with the time it came (real-time tests).
 */
export async function cli(
  args: string[],
  stdin: CliInput | null = null,
  io: Partial<Pick<CliIO, "stdoutIsTTY" | "stderrIsTTY" | "onStopSignal">> = {},
  times?: TimedChunk[],
): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const dec = new TextDecoder();
  const status = await main(args, {
    stdout: (c) => {
      const text = typeof c === "string" ? c : dec.decode(c, { stream: true });
      out.push(text);
      times?.push({ at: performance.now(), text });
    },
    stderr: (t) => err.push(t),
    stdin,
    ...io,
  });
  return { status, stdout: out.join(""), stderr: err.join("") };
}

/** When `marker` first appeared on stdout (ms, performance.now()), or NaN if it never did. */
export function timeOf(times: readonly TimedChunk[], marker: string): number {
  let text = "";
  for (const c of times) {
    text += c.text;
    if (text.includes(marker)) return c.at;
  }
  return NaN;
}

/** One line `vmi386: error: ...` matching `pattern`, status 2, no guest output. */
export async function expectUsageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await cli(args);
  expect(r.status, r.stderr).toBe(EXIT_USAGE);
  expect(r.stderr).toMatch(/^vmi386: error: [^\n]*\n$/);
  expect(r.stderr).toMatch(pattern);
  expect(r.stdout).toBe("");
}
