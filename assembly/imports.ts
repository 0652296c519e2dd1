// Every call the core makes into the host. Each one is a crossing of the wasm boundary, and
// each is counted in the state block by the caller (see COUNTER_* in layout.ts), because
// crossings are what the batching benchmark measures.

/** IN from an I/O port; size is 1, 2 or 4 bytes. Unclaimed ports read as all ones. */
@external("host", "portIn")
export declare function hostPortIn(port: i32, size: i32): i32;

/** OUT to an I/O port; size is 1, 2 or 4 bytes. */
@external("host", "portOut")
export declare function hostPortOut(port: i32, size: i32, value: i32): void;

/** A read of a physical address outside guest RAM. */
@external("host", "mmioRead")
export declare function hostMmioRead(addr: u32, size: i32): i32;

/** A write to a physical address outside guest RAM. */
@external("host", "mmioWrite")
export declare function hostMmioWrite(addr: u32, size: i32, value: i32): void;

/** The CPU accepted INTR: the host's PIC returns the vector (INTA cycle), or -1 if spurious. */
@external("host", "ackInterrupt")
export declare function hostAckInterrupt(): i32;

/** A VMI hypercall (issue 4): the host reads and writes registers in the state block. */
@external("host", "hypercall")
export declare function hostHypercall(call: i32): void;

/**
 * The TSC before the guest's offset, in cycles of the host's virtual clock: asked for only on a
 * real-time machine (setTscFromHost), where the TSC keeps time rather than counting
 * instructions. Not counted among the crossings: deterministic runs, which the batching
 * benchmark measures, never make it.
 */
@external("host", "readTsc")
export declare function hostReadTsc(): f64;

/**
 * Compile the hot block at host address `ip` (the JIT, src/jit/): returns the unit's function
 * table slot | its instruction bound << 16, or 0 if the host will not compile it. `entry` is
 * the core's map entry for it (assembly/jit/units.ts), which an eviction clears.
 */
@external("host", "jitCompile")
export declare function hostJitCompile(ip: u32, entry: u32): i32;
