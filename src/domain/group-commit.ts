// Group commit: many callers' small writes made in one transaction.
//
// A busy `serve` records a Step 2 page view per request; one transaction each
// makes the commit (BEGIN, the WAL write, COMMIT) the largest cost of the page.
// Here each caller hands over its item and awaits the commit that contains it:
// items arriving while a batch is being written wait for the next batch, and
// the first item of a quiet spell waits one turn of the event loop so the
// requests already read from the sockets join it. A caller's promise resolves
// only once its own item is committed, so an answer still means "recorded", and
// a server draining on SIGTERM still waits for it.
//
// If a batch fails, its items are written one by one, so one bad item (a user
// removed in between, say) fails only its own caller, as it did alone.

export class GroupCommit<T> {
  private queue: { item: T; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running: Promise<void> | undefined;

  /**
   * @param write writes the items in one transaction (all or none)
   * @param max the most items a transaction takes
   */
  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    private readonly max = 256,
  ) {}

  /** Resolves once `item` is committed; rejects with the error of its own write. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Settles when everything handed over so far is written (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.max);
        try {
          await this.write(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else
            for (const b of batch) {
              await this.write([b.item]).then(b.resolve, b.reject);
            }
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
