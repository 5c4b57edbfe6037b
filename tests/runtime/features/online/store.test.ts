import { describe, expect, it } from "vitest";
import type { OnlineRow } from "../../../../runtime/features/online/keys.js";
import type { OnlineStore } from "../../../../runtime/features/online/types.js";
import type { FeatureStoreSpec } from "../../../../src/spec/features.js";
import { ONLINE_KINDS, useOnline } from "./helpers.js";

const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000; // µs

function row(key: string, eventMicros: number, values: [string, string, string], createdMicros = -1): OnlineRow {
  return { key, eventMicros, createdMicros, values };
}

async function readOne(store: OnlineStore, spec: FeatureStoreSpec, key: string) {
  const [got] = await store.read([{ view: spec.views[0]!, features: ["spend_7d", "txn_count_7d", "tier"], keys: [key] }]);
  return { ts: got!.eventMicros[0], values: got!.values.map((c) => c[0]) };
}

describe.each(ONLINE_KINDS)("online store (%s)", (kind) => {
  const fx = useOnline(kind);

  it("reads back what was written, as JSON texts with the event time", async () => {
    const { store, spec } = fx();
    const r = await store.write(spec.views[0]!, [row("1001", T0, ["12.5", "3", '"gold"'])]);
    expect(r).toEqual({ written: 1, skipped: 0 });
    expect(await readOne(store, spec, "1001")).toEqual({ ts: T0, values: ["12.5", "3", '"gold"'] });
  });

  it("answers NaN and no values for an entity it has never seen", async () => {
    const { store, spec } = fx();
    const got = await readOne(store, spec, "42");
    expect(got.ts).toBeNaN();
    expect(got.values).toEqual([undefined, undefined, undefined]);
  });

  it("keeps the newer value when an older one is written after it (newest wins)", async () => {
    const { store, spec } = fx();
    await store.write(spec.views[0]!, [row("1001", T0 + 2e6, ["20", "2", '"new"'])]);
    const r = await store.write(spec.views[0]!, [row("1001", T0 + 1e6, ["10", "1", '"old"'])]);
    expect(r).toEqual({ written: 0, skipped: 1 });
    expect(await readOne(store, spec, "1001")).toEqual({ ts: T0 + 2e6, values: ["20", "2", '"new"'] });
  });

  it("breaks equal event times by the created time, and skips an exact repeat", async () => {
    const { store, spec } = fx();
    await store.write(spec.views[0]!, [row("7", T0, ["1", "1", '"a"'], 100)]);
    expect(await store.write(spec.views[0]!, [row("7", T0, ["2", "2", '"b"'], 200)])).toEqual({ written: 1, skipped: 0 });
    expect(await store.write(spec.views[0]!, [row("7", T0, ["3", "3", '"c"'], 150)])).toEqual({ written: 0, skipped: 1 });
    expect(await store.write(spec.views[0]!, [row("7", T0, ["4", "4", '"d"'], 200)])).toEqual({ written: 0, skipped: 1 });
    expect((await readOne(store, spec, "7")).values).toEqual(["2", "2", '"b"']);
  });

  it("compares rows for one entity within a single batch too", async () => {
    const { store, spec } = fx();
    const r = await store.write(spec.views[0]!, [row("5", T0 + 5, ["5", "5", '"five"']), row("5", T0 + 3, ["3", "3", '"three"']), row("6", T0, ["6", "6", '"six"'])]);
    expect(r).toEqual({ written: 2, skipped: 1 });
    expect((await readOne(store, spec, "5")).values).toEqual(["5", "5", '"five"']);
  });

  it("stores a null as the JSON text null", async () => {
    const { store, spec } = fx();
    await store.write(spec.views[0]!, [row("9", T0, ["null", "4", "null"])]);
    expect((await readOne(store, spec, "9")).values).toEqual(["null", "4", "null"]);
  });

  it("writes many entities in one call (more than one script call or transaction batch)", async () => {
    const { store, spec } = fx();
    // 12,000 rows: more script calls than the Redis store keeps in flight, more than one LMDB transaction.
    const rows = Array.from({ length: 12_000 }, (_, i) => row(String(i), T0 + i, [String(i / 2), String(i), JSON.stringify(`c${i}`)]));
    expect(await store.write(spec.views[0]!, rows)).toEqual({ written: 12_000, skipped: 0 });
    const [got] = await store.read([{ view: spec.views[0]!, features: ["tier", "spend_7d"], keys: ["0", "777", "11999", "12000"] }]);
    expect(Array.from(got!.eventMicros)).toEqual([T0, T0 + 777, T0 + 11_999, NaN]);
    expect(got!.values).toEqual([
      ['"c0"', '"c777"', '"c11999"', undefined],
      ["0", "388.5", "5999.5", undefined],
    ]);
    // Again, every third one newer: the counts add up across every call.
    const again = rows.map((r, i) => (i % 3 === 0 ? { ...r, eventMicros: r.eventMicros + 1 } : r));
    expect(await store.write(spec.views[0]!, again)).toEqual({ written: 4_000, skipped: 8_000 });
  });

  it("keeps two views of one entity apart, and reads both at once", async () => {
    const { specWith } = fx();
    const base = fx().spec.views[0]!;
    const spec = specWith({
      views: [
        { ...base, name: "txn_stats", features: base.features, tags: {} },
        { ...base, name: "profile", ttl: "3d", features: [{ name: "tier", dtype: "string" }], tags: {} },
      ],
    });
    const store = await fx().reopen(spec);
    await store.write(spec.views[0]!, [row("1", T0, ["1.5", "2", '"from stats"'])]);
    await store.write(spec.views[1]!, [{ key: "1", eventMicros: T0 + 9, createdMicros: -1, values: ['"from profile"'] }]);
    const got = await store.read([
      { view: spec.views[0]!, features: ["tier"], keys: ["1", "2"] },
      { view: spec.views[1]!, features: ["tier"], keys: ["1", "2"] },
    ]);
    expect(got.map((g) => [Array.from(g.eventMicros), g.values])).toEqual([
      [[T0, NaN], [['"from stats"', undefined]]],
      [[T0 + 9, NaN], [['"from profile"', undefined]]],
    ]);
  });

  it("is seen by a second store opened on the same location", async () => {
    const { store, spec, reopen } = fx();
    const other = await reopen();
    await store.write(spec.views[0]!, [row("3", T0, ["3", "3", '"x"'])]);
    expect((await readOne(other, spec, "3")).values).toEqual(["3", "3", '"x"']);
  });
});
