// The example page: COM1 in an xterm.js terminal (keys typed there go to COM1), the statistics
// beside it, and the machine in a worker (worker.ts). The demo guest starts when the page opens.

import { Terminal } from "@xterm/xterm";
import "@xterm/xterm/css/xterm.css";
import type { RunStats } from "vmi386";
import type { FromWorker, ToWorker } from "./protocol.js";

const term = new Terminal({ cols: 80, rows: 30, convertEol: true, fontSize: 14, cursorBlink: true });
term.open(element("terminal"));
let worker: Worker | undefined;
term.onData((data) => send({ kind: "input", data }));

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

function send(msg: ToWorker, transfer: Transferable[] = []): void {
  worker?.postMessage(msg, transfer);
}

async function start(image?: File, initrd?: File): Promise<void> {
  worker?.terminate();
  term.reset();
  showStats(undefined, "starting");
  worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
  worker.onmessage = (e: MessageEvent<FromWorker>) => {
    const msg = e.data;
    if (msg.kind === "serial") term.write(msg.bytes);
    else if (msg.kind === "stats") showStats(msg.stats, msg.running ? "running" : msg.stats.reason);
    else {
      term.write(`\x1b[31mvmi386: ${msg.message}\x1b[0m\r\n`);
      showStats(undefined, "error");
    }
  };
  const imageBytes = image && (await image.arrayBuffer());
  const initrdBytes = initrd && (await initrd.arrayBuffer());
  const msg: ToWorker = {
    kind: "start",
    image: imageBytes,
    name: image?.name ?? "demo.elf",
    initrd: initrdBytes,
    cmdline: element<HTMLInputElement>("cmdline").value,
    memMiB: Number(element<HTMLSelectElement>("mem").value),
  };
  send(msg, [imageBytes, initrdBytes].filter((b): b is ArrayBuffer => b !== undefined));
  term.focus();
}

const numberFormat = new Intl.NumberFormat("en-US");

function showStats(s: RunStats | undefined, state: string): void {
  document.body.dataset.state = state;
  const ended = s && s.reason !== "running" ? (s.exitCode !== undefined ? `${s.reason}, exit code ${s.exitCode}` : s.reason) : state;
  const cells: Record<string, string> = {
    state: ended,
    message: s?.message ?? "",
    instructions: s ? numberFormat.format(s.instructions) : "",
    wall: s ? `${(s.wallMs / 1000).toFixed(2)} s` : "",
    mips: s ? s.mips.toFixed(2) : "",
    exits: s ? numberFormat.format(s.exits.total) : "",
    portIn: s ? numberFormat.format(s.exits.portIn) : "",
    portOut: s ? numberFormat.format(s.exits.portOut) : "",
    interrupts: s ? numberFormat.format(s.exits.interrupts) : "",
    exceptions: s ? numberFormat.format(s.exits.exceptions) : "",
    hypercalls: s ? numberFormat.format(s.exits.hypercalls) : "",
  };
  for (const [key, text] of Object.entries(cells)) element(`stat-${key}`).textContent = text;
}

element("run-demo").addEventListener("click", () => void start());
element("run-file").addEventListener("click", () => {
  const image = element<HTMLInputElement>("image").files?.[0];
  if (image) void start(image, element<HTMLInputElement>("initrd").files?.[0]);
  else term.write("\x1b[33mpick an image file first\x1b[0m\r\n");
});
element("stop").addEventListener("click", () => send({ kind: "stop" }));
void start();
