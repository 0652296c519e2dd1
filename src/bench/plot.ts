// The batching benchmark's plots, drawn by Vega-Lite (compiled to a Vega spec) and rendered to
// SVG by Vega's headless view: no canvas, no browser. Loaded lazily, so the CLI's other
// commands do not pay for the charting library.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BatchingRun } from "./batching.js";

const MODE_LABEL = { native: "native", vmi: "vmi (immediate)", batched: "vmi-batched" } as const;
const MODE_ORDER = Object.values(MODE_LABEL);

interface Point {
  mode: string;
  queue: number;
  exitCost: string;
  exits: number;
  allExits: number;
  modelledMs: number;
  hostMs: number;
  /** Whether the mode has a queue: native and vmi are drawn flat across the queue sizes. */
  swept: boolean;
}

/** One point per run and queue size; native and vmi repeat at every queue size (they have no queue). */
export function points(runs: BatchingRun[]): Point[] {
  const queues = [...new Set(runs.filter((r) => r.queue !== null).map((r) => r.queue!))].sort((a, b) => a - b);
  const out: Point[] = [];
  for (const r of runs) {
    for (const queue of r.queue === null ? queues : [r.queue]) {
      out.push({
        mode: MODE_LABEL[r.mode],
        queue,
        exitCost: `exit cost ${r.exitCostCycles} cycles`,
        exits: r.exits,
        allExits: r.allExits,
        modelledMs: r.modelledNs / 1e6,
        hostMs: r.hostMs,
        swept: r.queue !== null,
      });
    }
  }
  return out;
}

const X = { field: "queue", type: "quantitative", title: "queue size (entries)", scale: { type: "log", base: 2 }, axis: { values: [1, 4, 16, 64, 256] } };
const COLOR = { field: "mode", type: "nominal", title: "mode", sort: MODE_ORDER, scale: { domain: MODE_ORDER } };
const LINE = { type: "line", point: true, tooltip: true };

/** Which workload the plots show: its name and size in the subtitles, and the files' name prefix. */
export interface PlotLabels {
  workload: string;
  note: string;
  prefix: string;
}

/** Vega-Lite specs of the plots, by file name. */
export function plotSpecs(runs: BatchingRun[], labels: PlotLabels): Record<string, object> {
  const what = `${labels.workload} ${labels.note}`;
  const data = points(runs);
  const costs = [...new Set(runs.map((r) => r.exitCostCycles))].sort((a, b) => a - b);
  const base = `exit cost ${costs[0]} cycles`;
  const schema = "https://vega.github.io/schema/vega-lite/v6.json";
  const p = labels.prefix;
  return {
    [`${p}exits.svg`]: {
      $schema: schema,
      title: { text: "Exits against queue size", subtitle: `${what}; native: traps + port I/O, vmi modes: VMI exits` },
      width: 420,
      height: 280,
      data: { values: data.filter((p) => p.exitCost === base) },
      mark: LINE,
      encoding: { x: X, y: { field: "exits", type: "quantitative", title: "exits", scale: { type: "log" } }, color: COLOR },
    },
    [`${p}time.svg`]: {
      $schema: schema,
      title: { text: "Modelled time against queue size, by exit cost", subtitle: `${what}; every exit charged the exit cost (10 ns per cycle)` },
      data: { values: data },
      facet: { column: { field: "exitCost", type: "nominal", title: null, sort: costs.map((c) => `exit cost ${c} cycles`) } },
      resolve: { scale: { y: "independent" } },
      spec: {
        width: 220,
        height: 240,
        mark: LINE,
        encoding: { x: X, y: { field: "modelledMs", type: "quantitative", title: "modelled time (ms)", scale: { zero: false } }, color: COLOR },
      },
    },
    [`${p}host-time.svg`]: {
      $schema: schema,
      title: { text: "Host wall time against queue size", subtitle: `${what}, ${base}; best of the runs, on this host` },
      width: 420,
      height: 280,
      data: { values: data.filter((p) => p.exitCost === base) },
      mark: LINE,
      encoding: { x: X, y: { field: "hostMs", type: "quantitative", title: "host wall time (ms)", scale: { zero: false } }, color: COLOR },
    },
  };
}

/** Renders every plot to DIR/NAME.svg; returns the files written. */
export async function writePlots(dir: string, runs: BatchingRun[], labels: PlotLabels): Promise<string[]> {
  const vega = await import("vega");
  const { compile } = await import("vega-lite");
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [name, spec] of Object.entries(plotSpecs(runs, labels))) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const compiled = compile(spec as any).spec;
    const view = new vega.View(vega.parse(compiled), { renderer: "none" });
    try {
      const svg = await view.toSVG();
      const file = join(dir, name);
      writeFileSync(file, svg);
      files.push(file);
    } finally {
      view.finalize();
    }
  }
  return files;
}
