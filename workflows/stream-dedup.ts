/**
 * A bounded window of recently seen event ids (insertion order, oldest evicted first). Pure and deterministic so
 * it runs inside the workflow sandbox and survives continue-as-new as a plain array.
 */
export class DedupWindow {
  private readonly ids: string[];
  private readonly seen: Set<string>;
  private head = 0;

  constructor(
    readonly capacity: number,
    initial: readonly string[] = [],
  ) {
    const start = Math.max(0, initial.length - capacity);
    this.ids = initial.slice(start);
    this.seen = new Set(this.ids);
  }

  has(id: string): boolean {
    return this.seen.has(id);
  }

  /** Remembers `id`; returns false (and changes nothing) when it was already in the window. */
  add(id: string): boolean {
    if (this.seen.has(id)) return false;
    if (this.ids.length < this.capacity) {
      this.ids.push(id);
    } else {
      const evicted = this.ids[this.head];
      if (evicted !== undefined) this.seen.delete(evicted);
      this.ids[this.head] = id;
      this.head = (this.head + 1) % this.capacity;
    }
    this.seen.add(id);
    return true;
  }

  /** Forgets `id` (a replayed dead letter must be accepted again). */
  delete(id: string): void {
    this.seen.delete(id);
  }

  get size(): number {
    return this.seen.size;
  }

  /** Oldest first; what continue-as-new carries. */
  toArray(): string[] {
    const ordered = [...this.ids.slice(this.head), ...this.ids.slice(0, this.head)];
    return ordered.filter((id) => this.seen.has(id));
  }
}
