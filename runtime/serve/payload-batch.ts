/**
 * One object's worth of payload records, as the UTF-8 bytes that will be written: each record is encoded
 * into a chunk as it arrives, so a record's string dies young and what waits for the store lives off the
 * V8 heap, and the write needs neither a join of a thousand strings into one nor its re-encoding.
 *
 * The first chunk is sized from the previous batch (`capacityHint`, a quarter more), so a batch usually
 * fills one chunk and is written from it as it is; one that outgrows it continues in more chunks, copied
 * into one buffer at the write. A chunk's unused tail is never touched, so it costs address space, not
 * resident memory (large buffers are mapped lazily).
 */

/** Smallest and largest first chunk. */
const MIN_CHUNK_BYTES = 64 * 1024;
const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

export class Batch {
  /** Records in the batch. */
  records = 0;
  /** Bytes they take, newlines included. */
  bytes = 0;
  /** Set once its records are counted written or dropped, so nothing counts twice. */
  counted = false;
  private readonly chunks: Buffer[] = [];
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
      if (this.cur !== undefined && this.used > 0) this.chunks.push(this.cur.subarray(0, this.used));
      this.cur = Buffer.allocUnsafe(Math.max(this.next, bound));
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
      if (this.cur !== undefined) this.chunks.push(this.cur.subarray(0, this.used));
      this.sealed = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bytes);
      this.chunks.length = 0;
      this.cur = undefined;
    }
    return this.sealed;
  }
}
