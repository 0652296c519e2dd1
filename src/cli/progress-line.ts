// A progress line on a terminal's stderr while a long run goes on: elapsed time, instructions,
// the recent speed and what the guest is doing, redrawn in place and gone at the end. Only for
// a terminal (a log file or pipe would fill with carriage returns), and only once a run has
// lasted a while (a short run would flash it).
//
// When the guest's COM1 output goes to the same terminal the two share the screen: the caller
// hides the line before guest output is written, and says through canDraw whether the guest's
// output stands at the start of a line, so the line never overwrites a half-written prompt.

/** What the progress line shows, sampled each time it is drawn. */
export interface ProgressSample {
  /** Instructions retired since the run started. */
  instructions: number;
  /** What the guest is doing, when that is cheap to tell ("decompressing", "kernel", "user"). */
  phase?: string;
}

export interface ProgressOptions {
  /** Writes to the terminal (stderr). */
  write(text: string): void;
  sample(): ProgressSample;
  /** The screen has room for the line now. */
  canDraw(): boolean;
  /** Milliseconds since an arbitrary origin. */
  now?(): number;
}

/** Quiet for this long: most runs end before it and never show the line. */
export const PROGRESS_DELAY_MS = 1000;
export const PROGRESS_EVERY_MS = 250;

const CLEAR = "\r\x1b[K";

export class ProgressLine {
  private readonly now: () => number;
  private readonly start: number;
  private shown = false;
  private last: { at: number; instructions: number };
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
    this.last = { at: this.start, instructions: 0 };
  }

  /** Draws every PROGRESS_EVERY_MS from now on (after PROGRESS_DELAY_MS) until stop(). */
  begin(): void {
    this.timer = setInterval(() => this.tick(), PROGRESS_EVERY_MS);
    // The run, not the progress line, decides when the process ends.
    this.timer.unref?.();
  }

  /** Draws the line if the run has lasted long enough and the screen allows it. */
  tick(): void {
    const at = this.now();
    if (at - this.start < PROGRESS_DELAY_MS) return;
    const s = this.opts.sample();
    const ms = at - this.last.at;
    const mips = ms > 0 ? (s.instructions - this.last.instructions) / ms / 1000 : 0;
    this.last = { at, instructions: s.instructions };
    if (!this.opts.canDraw()) return;
    const elapsed = ((at - this.start) / 1000).toFixed(1);
    const phase = s.phase ? `, ${s.phase}` : "";
    this.opts.write(`${CLEAR}vmi386: ${elapsed} s, ${millions(s.instructions)} M instructions, ${mips.toFixed(1)} MIPS${phase}`);
    this.shown = true;
  }

  /** Takes the line away until the next tick: before output to the same terminal. */
  hide(): void {
    if (!this.shown) return;
    this.opts.write(CLEAR);
    this.shown = false;
  }

  /** Stops drawing and takes the line away. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.hide();
  }
}

function millions(n: number): string {
  return (n / 1e6).toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}
