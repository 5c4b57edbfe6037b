/**
 * The Redis store's read path against a real redis-server: a one-row read is an HMGET, a read of more
 * rows one script call per entity set (runtime/features/online/redis.ts) that answers every value in one
 * string. Each case is checked against plain HMGETs from a second client, value for value: found and
 * unknown entities, repeated rows, a feature never written, stored nulls, values with quotes and non-ASCII
 * text, more rows than one script call takes, views sharing a hash, and a Redis that lost its scripts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openOnlineStore } from "../../../runtime/features/online/index.js";
import type { OnlineStore, ViewRead, ViewValues } from "../../../runtime/features/online/types.js";
import type { FeatureStoreSpec } from "../../../src/spec/features.js";
import { baseSpec, startRedis, type TestRedis } from "./online/helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000;
const TEXTS = ["12.5", "-3", "null", '"gold"', '"zürich ✓ 日本"', '"a\\"b,c"', "9007199254740993", "true"];

describe("Redis online reads (one string per script call)", () => {
  let redis: TestRedis;
  let dir: string;
  let spec: FeatureStoreSpec;
  let store: OnlineStore;
  let raw: ReturnType<typeof createClient>;

  beforeAll(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), "mlops-online-read-"));
    const v = baseSpec(dir, { embedded: {} }).views[0]!;
    // Two views over the customer hash (one with a feature added after the data was written) and one over
    // another entity, so a read spans two hashes per row and two entity sets.
    spec = baseSpec(dir, { redis: { url: redis.url, keyPrefix: "r:" } }, {
      entities: [
        { name: "customer", joinKeys: ["customer_id"] },
        { name: "merchant", joinKeys: ["merchant_id"] },
      ],
      views: [
        { ...v, tags: {} },
        { ...v, name: "late", tags: {}, ttl: undefined, features: [{ name: "spend_7d", dtype: "float64" }, { name: "added_later", dtype: "float64" }] },
        { ...v, name: "shop", entities: ["merchant"], tags: {}, features: [{ name: "spend_7d", dtype: "float64" }] },
      ],
    });
    store = await openOnlineStore(spec);
    const [stats, late, shop] = spec.views;
    const pick = (i: number, j: number) => TEXTS[(i * 7 + j * 3) % TEXTS.length]!;
    // Customers 0..399 except every fifth; merchants 0..99.
    const customers = Array.from({ length: 400 }, (_, i) => i).filter((i) => i % 5 !== 0);
    await store.write(stats!, customers.map((i) => ({ key: String(i), eventMicros: T0 + i, createdMicros: -1, values: [pick(i, 0), pick(i, 1), pick(i, 2)] })));
    // `late` as it was before added_later existed: that field is absent from every hash.
    const before = { ...late!, features: late!.features.slice(0, 1) };
    await store.write(before, customers.filter((i) => i % 2).map((i) => ({ key: String(i), eventMicros: T0 - i, createdMicros: -1, values: [pick(i, 5)] })));
    await store.write(shop!, Array.from({ length: 100 }, (_, i) => ({ key: String(i), eventMicros: T0 + 7 * i, createdMicros: -1, values: [pick(i, 9)] })));
    raw = createClient({ url: redis.url });
    await raw.connect();
  });

  afterAll(async () => {
    await store?.close();
    await raw?.close();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** What plain HMGETs say for the same reads, in the store's answer shape. */
  async function reference(reads: readonly ViewRead[]): Promise<ViewValues[]> {
    return Promise.all(
      reads.map(async (r) => {
        const prefix = `r:${r.view.entities.join("+")}:`;
        const eventMicros = new Float64Array(r.keys.length);
        const values = r.features.map(() => new Array<string | undefined>(r.keys.length));
        for (const [row, key] of r.keys.entries()) {
          const got = (await raw.sendCommand(["HMGET", prefix + key, `_ts:${r.view.name}`, ...r.features.map((f) => `${r.view.name}:${f}`)])) as Array<string | null>;
          eventMicros[row] = got[0] === null ? NaN : Number(got[0]);
          if (got[0] !== null) r.features.forEach((_, j) => (values[j]![row] = got[j + 1] ?? undefined));
        }
        return { eventMicros, values };
      }),
    );
  }

  const reads = (customerKeys: string[], merchantKeys: string[]): ViewRead[] => [
    { view: spec.views[0]!, features: ["tier", "spend_7d", "txn_count_7d"], keys: customerKeys },
    { view: spec.views[1]!, features: ["added_later", "spend_7d"], keys: customerKeys },
    { view: spec.views[2]!, features: ["spend_7d"], keys: merchantKeys },
  ];

  const same = (got: ViewValues[], want: ViewValues[]) => {
    expect(got.map((v) => ({ t: Array.from(v.eventMicros), v: v.values }))).toEqual(want.map((v) => ({ t: Array.from(v.eventMicros), v: v.values })));
  };

  it("answers one row and many rows exactly as HMGET does: found, unknown, repeated, never-written fields", async () => {
    for (const [c, m] of [
      [["7"], ["3"]],
      [["5"], ["500"]],
      [["1", "2", "5", "2", "999", "12"], ["0", "1", "1", "777"]],
    ] as Array<[string[], string[]]>) {
      const r = reads(c, m);
      const got = await store.read(r);
      same(got, await reference(r));
    }
    const got = await store.read(reads(["1", "5"], ["2"]));
    expect(got[0]!.values[0]).toEqual([TEXTS[(7 + 6) % TEXTS.length], undefined]);
    expect(Number.isNaN(got[0]!.eventMicros[1]!)).toBe(true);
    expect(got[1]!.values[0]).toEqual([undefined, undefined]); // added_later: never written
  });

  it("splits a read of more rows than one script call takes, and keeps every row in its place", async () => {
    const c = Array.from({ length: 700 }, (_, i) => String((i * 37) % 420));
    const m = Array.from({ length: 300 }, (_, i) => String((i * 13) % 110));
    const r = reads(c, m);
    same(await store.read(r), await reference(r));
  });

  it("loads its read script again when Redis has lost it (a restart or failover empties the script cache)", async () => {
    await raw.sendCommand(["SCRIPT", "FLUSH"]);
    const r = reads(["1", "2", "3", "4"], ["5", "6"]);
    same(await store.read(r), await reference(r));
    // And the write script too: writing after a flush still works.
    await raw.sendCommand(["SCRIPT", "FLUSH"]);
    await store.write(spec.views[2]!, [{ key: "5", eventMicros: T0 + 1e9, createdMicros: -1, values: ['"new"'] }]);
    expect((await store.read(reads(["1", "2"], ["5", "6"])))[2]!.values[0]).toEqual(['"new"', TEXTS[(6 * 7 + 27) % TEXTS.length]]);
  });
});
