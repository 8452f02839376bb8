/**
 * A bounded least-recently-used map with optional per-entry expiry, for the credential caches:
 * memory stays bounded however many distinct keys or tokens clients present. A Map keeps
 * insertion order, so re-inserting on a hit moves an entry to the young end and the first key
 * is the oldest — O(1) per operation, no timers.
 */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`cache capacity ${capacity} is not ≥ 0`);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, or undefined when absent or expired at `now` (ms); a hit becomes the youngest entry. */
  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) return undefined;
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Stores `value` until `expiresAt` (ms; default never), evicting the oldest entry when full. */
  set(key: string, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
