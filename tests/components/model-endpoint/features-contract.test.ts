/**
 * Contract: the Deployment a ModelEndpoint with `features` renders (MLOPS_ENDPOINT_SPEC with the store's
 * spec in it, the AUTH token by reference to the FeatureStore's Secret) boots the real serving runtime,
 * which then reads features from a real `redis-server` that requires that token, and answers a request by
 * entity id as the model answers on those features. The store's in-cluster URL is swapped for the test's
 * Redis (the only change to what the components rendered).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../../src/registry/index.js";
import { ENDPOINT_SPEC_ENV, endpointSpecFromEnv } from "../../../src/spec/endpoint.js";
import { openOnlineStore } from "../../../runtime/features/online/index.js";
import { buildApp, type ServeApp } from "../../../runtime/serve/app.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { k8sObjectsOfKind, waitForResources, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { startRedis, type TestRedis } from "../../runtime/features/online/helpers.js";
import { logisticOnnx } from "../../runtime/serve/features-fixture.js";
import { baseArgs, setupStoreMocks, TOKEN } from "../feature-store/helpers.js";
import { BASE_ENDPOINT_ARGS } from "./helpers.js";

let redis: TestRedis;
let dir: string;
let app: ServeApp;
let env: Record<string, string>;

/** The container's environment as the kubelet gives it: plain values, and secretKeyRefs read from the rendered Secrets. */
function containerEnv(deployment: K8sObject, secrets: K8sObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of podSpecOf(deployment)!.containers[0].env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }>) {
    if (e.value !== undefined) out[e.name] = e.value;
    else {
      const ref = e.valueFrom!.secretKeyRef;
      const secret = secrets.find((s) => s.metadata.name === ref.name);
      expect(secret, `Secret ${ref.name}`).toBeDefined();
      out[e.name] = (secret as unknown as { stringData: Record<string, string> }).stringData[ref.key]!;
    }
  }
  return out;
}

beforeAll(async () => {
  redis = await startRedis(["--requirepass", TOKEN]);
  dir = await mkdtemp(join(tmpdir(), "mlops-endpoint-features-"));
  await setupStoreMocks("dev");
  const { FeatureStore } = await import("../../../components/feature-store/index.js");
  const { ModelEndpoint } = await import("../../../components/model-endpoint/index.js");
  const store = new FeatureStore("features", { ...baseArgs(), namespace: "ml" });
  const local = store.spec.apply((s) => ({ ...s, online: { redis: { ...(s.online as { redis: { passwordEnv: string } }).redis, url: redis.url } } }));
  new ModelEndpoint("fraud", {
    ...BASE_ENDPOINT_ARGS,
    namespace: "ml",
    features: { store: { spec: local, namespace: store.namespace, authSecretName: store.authSecretName }, entity: "customer", features: ["txn_stats:spend_7d", "txn_stats:txn_count_7d"] },
  });
  await waitForResources();
  const deployment = k8sObjectsOfKind("Deployment").find((d) => d.metadata.name === "mlops-dev-fraud")!;
  env = containerEnv(deployment, k8sObjectsOfKind("Secret"));

  // Features written the way materialization writes them, with the token from the rendered Secret.
  const spec = endpointSpecFromEnv(env);
  const online = await openOnlineStore(spec.features!.store, { env });
  const view = spec.features!.store.views[0]!;
  await online.write(view, [{ key: "1001", eventMicros: Date.now() * 1000, createdMicros: -1, values: ["12.5", "3"] }]);
  await online.close();

  const registry = await Registry.open(`file://${dir}`);
  await registry.register("fraud", logisticOnnx([0.05, 0.1], -0.3), { alias: "champion" });
  // The runtime reads the token from its process environment, as in the container.
  process.env.MLOPS_ONLINE_STORE_PASSWORD = env.MLOPS_ONLINE_STORE_PASSWORD;
  app = await buildApp({ spec, registry });
}, 60_000);

afterAll(async () => {
  delete process.env.MLOPS_ONLINE_STORE_PASSWORD;
  await app?.close();
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("ModelEndpoint with features, booted from what it renders", () => {
  it("gets the token from the FeatureStore's Secret and no password in the spec", () => {
    expect(env.MLOPS_ONLINE_STORE_PASSWORD).toBe(TOKEN);
    expect(env[ENDPOINT_SPEC_ENV]).not.toContain(TOKEN);
  });

  it("answers a request by entity id as the model answers on the stored features", async () => {
    const post = (body: object) => app.inject({ method: "POST", url: "/v2/models/fraud/infer", headers: { "content-type": "application/json" }, body });
    const byId = await post({ inputs: [{ name: "customer_id", datatype: "INT64", shape: [1], data: [1001] }] });
    expect(byId.status, byId.body).toBe(200);
    const direct = await post({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [12.5, 3] }] });
    expect(byId.json().outputs).toEqual(direct.json().outputs);
    const missing = await post({ inputs: [{ name: "customer_id", datatype: "INT64", shape: [1], data: [7] }] });
    expect(missing.status).toBe(422);
    expect(missing.json().error).toContain("customer_id 7: txn_stats:spend_7d is NOT_FOUND");
  });
});
