// npm run bench [-- options]: guest MIPS of vmi386 on CPU-bound guests, port exits per second
// on an I/O micro-guest and the time to boot Debian's kernel to a shell, with v86 (interpreter only, and JIT) measured on the same
// guests in the same process as the baselines the ratios are taken against.

import { Command, InvalidArgumentError } from "commander";
import { fileURLToPath } from "node:url";
import type { Engine } from "./engines/engine.js";
import { v86Engine } from "./engines/v86.js";
import { vmi386Engine, vmi386JitEngine } from "./engines/vmi386.js";
import { describeHost, hostLine } from "./env.js";
import { type BenchGuest, cpuBoundGuest, DEFAULT_DEBIAN_CACHE, ioLoopGuest, LINUX_BOOT_CMDLINE, linuxBootGuest } from "./guests.js";
import { measureGuest } from "./measure.js";
import { formatGuest, formatSummary, guestReport, writeJson } from "./report.js";
import type { MicroResult } from "../src/bench/micro.js";
import { type BiosImages, findSeaBios } from "./seabios.js";

const ENGINE_IDS = ["vmi386", "vmi386-jit", "v86-interpreter", "v86-jit"] as const;
const GUEST_IDS = ["cpu-bound", "io-loop", "linux-boot"] as const;

function count(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
    return n;
  };
}

function listOf<T extends string>(allowed: readonly T[]) {
  return (v: string): T[] => {
    const items = v.split(",").map((s) => s.trim());
    const bad = items.filter((s) => !(allowed as readonly string[]).includes(s));
    if (bad.length) throw new InvalidArgumentError(`unknown ${bad.join(", ")}; choose from ${allowed.join(", ")}`);
    return items as T[];
  };
}

interface Options {
  runs: number;
  warmups: number;
  quick: boolean;
  engines: (typeof ENGINE_IDS)[number][];
  guests: (typeof GUEST_IDS)[number][];
  v86Bios: boolean;
  vmiMicro: boolean;
  bootRuns: number;
  debianCache: string;
  bootCmdline: string;
  out: string;
}

const program = new Command("bench")
  .description("vmi386 guest MIPS and exits per second, against v86 (interpreter and JIT) measured in the same run")
  .option("--runs <n>", "timed runs per engine and guest (the best counts)", count(1), 3)
  .option("--warmups <n>", "untimed runs first", count(0), 1)
  .option("--quick", "the quick cpu-bound variant (~15 M instructions) instead of the full one (~330 M)", false)
  .option("--engines <list>", `comma-separated: ${ENGINE_IDS.join(",")}`, listOf(ENGINE_IDS), [...ENGINE_IDS])
  .option("--guests <list>", `comma-separated: ${GUEST_IDS.join(",")}`, listOf(GUEST_IDS), [...GUEST_IDS])
  .option("--boot-runs <n>", "timed runs per engine of linux-boot (minutes each on v86's interpreter; no warm-up)", count(1), 2)
  .option("--debian-cache <dir>", "where scripts/fetch-debian.sh and build-initramfs.ts put vmlinuz and initramfs.cpio", DEFAULT_DEBIAN_CACHE)
  .option("--boot-cmdline <cmdline>", "linux-boot's kernel command line, the same on every engine (must keep vmi386.shell)", LINUX_BOOT_CMDLINE)
  .option("--v86-bios", "boot v86 through SeaBIOS and its multiboot option ROM (default: v86 enters the kernel directly)", false)
  .option("--no-vmi-micro", "skip the VMI microbenchmark (hypercall round trip, batched page-table update)")
  .option("--out <dir>", "where the JSON goes", fileURLToPath(new URL("out", import.meta.url)));

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  const bios = opts.v86Bios ? findSeaBios() : undefined;
  const engines: Engine[] = opts.engines.map((id) =>
    id === "vmi386" ? vmi386Engine : id === "vmi386-jit" ? vmi386JitEngine : v86Engine(id === "v86-jit" ? "jit" : "interpreter", bios, () => linuxBios!),
  );
  const guests: BenchGuest[] = [];
  const skipped: string[] = [];
  for (const id of opts.guests) {
    if (id !== "linux-boot") {
      guests.push(id === "cpu-bound" ? cpuBoundGuest(opts.quick) : ioLoopGuest());
      continue;
    }
    const g = linuxBootGuest(opts.debianCache, opts.bootCmdline);
    if ("skip" in g) skipped.push(`linux-boot: skipped: ${g.skip}`);
    else guests.push(g);
  }
  // v86 boots a bzImage only through SeaBIOS; without it linux-boot runs on vmi386 alone.
  let linuxBios: BiosImages | undefined = bios;
  let linuxEngines = engines;
  if (guests.some((g) => g.linux) && engines.some((e) => !e.id.startsWith("vmi386")) && !linuxBios) {
    try {
      linuxBios = findSeaBios();
    } catch (e) {
      linuxEngines = engines.filter((x) => x.id.startsWith("vmi386"));
      skipped.push(`linux-boot: v86 skipped (it boots a bzImage only through a BIOS): ${(e as Error).message}`);
    }
  }
  const host = describeHost();

  console.log(`vmi386 bench: ${hostLine(host)}`);
  if (guests.some((g) => !g.linux)) {
    console.log(
      `best of ${opts.runs} timed run(s) after ${opts.warmups} warm-up(s), engines alternating; ` +
        `v86 ${bios ? `booted through SeaBIOS from ${bios.dir}, counted from the option ROM's hand-over` : "entering the multiboot kernel directly (no BIOS)"}`,
    );
    console.log("MIPS = the engine's own instruction count / host wall time from the guest's entry to its debug-exit");
  }
  if (guests.some((g) => g.linux)) {
    console.log(
      `linux-boot: best of ${opts.bootRuns} run(s), no warm-up, engines alternating; time from the engine's start to the shell prompt` +
        (linuxBios && linuxEngines.length > 1 ? `; v86 boots it through SeaBIOS from ${linuxBios.dir}` : ""),
    );
  }
  for (const line of skipped) console.log(line);
  console.log("");

  const reports = [];
  for (const guest of guests) {
    const measured = guest.linux
      ? await measureGuest(guest, linuxEngines, { runs: opts.bootRuns, warmups: 0 })
      : await measureGuest(guest, engines, opts);
    const report = guestReport(guest, measured);
    reports.push(report);
    console.log(formatGuest(report, guest) + "\n");
  }
  const summary = formatSummary(reports);
  if (summary) console.log(summary);
  // vmi386 only (v86 has no VMI ROM): what one exit and one queued page-table update cost.
  let micro: MicroResult | undefined;
  if (opts.vmiMicro) {
    // The compiled host (dist/), as `npx vmi386` runs it: under tsx's per-file transpiling the
    // hypercall path measured about 5x slower (const enums and layout constants stay lookups).
    const dist = new URL("../dist/src/bench/micro.js", import.meta.url);
    const { measureMicro, formatMicro } = (await import(dist.href).catch(() => {
      throw new Error("dist/ is missing: run `npm run build` first (the VMI microbenchmark runs the compiled host)");
    })) as typeof import("../src/bench/micro.js");
    micro = await measureMicro({
      iterations: opts.quick ? 200_000 : 1_000_000,
      rounds: opts.runs,
      onRun: (what, ms) => console.error(`  ${what}: ${ms.toFixed(0)} ms`),
    });
    console.log("\n" + formatMicro(micro));
  }
  const files = writeJson(opts.out, host, { ...opts, v86Bios: bios ? bios.dir : false }, reports, micro);
  console.log(`\nJSON: ${files.join(", ")}`);
}

main().catch((e: unknown) => {
  console.error(`bench: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
