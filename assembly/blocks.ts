// The decoded-block cache. Code runs straight from guest RAM (the decoder reads the bytes
// through a host pointer), so what a block caches is where it ends: how many instructions
// follow its first one, on the same page, up to and including the first that may jump. The
// run loop's fast path then checks the page and the budget once per block instead of once per
// instruction. Blocks are keyed by physical address: each cached code page owns a table with
// one count per byte offset. A page owning a table is write-protected in the TLB (TLB_CODE),
// so every store to it takes the slow path, and the first one discards the page's table.

import {
  CODE_MAP_BASE, CODE_FREE_BASE, CODE_UNCACHED, CODE_TABLES, CODE_TABLE_BASE, CODE_TABLE_SIZE, CODE_OWNER_BASE,
  COUNTER_CODE_INVALIDATIONS, RAM_BASE,
} from "./layout";
import * as cpu from "./cpu";
import { invalidateFetch } from "./cpu";
import { instructionLength, isPrefixByte } from "./length";
import { tlbMarkHostPage, TLB_CODE } from "./tlb";
import { BLOCK_END_1, BLOCK_END_2 } from "./generated/opcode-tables";
import { jitTableDiscarded, jitTablesFlushed, jitForgetAll } from "./jit/validity";

/**
 * In a block table's byte, above the block's instruction count: the JIT will not compile the
 * block starting there (assembly/jit/units.ts), so the run loop need not stop at it to look for
 * a unit. It goes with the table: a write to the page discards both.
 */
export const BLOCK_NO_UNIT: u8 = 0x80;
/** The instruction count in a block table's byte. */
export const BLOCK_COUNT: u8 = 0x7f;

/** A page whose blocks writes discarded this often stays uncached (code and data share it). */
const MAX_DISCARDS: u32 = 8;
const NO_OWNER: u32 = 0xffffffff;
/**
 * The longest block. Compiled code jumps every few instructions (cpu-bound's blocks average 4.9),
 * so a longer cap would save almost no checks, while a block is rebuilt, scanning up to this many
 * instructions, each time a store discards its page.
 */
const MAX_BLOCK: u32 = 32;

let ramPages: u32 = 0;
/** Block tables never used since the last flush: CODE_TABLES - nextFresh of them, all zero. */
let nextFresh: u32 = 0;
/** Tables freed by a discard, as a stack of u16 indices. */
let freeCount: u32 = 0;
const FREE_LIST: usize = CODE_FREE_BASE;

@inline function mapEntry(pfn: u32): usize {
  return CODE_MAP_BASE + (<usize>pfn << 2);
}
@inline function tableAddr(index: u32): usize {
  return CODE_TABLE_BASE + (<usize>index << 12);
}
@inline function ownerAddr(index: u32): usize {
  return CODE_OWNER_BASE + (<usize>index << 2);
}

/**
 * Forget every block and every page's history (machine reset). Only the tables used since the
 * last flush can hold anything (freed ones are cleared as they are freed), and an owner is
 * written whenever a table is taken: a reset costs what was used, not the whole cache.
 */
export function blocksReset(ramSize: u32): void {
  ramPages = ramSize >>> 12;
  memory.fill(CODE_MAP_BASE, 0, <usize>ramPages << 2);
  memory.fill(CODE_TABLE_BASE, 0, <usize>nextFresh << 12);
  nextFresh = 0;
  freeCount = 0;
  jitForgetAll();
}

/** A map entry's low half names a block table (rather than none, or CODE_UNCACHED). */
@inline function ownsTable(slot: u32): bool {
  return slot != 0 && slot != CODE_UNCACHED;
}

/** The TLB bits a fill of physical page `phys` needs: TLB_CODE when the page has blocks. */
@inline export function codeFillBits(phys: u32): u32 {
  const pfn = phys >>> 12;
  if (pfn >= ramPages) return 0;
  return ownsTable(load<u32>(mapEntry(pfn)) & 0xffff) ? TLB_CODE : 0;
}

/**
 * The block table of the code page at host address `page` (where the fetch pointer now is),
 * made if need be; 0 when its blocks are not cached (not RAM, or code and data share it).
 */
export function codeTableFor(page: usize): usize {
  if (page < <usize>RAM_BASE) return 0;
  const pfn = <u32>((page - <usize>RAM_BASE) >>> 12);
  if (pfn >= ramPages) return 0;
  const e = load<u32>(mapEntry(pfn));
  const slot = e & 0xffff;
  if (slot == CODE_UNCACHED) return 0;
  if (slot != 0) return tableAddr(slot - 1);
  let index: u32;
  if (freeCount > 0) {
    freeCount--;
    index = <u32>load<u16>(FREE_LIST + (<usize>freeCount << 1));
  } else {
    if (nextFresh == <u32>CODE_TABLES) flushAll();
    index = nextFresh++;
  }
  store<u32>(ownerAddr(index), pfn);
  store<u32>(mapEntry(pfn), (e & 0xffff0000) | (index + 1));
  // Stores to the page must now fail the fast paths' TLB check. Translations saved for other
  // address spaces (shadow.ts) get the bit when they are restored.
  tlbMarkHostPage(<u32>page, TLB_CODE);
  return tableAddr(index);
}

/** Every table is in use: start over (the next blocks are rebuilt as they run). */
function flushAll(): void {
  for (let i: u32 = 0; i < nextFresh; i++) {
    const pfn = load<u32>(ownerAddr(i));
    if (pfn != NO_OWNER) store<u32>(mapEntry(pfn), load<u32>(mapEntry(pfn)) & 0xffff0000);
    store<u32>(ownerAddr(i), NO_OWNER);
  }
  memory.fill(CODE_TABLE_BASE, 0, CODE_TABLE_SIZE);
  nextFresh = 0;
  freeCount = 0;
  jitTablesFlushed();
  // The fetch pointer's table is gone; stale TLB_CODE bits only send stores the slow way once.
  invalidateFetch();
}

/** Discard page `pfn`'s blocks if it has any: a load and a compare when it has none. */
@inline function discardPage(pfn: u32): void {
  if (pfn >= ramPages) return;
  const e = load<u32>(mapEntry(pfn));
  const slot = e & 0xffff;
  if (ownsTable(slot)) discard(pfn, e, slot - 1);
}

/**
 * `len` bytes at guest physical `phys` were written by the host (a loader, a hypercall):
 * discard the blocks of the pages they touch.
 */
export function codeWritten(phys: u32, len: u32): void {
  if (len == 0) return;
  const last = <u32>((<u64>phys + <u64>len - 1) >>> 12);
  for (let pfn = phys >>> 12; pfn <= last && pfn < ramPages; pfn++) discardPage(pfn);
}

/**
 * The core stored `n` (at most 4) bytes at guest physical `phys`: every slow-path store to RAM
 * and every page-table update the VMI queue applies. An unaligned store may reach the next page.
 */
@inline export function codeStored(phys: u32, n: u32): void {
  discardPage(phys >>> 12);
  if ((phys & 0xfff) + n > 0x1000) discardPage((phys + n - 1) >>> 12);
}

function discard(pfn: u32, e: u32, index: u32): void {
  store<u64>(COUNTER_CODE_INVALIDATIONS, load<u64>(COUNTER_CODE_INVALIDATIONS) + 1);
  const discards = (e >>> 16) + 1;
  store<u32>(mapEntry(pfn), (discards << 16) | (discards >= MAX_DISCARDS ? CODE_UNCACHED : 0));
  const table = tableAddr(index);
  memory.fill(table, 0, 0x1000);
  jitTableDiscarded(index);
  store<u32>(ownerAddr(index), NO_OWNER);
  store<u16>(FREE_LIST + (<usize>freeCount << 1), <u16>index);
  freeCount++;
  // Executing on that page: the fetch pointer must find its (new) table again.
  if (cpu.ipTable == table) invalidateFetch();
}

/**
 * Build the block starting at host address `ip` on the code page `page` (ip - page < 0xFF0),
 * record its instruction count at `entry` and return it (1 to MAX_BLOCK). A block ends at the
 * first instruction that may jump, before an instruction that starts in the page's last 16
 * bytes (the loop's page check must see that one), or at an instruction whose length the
 * opcode map cannot give.
 */
export function buildBlock(ip: usize, page: usize, entry: usize): u32 {
  let p = ip;
  let count: u32 = 0;
  while (count < MAX_BLOCK && <u32>(p - page) < 0xff0) {
    const len = instructionLength(p, 16, true);
    count++;
    if (len <= 0 || mayJump(p)) break;
    p += <usize>len;
  }
  store<u8>(entry, <u8>count);
  return count;
}

/**
 * Whether the instruction at `p` (32-bit code) can transfer control: the table's `jump` forms.
 * A superset of what the fast path executes (it must be: a jump inside a block would leave the
 * page unchecked).
 */
export function mayJump(p: usize): bool {
  let op = <u32>load<u8>(p);
  let n = 0;
  while (n < 14 && isPrefixByte(op)) {
    n++;
    op = <u32>load<u8>(p + n);
  }
  let table = BLOCK_END_1;
  if (op == 0x0f) {
    n++;
    op = <u32>load<u8>(p + n);
    table = BLOCK_END_2;
  }
  const digits = <u32>load<u8>(table + op);
  if (digits == 0 || digits == 0xff) return digits != 0;
  return ((digits >> ((<u32>load<u8>(p + n + 1) >> 3) & 7)) & 1) != 0;
}
