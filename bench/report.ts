// The table on stdout and the same numbers as JSON for docs/benchmarks.md: per guest, each engine's
// instructions (its own count), best wall time, MIPS (or port exits per second), and the
// ratio of vmi386 to each baseline measured in the same run.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type HostInfo, hostLine } from "./env.js";
import type { BenchGuest } from "./guests.js";
import { type Measurement, type MeasureOptions, mips, steadyState } from "./measure.js";

/** The target for the interpreter on the CPU-bound workload; measured, not asserted. */
export const TARGET_MIPS = 300;
export const TARGET_RATIO_V86_INTERPRETER = 3;
/** The issue's target for booting Debian's kernel to the shell: at least this × faster than v86's interpreter. */
export const TARGET_BOOT_RATIO_V86_INTERPRETER = 3;

export interface EngineRow {
  id: string;
  label: string;
  instructions: number;
  bestMs: number;
  runsMs: number[];
  mips: number;
  /** io guests: port accesses the engine counted, or the guest's own count where it does not count them. */
  portAccesses?: number;
  portAccessesCounted?: boolean;
  exitsPerSecond?: number;
  /** boot guests: the best run's marks (ms since start, the engine's count then). */
  marks?: { name: string; wallMs: number; instructions: number }[];
  /** (slowest - fastest) / fastest over the timed runs. */
  spread: number;
  /** cpu guests: the best run's steady-state MIPS and when it was reached (measure.ts steadyState). */
  steadyMips?: number;
  steadyFromMs?: number;
  /** vmi386 JIT: its statistics over the best run. */
  jit?: Record<string, number>;
}

export interface GuestReport {
  id: string;
  kind: string;
  path: string;
  what: string;
  result: string;
  engines: EngineRow[];
  /** "vmi386/v86-interpreter" etc.: MIPS (each engine's own count) for cpu guests, exits per second for io guests. */
  ratios: Record<string, number>;
  /** The same pairs as a ratio of best wall times on the identical guest (baseline ms / vmi386 ms): blind to how each engine counts. */
  timeRatios: Record<string, number>;
}

export function guestReport(guest: BenchGuest, ms: Measurement[]): GuestReport {
  const engines = ms.map((m): EngineRow => {
    const row: EngineRow = {
      id: m.engine.id,
      label: m.engine.label,
      instructions: m.best.instructions,
      bestMs: round(m.best.wallMs, 1),
      runsMs: m.runs.map((r) => round(r.wallMs, 1)),
      mips: round(mips(m.best), 2),
      spread: round((Math.max(...m.runs.map((r) => r.wallMs)) - m.best.wallMs) / m.best.wallMs, 4),
    };
    const steady = guest.kind === "cpu" ? steadyState(m.best) : undefined;
    if (steady) {
      row.steadyMips = round(steady.mips, 2);
      row.steadyFromMs = round(steady.fromMs, 1);
    }
    if (m.best.jit) row.jit = m.best.jit;
    if (m.best.marks) row.marks = m.best.marks.map((k) => ({ name: k.name, wallMs: round(k.wallMs, 1), instructions: k.instructions }));
    if (guest.kind === "io") {
      const counted = m.best.portAccesses !== undefined;
      const accesses = m.best.portAccesses ?? guest.portAccesses ?? 0;
      row.portAccesses = accesses;
      row.portAccessesCounted = counted;
      row.exitsPerSecond = Math.round(accesses / (m.best.wallMs / 1000));
    }
    return row;
  });
  const score = (r: EngineRow): number => (guest.kind === "io" ? r.exitsPerSecond! : r.mips);
  const ours = engines.find((r) => r.id === "vmi386");
  const ratios: Record<string, number> = {};
  const timeRatios: Record<string, number> = {};
  if (ours) {
    for (const r of engines) {
      if (r === ours) continue;
      ratios[`vmi386/${r.id}`] = round(score(ours) / score(r), 3);
      timeRatios[`vmi386/${r.id}`] = round(r.bestMs / ours.bestMs, 3);
    }
  }
  const results = [...new Set(ms.map((m) => m.result))];
  return { id: guest.id, kind: guest.kind, path: guest.path, what: guest.what, result: results.join(" / "), engines, ratios, timeRatios };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Engines may differ by a few instructions per serial poll (see bench/README.md); beyond this a counter is off. */
const COUNT_TOLERANCE = 0.001;

const int = (n: number): string => n.toLocaleString("en-US");

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

export function formatGuest(g: GuestReport, guest: BenchGuest): string {
  const lines: string[] = [];
  const agree = g.result.includes(" / ") ? `results DIFFER: ${g.result}` : `result "${g.result}" on every engine`;
  lines.push(`${g.id} (${g.path}, ${int(guest.image.bytes.length)} bytes): ${g.what}; ${agree}`);
  const ours = g.engines.find((r) => r.id === "vmi386");
  if (g.kind === "io") {
    const widths = [26, 14, 10, 10, 9, 8, 13];
    lines.push("  " + pad(["engine", "port accesses", "best ms", "exits/s", "MIPS", "vmi386÷", "runs ms"], widths));
    for (const r of g.engines) {
      const acc = `${int(r.portAccesses!)}${r.portAccessesCounted ? "" : "*"}`;
      const ratio = ours ? `${(ours.exitsPerSecond! / r.exitsPerSecond!).toFixed(2)}×` : "-";
      lines.push("  " + pad([r.label, acc, r.bestMs.toFixed(0), `${(r.exitsPerSecond! / 1e6).toFixed(2)} M`, r.mips.toFixed(1), ratio, r.runsMs.map((x) => x.toFixed(0)).join(" ")], widths));
    }
    if (g.engines.some((r) => !r.portAccessesCounted)) lines.push("  * the guest's own count (2 per round + the exit); that engine does not count port accesses");
    const miscount = g.engines.find((r) => r.portAccessesCounted && r.portAccesses !== guest.portAccesses);
    if (miscount) lines.push(`  ! ${miscount.label} counted ${int(miscount.portAccesses!)} port accesses; the guest makes ${int(guest.portAccesses!)}`);
  } else if (g.kind === "boot") {
    const widths = [26, 14, 14, 10, 12, 9, 13, 13, 22];
    const at = (r: EngineRow, name: string): string => {
      const m = r.marks?.find((k) => k.name === name);
      return m ? (m.wallMs / 1000).toFixed(2) : "-";
    };
    lines.push("  " + pad(["engine", "instructions", "decompressed s", "to /init s", "to prompt s", "MIPS", "vmi386÷ time", "vmi386÷ MIPS", "runs s (spread)"], widths));
    for (const r of g.engines) {
      const time = ours ? `${(r.bestMs / ours.bestMs).toFixed(2)}×` : "-";
      const ratio = ours ? `${(ours.mips / r.mips).toFixed(2)}×` : "-";
      const runs = `${r.runsMs.map((x) => (x / 1000).toFixed(1)).join(" ")} (${(r.spread * 100).toFixed(1)}%)`;
      lines.push("  " + pad([r.label, int(r.instructions), at(r, "kernel"), at(r, "init"), (r.bestMs / 1000).toFixed(2), r.mips.toFixed(1), time, ratio, runs], widths));
    }
    lines.push(
      "  time = host wall time from the engine's start to the prompt, best run; MIPS = its own instruction count over that time. decompressed =\n" +
        "  the first sample (every 200 ms) with paging on: the bzImage's decompressor (XZ) has finished. v86 starts in SeaBIOS\n" +
        "  (its only way to boot a bzImage: an option ROM entering the real-mode setup code), and its kernel finds a PCI BIOS, an MP table and\n" +
        "  more devices to probe; vmi386 enters the 32-bit entry point with no BIOS. The counts differ for those reasons: compare by time.",
    );
  } else {
    const widths = [26, 14, 10, 9, 13, 13, 13];
    lines.push("  " + pad(["engine", "instructions", "best ms", "MIPS", "vmi386÷ MIPS", "÷ wall time", "runs ms"], widths));
    for (const r of g.engines) {
      const ratio = ours ? `${(ours.mips / r.mips).toFixed(2)}×` : "-";
      const time = ours ? `${(r.bestMs / ours.bestMs).toFixed(2)}×` : "-";
      lines.push("  " + pad([r.label, int(r.instructions), r.bestMs.toFixed(0), r.mips.toFixed(1), ratio, time, r.runsMs.map((x) => x.toFixed(0)).join(" ")], widths));
    }
    const steady = g.engines.filter((r) => r.steadyMips !== undefined);
    if (steady.length) {
      lines.push("  steady state (MIPS over the best run's second half; from = the start of the first 20 ms sample at 90% of it):");
      lines.push("    " + steady.map((r) => `${r.label} ${r.steadyMips!.toFixed(1)} from ${r.steadyFromMs!.toFixed(0)} ms`).join(", "));
    }
    for (const r of g.engines.filter((x) => x.jit)) {
      const j = r.jit!;
      const perUnit = j.unitsCompiled ? ((j.compileMs! / j.unitsCompiled) * 1000).toFixed(0) : "-";
      lines.push(
        `  ${r.label}: ${int(j.unitsCompiled!)} units compiled (${int(j.refused!)} block starts refused), ${perUnit} µs each to generate and ` +
          `instantiate, ${(j.compileMs!).toFixed(0)} ms in all, ${int(j.wasmBytes!)} bytes of wasm (${int(j.liveBytes!)} live), ${int(j.evictions!)} evictions`,
      );
    }
  }
  const counts = g.engines.map((r) => r.instructions);
  const spread = Math.max(...counts) - Math.min(...counts);
  if (g.kind !== "boot" && spread / Math.max(...counts) > COUNT_TOLERANCE) {
    const byCount = g.engines.map((r) => `${r.label} ${int(r.instructions)}`).join(", ");
    lines.push(`  ! instruction counts differ by ${((spread / Math.max(...counts)) * 100).toFixed(2)}% on the same guest (${byCount}): MIPS ratios inherit that; the wall-time ratio does not`);
  }
  return lines.join("\n");
}

export function formatSummary(reports: GuestReport[]): string {
  const lines: string[] = [];
  for (const g of reports) {
    const parts = Object.entries(g.ratios).map(([k, v]) => `${k} ${v.toFixed(2)}×`);
    if (parts.length) lines.push(`${g.id}: ${parts.join(", ")} (${g.kind === "io" ? "exits per second" : "MIPS"})`);
    const times = Object.entries(g.timeRatios).map(([k, v]) => `${k} ${v.toFixed(2)}×`);
    if (g.kind !== "io" && times.length) lines.push(`${g.id}: ${times.join(", ")} (wall time on the same guest)`);
  }
  const boot = reports.find((g) => g.kind === "boot");
  const bootRatio = boot?.timeRatios["vmi386/v86-interpreter"];
  if (boot && bootRatio !== undefined) {
    lines.push(`target (issue): ${boot.id} at least ${TARGET_BOOT_RATIO_V86_INTERPRETER}× faster than v86's interpreter (time to the prompt): measured ${bootRatio.toFixed(2)}×`);
  }
  const cpu = reports.find((g) => g.kind === "cpu");
  const ours = cpu?.engines.find((r) => r.id === "vmi386");
  if (cpu && ours) {
    const vsInterp = cpu.ratios["vmi386/v86-interpreter"];
    lines.push(
      `target (issue): vmi386 interpreter >= ${TARGET_MIPS} MIPS on ${cpu.id}: measured ${ours.mips.toFixed(1)}` +
        (vsInterp === undefined ? "" : `; about ${TARGET_RATIO_V86_INTERPRETER}× v86's interpreter: measured ${vsInterp.toFixed(2)}×`),
    );
  }
  return lines.join("\n");
}

export function writeJson(dir: string, host: HostInfo, opts: MeasureOptions & Record<string, unknown>, reports: GuestReport[], vmiMicro?: unknown): string[] {
  mkdirSync(dir, { recursive: true });
  const doc = {
    host,
    hostLine: hostLine(host),
    options: opts,
    method:
      "guest MIPS = the engine's own instruction count / host wall time (performance.now) from the guest's entry to its debug-exit write (linux-boot: from the engine's start to the shell prompt on COM1); best of the timed runs after warm-up; engines alternate round by round",
    target: { mips: TARGET_MIPS, ratioToV86Interpreter: TARGET_RATIO_V86_INTERPRETER, bootRatioToV86Interpreter: TARGET_BOOT_RATIO_V86_INTERPRETER },
    guests: reports,
    ...(vmiMicro === undefined ? {} : { vmiMicro }),
  };
  const text = JSON.stringify(doc, null, 2) + "\n";
  const stamped = join(dir, `bench-${host.date.replace(/[:.]/g, "-")}.json`);
  const latest = join(dir, "latest.json");
  writeFileSync(stamped, text);
  writeFileSync(latest, text);
  return [stamped, latest];
}
