// A FeatureStore on a cluster reached by kubeconfig: the in-cluster Valkey, the CronJob and the server, under mocks.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { FEATURE_SPEC_ENV, parseFeatureStoreSpec } from "../../../src/spec/features.js";
import { podMetadataOf, podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import { k8sObjects, k8sObjectsOfKind, outputOf, reset, resources, type K8sObject } from "../../helpers/pulumi-mocks.js";
import { isSecretAt, makeStore, setupStoreMocks, TOKEN } from "./helpers.js";

type StoreMod = typeof import("../../../components/feature-store/index.js");
let mod: StoreMod;
let n = 0;

beforeAll(async () => {
  await setupStoreMocks("dev");
  mod = await import("../../../components/feature-store/index.js");
});
beforeEach(() => reset());

async function make(over: Parameters<typeof makeStore>[2] = {}) {
  const name = `features${++n}`;
  return { name, base: `mlops-dev-${name}`, store: await makeStore(mod, name, over) };
}
const one = (kind: string): K8sObject => {
  const objs = k8sObjectsOfKind(kind);
  expect(objs.map((o) => o.metadata.name)).toHaveLength(1);
  return objs[0]!;
};
const containerOf = (kind: string) => podSpecOf(one(kind))!.containers[0];
const envOf = (kind: string, name: string) => containerOf(kind).env.find((e: { name: string }) => e.name === name);
const specOf = (kind: string) => parseFeatureStoreSpec(JSON.parse(envOf(kind, FEATURE_SPEC_ENV).value));

describe("FeatureStore on an existing cluster", () => {
  test("every Kubernetes object validates against the schema", async () => {
    await make({ server: { allowFrom: { namespaces: ["monitoring"] } } });
    expect(validateK8sObjects(k8sObjects())).toEqual({ errors: [], metadataOnly: [] });
    expect(k8sObjects().map((o) => o.kind).sort()).toEqual([
      "CronJob", "Deployment", "HorizontalPodAutoscaler", "Namespace", "NetworkPolicy", "NetworkPolicy", "PodDisruptionBudget",
      "Secret", "Service", "Service", "ServiceAccount", "ServiceAccount", "StatefulSet",
    ]);
  });

  test("every pod meets Pod Security restricted, the Valkey server included", async () => {
    await make();
    for (const kind of ["CronJob", "Deployment", "StatefulSet"]) expect([kind, podSecurityRestrictedViolations(podSpecOf(one(kind))!)]).toEqual([kind, []]);
  });

  test("the Valkey server runs read-only as the image's non-root user, its data on a claim", async () => {
    await make();
    const set = one("StatefulSet");
    const pod = podSpecOf(set)!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: "data", mountPath: "/data" });
    expect(set.spec.volumeClaimTemplates[0]).toMatchObject({ metadata: { name: "data" }, spec: { resources: { requests: { storage: "1Gi" } } } });
  });

  test("the CronJob runs `mlops features materialize --incremental` hourly, never two at once", async () => {
    await make();
    const cron = one("CronJob");
    expect(cron.spec).toMatchObject({ schedule: "0 * * * *", concurrencyPolicy: "Forbid" });
    expect(containerOf("CronJob").args).toEqual(["features", "materialize", "--incremental"]);
  });

  test("the server runs `mlops features serve` on 0.0.0.0:6566, probed on GET /health", async () => {
    await make();
    const c = containerOf("Deployment");
    expect(c.args).toEqual(["features", "serve", "--host", "0.0.0.0", "--port", "6566"]);
    expect(c.ports).toEqual([{ name: "http", containerPort: 6566, protocol: "TCP" }]);
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) expect(probe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(c.resources).toEqual({ requests: { cpu: "500m", memory: "512Mi" }, limits: { cpu: "500m", memory: "512Mi" } });
  });

  test("renders the spec with the in-cluster URL and the registry under the bucket", async () => {
    const { name, base } = await make();
    const spec = specOf("Deployment");
    expect(spec).toMatchObject({
      name,
      registry: "s3://acme-features/fraud/registry",
      online: { redis: { url: `redis://${base}-redis.${base}.svc:6379`, passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD" } },
      views: [{ name: "txn_stats", ttl: "3d" }],
    });
    expect(specOf("CronJob")).toEqual(spec);
  });

  test("the pods read the token by reference from the store's Secret", async () => {
    const { base } = await make();
    for (const kind of ["Deployment", "CronJob"]) {
      expect(envOf(kind, "MLOPS_ONLINE_STORE_PASSWORD")).toEqual({ name: "MLOPS_ONLINE_STORE_PASSWORD", valueFrom: { secretKeyRef: { name: `${base}-online`, key: "password" } } });
    }
    expect(one("Secret").metadata.name).toBe(`${base}-online`);
  });

  test("never puts the token in plain text in a manifest, outside the Secret's secret values", async () => {
    await make();
    const leaks = resources().filter((r) => JSON.stringify(r.inputs).includes(TOKEN)).map((r) => r.type);
    expect(leaks).toEqual(["kubernetes:core/v1:Secret"]);
    const secret = resources().find((r) => r.type === "kubernetes:core/v1:Secret")!;
    expect(isSecretAt(secret, "/stringData/password") && isSecretAt(secret, "/stringData/valkey.conf")).toBe(true);
    // The Valkey server reads it from a mounted file, not its command line.
    expect(JSON.stringify(podSpecOf(one("StatefulSet"))!.containers[0].args)).not.toContain(TOKEN);
  });

  test("keeps the token out of every output", async () => {
    const { store } = await make();
    const outputs = await Promise.all([store.onlineStore, store.registryUri, store.serverUrl, store.spec, store.namespace, store.offlineUri].map((o) => outputOf(o as pulumi.Output<unknown>)));
    expect(JSON.stringify(outputs)).not.toContain(TOKEN);
  });

  test("outputs the online URL, the registry and the server's in-cluster URL", async () => {
    const { store, base } = await make();
    expect(await outputOf(store.onlineStore)).toBe(`redis://${base}-redis.${base}.svc:6379`);
    expect(await outputOf(store.registryUri)).toBe("s3://acme-features/fraud/registry");
    expect(await outputOf(store.serverUrl)).toBe(`http://${base}-server.${base}.svc:6566`);
    expect((await outputOf(store.spec)).online).toEqual({ redis: { url: `redis://${base}-redis.${base}.svc:6379`, passwordEnv: "MLOPS_ONLINE_STORE_PASSWORD" } });
  });

  test("the Service, HPA, PDB and NetworkPolicy select the server's pods, and not Valkey's", async () => {
    await make();
    const server = podMetadataOf(one("Deployment"))!.labels;
    const valkey = podMetadataOf(one("StatefulSet"))!.labels;
    const [svc] = k8sObjectsOfKind("Service").filter((s) => s.metadata.name.endsWith("-server"));
    expect(server).toMatchObject(svc!.spec.selector);
    expect(valkey).not.toMatchObject(svc!.spec.selector);
    expect(server).toMatchObject(one("PodDisruptionBudget").spec.selector.matchLabels);
    expect(one("HorizontalPodAutoscaler").spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: one("Deployment").metadata.name });
  });

  test("admits only the namespace's pods and the namespaces listed, on the server's and Valkey's ports", async () => {
    await make({ server: { allowFrom: { namespaces: ["checkout"] } } });
    const policies = k8sObjectsOfKind("NetworkPolicy");
    const ports = policies.map((p) => p.spec.ingress[0].ports[0].port).sort();
    expect(ports).toEqual([6379, 6566]);
    for (const p of policies) {
      expect(p.spec.ingress).toHaveLength(1);
      expect(p.spec.ingress[0].from).toEqual([
        { podSelector: {} },
        { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["checkout"] }] } },
      ]);
    }
  });

  test("uses the stage's replicas by default (dev: 1 to 2)", async () => {
    await make();
    expect(one("HorizontalPodAutoscaler").spec).toMatchObject({ minReplicas: 1, maxReplicas: 2 });
  });

  test("takes a schedule, resources as quantities and an emptyDir for Valkey", async () => {
    await make({ materialization: { schedule: "*/15 * * * *", resources: { memory: "4Gi" } }, online: { authToken: TOKEN, inCluster: { storage: false } } });
    expect(one("CronJob").spec.schedule).toBe("*/15 * * * *");
    expect(containerOf("CronJob").resources.limits).toEqual({ memory: "4Gi" });
    const set = one("StatefulSet");
    expect(set.spec.volumeClaimTemplates).toBeUndefined();
    expect(podSpecOf(set)!.volumes).toContainEqual({ name: "data", emptyDir: { sizeLimit: "1Gi" } });
  });

  test("transforms reach the children", async () => {
    await make({ transform: { cronJob: { spec: { suspend: true } }, deployment: (a) => ({ ...a, metadata: { ...a.metadata, annotations: { team: "risk" } } }) } });
    expect(one("CronJob").spec.suspend).toBe(true);
    expect(one("Deployment").metadata.annotations).toEqual({ team: "risk" });
  });

  test("nodes exposes the resources it made", async () => {
    const { store } = await make();
    expect(store.nodes.redis?.statefulSet).toBeDefined();
    expect(store.nodes.elastiCache).toBeUndefined();
    expect(store.nodes.offline).toBeUndefined();
    expect(store.nodes.roles).toEqual({});
  });

  test("a token given as an Output not marked secret is still stored as a secret", async () => {
    await make({ online: { authToken: pulumi.output(TOKEN) } });
    const secret = resources().find((r) => r.type === "kubernetes:core/v1:Secret")!;
    expect(isSecretAt(secret, "/stringData/password")).toBe(true);
  });

  test("the server and the CronJob wait for the Valkey server and the Secret", async () => {
    await make();
    const urn = (type: string) => resources().find((r) => r.type === type)!;
    const set = urn("kubernetes:apps/v1:StatefulSet");
    const secret = urn("kubernetes:core/v1:Secret");
    for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob"]) {
      const deps = urn(type).options.dependencies.join(" ");
      expect([type, deps.includes(`::${set.name}`), deps.includes(`::${secret.name}`)]).toEqual([type, true, true]);
    }
  });

  test("annotates both ServiceAccounts with a role given, and none without", async () => {
    await make();
    expect(k8sObjectsOfKind("ServiceAccount").map((s) => s.metadata.annotations)).toEqual([undefined, undefined]);
    reset();
    await make({ serviceAccountRoleArn: "arn:aws:iam::123456789012:role/features" });
    expect(k8sObjectsOfKind("ServiceAccount").map((s) => s.metadata.annotations?.["eks.amazonaws.com/role-arn"])).toEqual([
      "arn:aws:iam::123456789012:role/features",
      "arn:aws:iam::123456789012:role/features",
    ]);
  });

  test("reaches an S3-compatible server with credentials from a Secret", async () => {
    const { base } = await make({ s3: { endpoint: "http://minio.minio:9000", credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s3cr3t-value-xyz" } } });
    expect(envOf("CronJob", "MLOPS_S3_ENDPOINT")).toEqual({ name: "MLOPS_S3_ENDPOINT", value: "http://minio.minio:9000" });
    expect(envOf("CronJob", "AWS_SECRET_ACCESS_KEY")).toEqual({ name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: `${base}-s3`, key: "AWS_SECRET_ACCESS_KEY" } } });
    expect(resources().filter((r) => JSON.stringify(r.inputs).includes("s3cr3t-value-xyz")).map((r) => r.name)).toEqual([expect.stringMatching(/-s3$/)]);
  });
});
