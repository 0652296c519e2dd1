// `vmi386 bench batching`: the sweep, the microbenchmark, the table, the JSON and the plots.
// Registered on the CLI's program by src/cli.ts; it reports through the CLI's io, and returns
// the exit status: 0 done, 1 the benchmark failed (modes disagree, a guest failed), 2 bad options.

import { Argument, Command, InvalidArgumentError } from "commander";
import cliProgress from "cli-progress";
import { writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ALWAYS_IN_ROM, ALL_EXITS_DEFINITION, ChecksumMismatch, EXITS_DEFINITION, FULL_EXIT_COSTS, FULL_QUEUES, MODELLED_DEFINITION,
  QUICK_EXIT_COSTS, QUICK_QUEUES, QUICK_SCALE, checkChecksums, label, plan, summarize, sweep, warmups,
} from "./batching.js";
import { PVKERNEL } from "./guests.js";
import { formatMicro, measureMicro, type MicroResult } from "./micro.js";
import { writePlots } from "./plot.js";
import { type BatchingReport, describeHost, formatLegend, formatSummary, formatTable, writeReport } from "./report.js";

export interface BenchIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface BatchingOptions {
  scale?: number;
  quick: boolean;
  runs?: number;
  out: string;
}

export const DEFAULT_OUT = "bench-results";

const MICRO_FULL = { iterations: 1_000_000, rounds: 3 };
const MICRO_QUICK = { iterations: 200_000, rounds: 1 };

function positive(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${v}"`);
  return n;
}

/** The `bench` command; `onAction` receives the job to run once the arguments parsed. */
export function benchCommand(io: BenchIO, onAction: (job: () => Promise<number>) => void): Command {
  return new Command("bench")
    .description("run a benchmark: batching = the paravirtual workload native, as immediate VMI calls and batched, over queue sizes and exit costs")
    .addArgument(new Argument("<suite>", "the benchmark").choices(["batching"]))
    .option("--scale <n>", "the workload's size, passed to the guest as scale=N (default: the guest's, 20; --quick: 1)", positive)
    .option("--quick", `a small sweep (queues ${QUICK_QUEUES.join(",")}, exit costs ${QUICK_EXIT_COSTS.join(",")}, scale ${QUICK_SCALE}), for tests`, false)
    .option("--runs <n>", "runs per configuration, the best host time counts (default 3; --quick: 1)", positive)
    .option("--out <dir>", "where the table, JSON and SVG plots go", DEFAULT_OUT)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: () => {}, outputError: () => {} })
    .action((_suite: string, o: BatchingOptions) => onAction(() => benchBatching(o, io)));
}

/** Progress on stderr: a bar on a terminal, one line per finished run otherwise. */
function progress(io: BenchIO, total: number) {
  if (!process.stderr.isTTY) {
    return { start: (_i: number, _what: string) => {}, done: (line: string) => io.stderr(`  ${line}\n`), stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    { format: "bench batching {bar} {value}/{total} | {what}", stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { what: "starting" });
  return {
    start: (i: number, what: string) => bar.update(i, { what }),
    done: (line: string) => {
      process.stderr.write(`\r\x1b[2K  ${line}\n`);
      bar.increment();
    },
    stop: () => bar.stop(),
  };
}

export async function benchBatching(o: BatchingOptions, io: BenchIO): Promise<number> {
  const scale = o.scale ?? (o.quick ? QUICK_SCALE : undefined);
  const queues = o.quick ? QUICK_QUEUES : FULL_QUEUES;
  const costs = o.quick ? QUICK_EXIT_COSTS : FULL_EXIT_COSTS;
  const microOpts = o.quick ? MICRO_QUICK : MICRO_FULL;
  const rounds = o.runs ?? (o.quick ? 1 : 3);
  const out = resolve(o.out);
  const host = describeHost();
  const scaleNote = scale === undefined ? "at its default scale" : `at scale=${scale}`;
  const steps = plan(queues, costs).length;
  const total = steps * rounds + warmups(queues, costs).length + (microOpts.rounds + 1) * 5;

  io.stdout(`vmi386 bench batching: node ${host.node} on ${host.cpu}, ${host.cores} cores, ${host.platform}\n`);
  io.stdout(`${steps} runs of ${PVKERNEL.native} (and -vmi, -batched) ${scaleNote}: queues ${queues.join(", ")} (batched), exit costs ${costs.join(", ")} cycles; best host time of ${rounds} run(s) each\n\n`);
  const bar = progress(io, total);
  let runs;
  let micro: MicroResult;
  let step = 0;
  try {
    runs = await sweep({
      scale,
      rounds,
      queues,
      costs,
      onStart: (_i, _n, what) => bar.start(step, what),
      onRun: (i, n, r, warmup) => {
        step++;
        bar.done(`${i + 1}/${n} ${warmup ? "warm-up: " : ""}${label(r)}: ${r.exits.toLocaleString("en-US")} exits, ${r.hostMs.toFixed(0)} ms, checksum ${r.checksum}`);
      },
    });
    micro = await measureMicro({
      ...microOpts,
      onRun: (what, ms) => {
        bar.start(++step, what);
        bar.done(`${what}: ${ms.toFixed(0)} ms`);
      },
    });
  } catch (e) {
    bar.stop();
    io.stderr(`vmi386: bench batching failed: ${(e as Error).message}\n`);
    return 1;
  }
  bar.stop();

  const table = formatTable(runs);
  io.stdout(table + "\n\n" + formatLegend(runs[0]!.ptOps, scale) + "\n\n");
  io.stdout(formatMicro(micro) + "\n\n");
  let checksum: string;
  try {
    checksum = checkChecksums(runs);
  } catch (e) {
    if (!(e instanceof ChecksumMismatch)) throw e;
    io.stderr(`vmi386: bench batching FAILED: ${e.message}\n`);
    return 1;
  }
  const summary = summarize(runs, checksum);
  io.stdout(formatSummary(summary, micro) + "\n\n");

  const report: BatchingReport = {
    bench: "batching",
    host,
    options: { scale: scale ?? null, quick: o.quick, runs: rounds, queues, exitCosts: costs },
    guests: PVKERNEL,
    definitions: { exits: EXITS_DEFINITION, allExits: ALL_EXITS_DEFINITION, modelledNs: MODELLED_DEFINITION, alwaysInRom: ALWAYS_IN_ROM },
    runs,
    summary,
    micro,
  };
  mkdirSync(out, { recursive: true });
  const tableFile = join(out, "batching.txt");
  writeFileSync(tableFile, table + "\n\n" + formatLegend(runs[0]!.ptOps, scale) + "\n\n" + formatMicro(micro) + "\n\n" + formatSummary(summary, micro) + "\n");
  const json = writeReport(out, report);
  const plots = await writePlots(out, runs, scaleNote);
  io.stdout(`wrote ${[tableFile, json, ...plots].join(", ")}\n`);
  return 0;
}
