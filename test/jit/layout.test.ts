// The JIT's unit layout (src/jit/layout.ts) on small control-flow graphs: the order keeps the
// entry first and each loop in one piece, and the constructs it gives nest the way WebAssembly
// requires (a loop closes after its last jump back; a block opens where its target's loop does).

import { describe, expect, it } from "vitest";
import { layoutUnit, orderUnit } from "../../src/jit/layout.js";

/** The edges of `successors` in the order `order`, as [from, to] positions. */
function edgesIn(successors: number[][], order: number[]): [number, number][] {
  const at = new Map(order.map((node, i) => [node, i]));
  return order.flatMap((node, i) => successors[node].map((to): [number, number] => [i, at.get(to)!]));
}

describe("JIT unit layout", () => {
  it("orders an outer loop entered in its middle with its inner loop in one piece, entry first", () => {
    // Address order, as GCC lays out a nested loop with its inner loop's test at the bottom and
    // an out-of-line path at the end of the function:
    // 0 outer head; 1 jcc -> 7 (out of line); 2 jmp -> 4; 3 inner body; 4 inner test: jcc -> 3;
    // 5 outer latch: jcc -> 0; 6 after the loops (leaves); 7 out of line: jmp -> 5.
    const successors = [[1], [7, 2], [4], [4], [3, 5], [0, 6], [], [5]];
    const order = orderUnit(successors, 4); // the hot block start: the inner loop's test
    expect(order[0]).toBe(4);
    expect(order).toHaveLength(8);
    // Entered at 4, everything but 6 is one loop headed by 4; inside it, the loop through the
    // out-of-line path (5 0 1 7, back from 7 to 5) is in one piece, and 6 comes last.
    const pos = (n: number) => order.indexOf(n);
    expect([5, 0, 1, 7].map(pos).sort()).toEqual([1, 2, 3, 4]);
    expect(pos(6)).toBe(7);
    const { loops, blocks } = layoutUnit(edgesIn(successors, order));
    // Every jump back has a loop, and the loops nest.
    for (const [from, to] of edgesIn(successors, order)) {
      if (to <= from) expect(loops.get(to), `jump ${from} -> ${to}`).toBeGreaterThanOrEqual(from);
    }
    const spans = [...loops];
    for (const [h1, e1] of spans) for (const [h2, e2] of spans) if (h1 < h2 && h2 <= e1) expect(e2).toBeLessThanOrEqual(e1);
    // Each forward target's block opens at the top level or at a loop head before it.
    for (const [scope, targets] of blocks) for (const t of targets) expect(t).toBeGreaterThan(scope);
  });

  it("keeps the entry first when a loop that holds it has its head elsewhere (entered in two places)", () => {
    // 0 (entry): jcc -> 1, else 2; 1 (head): -> 3; 2: jcc -> 4, else 3; 3: jmp -> 1; 4 leaves.
    // The walk finds the jump back 3 -> 1, and 0 and 2 reach 3 without passing 1: the loop holds
    // the entry, and 4, outside it, ranks before its head.
    const order = orderUnit([[1, 2], [3], [4, 3], [1], []], 0);
    expect(order[0]).toBe(0);
    expect(order[4]).toBe(4);
  });

  it("gives no loop to one that overlaps another without nesting, and no block to a jump into a loop past its head", () => {
    // In this order, loops 0..3 (3 -> 0) and 2..5 (5 -> 2) overlap: the first is kept.
    const edges: [number, number][] = [[3, 0], [5, 2], [0, 4]];
    const { loops, blocks } = layoutUnit(edges);
    expect([...loops]).toEqual([[0, 3]]);
    // 0 -> 4: 4 lies in no kept loop past a head, so its block opens at the top level.
    expect(blocks.get(-1)).toEqual([4]);
    // A jump from outside into the middle of a kept loop gets no block.
    const inner = layoutUnit([[4, 2], [0, 3]]);
    expect([...inner.loops]).toEqual([[2, 4]]);
    expect(inner.blocks.size).toBe(0);
  });
});
