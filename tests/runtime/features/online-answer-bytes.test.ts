/**
 * The feature server writes its answers as bytes into a reused buffer (runtime/features/online/lookup.ts).
 * These tests hold those bytes to the text the answer was built as before, string by string (the reference
 * below), over generated reads: several views over one and two entities, composite and string keys, every
 * status, non-ASCII values, repeated rows, answers larger than the buffer's first size, and lookups
 * answered concurrently (one buffer serves them all).
 */
import { describe, expect, it } from "vitest";
import { lookup, lookupBytes } from "../../../runtime/features/online/lookup.js";
import { microsIso } from "../../../runtime/features/online/keys.js";
import { PlanCache, parseOnlineRequest, type OnlineRequest } from "../../../runtime/features/online/request.js";
import type { OnlineStore, ViewRead, ViewValues } from "../../../runtime/features/online/types.js";
import { parseFeatureStoreSpec } from "../../../src/spec/features.js";

const spec = parseFeatureStoreSpec(
  {
    apiVersion: "mlops/v1",
    kind: "FeatureStore",
    name: "bytes",
    registry: "file:///tmp/unused-registry",
    online: { embedded: {} },
    entities: [
      { name: "customer", joinKeys: ["customer_id"] },
      { name: "merchant", joinKeys: ["merchant"], valueType: "string" },
    ],
    views: [
      { name: "a", entities: ["customer"], source: { uri: "file:///tmp/a.csv", timestampField: "ts" }, ttl: "1h", online: true, features: [{ name: "x", dtype: "float64" }, { name: "s", dtype: "string" }, { name: "n", dtype: "int64" }] },
      { name: "b", entities: ["customer"], source: { uri: "file:///tmp/b.csv", timestampField: "ts" }, online: true, features: [{ name: "y", dtype: "float64" }, { name: "x", dtype: "float64" }] },
      { name: "pair", entities: ["customer", "merchant"], source: { uri: "file:///tmp/p.csv", timestampField: "ts" }, ttl: "1d", online: true, features: [{ name: "z", dtype: "bool" }] },
    ],
  },
  "test",
);

const NOW = Date.UTC(2026, 0, 2, 12, 0, 0) * 1000;

/** A deterministic pseudo-random generator (the same cases on every run). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const TEXTS = ["12.5", "-0.125", "3", "9007199254740993", '"gold"', '"zürich ✓"', '"日本"', '"a\\"b"', "true", "null", '""', '"' + "x".repeat(300) + '"'];

/** A store answering from a generator: each (view, key) found or not, fresh or stale, each value one of TEXTS. */
function fakeStore(seed: number): OnlineStore {
  return {
    kind: "embedded",
    healthy: true,
    write: async () => ({ written: 0, skipped: 0 }),
    close: async () => {},
    read: async (reads: readonly ViewRead[]): Promise<ViewValues[]> => {
      const next = rng(seed);
      await new Promise((r) => setTimeout(r, Math.floor(next() * 3)));
      return reads.map((r) => {
        const eventMicros = new Float64Array(r.keys.length);
        const values = r.features.map(() => new Array<string | undefined>(r.keys.length));
        for (let row = 0; row < r.keys.length; row++) {
          const p = next();
          if (p < 0.15) {
            eventMicros[row] = NaN;
            continue;
          }
          // Within the TTL, past it, whole seconds, milliseconds and microseconds.
          const age = [0, 1, 59 * 60e6, 2 * 3600e6, 3 * 86_400e6][Math.floor(next() * 5)]!;
          const frac = [0, 500_000, 123_000, 7][Math.floor(next() * 4)]!;
          eventMicros[row] = NOW - age - frac;
          for (let j = 0; j < r.features.length; j++) values[j]![row] = next() < 0.05 ? undefined : TEXTS[Math.floor(next() * TEXTS.length)]!;
        }
        return { eventMicros, values };
      });
    },
  };
}

/** The answer as it was built before the byte writer: strings concatenated (lookup.ts at the previous commit). */
async function reference(store: OnlineStore, req: OnlineRequest): Promise<string> {
  const { plan, rows } = req;
  const reads = plan.views.map((pv) => {
    const cols = pv.keys.names.map((k) => req.entityTexts.get(k)!);
    const keys = Array.from({ length: rows }, (_, r) => (cols.length === 1 ? cols[0]![r]! : cols.map((c) => c[r]!).join(",")));
    return { view: pv.view, features: pv.features, keys };
  });
  const got = await store.read(reads);
  const ts = plan.views.map((_, v) => Array.from(got[v]!.eventMicros, (t) => (Number.isNaN(t) ? '"1970-01-01T00:00:00Z"' : `"${microsIso(t)}"`)));
  const cols: string[] = [];
  for (const name of req.entityNames) {
    const n = rows;
    cols.push(`{"values":[${req.entityTexts.get(name)!.join(",")}],"statuses":[${Array(n).fill('"PRESENT"').join(",")}],"event_timestamps":[${Array(n).fill('"1970-01-01T00:00:00Z"').join(",")}]}`);
  }
  for (const o of plan.outputs) {
    const ev = got[o.view]!.eventMicros;
    const vals: string[] = [];
    const sts: string[] = [];
    for (let r = 0; r < rows; r++) {
      const stored = got[o.view]!.values[o.feature]![r];
      if (Number.isNaN(ev[r]!)) (vals.push("null"), sts.push('"NOT_FOUND"'));
      else if (NOW - ev[r]! > plan.views[o.view]!.ttlMicros) (vals.push("null"), sts.push('"OUTSIDE_MAX_AGE"'));
      else if (stored === undefined || stored === "null") (vals.push("null"), sts.push('"NULL_VALUE"'));
      else (vals.push(stored), sts.push('"PRESENT"'));
    }
    cols.push(`{"values":[${vals.join(",")}],"statuses":[${sts.join(",")}],"event_timestamps":[${ts[o.view]!.join(",")}]}`);
  }
  const names = [...req.entityNames.map((n) => JSON.stringify(n)), ...(plan.namesJson ? [plan.namesJson] : [])].join(",");
  return `{"metadata":{"feature_names":[${names}]},"results":[${cols.join(",")}]}`;
}

const FEATURE_SETS = [["a:x"], ["a:x", "a:s", "a:n"], ["b:y", "a:s", "b:x"], ["pair:z", "a:n"], ["a:s", "pair:z", "b:y", "a:x"]];

function request(seed: number, plans: PlanCache, oneRow = false): OnlineRequest {
  const next = rng(seed * 7 + 1);
  const features = FEATURE_SETS[seed % FEATURE_SETS.length]!;
  const fullNames = features.includes("b:x");
  const rows = oneRow ? 1 : 1 + Math.floor(next() * 20);
  const ids = Array.from({ length: rows }, () => Math.floor(next() * 5) - 1);
  const merchants = Array.from({ length: rows }, () => ["m1", "caf\u00e9", "\u{1F600}", 'q"uote'][Math.floor(next() * 4)]!);
  const entities: Record<string, unknown[]> = features.some((f) => f.startsWith("pair:")) ? (seed % 2 ? { merchant: merchants, customer_id: ids } : { customer_id: ids, merchant: merchants }) : { customer_id: ids };
  return parseOnlineRequest({ features, entities, full_feature_names: fullNames }, plans);
}

describe("the online answer written as bytes", () => {
  it.each([
    ["1 to 20 entity rows", false],
    ["one entity row (its own path)", true],
  ])("is byte for byte the text built by concatenation, over 200 generated reads of %s", async (_, oneRow) => {
    const plans = new PlanCache(spec);
    for (let seed = 1; seed <= 200; seed++) {
      const req = request(seed, plans, oneRow);
      const want = await reference(fakeStore(seed), req);
      const bytes = await lookupBytes(fakeStore(seed), req, { nowMicros: NOW });
      expect(bytes.equals(Buffer.from(want, "utf8")), `seed ${seed}`).toBe(true);
      expect(await lookup(fakeStore(seed), req, { nowMicros: NOW })).toBe(want);
      JSON.parse(want);
    }
  });

  it("keeps every answer whole when many lookups are answered at once (one buffer serves them all)", async () => {
    const plans = new PlanCache(spec);
    const seeds = Array.from({ length: 60 }, (_, i) => i + 1000);
    const reqs = seeds.map((s) => request(s, plans));
    const want = await Promise.all(seeds.map((s, i) => reference(fakeStore(s), reqs[i]!)));
    const got = await Promise.all(seeds.map((s, i) => lookupBytes(fakeStore(s), reqs[i]!, { nowMicros: NOW })));
    got.forEach((b, i) => expect(b.toString("utf8")).toBe(want[i]));
  });

  it("grows past its first buffer for a large answer, and the next small answer is still exact", async () => {
    const plans = new PlanCache(spec);
    const ids = Array.from({ length: 1000 }, (_, i) => i);
    const big = parseOnlineRequest({ features: ["a:x", "a:s", "a:n"], entities: { customer_id: ids } }, plans);
    const want = await reference(fakeStore(7), big);
    expect(Buffer.byteLength(want)).toBeGreaterThan(128 << 10);
    expect((await lookupBytes(fakeStore(7), big, { nowMicros: NOW })).toString("utf8")).toBe(want);
    const small = request(3, plans);
    expect((await lookupBytes(fakeStore(3), small, { nowMicros: NOW })).toString("utf8")).toBe(await reference(fakeStore(3), small));
  });

  it("finds a cached plan by its whole list: lists sharing length and ends are told apart", () => {
    const plans = new PlanCache(spec);
    const p1 = plans.plan(["a:x", "a:s", "a:n"], false, "features");
    const p2 = plans.plan(["a:x", "b:y", "a:n"], false, "features");
    expect(p2).not.toBe(p1);
    expect(plans.plan(["a:x", "a:s", "a:n"], false, "features")).toBe(p1);
    expect(plans.plan(["a:x", "b:y", "a:n"], false, "features")).toBe(p2);
    expect(plans.plan(["a:x", "a:s", "a:n"], true, "features")).not.toBe(p1);
    expect(p2.namesJson).toBe('"x","y","n"');
  });
});
