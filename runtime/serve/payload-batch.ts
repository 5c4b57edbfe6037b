/**
 * One object's worth of payload records, as the UTF-8 bytes that will be written: each record is encoded
 * into a chunk as it arrives, so a record's string dies young and what waits for the store lives off the
 * V8 heap, and the write needs neither a join of a thousand strings into one nor its re-encoding.
 *
 * The first chunk is sized from the previous batch (`capacityHint`, a quarter more), so a batch usually
 * fills one chunk and is written from it as it is; one that outgrows it continues in more chunks, copied
 * into one buffer at the write. Chunks come from a {@link ChunkPool} and go back to it once their write
 * has settled: a fresh megabyte each batch would be mapped, faulted in page by page and unmapped again,
 * which under load cost more than encoding the records (profiles of `mlops serve` under wrk).
 */

/** Smallest and largest first chunk. */
const MIN_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Chunks kept for reuse: as many as batches are usually alive at once (one open, the writes in flight). */
const POOLED_CHUNKS = 3;

/** Buffers handed back after their write, reused for later batches; never more than {@link POOLED_CHUNKS}. */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  /** A buffer of at least `size` bytes (contents undefined): a pooled one when one is large enough. */
  take(size: number): Buffer {
    for (let i = 0; i < this.free.length; i++) {
      if (this.free[i]!.length >= size) return this.free.splice(i, 1)[0]!;
    }
    return Buffer.allocUnsafe(size);
  }

  give(chunk: Buffer): void {
    if (this.free.length < POOLED_CHUNKS) this.free.push(chunk);
    else {
      // Keep the largest: they fit the most batches.
      let smallest = 0;
      for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
      if (this.free[smallest]!.length < chunk.length) this.free[smallest] = chunk;
    }
  }

  /** Bytes held for reuse. */
  get bytes(): number {
    return this.free.reduce((n, b) => n + b.length, 0);
  }
}

export class Batch {
  /** Records in the batch. */
  records = 0;
  /** Bytes they take, newlines included. */
  bytes = 0;
  /** Set once its records are counted written or dropped, so nothing counts twice. */
  counted = false;
  /** The chunks this batch took from the pool, whole, to give back. */
  private readonly owned: Buffer[] = [];
  /** The filled part of each chunk before the current one. */
  private readonly filled: Buffer[] = [];
  private cur: Buffer | undefined;
  private used = 0;
  private sealed: Buffer | undefined;
  private next: number;

  constructor(
    /** The partition hour (whole hours since the epoch). */
    readonly hour: number,
    /** The object key it is written to. */
    readonly key: string,
    /** Bytes the batch is expected to take (the previous one's size). */
    capacityHint: number,
    private readonly pool: ChunkPool,
  ) {
    this.next = Math.min(MAX_CHUNK_BYTES, Math.max(MIN_CHUNK_BYTES, Math.ceil(capacityHint * 1.25)));
  }

  /**
   * Appends one record, its line given as parts written one after another, and a newline. Returns the
   * bytes it took; when that is more than `maxBytes`, the record is taken back out and the size is
   * returned negated. Encoded straight into the chunk: its UTF-8 length is known once it is written (room
   * for the worst case, three bytes a UTF-16 unit, is made first).
   */
  tryAdd(parts: readonly string[], maxBytes: number): number {
    let bound = 1;
    for (const p of parts) bound += 3 * p.length;
    if (this.cur === undefined || this.used + bound > this.cur.length) {
      if (this.cur !== undefined && this.used > 0) this.filled.push(this.cur.subarray(0, this.used));
      this.cur = this.pool.take(Math.max(this.next, bound));
      this.owned.push(this.cur);
      this.next = Math.min(MAX_CHUNK_BYTES, this.next * 2);
      this.used = 0;
    }
    const cur = this.cur;
    const start = this.used;
    let at = start;
    for (const p of parts) at += cur.write(p, at, "utf8");
    cur[at++] = NEWLINE;
    const size = at - start;
    if (size > maxBytes) return -size;
    this.used = at;
    this.records++;
    this.bytes += size;
    return size;
  }

  /** The batch's bytes: a view of its one chunk, or (the first time) the chunks copied into one buffer. */
  body(): Buffer {
    if (this.sealed === undefined) {
      const parts = this.cur !== undefined && this.used > 0 ? [...this.filled, this.cur.subarray(0, this.used)] : this.filled;
      this.sealed = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.bytes);
      this.filled.length = 0;
      this.cur = undefined;
    }
    return this.sealed;
  }

  /** Gives the chunks back to the pool: only once nothing reads the body any more (its write settled). */
  release(): void {
    for (const c of this.owned.splice(0)) this.pool.give(c);
    this.sealed = undefined;
    this.filled.length = 0;
    this.cur = undefined;
  }
}
