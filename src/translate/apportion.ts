/**
 * Whole ring points for shares of a split: Sainte-Laguë (Webster), computed seat by seat.
 *
 * Why this method: a sticky split must never move a user back to an older version, so the
 * points of each party may only follow its own share. Seat-by-seat divisor methods are house
 * monotone (one more seat never takes one away from anybody: a backend's hosts only gain points
 * as the backend's points grow) and population monotone (when one party's share grows at
 * another's expense, the first never loses a seat while the second gains one). Largest-remainder
 * rounding has neither property (the Alabama paradox). Webster is the divisor method closest to
 * proportional.
 */

/**
 * `seats` whole units shared by `weights` (all >= 0): the result sums to `seats` when any weight
 * is positive (else all zeros). Ties go to the lowest index, so the result is deterministic.
 * Comparisons are exact while weight × (2 × seats + 1) stays below 2^53.
 */
export function apportion(weights: readonly number[], seats: number): number[] {
  const out = weights.map(() => 0);
  const live = weights.flatMap((w, i) => (w > 0 ? [i] : []));
  if (live.length === 0 || seats <= 0) return out;

  // Priority of party i: weights[i] / (2 × out[i] + 1); a max-heap of party indexes.
  const before = (a: number, b: number): boolean => {
    const left = weights[a]! * (2 * out[b]! + 1);
    const right = weights[b]! * (2 * out[a]! + 1);
    return left > right || (left === right && a < b);
  };
  const heap = [...live];
  const swap = (i: number, j: number): void => {
    const t = heap[i]!;
    heap[i] = heap[j]!;
    heap[j] = t;
  };
  const down = (start: number): void => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l]!, heap[best]!)) best = l;
      if (r < heap.length && before(heap[r]!, heap[best]!)) best = r;
      if (best === i) return;
      swap(i, best);
      i = best;
    }
  };
  for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
  for (let s = 0; s < seats; s++) {
    const top = heap[0]!;
    out[top] = out[top]! + 1;
    down(0);
  }
  return out;
}
