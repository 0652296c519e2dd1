// The one error type every loader throws for a bad image. The CLI prints `message` alone (one
// line, naming the file and what is wrong) and exits 2 without running anything; anything
// else that escapes a loader is a bug in vmi386 and keeps its stack trace.

export class LoadError extends Error {
  override readonly name = "LoadError";
  constructor(message: string) {
    super(message);
  }
}

/** `0x1000` — addresses and offsets in messages are hex, as readelf and the spec print them. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
