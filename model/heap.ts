// Binary-heap moves over parallel arrays, shared by the heaps of BPE training and SentencePiece's BPE
// encoder: `before(i, j)` says entry i belongs above entry j, `swap(i, j)` exchanges two entries.
export type Order = (i: number, j: number) => boolean;
export type Swap = (i: number, j: number) => void;

// Moves entry i up to its place.
export function siftUp(i: number, before: Order, swap: Swap): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(i, p)) break;
    swap(i, p);
    i = p;
  }
}

// Moves entry i down to its place among the first n entries.
export function siftDown(i: number, n: number, before: Order, swap: Swap): void {
  for (;;) {
    const l = 2 * i + 1, r = l + 1;
    let m = i;
    if (l < n && before(l, m)) m = l;
    if (r < n && before(r, m)) m = r;
    if (m === i) return;
    swap(i, m);
    i = m;
  }
}
