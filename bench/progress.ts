// Progress for long runs: a bar on a terminal (cli-progress), one plain line per finished run
// otherwise, so logs of CI or a redirected run still show where the time went. All on stderr.

import cliProgress from "cli-progress";

export interface Progress {
  /** A new run starts: `step` of `steps` for this guest. */
  beginRun(step: number, what: string): void;
  /** Instructions retired so far in the current run, against the expected count if known. */
  update(instructions: number, expected: number | undefined): void;
  endRun(line: string): void;
  finish(): void;
}

const STEP_SCALE = 1000;

export function createProgress(guest: string, steps: number): Progress {
  if (!process.stderr.isTTY) {
    return {
      beginRun() {},
      update() {},
      endRun(line) {
        process.stderr.write(`  ${line}\n`);
      },
      finish() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      format: `${guest} {bar} {percentage}% | {what} | {mi} M instructions`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps * STEP_SCALE, 0, { what: "starting", mi: "0" });
  let base = 0;
  return {
    beginRun(step, what) {
      base = step * STEP_SCALE;
      bar.update(base, { what, mi: "0" });
    },
    update(instructions, expected) {
      const fraction = expected ? Math.min(instructions / expected, 0.999) : 0;
      bar.update(base + Math.floor(fraction * STEP_SCALE), { mi: (instructions / 1e6).toFixed(0) });
    },
    endRun(line) {
      bar.update(base + STEP_SCALE);
      // Keep the finished runs visible above the bar.
      process.stderr.write(`\r\x1b[2K  ${line}\n`);
      bar.render();
    },
    finish() {
      bar.stop();
    },
  };
}
