// The machine thread's side of the JIT's compiler thread (compile-worker.ts): one worker per
// process, started on first use, and a port per Jit. Requests carry a copy of the code page a
// unit is decoded from; answers (a compiled WebAssembly.Module, or none) queue on the port until
// the Jit polls for them (receiveMessageOnPort), between slices and before each compile, so they
// are taken in whether or not the run gives the event loop a turn. Only in Node: elsewhere
// openCompileThread answers undefined (compile-thread.browser.ts, which bundlers take for this
// file: package.json "browser") and the Jit compiles on its own thread.

import type { CompileAnswer, CompileRequest, CompilePort } from "./compile-protocol.js";
import { spawnWorker } from "../worker-spawn.js";

// Node's modules only by dynamic import, so the library loads where they do not exist.
type WorkerThreads = typeof import("node:worker_threads");
type NodeWorker = InstanceType<WorkerThreads["Worker"]>;
type NodeMessagePort = InstanceType<WorkerThreads["MessagePort"]>;

let shared: Promise<{ threads: WorkerThreads; worker: NodeWorker } | undefined> | undefined;

/** The port a Jit closes when it is collected, so the worker stops listening on it. */
const closeOnCollect = new FinalizationRegistry<NodeMessagePort>((port) => {
  port.postMessage(null);
  port.close();
});

/** A port to the process's compiler thread, or undefined where there is none (not Node, or it failed to start). */
export async function openCompileThread(owner: object): Promise<CompilePort | undefined> {
  shared ??= startWorker();
  const started = await shared;
  if (started === undefined) return undefined;
  const { port1, port2 } = new started.threads.MessageChannel();
  started.worker.postMessage(port2, [port2]);
  // Polled, never listened to: the port must not keep the process alive.
  port1.unref();
  closeOnCollect.register(owner, port1);
  return new CompileThread(port1, started.threads.receiveMessageOnPort);
}

async function startWorker(): Promise<{ threads: WorkerThreads; worker: NodeWorker } | undefined> {
  if (typeof process === "undefined" || process.versions?.node === undefined) return undefined;
  try {
    const threads = await import("node:worker_threads");
    const worker = spawnWorker(threads.Worker, import.meta.url, "compile-worker");
    worker.unref();
    // A compiler thread that dies leaves requests unanswered: those blocks stay interpreted.
    worker.on("error", () => {});
    return { threads, worker };
  } catch {
    return undefined;
  }
}


class CompileThread implements CompilePort {
  constructor(
    private readonly port: NodeMessagePort,
    private readonly receive: WorkerThreads["receiveMessageOnPort"],
  ) {}

  request(reqs: CompileRequest[], transfer: ArrayBuffer[]): void {
    this.port.postMessage(reqs, transfer);
  }

  /** The answers to the next batch of requests, if they have arrived. */
  next(): CompileAnswer[] | undefined {
    return this.receive(this.port)?.message as CompileAnswer[] | undefined;
  }
}
