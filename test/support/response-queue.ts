/** Responses of a test stream client, handed out in order to `next()` callers as they arrive. */
export class ResponseQueue<T> {
  private readonly queue: T[] = [];
  private waiters: { resolve: (r: T) => void; reject: (e: Error) => void }[] = [];
  private endedWith?: Error;

  constructor(private readonly what: string) {}

  push(r: T): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(r);
    else this.queue.push(r);
  }

  /** The stream ended: every waiter and later next() rejects with `err`. */
  end(err: Error): void {
    this.endedWith = err;
    for (const w of this.waiters) w.reject(err);
    this.waiters = [];
  }

  /** The next response; rejects after `timeoutMs` or when the stream has ended. */
  next(timeoutMs: number): Promise<T> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.endedWith) return Promise.reject(this.endedWith);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (r: T) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e: Error) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${this.what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Takes a response that already arrived, if any. */
  shift(): T | undefined {
    return this.queue.shift();
  }
}
