// The one shape every device has, so the machine resets, saves and restores them all alike. A
// device owns a contiguous range of I/O ports and sees only offsets into it: which absolute ports
// it sits at is the board's business (machine.ts), so the same model can sit at COM1 or COM2, or be
// poked directly by a test. Its state is plain data so that save() can hand it out as JSON and
// restore() can take it back. The interrupt line, the time source and any output sink come in
// through the constructor; a device never reads the wall clock.

/** Bytes per port access: IN/OUT move 1, 2 or 4 bytes. */
export type AccessWidth = 1 | 2 | 4;

/** Bit mask of the access widths a device declares (1 | 2 | 4 combinations). */
export const WIDTH_8 = 1;
export const WIDTH_16 = 2;
export const WIDTH_32 = 4;

/** An interrupt request output: the device drives its level; the interrupt controller decides what an edge means. */
export type IrqLine = (level: boolean) => void;

/** An IrqLine wired to nothing (tests, or a device whose output is not connected on this board). */
export const noIrq: IrqLine = () => {};

/**
 * Virtual time in nanoseconds since the machine started. In deterministic mode it is a function
 * of the instruction count (see clock.ts); in real-time mode it is wall time while the machine runs.
 */
export interface TimeSource {
  now(): number;
}

export interface PortDevice {
  /** For error messages and statistics: "8254 PIT", "16550A UART", … */
  readonly name: string;
  /** How many consecutive ports the device decodes, from offset 0. */
  readonly portCount: number;
  /** Which access widths the device handles itself (WIDTH_* bits); the bus splits the others into bytes. */
  readonly widths: number;
  /** Power-on / RESET-pin state. */
  reset(): void;
  /** A read of `width` bytes at `offset`; returns the value zero-extended to 32 bits. */
  read(offset: number, width: AccessWidth): number;
  /** A write of `width` bytes at `offset`; `value` holds exactly that many bytes. */
  write(offset: number, value: number, width: AccessWidth): void;
  /** The device's state as plain JSON-able data. */
  save(): unknown;
  /** Take back what save() returned (of this device's kind). */
  restore(state: unknown): void;
}

/**
 * A device with its own notion of time: it reports when it next needs attention, and
 * the machine calls tick() once virtual time has reached that deadline, so events happen at the
 * right virtual time however long the CPU slices are.
 */
export interface TimedDevice {
  /** Absolute virtual time (ns) of the next event at or after `now`, or Infinity for none. */
  nextDeadline(now: number): number;
  /** Bring the device up to `now`: raise whatever should have happened by then. */
  tick(now: number): void;
}

/**
 * Told by a device when its deadline may have moved earlier (a timer was reprogrammed while the
 * CPU is mid-slice), so the machine can cut the slice short instead of overshooting the event.
 */
export type DeadlineChanged = () => void;
export const noDeadlineChange: DeadlineChanged = () => {};

/** All ones of the access width: what an undriven ISA data bus reads as. */
export function allOnes(width: AccessWidth): number {
  return width === 4 ? 0xffffffff : width === 2 ? 0xffff : 0xff;
}

/** A deep copy of plain state data (numbers, booleans, strings, arrays and objects of them). */
export function copyState<T>(state: T): T {
  return JSON.parse(JSON.stringify(state)) as T;
}

/**
 * Check that `source` has the shape of `fresh` (same keys, same kinds of value, arrays of the
 * same length) and return a deep copy of it, so restore() never takes half a state or a
 * state of another device. Says which field is wrong.
 */
export function checkedState<T>(device: string, fresh: T, source: unknown): T {
  check(device, "state", fresh, source);
  return copyState(source as T);
}

function check(device: string, path: string, want: unknown, got: unknown): void {
  const kind = (v: unknown) => (Array.isArray(v) ? "array" : v === null ? "null" : typeof v);
  if (kind(want) !== kind(got)) throw new Error(`${device}: cannot restore: ${path} is ${kind(got)}, expected ${kind(want)}`);
  if (Array.isArray(want)) {
    const g = got as unknown[];
    if (g.length !== want.length) throw new Error(`${device}: cannot restore: ${path} has ${g.length} entries, expected ${want.length}`);
    want.forEach((w, i) => check(device, `${path}[${i}]`, w, g[i]));
  } else if (typeof want === "object" && want !== null) {
    const g = got as Record<string, unknown>;
    for (const k of Object.keys(want)) check(device, `${path}.${k}`, (want as Record<string, unknown>)[k], g[k]);
  } else if (typeof want === "number" && !Number.isFinite(got as number) && Number.isFinite(want)) {
    // Infinity is a legitimate "never" deadline, but it does not survive JSON (it becomes null).
    throw new Error(`${device}: cannot restore: ${path} is not a finite number`);
  }
}
