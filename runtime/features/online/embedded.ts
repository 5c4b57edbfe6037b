/**
 * The embedded online store, for laptops, CI and `npm start`: LMDB through the `lmdb` package (lmdb-js).
 *
 * Why LMDB: a materialize process writes while a serve process reads, and LMDB is built for exactly that
 * — one writer at a time across processes (a robust, cross-process write lock) and any number of readers
 * that never block and never see a partial transaction (MVCC snapshots over a shared memory map). Reads
 * are synchronous memory-map lookups of a few microseconds, which keeps the serving path cheap, and the
 * file needs no recovery after a crash. lmdb-js is actively maintained (it backs Parcel's and Gatsby's
 * caches) and ships prebuilt binaries as npm optional dependencies, so neither a laptop nor the runtime
 * image needs a compiler. better-sqlite3 (WAL mode), the other candidate, would do too, but it compiles
 * with node-gyp wherever its prebuilt binary cannot be downloaded, and 13.x no longer runs on Node 20.
 *
 * Layout: one entry per view and entity, key `<view>\0<key text>`, value `{t, c, v}` (event µs, created
 * µs, feature name → JSON text). Writes run in synchronous write transactions (`transactionSync`): the
 * compare with the stored times and the put are atomic against every other process. (lmdb-js's
 * asynchronous `transaction()` callbacks never resolved on this project's machines, so they are not used;
 * a synchronous commit holds the event loop for its fsync, a few ms per batch of up to 10,000 rows.) Reads reset to the
 * newest committed snapshot on each event-loop turn (lmdb-js does this itself), so a request sees the
 * last materialized chunk, never half of one.
 */
import { mkdirSync } from "node:fs";
import { open, type RootDatabase } from "lmdb";
import { MlopsError } from "../../../src/errors.js";
import type { FeatureViewSpec } from "../../../src/spec/features.js";
import type { OnlineRow } from "./keys.js";
import type { OnlineStore, ViewRead, ViewValues, WriteResult } from "./types.js";

/** What one entry holds. Short names: there is one per entity and view. */
interface Entry {
  /** Event time, µs. */
  readonly t: number;
  /** Created time, µs; -1 when the source has none. */
  readonly c: number;
  /** Feature name → JSON text of the value. */
  readonly v: Record<string, string>;
}

/** Rows per write transaction: the write lock is held for one batch, then other writers get a turn. */
const ROWS_PER_TXN = 10_000;

export class EmbeddedOnlineStore implements OnlineStore {
  readonly kind = "embedded" as const;
  private open = true;

  private constructor(private readonly db: RootDatabase<Entry, string>) {}

  /** Opens (creating) the store in `dir`; any number of processes may open the same folder. */
  static open(dir: string): EmbeddedOnlineStore {
    try {
      mkdirSync(dir, { recursive: true });
      // noSubdir false: `dir` is a folder holding data.mdb and lock.mdb. Values are msgpack (lmdb's default).
      const db = open<Entry, string>({ path: dir, noSubdir: false, compression: false });
      return new EmbeddedOnlineStore(db);
    } catch (e) {
      throw MlopsError.of("online.embedded.path", `cannot be opened as an LMDB store (${(e as Error).message})`, dir, "Give a writable local folder (not a network file system); every process using the store must see the same folder.");
    }
  }

  get healthy(): boolean {
    return this.open;
  }

  async write(view: FeatureViewSpec, rows: readonly OnlineRow[]): Promise<WriteResult> {
    const names = view.features.map((f) => f.name);
    const prefix = `${view.name}\0`;
    let written = 0;
    for (let start = 0; start < rows.length; start += ROWS_PER_TXN) {
      const end = Math.min(rows.length, start + ROWS_PER_TXN);
      written += this.db.transactionSync(() => {
        let n = 0;
        for (let i = start; i < end; i++) {
          const r = rows[i]!;
          const key = prefix + r.key;
          const old = this.db.get(key);
          if (old && (r.eventMicros < old.t || (r.eventMicros === old.t && r.createdMicros <= old.c))) continue;
          const v: Record<string, string> = {};
          for (let j = 0; j < names.length; j++) v[names[j]!] = r.values[j]!;
          this.db.putSync(key, { t: r.eventMicros, c: r.createdMicros, v });
          n++;
        }
        return n;
      });
      // Let the event loop turn between batches (and readers in this process see fresh snapshots).
      if (end < rows.length) await new Promise((resolve) => setImmediate(resolve));
    }
    return { written, skipped: rows.length - written };
  }

  async read(reads: readonly ViewRead[]): Promise<ViewValues[]> {
    return reads.map((r) => {
      const eventMicros = new Float64Array(r.keys.length);
      const values = r.features.map(() => new Array<string | undefined>(r.keys.length));
      const prefix = `${r.view.name}\0`;
      for (let row = 0; row < r.keys.length; row++) {
        const entry = this.db.get(prefix + r.keys[row]!);
        if (!entry) {
          eventMicros[row] = NaN;
          continue;
        }
        eventMicros[row] = entry.t;
        for (let j = 0; j < r.features.length; j++) values[j]![row] = entry.v[r.features[j]!];
      }
      return { eventMicros, values };
    });
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.db.close();
  }
}
