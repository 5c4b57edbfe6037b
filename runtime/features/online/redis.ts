/**
 * The Redis online store (node-redis). Layout, close to Feast's so the same operations apply:
 *
 * - one hash per entity key: `<prefix><entity>[+<entity>…]:<key text>` (e.g. `fraud:customer:1001`),
 *   shared by every view over the same entities, so one HMGET answers all of them for a row;
 * - a field per feature, `<view>:<feature>`, holding the value's JSON text (keys.ts), and per view the
 *   event time `_ts:<view>` and created time `_cts:<view>` in microseconds.
 *
 * Writes go through one Lua script per batch of entities, which compares the stored times and writes only
 * when the new row is newer: "newest wins" is atomic without WATCH round trips, and the whole batch is one
 * command. The script also refreshes the hash's EXPIRE to the longest TTL of the views sharing it (only
 * ever lengthening it), even when it skips the row, so an entity that keeps being re-materialized never
 * expires under a reader (Feast #3275). Correctness does not rest on EXPIRE: reads enforce the TTL.
 *
 * Reads: a one-row read is one HMGET; more rows are one read script call per entity set (up to
 * READ_KEYS_PER_SCRIPT rows), all issued in one tick (node-redis pipelines them). The script HMGETs each
 * row's hash and answers one string for the whole call: a row's values joined by U+001F, rows by U+001E,
 * a field the hash lacks as the empty string. That is exact because no JSON text (the stored values, keys.ts) is empty or holds a control character
 * unescaped, and the times are digits. One string instead of a bulk string per field and row is what the
 * client saves: decoding thousands of RESP bulk strings was most of a read's client CPU. Commands
 * carry no timer of their own; each read and each write batch has one deadline as a whole (deadline.ts),
 * so a Redis that stops answering costs a request its deadline (a 503), not a hang. Redis
 * Cluster is not supported (a batch script touches keys in many slots); ElastiCache without cluster mode,
 * as the FeatureStore component creates it, is.
 */
import { createClient } from "redis";
import { MlopsError } from "../../../src/errors.js";
import { silentLogger, type Logger } from "../../../src/log.js";
import type { FeatureStoreSpec, FeatureViewSpec } from "../../../src/spec/features.js";
import { viewTtlSeconds } from "../../../src/spec/features.js";
import { Deadlines } from "./deadline.js";
import type { OnlineRow } from "./keys.js";
import type { OnlineStore, ViewRead, ViewValues, WriteResult } from "./types.js";

type RedisSpec = Extract<FeatureStoreSpec["online"], { redis: unknown }>["redis"];

/** Entities per script call: large enough to amortize the call, small enough not to stall Redis. */
const ROWS_PER_SCRIPT = 256;
/** Script calls in flight per write. */
const SCRIPTS_IN_FLIGHT = 8;
/** Connection attempts before a first connect gives up (later disconnects retry for ever). */
const FIRST_CONNECT_TRIES = 5;
/** Rows per read script call: bounds how long one call holds Redis (together with the fields per row). */
const READ_KEYS_PER_SCRIPT = 256;
/** Field reads (rows × fields) per read script call at most, when that allows fewer rows than the above. */
const READ_FIELDS_PER_SCRIPT = 32_768;
/** Deadlines of a whole read (every command of one lookup) and of a whole write (every script of one batch). */
export const REDIS_DEADLINES = { readMs: 5_000, writeMs: 60_000 } as const;

/*
 * ARGV: nFeatures, tsField, createdField, field names…, then per key: event µs, created µs, expire s,
 * value texts…  Returns the number of keys written.
 */
const WRITE_SCRIPT = `
local k = tonumber(ARGV[1])
local tsf, crf = ARGV[2], ARGV[3]
local stride = 3 + k
local written = 0
for i = 1, #KEYS do
  local o = 3 + k + (i - 1) * stride
  local ev, cr, ex = tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local cur = redis.call('HMGET', KEYS[i], tsf, crf)
  local newer = true
  if cur[1] then
    local oev, ocr = tonumber(cur[1]), tonumber(cur[2] or '-1')
    if ev < oev or (ev == oev and cr <= ocr) then newer = false end
  end
  if newer then
    local args = { tsf, ARGV[o + 1], crf, ARGV[o + 2] }
    for j = 1, k do
      args[#args + 1] = ARGV[3 + j]
      args[#args + 1] = ARGV[o + 3 + j]
    end
    redis.call('HSET', KEYS[i], unpack(args))
    written = written + 1
  end
  if ex > 0 then
    local t = redis.call('TTL', KEYS[i])
    if t < ex then redis.call('EXPIRE', KEYS[i], ex) end
  end
end
return written
`;

/* KEYS: the hashes; ARGV: the fields. Returns the values as one string (see the header). */
const READ_SCRIPT = `
local out = {}
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], unpack(ARGV))
  for j = 1, #ARGV do
    if not v[j] then v[j] = '' end
  end
  out[i] = table.concat(v, '\\31')
end
return table.concat(out, '\\30')
`;
const FIELD_SEP = "\x1f";
const ROW_SEP = "\x1e";

export interface RedisStoreOptions {
  /** Environment the password variable is read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default silentLogger */
  readonly logger?: Logger;
  /** Deadline of one read, ms. @default REDIS_DEADLINES.readMs */
  readonly readTimeoutMs?: number;
  /** Deadline of one write batch, ms. @default REDIS_DEADLINES.writeMs */
  readonly writeTimeoutMs?: number;
}

/** A Redis URL with any user:password part replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/)[^@/]*@/i, "$1***@");
}

function makeClient(url: string, password: string | undefined, state: { connected: boolean }) {
  return createClient({
    url,
    ...(password ? { password } : {}),
    // Fail commands at once while disconnected (a 503 the client can retry) rather than queueing them
    // behind a reconnect that may never come.
    disableOfflineQueue: true,
    // No AbortSignal timer per command (node-redis's default is a 5 s one each): the store bounds each
    // read and write as a whole instead (deadline.ts).
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: 5000,
      // A first connect gives up after a few tries (a wrong URL should fail the command, not hang it);
      // once connected, a dropped connection is retried for ever, backing off to 2 s.
      reconnectStrategy: (retries: number, cause: Error) => (!state.connected && retries >= FIRST_CONNECT_TRIES ? cause : Math.min(50 * 2 ** retries, 2000)),
    },
  });
}
type Client = ReturnType<typeof makeClient>;

/** The rows of one entity set to HMGET, and where each view's fields sit in the reply. */
interface ReadSet {
  readonly prefix: string;
  readonly keys: readonly string[];
  fields: string[];
  readonly parts: Array<{ read: number; offset: number }>;
}

interface Group {
  /** Prefix of the hash keys: `<prefix><entities>:`. */
  readonly prefix: string;
  /** Longest TTL (s) of the views sharing the hash; 0 when one of them keeps values for ever. */
  readonly expireSeconds: number;
}

export class RedisOnlineStore implements OnlineStore {
  readonly kind = "redis" as const;
  private readonly groups = new Map<string, Group>();
  private sha: string | undefined;
  private readSha: string | undefined;
  private readonly deadlines = new Deadlines();
  private readonly fields = new WeakMap<readonly string[], { view: string; features: readonly string[]; fields: string[] }>();

  private constructor(
    private readonly client: Client,
    spec: FeatureStoreSpec,
    keyPrefix: string,
    private readonly readMs: number,
    private readonly writeMs: number,
  ) {
    const maxTtl = new Map<string, number>();
    for (const v of spec.views) {
      const id = v.entities.join("+");
      const ttl = viewTtlSeconds(v) ?? 0;
      const before = maxTtl.get(id);
      maxTtl.set(id, before === undefined ? ttl : before === 0 || ttl === 0 ? 0 : Math.max(before, ttl));
    }
    for (const v of spec.views) {
      const id = v.entities.join("+");
      this.groups.set(v.name, { prefix: `${keyPrefix}${id}:`, expireSeconds: maxTtl.get(id) ?? 0 });
    }
  }

  /** Connects (a few attempts, then a clear error) and loads the write script. */
  static async open(spec: FeatureStoreSpec, config: RedisSpec, opts: RedisStoreOptions = {}): Promise<RedisOnlineStore> {
    const env = opts.env ?? process.env;
    const logger = opts.logger ?? silentLogger;
    let password: string | undefined;
    if (config.passwordEnv) {
      password = env[config.passwordEnv];
      if (!password) {
        throw MlopsError.of("online.redis.passwordEnv", "names an unset or empty environment variable", config.passwordEnv, `Export ${config.passwordEnv}=<the Redis AUTH token>, or drop passwordEnv for a Redis without AUTH.`);
      }
    }
    const state = { connected: false };
    const client = makeClient(config.url, password, state);
    // node-redis emits connection errors as events; unhandled, they would end the process.
    client.on("error", (e: Error) => logger.warn("redis connection error", { error: e.message, url: redactUrl(config.url) }));
    try {
      await client.connect();
    } catch (e) {
      throw MlopsError.of(
        "online.redis.url",
        `cannot be reached (${(e as Error).message})`,
        redactUrl(config.url),
        "Check the host and port, that Redis is running, TLS (rediss://) and the AUTH token in passwordEnv.",
      );
    }
    state.connected = true;
    const store = new RedisOnlineStore(client, spec, config.keyPrefix ?? `${spec.name}:`, opts.readTimeoutMs ?? REDIS_DEADLINES.readMs, opts.writeTimeoutMs ?? REDIS_DEADLINES.writeMs);
    store.sha = await client.scriptLoad(WRITE_SCRIPT);
    store.readSha = await client.scriptLoad(READ_SCRIPT);
    return store;
  }

  /** Connected, and answering: not past a deadline without a reply since (deadline.ts). */
  get healthy(): boolean {
    return this.client.isReady && !this.deadlines.stalled;
  }

  async write(view: FeatureViewSpec, rows: readonly OnlineRow[]): Promise<WriteResult> {
    if (rows.length === 0) return { written: 0, skipped: 0 };
    return this.deadlines.run(() => this.writeBatch(view, rows), this.writeMs, `a write of ${rows.length} rows`);
  }

  private async writeBatch(view: FeatureViewSpec, rows: readonly OnlineRow[]): Promise<WriteResult> {
    const group = this.group(view);
    const head = [String(view.features.length), `_ts:${view.name}`, `_cts:${view.name}`, ...view.features.map((f) => `${view.name}:${f.name}`)];
    const nowSeconds = Date.now() / 1000;
    // A window of scripts in flight, each built when it is sent: enough to keep Redis busy (it runs them
    // one at a time anyway) without holding a whole chunk's commands, encoded, at once.
    let next = 0;
    let written = 0;
    const send = async (): Promise<void> => {
      for (let start = next; start < rows.length; start = next) {
        next = start + ROWS_PER_SCRIPT;
        const n = await this.runScript(...this.scriptArgs(group, head, rows.slice(start, next), nowSeconds));
        // Each reply counts: a read queued behind a long write must not take Redis for silent.
        this.deadlines.replied();
        written += n; // not `written += await …`: that would add to the value read before the await
      }
    };
    await Promise.all(Array.from({ length: Math.min(SCRIPTS_IN_FLIGHT, Math.ceil(rows.length / ROWS_PER_SCRIPT)) }, send));
    return { written, skipped: rows.length - written };
  }

  /** KEYS and ARGV of one script call. */
  private scriptArgs(group: Group, head: readonly string[], batch: readonly OnlineRow[], nowSeconds: number): [string[], string[]] {
    const keys = batch.map((r) => group.prefix + r.key);
    const args = [...head];
    for (const r of batch) {
      // A value stamped in the future must outlive its TTL counted from its own event time.
      const ahead = Math.max(0, Math.ceil(r.eventMicros / 1e6 - nowSeconds));
      args.push(String(r.eventMicros), String(r.createdMicros), String(group.expireSeconds > 0 ? group.expireSeconds + ahead : 0));
      for (const v of r.values) args.push(v);
    }
    return [keys, args];
  }

  read(reads: readonly ViewRead[]): Promise<ViewValues[]> {
    return this.deadlines.run(() => this.readAll(reads), this.readMs, "a read");
  }

  private async readAll(reads: readonly ViewRead[]): Promise<ViewValues[]> {
    const out: ViewValues[] = reads.map((r) => ({
      eventMicros: new Float64Array(r.keys.length),
      values: r.features.map(() => new Array<string | undefined>(r.keys.length)),
    }));
    // Views over the same entities share a hash: one read per row and entity set answers all of them.
    let sets: ReadSet[];
    if (reads.length === 1) sets = [{ prefix: this.group(reads[0]!.view).prefix, keys: reads[0]!.keys, fields: this.fieldsOf(reads[0]!), parts: [{ read: 0, offset: 0 }] }];
    else {
      const byId = new Map<string, ReadSet>();
      reads.forEach((r, i) => {
        const prefix = this.group(r.view).prefix;
        const id = `${prefix}\0${r.keys.join("\0")}`;
        let set = byId.get(id);
        if (!set) byId.set(id, (set = { prefix, keys: r.keys, fields: [], parts: [] }));
        set.parts.push({ read: i, offset: set.fields.length });
        set.fields = set.fields.concat(this.fieldsOf(r));
      });
      sets = [...byId.values()];
    }
    const pending: Promise<void>[] = [];
    for (const set of sets) {
      const { prefix, keys, fields, parts } = set;
      if (keys.length === 1) {
        // One row: a plain HMGET, which costs Redis less than the script and the client little more.
        const args = new Array<string>(2 + fields.length);
        args[0] = "HMGET";
        args[1] = prefix + keys[0]!;
        for (let j = 0; j < fields.length; j++) args[2 + j] = fields[j]!;
        pending.push(
          this.client.sendCommand<Array<string | null>>(args).then((got) => {
            this.deadlines.replied();
            this.unpack(got, 0, parts, out);
          }),
        );
        continue;
      }
      const perCall = Math.max(1, Math.min(READ_KEYS_PER_SCRIPT, Math.floor(READ_FIELDS_PER_SCRIPT / fields.length)));
      for (let start = 0; start < keys.length; start += perCall) {
        const end = Math.min(keys.length, start + perCall);
        const args = new Array<string>(3 + (end - start) + fields.length);
        args[0] = "EVALSHA";
        args[2] = String(end - start);
        for (let r = start; r < end; r++) args[3 + r - start] = prefix + keys[r]!;
        for (let j = 0, at = 3 + end - start; j < fields.length; j++) args[at + j] = fields[j]!;
        pending.push(
          this.readScript(args).then((text) => {
            this.deadlines.replied();
            const rows = end - start === 1 ? [text] : text.split(ROW_SEP);
            if (rows.length !== end - start) throw new Error(`the read script answered ${rows.length} rows for ${end - start} keys`);
            for (let i = 0; i < rows.length; i++) this.unpack(rows[i]!.split(FIELD_SEP), start + i, parts, out);
          }),
        );
      }
    }
    if (pending.length === 1) await pending[0];
    else await Promise.all(pending);
    return out;
  }

  /** One row's values (null or empty: the hash lacks the field) into each view's columns. */
  private unpack(got: ReadonlyArray<string | null>, row: number, parts: ReadSet["parts"], out: ViewValues[]): void {
    for (const { read, offset } of parts) {
      const ts = got[offset];
      const target = out[read]!;
      if (ts === undefined || ts === null || ts === "") {
        target.eventMicros[row] = NaN;
        continue;
      }
      target.eventMicros[row] = Number(ts);
      const cols = target.values as Array<Array<string | undefined>>;
      for (let j = 0; j < cols.length; j++) {
        const v = got[offset + 1 + j];
        cols[j]![row] = v === "" || v === null ? undefined : v;
      }
    }
  }

  /** EVALSHA of the read script (`args[1]` is filled in here), loading it again once if Redis lost it. */
  private async readScript(args: string[]): Promise<string> {
    args[1] = this.readSha!;
    try {
      return await this.client.sendCommand<string>(args);
    } catch (e) {
      if (!/NOSCRIPT/.test((e as Error).message)) throw e;
      this.readSha = await this.client.scriptLoad(READ_SCRIPT);
      args[1] = this.readSha;
      return this.client.sendCommand<string>(args);
    }
  }

  /**
   * The HMGET fields of one view's read, `_ts:<view>` then `<view>:<feature>` per feature, built once per
   * features list (a lookup plan's lists are reused request after request) and checked on every use.
   */
  private fieldsOf(r: ViewRead): string[] {
    const hit = this.fields.get(r.features);
    if (hit && hit.view === r.view.name && hit.features.length === r.features.length && hit.features.every((f, i) => f === r.features[i])) return hit.fields;
    const fields = [`_ts:${r.view.name}`, ...r.features.map((f) => `${r.view.name}:${f}`)];
    this.fields.set(r.features, { view: r.view.name, features: [...r.features], fields });
    return fields;
  }

  async close(): Promise<void> {
    const stalled = this.deadlines.stalled;
    this.deadlines.close();
    if (!this.client.isOpen) return;
    // A graceful close waits for the replies to the commands in flight, which a stalled Redis never sends.
    if (stalled) this.client.destroy();
    else await this.client.close();
  }

  private group(view: FeatureViewSpec): Group {
    const g = this.groups.get(view.name);
    if (!g) throw new Error(`view ${view.name} is not in the spec this store was opened with`);
    return g;
  }

  private async runScript(keys: string[], args: string[]): Promise<number> {
    const call = () => this.client.sendCommand<number>(["EVALSHA", this.sha!, String(keys.length), ...keys, ...args]);
    try {
      return await call();
    } catch (e) {
      // A restarted (or failed-over) Redis has an empty script cache: load the script again, once.
      if (!/NOSCRIPT/.test((e as Error).message)) throw e;
      this.sha = await this.client.scriptLoad(WRITE_SCRIPT);
      return call();
    }
  }
}
