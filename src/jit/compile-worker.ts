// The JIT's compiler thread (Node worker_threads; compile-thread.ts starts it): decodes and
// generates units from copies of guest code pages and compiles their modules, so that the
// machine's thread goes on interpreting meanwhile. Each Jit talks to it over a port of its own;
// answers go back on that port, where the Jit polls for them between slices.

import { codeRange, compileUnit } from "./compile.js";
import type { CompileAnswer, CompileRequest } from "./compile-protocol.js";

/**
 * Guest code at its host addresses: each request's page is copied in at its place before the
 * unit is decoded (the decoder and the generated code both use host addresses). Only the
 * current request's bytes matter, so one array serves every machine; zero pages cost nothing.
 */
let shadow = new Uint8Array(0);

function answer(req: CompileRequest): CompileAnswer {
  const t0 = performance.now();
  const end = req.base + req.code.length;
  if (shadow.length < end) shadow = new Uint8Array(Math.max(end, shadow.length * 2));
  shadow.set(req.code, req.base);
  const info = new Map<number, number>();
  for (let i = 0; i < req.info.length; i += 2) info.set(req.info[i], req.info[i + 1]);
  let unit: ReturnType<typeof compileUnit> = null;
  try {
    // The same bytes give the same unit as the machine's thread decoded: it asks about the same addresses.
    unit = compileUnit(shadow, req.ip, (at) => info.get(at) ?? -1);
  } catch (e) {
    return { id: req.id, error: String((e as Error)?.stack ?? e), ms: performance.now() - t0 };
  }
  if (unit === null) return { id: req.id, ms: performance.now() - t0 };
  const [lo, hi] = codeRange(unit, req.ip);
  const module = new WebAssembly.Module(unit.bytes as BufferSource);
  return { id: req.id, module, size: unit.bytes.length, bound: unit.bound, interpreted: unit.instructions.filter((insn) => insn.interpreted).length, lo, code: shadow.slice(lo, hi), ms: performance.now() - t0 };
}

// Imported dynamically as everywhere in the library (only Node has it; this file runs only there).
const { parentPort } = await import("node:worker_threads");
type NodeMessagePort = InstanceType<typeof import("node:worker_threads").MessagePort>;

parentPort!.on("message", (port: NodeMessagePort) => {
  port.on("message", (reqs: CompileRequest[] | null) => {
    if (reqs === null) port.close();
    else port.postMessage(reqs.map(answer));
  });
});
