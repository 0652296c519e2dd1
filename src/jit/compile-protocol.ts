// What the JIT and its compiler thread (compile-thread.ts, compile-worker.ts) say to each other.

/** A unit to compile: at host address `ip`, whose page's bytes (and a few past it) start at `base`. */
export interface CompileRequest {
  id: number;
  ip: number;
  base: number;
  code: Uint8Array;
  /**
   * The core's jitInstructionInfo for each instruction the unit hands to the interpreter, as
   * (host address, answer) pairs: the compiler thread has no core to ask.
   */
  info: number[];
}

/**
 * The answer to request `id`: a module, with the unit's bound, size and the guest bytes its
 * decoding read (from host address `lo`); or no module (the first instruction is not compiled, or `error`).
 * `ms`: the compiler thread's time on it.
 */
export interface CompileAnswer {
  id: number;
  module?: WebAssembly.Module;
  size?: number;
  bound?: number;
  /** Instructions of the unit it hands to the interpreter. */
  interpreted?: number;
  lo?: number;
  /** The guest bytes the decoding read, from `lo`. */
  code?: Uint8Array;
  error?: string;
  ms: number;
}

/** A Jit's line to the compiler thread. */
export interface CompilePort {
  /** Send `reqs`, handing over the buffers in `transfer` (they are detached here). */
  request(reqs: CompileRequest[], transfer: ArrayBuffer[]): void;
  /** The answers to the next batch of requests, if they have arrived. */
  next(): CompileAnswer[] | undefined;
}
