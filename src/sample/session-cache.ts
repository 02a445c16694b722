/**
 * The replica's "expensive per-user state": a set of warm users with a capacity, evicting
 * the least recently used. A Map iterates in insertion order, so re-inserting on every hit
 * keeps the oldest user first.
 */
export class SessionCache {
  private readonly users = new Map<string, true>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`session cache capacity must be an integer >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.users.size;
  }

  /** True (and marks the user recently used) when the user is warm. */
  touch(user: string): boolean {
    if (!this.users.has(user)) return false;
    this.users.delete(user);
    this.users.set(user, true);
    return true;
  }

  add(user: string): void {
    this.users.delete(user);
    this.users.set(user, true);
    while (this.users.size > this.capacity) {
      const oldest = this.users.keys().next().value as string;
      this.users.delete(oldest);
    }
  }
}
