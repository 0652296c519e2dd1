// The WebAssembly structure of a unit's code (compile.ts emits it through UnitBuilder). A unit's
// instructions are emitted in one order, and WebAssembly branches only to the end of an
// enclosing `block` (forward) or to the start of an enclosing `loop` (back), so every jump the
// unit keeps needs a construct around it: a jump back to instruction t is a `loop` that opens
// right before t and closes after the last instruction that jumps back to it; a jump forward to
// instruction k is a `block` that closes right before k and opens at the start of the innermost
// loop that holds k (or of the unit). The constructs must nest: a loop that would overlap the
// end of the loop around it, and a jump into a loop other than at its head, have none, and
// the unit leaves there instead (UnitBuilder.jumpTo sees no construct open for them).

/** Where the unit's loops and blocks go, by instruction index. */
export interface UnitLayout {
  /** A loop's head (the instruction it opens before) and the last instruction inside it. */
  loops: Map<number, number>;
  /**
   * The targets of the blocks to open at a loop's start (right after its `loop`), by its head;
   * those at the unit's top level under -1.
   */
  blocks: Map<number, number[]>;
}

/** The layout for a unit of `edges`: each [from, to], a jump (or fall-through) between two of its instructions. */
export function layoutUnit(edges: readonly (readonly [number, number])[]): UnitLayout {
  const ends = new Map<number, number>();
  for (const [from, to] of edges) if (to <= from) ends.set(to, Math.max(ends.get(to) ?? -1, from));
  // Loops by head: each must lie inside the loops around its head, or it gets none.
  const loops = new Map<number, number>();
  const around: number[] = [];
  for (const [head, end] of [...ends].sort((a, b) => a[0] - b[0])) {
    while (around.length > 0 && loops.get(around[around.length - 1])! < head) around.pop();
    if (around.length > 0 && loops.get(around[around.length - 1])! < end) continue;
    loops.set(head, end);
    around.push(head);
  }
  // The innermost loop holding instruction k after its head (a block closing before a loop's
  // head is outside it), or -1.
  const scopeOf = (k: number): number => {
    let scope = -1;
    for (const [head, end] of loops) if (head < k && k <= end && head > scope) scope = head;
    return scope;
  };
  const blocks = new Map<number, number[]>();
  for (const [from, to] of edges) {
    if (to <= from) continue;
    const scope = scopeOf(to);
    // From outside that loop, the jump would enter it past its head.
    if (scope >= 0 && (from < scope || from > loops.get(scope)!)) continue;
    const list = blocks.get(scope) ?? [];
    if (!list.includes(to)) list.push(to);
    blocks.set(scope, list);
  }
  return { loops, blocks };
}
