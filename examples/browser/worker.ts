// The machine runs here, off the page's thread: run() takes the thread for 20 ms at a time and
// yields between slices, which is when typed keys, a stop request and the statistics timer get in.

import { Machine, collectStats, loadLinux, loadMultiboot, type RunResult } from "vmi386";
import type { FromWorker, ToWorker } from "./protocol.js";

/** How often the page gets the statistics while the guest runs. */
const STATS_EVERY_MS = 250;

let machine: Machine | undefined;

function post(msg: FromWorker, transfer: Transferable[] = []): void {
  postMessage(msg, { transfer });
}

onmessage = (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.kind === "start") start(msg).catch((err: unknown) => post({ kind: "error", message: err instanceof Error ? err.message : String(err) }));
  else if (msg.kind === "input") machine?.sendSerialInput(msg.data);
  else machine?.requestQuit();
};

async function start(msg: Extract<ToWorker, { kind: "start" }>): Promise<void> {
  const [wasm, image] = await Promise.all([fetchBytes("core.wasm"), msg.image ?? fetchBytes("demo.elf")]);
  const bytes = new Uint8Array(image);
  const m = await Machine.create({
    memSize: msg.memMiB << 20,
    wasm,
    serialOut: (out) => post({ kind: "serial", bytes: out }, [out.buffer]),
  });
  if (isBzImage(bytes)) loadLinux(m, bytes, { name: msg.name, cmdline: msg.cmdline, initrd: msg.initrd && new Uint8Array(msg.initrd) });
  else loadMultiboot(m, bytes, { name: msg.name, cmdline: msg.cmdline });
  machine = m;

  const startWall = performance.now();
  let last = { wall: startWall, instructions: 0 };
  const timer = setInterval(() => {
    const counters = m.counters();
    const wall = performance.now();
    const instructions = counters.instructions;
    const mips = (instructions - last.instructions) / (wall - last.wall) / 1000;
    last = { wall, instructions };
    post({ kind: "stats", running: true, stats: collectStats({ reason: "running", instructions, wallMs: wall - startWall, mips, counters }) });
  }, STATS_EVERY_MS);
  let result: RunResult;
  try {
    result = await m.run();
  } finally {
    clearInterval(timer);
  }
  post({ kind: "stats", running: false, stats: collectStats(result) });
}

async function fetchBytes(name: string): Promise<ArrayBuffer> {
  const res = await fetch(new URL(name, import.meta.url));
  if (!res.ok) throw new Error(`cannot fetch ${name}: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** A Linux bzImage: the boot sector's 0xAA55 and "HdrS" in the setup header (boot.rst). */
function isBzImage(b: Uint8Array): boolean {
  return b.length > 0x206 && b[0x1fe] === 0x55 && b[0x1ff] === 0xaa && String.fromCharCode(b[0x202], b[0x203], b[0x204], b[0x205]) === "HdrS";
}
