// Makes the system-level fuzz sequences, runs them under qemu-system-i386 through harness.elf and
// writes what QEMU recorded as golden files: test/sysfuzz/golden/<family>.jsonl.
//
//   npm run sysfuzz:generate                 (every family, the default count)
//   npm run sysfuzz:generate -- iret io      (some families)
//   SYSFUZZ_COUNT=500 npm run sysfuzz:generate
//
// Deterministic: sequence i of a family has its own seed, so a regeneration with the same QEMU
// gives the same files byte for byte.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { toGolden } from "./golden.js";
import { GOLDEN_DIR, runQemu } from "./run.js";
import { FAMILIES, makeSequence } from "./sequences.js";

const COUNT = Number(process.env.SYSFUZZ_COUNT ?? 1000);

function main(): void {
  const wanted = process.argv.slice(2);
  for (const w of wanted) if (!(w in FAMILIES)) throw new Error(`no sysfuzz family "${w}"; families: ${Object.keys(FAMILIES).join(" ")}`);
  mkdirSync(GOLDEN_DIR, { recursive: true });
  let total = 0, steps = 0;
  for (const family of Object.keys(FAMILIES)) {
    if (wanted.length && !wanted.includes(family)) continue;
    const seqs = Array.from({ length: COUNT }, (_, i) => makeSequence(family, i));
    const r = runQemu(seqs);
    const short = seqs.findIndex((s, i) => r.records[i].length !== s.steps.length);
    if (!r.complete || short >= 0) throw new Error(`${family}: QEMU stopped at ${seqs[short]?.name ?? "the end"} (${r.stop ?? "no END"}): the generator made a sequence the harness cannot survive`);
    const lines = seqs.map((s, i) => JSON.stringify(toGolden(s, r.records[i])));
    writeFileSync(join(GOLDEN_DIR, `${family}.jsonl`), lines.join("\n") + "\n");
    const n = seqs.reduce((k, s) => k + s.steps.length, 0);
    console.log(`${family}: ${seqs.length} sequences, ${n} steps`);
    total += seqs.length;
    steps += n;
  }
  console.log(`total: ${total} sequences, ${steps} steps`);
}

main();
