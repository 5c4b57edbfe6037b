// ModelEndpoint with `features` (serving by entity id) under Pulumi mocks, next to a real FeatureStore:
// the spec's features block from the store's spec, the AUTH token by Secret reference only, the namespace
// rule, the network path to Redis, and every object schema-valid and Pod Security restricted.
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { ENDPOINT_SPEC_ENV, parseEndpointSpec } from "../../../src/spec/endpoint.js";
import { FEATURE_SPEC_ENV } from "../../../src/spec/features.js";
import { mlopsFailure } from "../../helpers/errors.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { k8sObjects, k8sObjectsOfKind, reset, waitForResources, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { baseArgs, setupStoreMocks, TOKEN } from "../feature-store/helpers.js";
import { BASE_ENDPOINT_ARGS } from "./helpers.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type StoreMod = typeof import("../../../components/feature-store/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
let mod: EndpointMod;
let storeMod: StoreMod;
let n = 0;

beforeAll(async () => {
  await setupStoreMocks("dev");
  mod = await import("../../../components/model-endpoint/index.js");
  storeMod = await import("../../../components/feature-store/index.js");
});
beforeEach(() => reset());

const FEATURES = ["txn_stats:spend_7d", "txn_stats:txn_count_7d"];

/** A FeatureStore in namespace `ml`, and an endpoint serving by customer id with `over`. */
async function make(over: Partial<EndpointArgs> = {}, features: Partial<NonNullable<EndpointArgs["features"]>> = {}) {
  const i = ++n;
  const store = new storeMod.FeatureStore(`features${i}`, { ...baseArgs(), namespace: "ml" });
  const endpoint = new mod.ModelEndpoint(`fraud${i}`, { ...BASE_ENDPOINT_ARGS, namespace: "ml", features: { store, entity: "customer", features: FEATURES, ...features }, ...over });
  await waitForResources();
  const deployments = k8sObjectsOfKind("Deployment");
  const served = deployments.find((d) => d.metadata.name === `mlops-dev-fraud${i}`)!;
  const server = deployments.find((d) => d.metadata.name === `mlops-dev-features${i}-server`)!;
  return { store, endpoint, served, server, i };
}

const containerOf = (d: K8sObject) => podSpecOf(d)!.containers[0];
const envOf = (d: K8sObject, name: string) => containerOf(d).env.find((e: { name: string }) => e.name === name);

describe("ModelEndpoint with features", () => {
  test("renders the spec's features block from the FeatureStore's spec", async () => {
    const { served, server } = await make({}, { missing: { fill: 0 } });
    const spec = parseEndpointSpec(JSON.parse(envOf(served, ENDPOINT_SPEC_ENV).value));
    expect(spec.features).toMatchObject({ entity: "customer", features: FEATURES, missing: { fill: 0 }, maxEntities: 1000 });
    // The very spec the store's own pods boot from.
    expect(spec.features!.store).toEqual(JSON.parse(envOf(server, FEATURE_SPEC_ENV).value));
    expect(spec.features!.store.online).toEqual({ redis: { url: expect.stringMatching(/^redis:\/\/mlops-dev-features\d+-redis\.ml\.svc:6379$/), passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD" } });
  });

  test("gives the pods the AUTH token from the store's Secret, key password, in the variable the spec names", async () => {
    const { store, served } = await make();
    expect(envOf(served, "MLOPS_ONLINE_STORE_PASSWORD")).toEqual({ name: "MLOPS_ONLINE_STORE_PASSWORD", valueFrom: { secretKeyRef: { name: store.authSecretName, key: "password" } } });
    // The same Secret and key the store's own server reads.
    expect(k8sObjectsOfKind("Secret").map((s) => s.metadata.name)).toContain(store.authSecretName);
  });

  test("puts no secret value in plain text: the token is only in the store's Secret", async () => {
    await make();
    const holding = k8sObjects().filter((o) => JSON.stringify(o).includes(TOKEN));
    expect(holding.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([expect.stringMatching(/^Secret\/mlops-dev-features\d+-online$/)]);
  });

  test("every Kubernetes object validates against the schema, and the endpoint's pods meet Pod Security restricted", async () => {
    const { served } = await make();
    expect(validateK8sObjects(k8sObjects())).toEqual({ errors: [], metadataOnly: [] });
    expect(podSecurityRestrictedViolations(podSpecOf(served)!)).toEqual([]);
  });

  test("lets the pods reach Redis: the endpoint's policy restricts ingress only, and the in-cluster Redis admits its own namespace", async () => {
    const { i } = await make();
    const policies = k8sObjectsOfKind("NetworkPolicy");
    const mine = policies.find((p) => p.metadata.name === `mlops-dev-fraud${i}`)!;
    expect(mine.spec.policyTypes).toEqual(["Ingress"]);
    expect(mine.spec.egress).toBeUndefined();
    const redis = policies.find((p) => p.metadata.name === `mlops-dev-features${i}-redis`)!;
    expect(redis.metadata.namespace).toBe("ml");
    expect(redis.spec.ingress[0].from).toContainEqual({ podSelector: {} });
  });

  test("uses features.passwordSecret, a copy in the endpoint's own namespace, from any namespace", async () => {
    const { served } = await make({ namespace: "checkout" }, { passwordSecret: { name: "online-store-token", key: "token" } });
    expect(served.metadata.namespace).toBe("checkout");
    expect(envOf(served, "MLOPS_ONLINE_STORE_PASSWORD").valueFrom).toEqual({ secretKeyRef: { name: "online-store-token", key: "token" } });
  });

  test("takes a store's outputs with a plain spec, and checks it at once", () => {
    const spec = { name: "fraud", registry: "s3://acme/registry", online: { redis: { url: "redis://online:6379" } }, entities: [{ name: "customer", joinKeys: ["customer_id"] }], views: [{ name: "txn_stats", entities: ["customer"], source: { uri: "s3://acme/t.parquet" }, features: [{ name: "spend_7d", dtype: "float64" as const }] }] };
    const err = mlopsFailure(() => new mod.ModelEndpoint(`bad${++n}`, { ...BASE_ENDPOINT_ARGS, features: { store: { spec }, entity: "shop", features: ["txn_stats:spend_7d"] } }));
    expect(err.message).toContain('features.entity: is not an entity of feature store fraud; received "shop". Use one of: customer.');
  });

  test("fails when features are not view:feature references", () => {
    const store = { spec: { name: "x" } } as never;
    const err = mlopsFailure(() => new mod.ModelEndpoint(`bad${++n}`, { ...BASE_ENDPOINT_ARGS, features: { store, entity: "customer", features: ["spend_7d"] } }));
    expect(err.message).toMatch(/features\.features\[0\]: must be a "view:feature" reference; received "spend_7d"/);
  });
});

// The deploy-time checks throw these messages as pulumi.ResourceErrors from the applies that feed the
// Deployment (features.ts featureWiring); a rejected registration does not settle under the mocks, so the
// messages are tested here.
describe("the namespace rule (pods read Secrets of their own namespace only)", () => {
  test("names both ways out when the endpoint is not in the store's namespace and has no passwordSecret", () => {
    expect(mod.featureSecretProblem("fraud", "checkout", "ml", "mlops-dev-features-online")).toBe(
      'ModelEndpoint "fraud": features.store\'s Secret mlops-dev-features-online (the online store\'s AUTH token) is in namespace ml, but the endpoint\'s pods run in checkout, ' +
        'and pods read Secrets of their own namespace only. Deploy the endpoint into the store\'s namespace (namespace: "ml"), or copy the Secret into checkout and name the copy in features.passwordSecret.',
    );
    expect(mod.featureSecretProblem("fraud", "ml", "ml", "s")).toBeUndefined();
    expect(mod.featureSecretProblem("fraud", "ml", undefined, "s")).toBeUndefined();
  });

  test("names the fix when the store's spec reads a password but no Secret is known", () => {
    const spec = { name: "f", registry: "s3://a/r", online: { redis: { url: "redis://r:6379", passwordEnv: "PW" } }, entities: [], views: [] };
    expect(mod.featurePasswordProblem("fraud", spec, false)).toMatch(/reads the online store's AUTH token from PW, but no Secret holds it.*features\.passwordSecret/);
    expect(mod.featurePasswordProblem("fraud", spec, true)).toBeUndefined();
    expect(mod.featurePasswordProblem("fraud", { ...spec, online: { embedded: {} } }, false)).toBeUndefined();
  });
});
