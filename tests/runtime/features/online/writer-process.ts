/**
 * A materialize-like writer in its own process, for processes.test.ts: opens the embedded store in the
 * folder given, then writes versions 1..N of `rows` entities, one write call (transaction) per version,
 * each entity's three features all set to the version, so a reader can tell a torn or mixed snapshot.
 */
import { EmbeddedOnlineStore } from "../../../../runtime/features/online/embedded.js";
import { baseSpec } from "./helpers.js";

const [dir, versionsArg, rowsArg, pauseArg] = process.argv.slice(2);
const versions = Number(versionsArg);
const rows = Number(rowsArg);
const pauseMs = Number(pauseArg ?? "1");
const T0 = Date.UTC(2026, 0, 2, 3, 0, 0) * 1000;

const spec = baseSpec(dir!, { embedded: { path: `${dir}/online` } });
const store = EmbeddedOnlineStore.open(`${dir}/online`);
process.stdout.write("ready\n");
for (let v = 1; v <= versions; v++) {
  const batch = Array.from({ length: rows }, (_, i) => ({ key: String(i), eventMicros: T0 + v, createdMicros: -1, values: [String(v), String(v), JSON.stringify(`v${v}`)] }));
  await store.write(spec.views[0]!, batch);
  if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
}
await store.close();
process.stdout.write("done\n");
