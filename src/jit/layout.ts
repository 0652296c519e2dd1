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

/**
 * The order to emit a unit's instructions in, as indexes into `list` (which is in address
 * order; `entry` is the index of the unit's entry): each loop's instructions together, after its
 * head, and every other jump forward, so that layoutUnit can give most jumps a construct. The
 * order is the reverse postorder of a depth-first walk from the entry (which lists a jump's
 * target after the jump, except along a loop's way back), its taken side walked before its
 * fall-through so that a fall-through tends to stay next; each loop (an instruction a jump goes
 * back to, with every instruction that reaches that jump without passing it) is then kept in
 * one piece. A loop that overlaps another without nesting in it is not kept together: it may
 * still get a construct, else its jumps leave the unit. The entry is always first.
 */
export function orderUnit(successors: readonly (readonly number[])[], entry: number): number[] {
  const n = successors.length;
  const predecessors: number[][] = Array.from({ length: n }, () => []);
  successors.forEach((to, from) => to.forEach((t) => predecessors[t].push(from)));
  // The walk: postorder, and the jumps back (to an instruction still on the walk's path).
  const state = new Uint8Array(n); // 0 unseen, 1 on the path, 2 done
  const post: number[] = [];
  const back: [number, number][] = [];
  const walk = (i: number): void => {
    state[i] = 1;
    for (const t of successors[i]) {
      if (state[t] === 0) walk(t);
      else if (state[t] === 1) back.push([i, t]);
    }
    state[i] = 2;
    post.push(i);
  };
  walk(entry);
  const rank = new Int32Array(n).fill(n);
  post.reverse().forEach((i, k) => (rank[i] = k));
  // Loops by head: the head and every instruction that reaches a jump back to it without passing it.
  const bodies = new Map<number, Set<number>>();
  for (const [from, head] of back) {
    const body = bodies.get(head) ?? new Set([head]);
    const work = [from];
    while (work.length > 0) {
      const i = work.pop()!;
      if (body.has(i) || rank[i] === n) continue;
      body.add(i);
      work.push(...predecessors[i]);
    }
    bodies.set(head, body);
  }
  // Keep the loops that nest, largest first; each instruction's loops, outermost first.
  const kept: [number, Set<number>][] = [];
  for (const [head, body] of [...bodies].sort((a, b) => b[1].size - a[1].size)) {
    const nests = kept.every(([, k]) => [...body].every((i) => k.has(i)) || [...body].every((i) => !k.has(i)));
    if (nests) kept.push([head, body]);
  }
  const chain: number[][] = Array.from({ length: n }, () => []);
  for (const [head, body] of kept) for (const i of body) chain[i].push(head);
  // Each level: its instructions and inner loops by the rank of their first instruction.
  const order: number[] = [];
  const place = (items: number[], depth: number): void => {
    const groups = new Map<number, number[]>();
    for (const i of items) {
      const key = chain[i].length > depth ? chain[i][depth] : i;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    }
    // By the first rank in each (a loop's head has its loop's first rank unless the loop is
    // entered elsewhere too): the entry, rank 0, stays first.
    const first = (key: number) => Math.min(...groups.get(key)!.map((i) => rank[i]));
    for (const key of [...groups.keys()].sort((a, b) => first(a) - first(b))) {
      const group = groups.get(key)!;
      if (group.length === 1 && chain[key].length <= depth) order.push(key);
      else place(group, depth + 1);
    }
  };
  place(post.filter((i) => rank[i] < n), 0);
  return order;
}
