// Whether a compiled unit may still run: the block cache (blocks.ts) tells this file when block
// tables are discarded or flushed and when every unit must be forgotten. It sits below both
// blocks.ts and the JIT's entry (units.ts), so neither has to import the other's dependencies.

import { JIT_GEN_BASE, JIT_HASH_BASE, JIT_HASH_SIZE, CODE_TABLES } from "../layout";

/**
 * The map's epoch, in every entry's third word above the table index: forgetting every unit
 * (each machine reset, which the fuzz tests do hundreds of thousands of times) is one increment,
 * and a clear of the map only when it wraps.
 */
export let epoch: u32 = 0;

/** Forget every unit (machine reset, snapshot restore: the table slots belong to the host). */
export function jitForgetAll(): void {
  epoch = (epoch + 1) & 0xffff;
  if (epoch == 0) jitMapRestored();
}

/**
 * Clear the map outright: after a snapshot restore it is whatever the saving machine had. The
 * tables' generations stay: they are the block cache's history, the same in a restored machine
 * as in one that ran on.
 */
export function jitMapRestored(): void {
  memory.fill(JIT_HASH_BASE, 0, JIT_HASH_SIZE);
  epoch = 1;
}

/** Block table `index` was discarded or reused: its units go stale. */
@inline export function jitTableDiscarded(index: u32): void {
  const g = JIT_GEN_BASE + (<usize>index << 2);
  store<u32>(g, load<u32>(g) + 1);
}

/** Every block table was flushed. */
export function jitTablesFlushed(): void {
  for (let i: u32 = 0; i < <u32>CODE_TABLES; i++) jitTableDiscarded(i);
}
