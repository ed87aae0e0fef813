/**
 * A binary min-heap ordered by `less`. Kahn's algorithm pops the smallest candidate at every step,
 * so the topological sorts stay O((V + E) log V) instead of rescanning the candidates.
 */
export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let at = items.length - 1;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!this.#less(items[at] as T, items[parent] as T)) break;
      [items[at], items[parent]] = [items[parent] as T, items[at] as T];
      at = parent;
    }
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    let at = 0;
    for (;;) {
      const left = 2 * at + 1;
      const right = left + 1;
      let smallest = at;
      if (left < items.length && this.#less(items[left] as T, items[smallest] as T)) smallest = left;
      if (right < items.length && this.#less(items[right] as T, items[smallest] as T)) smallest = right;
      if (smallest === at) break;
      [items[at], items[smallest]] = [items[smallest] as T, items[at] as T];
      at = smallest;
    }
    return top;
  }
}

/** "x's event_id is less than y's": string order (event ids are ASCII, so code units = bytes). */
export const compareEventIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
