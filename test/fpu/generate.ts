// Records QEMU's x87 results for test/fpu/cases.ts in test/fpu/golden/qemu.json (accepted by
// running this explicitly: `npm run fpu:generate`; the test never writes its own golden file).
// Needs Debian's gcc-multilib (gcc -m32 -static) and qemu-user (qemu-i386).

import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCases, OUT_SAVE } from "./cases.js";

const here = dirname(fileURLToPath(import.meta.url));
const work = mkdtempSync(join(tmpdir(), "vmi386-fpu-"));
const harness = join(work, "harness");
execFileSync("gcc", ["-m32", "-static", "-O1", "-o", harness, join(here, "harness.c")], { stdio: "inherit" });

const cases = buildCases();
const names = new Set<string>();
const chunks: Buffer[] = [];
for (const c of cases) {
  if (names.has(c.name)) throw new Error(`duplicate case name: ${c.name}`);
  names.add(c.name);
  const h = Buffer.alloc(4);
  h.writeUInt32LE(c.code.length);
  chunks.push(h, Buffer.from(c.code));
  const d = Buffer.alloc(4);
  d.writeUInt32LE(c.data.length);
  chunks.push(d, Buffer.from(c.data));
}
const output = execFileSync("qemu-i386", [harness], { input: Buffer.concat(chunks), maxBuffer: 1 << 30 });
const version = execFileSync("qemu-i386", ["--version"]).toString().split("\n")[0];
const golden: Record<string, string> = {};
let off = 0;
for (const c of cases) {
  golden[c.name] = output.subarray(off + OUT_SAVE, off + c.outEnd).toString("hex");
  off += c.data.length;
}
if (off !== output.length) throw new Error(`harness output is ${output.length} bytes, expected ${off}`);
const file = join(here, "golden", "qemu.json");
writeFileSync(file, JSON.stringify({ oracle: version, cases: golden }, null, 0).replace(/","/g, '",\n"') + "\n");
console.log(`${cases.length} cases recorded from ${version} in ${file}`);
void readFileSync;
