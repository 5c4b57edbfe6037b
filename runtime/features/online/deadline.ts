/**
 * Whole-operation deadlines for the Redis store without a timer per command.
 *
 * node-redis 6 arms an `AbortSignal.timeout` (5 s by default) for every command it sends: a timer, a
 * signal and a listener per HMGET, which showed as ~5% of the feature server's busy time. The store turns
 * that off (`commandOptions: { timeout: 0 }`) and bounds each read or write batch as a whole instead:
 * every operation in flight is an entry in a set, and one interval, running only while the set is not
 * empty, fails the entries past their deadline. A request then costs a set insert and delete, not a timer.
 *
 * A deadline that passes with no reply from Redis since the operation began means Redis has stopped
 * answering (a hung or paused server keeps the TCP connection open, so node-redis sees nothing wrong).
 * The tracker then reports the store as stalled: `/health` answers 503 so the pod leaves its Service, and
 * while stalled only one operation at a time is sent (a probe) and the others fail at once, so requests
 * do not pile up in node-redis's queue behind a server that may never answer. Any reply ends the stall.
 */

/** Raised when an operation passes its deadline, or is refused while Redis is stalled. */
export class DeadlineError extends Error {}

/**
 * One operation in flight. A class, not closures made per call: under tsx (a checkout's `mlops`), every
 * named closure also costs a `__name` property definition each time it is created.
 */
class Entry<T = unknown> {
  private done = false;

  constructor(
    private readonly owner: Deadlines,
    readonly started: number,
    readonly at: number,
    private readonly ms: number,
    private readonly what: string,
    private readonly probe: boolean,
    private readonly resolve: (v: T) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  /** Rejects the operation: past its deadline, or with `reason`. */
  fail(reason?: string): void {
    if (this.done) return;
    this.done = true;
    if (this.probe) this.owner.probeEnded();
    this.reject(new DeadlineError(reason ?? `Redis did not answer ${this.what} within ${this.ms} ms`));
  }

  /** The operation ended: settles the promise unless the deadline already did. */
  settle(ok: boolean, value: unknown): void {
    this.owner.forget(this as Entry);
    if (this.done) return;
    this.done = true;
    if (this.probe) this.owner.probeEnded();
    if (ok) this.resolve(value as T);
    else this.reject(value);
  }
}

export class Deadlines {
  private readonly pending = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private lastReply = -Infinity;
  private stalledSince: number | undefined;
  private probing = false;

  /** `tickMs`: how often deadlines are checked (a deadline fires up to this late). */
  constructor(private readonly tickMs = 100) {}

  /** True while a deadline has passed with no reply from Redis since. */
  get stalled(): boolean {
    return this.stalledSince !== undefined;
  }

  /** Records a reply from Redis (any reply: it is answering again). */
  replied(): void {
    this.lastReply = performance.now();
    this.stalledSince = undefined;
  }

  /**
   * Runs `work` with a deadline of `ms`: the result is `work`'s, or a {@link DeadlineError} once `ms` have
   * passed. While stalled, one operation is let through as a probe and the others fail at once.
   */
  run<T>(work: () => Promise<T>, ms: number, what: string): Promise<T> {
    const probe = this.stalledSince !== undefined;
    if (probe) {
      if (this.probing) {
        const silent = Math.round(performance.now() - this.stalledSince!);
        return Promise.reject(new DeadlineError(`Redis has not answered for ${silent} ms; ${what} not sent until it does`));
      }
      this.probing = true;
    }
    return new Promise<T>((resolve, reject) => {
      const started = performance.now();
      const entry = new Entry<T>(this, started, started + ms, ms, what, probe, resolve, reject);
      this.pending.add(entry as Entry);
      this.arm();
      let p: Promise<T>;
      try {
        p = work();
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => entry.settle(true, v),
        (e: unknown) => entry.settle(false, e),
      );
    });
  }

  /** @internal (Entry) */
  forget(entry: Entry): void {
    this.pending.delete(entry);
  }

  /** @internal (Entry) */
  probeEnded(): void {
    this.probing = false;
  }

  /** Fails every operation in flight (the store is closing). */
  close(): void {
    for (const e of this.pending) e.fail("the online store was closed before Redis answered");
    this.pending.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.tickMs);
    this.timer.unref();
  }

  private tick(): void {
    // Decided after this turn's I/O: when the event loop was blocked (a busy machine), replies that came
    // in meanwhile are read first, so a late tick does not fail answered work or take Redis for silent.
    setImmediate(() => this.expire());
  }

  private expire(): void {
    const now = performance.now();
    for (const e of this.pending) {
      if (e.at > now) continue;
      this.pending.delete(e);
      // No reply at all since this operation began: Redis is not answering anyone.
      if (this.lastReply < e.started) this.stalledSince ??= e.started;
      e.fail();
    }
    if (this.pending.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
