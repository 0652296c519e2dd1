// `vmi386 bench batching`: the sweep, the microbenchmark, the table, the JSON and the plots.
// Registered on the CLI's program by src/cli.ts; it reports through the CLI's io, and returns
// the exit status: 0 done, 1 the benchmark failed (modes disagree, a guest failed), 2 bad options.

import { Argument, Command, InvalidArgumentError, Option } from "commander";
import cliProgress from "cli-progress";
import { existsSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  ALWAYS_IN_ROM, ALL_EXITS_DEFINITION, type BatchingRun, ChecksumMismatch, EXITS_DEFINITION, FULL_EXIT_COSTS, FULL_QUEUES, MODELLED_DEFINITION,
  QUICK_EXIT_COSTS, QUICK_QUEUES, QUICK_SCALE, checkChecksums, plan, summarize,
} from "./batching.js";
import { PVKERNEL } from "./guests.js";
import { LINUX_MM, LINUX_PARTS, type LinuxRun, ensureBusybox, vmiKernelPath } from "./linux.js";
import { formatLinuxPartTimes, formatLinuxParts, formatLinuxSummary, summarizeLinux } from "./linux-report.js";
import { defaultJobs } from "./pool.js";
import { linuxPlan, sweep, sweepEntries } from "./sweep.js";
import { formatMicro, measureMicro, type MicroResult } from "./micro.js";
import { writePlots } from "./plot.js";
import { type BatchingReport, describeHost, formatLegend, formatLinuxLegend, formatSummary, formatTable, writeReport } from "./report.js";

export interface BenchIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const WORKLOADS = ["pvkernel", "linux", "all"] as const;

export interface BatchingOptions {
  scale?: number;
  quick: boolean;
  runs?: number;
  out: string;
  jobs?: number;
  workload?: (typeof WORKLOADS)[number];
  kernel?: string;
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
    .option("--jobs <n>", `runs at once, on worker threads (default: the core count, ${defaultJobs()} here); counts do not depend on it, host times do`, positive)
    .addOption(
      new Option("--workload <which>", "pvkernel (test/guests/pvkernel), linux (the CONFIG_VMI kernel running test/guests/linux-mm), or all (default; --quick: pvkernel)").choices(WORKLOADS),
    )
    .option("--kernel <bzImage>", "the CONFIG_VMI Linux kernel for the Linux workload (default: $VMI386_LINUX_VMI_KERNEL)")
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
  const jobs = o.jobs ?? defaultJobs();
  const workload = o.workload ?? (o.quick ? "pvkernel" : "all");
  const withPv = workload !== "linux";
  const withLinux = workload !== "pvkernel";
  const out = resolve(o.out);
  const host = describeHost();
  const scaleNote = scale === undefined ? "at its default scale" : `at scale=${scale}`;

  let linux = null;
  const kernelArg = o.kernel ?? vmiKernelPath();
  if (withLinux && kernelArg === undefined && workload === "all") {
    io.stderr("vmi386: bench batching: no CONFIG_VMI kernel named (--kernel or VMI386_LINUX_VMI_KERNEL): the Linux workload is left out\n");
  } else if (withLinux) {
    if (kernelArg === undefined) {
      io.stderr("vmi386: error: --workload linux needs a CONFIG_VMI kernel: --kernel bzImage or VMI386_LINUX_VMI_KERNEL\n");
      return 2;
    }
    const kernelPath = resolve(kernelArg);
    if (!existsSync(kernelPath)) {
      io.stderr(`vmi386: error: no CONFIG_VMI kernel at ${kernelPath} (--kernel or VMI386_LINUX_VMI_KERNEL names another; --workload pvkernel leaves Linux out)\n`);
      return 2;
    }
    let busyboxPath: string;
    try {
      busyboxPath = ensureBusybox();
    } catch (e) {
      io.stderr(`vmi386: bench batching: ${(e as Error).message}\n`);
      return 1;
    }
    linux = { kernelPath, busyboxPath, quick: o.quick, queues, costs };
  }
  const pvkernel = withPv ? { scale, rounds, queues, costs } : null;
  const sweepOpts = { pvkernel, linux, jobs };
  const total = sweepEntries(sweepOpts).length + (withPv ? (microOpts.rounds + 1) * 5 : 0);

  io.stdout(`vmi386 bench batching: node ${host.node} on ${host.cpu}, ${host.cores} cores, ${host.platform}; ${jobs} job(s) at once\n`);
  if (withPv) io.stdout(`pvkernel: ${plan(queues, costs).length} runs of ${PVKERNEL.native} (and -vmi, -batched) ${scaleNote}: queues ${queues.join(", ")} (batched), exit costs ${costs.join(", ")} cycles; best host time of ${rounds} run(s) each\n`);
  if (linux) io.stdout(`linux: ${linuxPlan(queues, costs).length} runs of ${linux.kernelPath} with ${LINUX_MM.program}${o.quick ? " (mm=quick)" : ""}: native (no ROM) and the ROM at queues ${queues.join(", ")}, exit costs ${costs.join(", ")} cycles; one run each\n`);
  io.stdout("\n");
  const bar = progress(io, total);
  let pvRuns: BatchingRun[];
  let linuxRuns: LinuxRun[];
  let micro: MicroResult | null = null;
  let step = 0;
  try {
    const r = await sweep({
      ...sweepOpts,
      onStart: (what) => bar.start(step, what),
      onRun: (what, r) => {
        step++;
        bar.done(`${step}/${total} ${what}: ${r.exits.toLocaleString("en-US")} exits, ${r.hostMs.toFixed(0)} ms, ${r.checksum.startsWith("0x") ? `checksum ${r.checksum}` : r.checksum}`);
      },
    });
    pvRuns = r.pvkernel;
    linuxRuns = r.linux;
    if (withPv) {
      micro = await measureMicro({
        ...microOpts,
        onRun: (what, ms) => {
          bar.start(++step, what);
          bar.done(`${what}: ${ms.toFixed(0)} ms`);
        },
      });
    }
  } catch (e) {
    bar.stop();
    io.stderr(`vmi386: bench batching failed: ${(e as Error).message}\n`);
    return 1;
  }
  bar.stop();

  const text: string[] = [];
  let summary = null;
  if (withPv) {
    const table = formatTable(pvRuns);
    text.push(table, formatLegend(pvRuns[0]!.ptOps, scale), formatMicro(micro!));
    io.stdout(text.join("\n\n") + "\n\n");
    let checksum: string;
    try {
      checksum = checkChecksums(pvRuns);
    } catch (e) {
      if (!(e instanceof ChecksumMismatch)) throw e;
      io.stderr(`vmi386: bench batching FAILED: ${e.message}\n`);
      return 1;
    }
    summary = summarize(pvRuns, checksum);
    text.push(formatSummary(summary, micro!));
    io.stdout(text[text.length - 1] + "\n\n");
  }
  let linuxSummary = null;
  if (withLinux) {
    linuxSummary = summarizeLinux(linuxRuns);
    const base = Math.min(...costs);
    const parts = [
      "Linux workload (whole, parts only: boot and shutdown left out):\n" + formatTable(linuxRuns),
      formatLinuxLegend(),
      formatLinuxParts(linuxRuns, base),
      formatLinuxPartTimes(linuxRuns),
      formatLinuxSummary(linuxSummary),
    ];
    io.stdout(parts.join("\n\n") + "\n\n");
    text.push(...parts);
  }

  const report: BatchingReport = {
    bench: "batching",
    host,
    options: { scale: scale ?? null, quick: o.quick, runs: rounds, queues, exitCosts: costs, jobs, workload },
    guests: PVKERNEL,
    definitions: { exits: EXITS_DEFINITION, allExits: ALL_EXITS_DEFINITION, modelledNs: MODELLED_DEFINITION, alwaysInRom: ALWAYS_IN_ROM },
    runs: pvRuns,
    summary,
    micro,
    linux: linux ? { kernel: linux.kernelPath, program: LINUX_MM.program, parts: [...LINUX_PARTS], runs: linuxRuns, summary: linuxSummary! } : null,
  };
  mkdirSync(out, { recursive: true });
  const tableFile = join(out, "batching.txt");
  writeFileSync(tableFile, text.join("\n\n") + "\n");
  const json = writeReport(out, report);
  const plots = [
    ...(withPv ? await writePlots(out, pvRuns, { workload: "pvkernel", note: scaleNote, prefix: "" }) : []),
    ...(withLinux ? await writePlots(out, linuxRuns, { workload: "Linux 2.6.32 (CONFIG_VMI) running linux-mm", note: o.quick ? "mm=quick" : "full size", prefix: "linux-" }) : []),
  ];
  io.stdout(`wrote ${[tableFile, json, ...plots].join(", ")}\n`);
  return 0;
}
