// The progress line on a terminal's stderr: drawn in place once a run has lasted a second,
// kept off a half-written guest line, gone at the end, and never on a stderr that is no terminal.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PROGRESS_DELAY_MS, ProgressLine } from "../../src/cli/progress-line.js";
import { bzImage } from "../loader/bzimage-builder.js";
import { cli } from "../support/run-cli.js";

const CLEAR = "\r\x1b[K";

function fakeLine(canDraw = () => true) {
  let t = 0;
  let instructions = 0;
  const written: string[] = [];
  const line = new ProgressLine({
    write: (s) => written.push(s),
    sample: () => ({ instructions, phase: "kernel" }),
    canDraw,
    now: () => t,
  });
  return { line, written, advance: (ms: number, n: number) => ((t += ms), (instructions += n)) };
}

describe("ProgressLine", () => {
  it("stays quiet for the first second, then draws elapsed time, instructions, recent MIPS and phase in place", () => {
    const { line, written, advance } = fakeLine();
    advance(PROGRESS_DELAY_MS - 1, 1e6);
    line.tick();
    expect(written).toEqual([]);
    advance(1, 0);
    line.tick();
    advance(500, 100e6); // 100 M instructions in 500 ms: 200 MIPS
    line.tick();
    expect(written).toEqual([`${CLEAR}vmi386: 1.0 s, 1.0 M instructions, 1.0 MIPS, kernel`, `${CLEAR}vmi386: 1.5 s, 101.0 M instructions, 200.0 MIPS, kernel`]);
    line.stop();
    expect(written.at(-1)).toBe(CLEAR);
  });

  it("does not draw where the screen has no room, and hide() takes a drawn line away once", () => {
    let room = false;
    const { line, written, advance } = fakeLine(() => room);
    advance(2000, 1);
    line.tick();
    line.hide();
    line.stop();
    expect(written).toEqual([]);
    room = true;
    line.tick();
    line.hide();
    line.hide();
    expect(written.filter((w) => w === CLEAR)).toHaveLength(1);
  });
});

describe("vmi386 run on a terminal's stderr", () => {
  const dir = mkdtempSync(join(tmpdir(), "vmi386-progress-"));
  const spin = join(dir, "spin");
  writeFileSync(spin, bzImage({ payload: Uint8Array.of(0xeb, 0xfe) })); // jmp $, paging off
  const args = ["run", "--kernel", spin, "--mem", "16M", "--timeout", "1.8"];

  it("shows the progress line in a long run and clears it before the statistics", async () => {
    const r = await cli(args, null, { stderrIsTTY: true });
    expect(r.status, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/\r\x1b\[Kvmi386: 1\.\d s, [\d,]+\.\d M instructions, \d+\.\d MIPS, decompressing/);
    expect(r.stderr).toContain(`${CLEAR}--- vmi386 statistics ---\n`);
  });

  it("never when stderr is not a terminal", async () => {
    const r = await cli(args, null, { stderrIsTTY: false });
    expect(r.status, r.stderr).toBe(8);
    expect(r.stderr).not.toMatch(/\r|\x1b/);
  });
});
