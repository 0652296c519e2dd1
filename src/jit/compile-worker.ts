// The JIT's compiler thread (Node worker_threads; compile-thread.ts starts it): decodes and
// generates units from copies of guest code pages and compiles their modules, so that the
// machine's thread goes on interpreting meanwhile. Each Jit talks to it over a port of its own;
// answers go back on that port, where the Jit polls for them between slices.

import { compileUnit } from "./compile.js";
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
  // The guest bytes the decoding read: from its lowest instruction to 16 bytes past its highest
  // (the instruction that stopped it, at most 15 bytes), within the page.
  let lo = req.ip;
  let hi = req.ip;
  for (const insn of unit.instructions) {
    lo = Math.min(lo, insn.at!);
    hi = Math.max(hi, insn.at! + insn.length + 16);
  }
  hi = Math.min(hi, (req.ip & ~0xfff) + 0x1000);
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
