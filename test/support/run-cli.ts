// Runs the CLI's main() in-process with captured stdout/stderr, for the CLI tests.
import { main, type CliIO, type CliInput } from "../../src/cli.js";

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

/** `io` sets what the captured streams claim to be (a terminal or not) and the signal source. */
export async function cli(args: string[], stdin: CliInput | null = null, io: Partial<Pick<CliIO, "stdoutIsTTY" | "stderrIsTTY" | "onStopSignal">> = {}): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const dec = new TextDecoder();
  const status = await main(args, {
    stdout: (c) => out.push(typeof c === "string" ? c : dec.decode(c, { stream: true })),
    stderr: (t) => err.push(t),
    stdin,
    ...io,
  });
  return { status, stdout: out.join(""), stderr: err.join("") };
}
