// A worker thread of the batching sweep (src/bench/pool.ts): runs the jobs it is sent, one at
// a time, and posts each result (or the error's message) back with the job's id.

import { parentPort } from "node:worker_threads";
import { type Job, runJob } from "./jobs.js";

const port = parentPort;
if (!port) throw new Error("src/bench/worker.ts runs only as a worker thread");
port.on("message", (msg: { id: number; job: Job }) => {
  runJob(msg.job).then(
    (result) => port.postMessage({ id: msg.id, result }),
    (e: unknown) => port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) }),
  );
});
