/**
 * A flat key/value object store. Keys are `/`-separated relative paths (no leading `/`, no `..`).
 * Backends: `file://` (a local folder) and `s3://bucket/prefix` (AWS SDK v3, any S3-compatible store).
 */
export interface ObjectStore {
  /** The URI this store was opened from, normalized (e.g. `file:///abs/path`, `s3://bucket/prefix`). */
  readonly uri: string;
  /** Reads an object; `undefined` when it does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Writes an object atomically: readers see the old content or the new, never a part. */
  put(key: string, body: Buffer | string): Promise<void>;
  /**
   * Creates an object only if no object has that key (atomic across processes and machines).
   * Returns false, writing nothing, when the key exists. (S3: `If-None-Match: *`; file: link(2).)
   */
  putIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  /** Keys under `prefix` (recursive), sorted ascending. */
  list(prefix: string): Promise<string[]>;
  exists(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Copies a local file into the store (streams; for large artifacts and datasets). */
  putFile(key: string, localPath: string): Promise<void>;
  /** Copies an object to a local file (streams); throws MlopsError when the key is missing. */
  getFile(key: string, localPath: string): Promise<void>;
  /** The URI of one object, e.g. `s3://bucket/prefix/key` or `file:///abs/key`. */
  uriOf(key: string): string;
}
