// Runs the batching sweep's jobs on N worker threads (--jobs N). Every run is a fresh
// deterministic Machine, so its counts do not depend on where or beside what it runs; only the
// host times do (N runs share the host's cores). With N = 1 the jobs run in this thread.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { type Job, type JobResult, runJob } from "./jobs.js";
import { spawnWorker } from "../worker-spawn.js";

export interface PoolCallbacks {
  onStart?: (index: number) => void;
  onDone?: (index: number, result: JobResult) => void;
}

export function defaultJobs(): number {
  return availableParallelism();
}


/** Runs `jobs` on `threads` threads; the results in the jobs' order. The first failure rejects. */
export async function runPool(jobs: Job[], threads: number, cb: PoolCallbacks = {}): Promise<JobResult[]> {
  const results: JobResult[] = new Array(jobs.length);
  if (threads <= 1 || jobs.length <= 1) {
    for (const [i, job] of jobs.entries()) {
      cb.onStart?.(i);
      results[i] = await runJob(job);
      cb.onDone?.(i, results[i]!);
    }
    return results;
  }
  const workers = Array.from({ length: Math.min(threads, jobs.length) }, () => spawnWorker(Worker, import.meta.url, "worker"));
  let next = 0;
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const give = () => {
              if (next >= jobs.length) return resolve();
              const id = next++;
              cb.onStart?.(id);
              w.postMessage({ id, job: jobs[id] });
            };
            w.on("message", (msg: { id: number; result?: JobResult; error?: string }) => {
              if (msg.error !== undefined) return reject(new Error(msg.error));
              results[msg.id] = msg.result!;
              cb.onDone?.(msg.id, msg.result!);
              give();
            });
            w.on("error", reject);
            w.on("exit", (code) => {
              if (next < jobs.length || code !== 0) reject(new Error(`a benchmark worker thread ended (exit code ${code}) before the sweep did`));
            });
            give();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
