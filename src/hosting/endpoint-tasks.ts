/**
 * Lifecycle work on endpoints: one chain per endpoint (create, update, delete never interleave),
 * background tasks that `close` waits for, and the brief wait before an API call answers.
 */
export class EndpointTasks {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<unknown>>();

  /**
   * @param createWaitMs how long a create or update waits for its deployment before answering
   * @param log where a failed background task is reported
   */
  constructor(
    private readonly createWaitMs: number,
    private readonly log: (msg: string) => void,
  ) {}

  /** Serialises lifecycle work per endpoint (create, update, delete never interleave). */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const key = name.toLowerCase();
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** Whether lifecycle work on the endpoint (lower-cased name) is queued or running. */
  busy(key: string): boolean {
    return this.locks.has(key);
  }

  /** Runs `p` in the background: its failure is logged, and {@link settle} waits for it. */
  track(p: Promise<unknown>): Promise<unknown> {
    const t = p.catch((e) => this.log(`hosting background task failed: ${(e as Error).message}`));
    this.background.add(t);
    void t.finally(() => this.background.delete(t));
    return t;
  }

  /** Lets a quick deployment finish before the API answers, so the first waiter poll sees it. */
  async waitBriefly(p: Promise<unknown>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([p, new Promise((r) => (timer = setTimeout(r, this.createWaitMs)))]);
    clearTimeout(timer);
  }

  /** Waits for every background task (close). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.background);
  }
}
