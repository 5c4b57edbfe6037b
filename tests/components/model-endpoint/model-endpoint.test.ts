import * as pulumi from "@pulumi/pulumi";
import { makeEndpoint } from "./helpers.js";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseEndpointSpec, SERVE_PATHS } from "../../../src/spec/endpoint.js";
import { podMetadataOf, podSecurityRestrictedViolations, podSpecOf, validateK8sObjects } from "../../helpers/k8s.js";
import {
  byType,
  findResource,
  isSecretOutput,
  k8sObjects,
  k8sObjectsOfKind,
  outputOf,
  reset,
  resources,
  setupMocks,
  waitForResources,
  type K8sObject,
} from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type ArgsOver = Partial<import("../../../components/model-endpoint/index.js").ModelEndpointArgs>;
let mod: EndpointMod;
let registryMod: typeof import("../../../components/model-registry/index.js");
let k8s: typeof import("@pulumi/kubernetes");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  k8s = await import("@pulumi/kubernetes");
  mod = await import("../../../components/model-endpoint/index.js");
  registryMod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

/** Creates an endpoint with a fresh name and waits for every child to reach the mocks. */
async function make(over: ArgsOver = {}, base = "fraud") {
  const name = `${base}${++n}`;
  return { name, endpoint: await makeEndpoint(mod, name, over) };
}
const one = (kind: string): K8sObject => {
  const objs = k8sObjectsOfKind(kind);
  expect(objs).toHaveLength(1);
  return objs[0]!;
};
const container = () => podSpecOf(one("Deployment"))!.containers[0];
const spec = () => parseEndpointSpec(JSON.parse(container().env.find((e: { name: string }) => e.name === "MLOPS_ENDPOINT_SPEC").value));

describe("ModelEndpoint objects", () => {
  test("every Kubernetes object validates against the schema", async () => {
    await make({ gpu: { count: 1 }, auth: { token: pulumi.secret("t0k3n") }, allowFrom: { namespaces: ["monitoring"] } });
    const result = validateK8sObjects(k8sObjects());
    expect(result).toEqual({ errors: [], metadataOnly: [] });
    expect(k8sObjects().map((o) => o.kind).sort()).toEqual(
      ["Deployment", "HorizontalPodAutoscaler", "Namespace", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Service", "ServiceAccount"],
    );
  });

  test("the pods meet Pod Security restricted", async () => {
    await make({ gpu: { count: 2 } });
    expect(podSecurityRestrictedViolations(podSpecOf(one("Deployment"))!)).toEqual([]);
  });

  test("the Deployment selector matches the pod labels", async () => {
    await make();
    const d = one("Deployment");
    expect(podMetadataOf(d)!.labels).toMatchObject(d.spec.selector.matchLabels);
    expect(Object.keys(d.spec.selector.matchLabels).length).toBeGreaterThan(0);
  });

  test("the Service selects the pods and targets the container port", async () => {
    await make();
    const svc = one("Service");
    expect(podMetadataOf(one("Deployment"))!.labels).toMatchObject(svc.spec.selector);
    const ports = container().ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]).flat();
    expect(ports).toContain(svc.spec.ports[0].targetPort);
    expect(svc.spec).toMatchObject({ type: "ClusterIP", ports: [{ port: 80 }] });
  });

  test("the HPA, PDB and NetworkPolicy select the same pods", async () => {
    await make();
    const podLabels = podMetadataOf(one("Deployment"))!.labels;
    expect(one("HorizontalPodAutoscaler").spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: one("Deployment").metadata.name });
    expect(podLabels).toMatchObject(one("PodDisruptionBudget").spec.selector.matchLabels);
    expect(podLabels).toMatchObject(one("NetworkPolicy").spec.podSelector.matchLabels);
  });

  test("puts the recommended labels on every object", async () => {
    const { name } = await make();
    for (const o of k8sObjects()) {
      expect(o.metadata.labels).toMatchObject({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": `mlops-dev-${name}`,
        "app.kubernetes.io/component": "model-endpoint",
        "app.kubernetes.io/part-of": "mlops",
        "app.kubernetes.io/managed-by": "pulumi",
      });
    }
  });

  test("probes point at paths the runtime serves", async () => {
    await make();
    const c = container();
    // The rollout path is the runtime's (runtime/serve/routes/health.ts), outside the OIP's SERVE_PATHS.
    const served = [...Object.values(SERVE_PATHS), mod.ROLLOUT_READY_PATH] as string[];
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
      expect(served).toContain(p.httpGet.path);
      expect(p.httpGet.port).toBe("http");
    }
    expect(c.readinessProbe.httpGet.path).toBe("/v2/health/rollout");
  });

  test("renders an EndpointSpec that parses, with the registry's uri", async () => {
    const registry = new registryMod.ModelRegistry(`reg${++n}`, { storage: { bucket: "acme-models", prefix: "fraud" } });
    const { name } = await make({ registry });
    expect(spec()).toMatchObject({ name, model: "fraud@champion", registry: "s3://acme-models/fraud", server: { port: 8080 } });
  });

  test("gives the runtime longer to stop than it drains", async () => {
    await make({ drainSeconds: 30 });
    expect(podSpecOf(one("Deployment"))!.terminationGracePeriodSeconds).toBeGreaterThan(spec().server.drainSeconds);
    expect(spec().server.drainSeconds).toBe(30);
  });

  test("spreads pods across zones", async () => {
    await make();
    expect(podSpecOf(one("Deployment"))!.topologySpreadConstraints).toEqual(
      expect.arrayContaining([expect.objectContaining({ topologyKey: "topology.kubernetes.io/zone" })]),
    );
  });

  test("annotates pods for Prometheus scraping", async () => {
    await make();
    expect(podMetadataOf(one("Deployment"))!.annotations).toEqual({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8080",
      "prometheus.io/path": SERVE_PATHS.metrics,
    });
  });

  test("mounts a writable /tmp over the read-only root filesystem", async () => {
    await make();
    expect(container().securityContext.readOnlyRootFilesystem).toBe(true);
    expect(container().volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  test("leaves the replica count to the autoscaler", async () => {
    await make();
    expect(one("Deployment").spec.replicas).toBeUndefined();
  });
});

describe("ModelEndpoint defaults", () => {
  test("creates a namespace named from project, stage and name by default", async () => {
    const { name, endpoint } = await make();
    expect(one("Namespace").metadata).toMatchObject({ name: `mlops-dev-${name}`, labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
    expect(await outputOf(endpoint.namespace)).toBe(`mlops-dev-${name}`);
  });

  test("uses the dev stage's 1 to 2 replicas at 70% CPU by default in dev", async () => {
    await make();
    expect(one("HorizontalPodAutoscaler").spec).toMatchObject({
      minReplicas: 1,
      maxReplicas: 2,
      metrics: [{ resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } }],
    });
  });

  test("uses 1 CPU and 1024 MiB by default", async () => {
    await make();
    expect((await outputOf(container())).resources).toEqual({ requests: { cpu: "1", memory: "1024Mi" }, limits: { cpu: "1", memory: "1024Mi" } });
  });

  test("requests the Kubernetes quantities given, with limits equal to requests", async () => {
    await make({ resources: { cpu: "500m", memory: "2Gi" } });
    expect((await outputOf(container())).resources).toEqual({ requests: { cpu: "500m", memory: "2Gi" }, limits: { cpu: "500m", memory: "2Gi" } });
  });

  test("uses the runtime's batching defaults by default", async () => {
    await make();
    expect(spec().batching).toEqual({ maxBatchSize: 32, maxBatchDelayMs: 2 });
  });

  test("uses no auth by default", async () => {
    await make();
    expect(byType("kubernetes:core/v1:Secret")).toEqual([]);
    expect(container().env.map((e: { name: string }) => e.name)).toEqual(["MLOPS_ENDPOINT_SPEC"]);
    expect(spec().auth.enabled).toBe(false);
  });

  test("admits only the endpoint's own namespace by default", async () => {
    await make();
    expect(one("NetworkPolicy").spec).toEqual({
      podSelector: { matchLabels: expect.any(Object) },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: {} }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
  });

  test("uses maxUnavailable 1 for the disruption budget by default", async () => {
    await make();
    expect(one("PodDisruptionBudget").spec.maxUnavailable).toBe(1);
  });

  test("builds the runtime image from runtime/Dockerfile by default", async () => {
    const { endpoint } = await make({ image: undefined });
    const image = findResource("docker:index/image:Image").inputs;
    expect(image.build).toMatchObject({ dockerfile: expect.stringMatching(/runtime\/Dockerfile$/), platform: "linux/amd64" });
    expect(image.skipPush).toBe(true);
    expect(container().image).toBe(image.imageName);
    expect(endpoint.nodes.image).toBeDefined();
  });

  test("pushes the built image to imageRepository by digest", async () => {
    await make({ image: undefined, imageRepository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-runtime" });
    const image = findResource("docker:index/image:Image").inputs;
    expect(image.skipPush).toBe(false);
    expect(container().image).toMatch(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/mlops-runtime@sha256:/);
  });

  test("builds nothing when an image is given", async () => {
    await make({ image: "ghcr.io/acme/runtime:2" });
    expect(byType("docker:index/image:Image")).toEqual([]);
    expect(container().image).toBe("ghcr.io/acme/runtime:2");
  });
});

describe("ModelEndpoint options", () => {
  test("stores the auth token in a secret Secret and only references it from the Deployment", async () => {
    const { endpoint } = await make({ auth: { token: pulumi.secret("t0k3n-value") } });
    const secret = findResource("kubernetes:core/v1:Secret");
    expect(secret.inputs.stringData).toEqual({ token: "t0k3n-value" });
    expect(secret.secretPaths.some((p) => p.startsWith("/stringData"))).toBe(true);
    expect(await isSecretOutput(endpoint.nodes.secret!.stringData)).toBe(true);
    expect(JSON.stringify(findResource("kubernetes:apps/v1:Deployment").inputs)).not.toContain("t0k3n-value");
    expect(container().env).toContainEqual({
      name: "MLOPS_AUTH_TOKEN",
      valueFrom: { secretKeyRef: { name: secret.object!.metadata.name, key: "token" } },
    });
    expect(spec().auth.enabled).toBe(true);
  });

  test("marks a token given in plain as secret", async () => {
    await make({ auth: { token: "plain-token" } });
    expect(findResource("kubernetes:core/v1:Secret").secretPaths.some((p) => p.startsWith("/stringData"))).toBe(true);
  });

  test("asks for GPUs, tolerates the GPU taint and selects GPU nodes", async () => {
    await make({ gpu: { count: 2, nodeSelector: { "nvidia.com/gpu.product": "A10G" } } });
    const pod = podSpecOf(one("Deployment"))!;
    expect(pod.containers[0].resources.limits["nvidia.com/gpu"]).toBe("2");
    expect(pod.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
    expect(pod.nodeSelector).toEqual({ "nvidia.com/gpu.product": "A10G" });
  });

  test("admits the serving port from the namespaces given", async () => {
    await make({ allowFrom: { namespaces: ["checkout", "monitoring"] } });
    expect(one("NetworkPolicy").spec.ingress[0].from).toContainEqual({
      namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["checkout", "monitoring"] }] },
    });
  });

  test("annotates the ServiceAccount with the IAM role and mounts no token", async () => {
    await make({ serviceAccountRoleArn: "arn:aws:iam::123456789012:role/serve" });
    const sa = one("ServiceAccount");
    expect(sa.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/serve" });
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(podSpecOf(one("Deployment"))!.serviceAccountName).toBe(sa.metadata.name);
  });

  test("uses an existing namespace by name and creates none", async () => {
    await make({ namespace: "serving" });
    expect(k8sObjectsOfKind("Namespace")).toEqual([]);
    expect(new Set(k8sObjects().map((o) => o.metadata.namespace))).toEqual(new Set(["serving"]));
  });

  test("uses a Namespace resource given", async () => {
    const ns = new k8s.core.v1.Namespace(`given${++n}`, { metadata: { name: "given-ns" } });
    const { endpoint } = await make({ namespace: ns });
    expect(await outputOf(endpoint.namespace)).toBe("given-ns");
    expect(one("Deployment").metadata.namespace).toBe("given-ns");
  });

  test("exposes the in-cluster url, service name and namespace", async () => {
    const { name, endpoint } = await make();
    expect(await outputOf(endpoint.url)).toBe(`http://mlops-dev-${name}.mlops-dev-${name}.svc.cluster.local`);
    expect(await outputOf(endpoint.serviceName)).toBe(`mlops-dev-${name}`);
  });

  test("creates a provider from a kubeconfig and deploys every object with it", async () => {
    await make({ kubernetes: { kubeconfig: "apiVersion: v1" } });
    expect(byType("pulumi:providers:kubernetes")).toHaveLength(1);
    const providers = new Set(resources().filter((r) => r.object).map((r) => r.provider?.split("::")[3]));
    expect(providers.size).toBe(1);
  });

  test("uses a provider given, or the provider of a cluster object", async () => {
    const provider = new k8s.Provider(`p${++n}`, { kubeconfig: "apiVersion: v1" });
    await waitForResources();
    reset();
    await make({ kubernetes: { provider } });
    await make({ kubernetes: { provider, name: "cluster", kubeconfig: undefined } as never });
    expect(byType("pulumi:providers:kubernetes")).toEqual([]);
    expect(k8sObjectsOfKind("Deployment")).toHaveLength(2);
  });

  test("parents every child to the component", async () => {
    const { name } = await make();
    for (const r of resources().filter((x) => x.type !== "mlops:serving:ModelEndpoint")) {
      expect(r.options.parent).toMatch(new RegExp(`mlops:serving:ModelEndpoint::${name}$`));
    }
  });

  test("applies a per-child transform", async () => {
    await make({ transform: { deployment: (a) => ({ ...a, metadata: { ...(a.metadata as object), annotations: { team: "risk" } } }) } });
    expect(one("Deployment").metadata.annotations).toEqual({ team: "risk" });
  });

  test("exposes its children through nodes", async () => {
    const { endpoint } = await make();
    expect(Object.keys(endpoint.nodes).sort()).toEqual(
      ["autoscaler", "deployment", "disruptionBudget", "namespace", "networkPolicy", "provider", "service", "serviceAccount"],
    );
  });
});

describe("ModelEndpoint validation", () => {
  const attempt = (over: ArgsOver, name = `bad${++n}`) => () =>
    new mod.ModelEndpoint(name, { registry: "s3://models", model: "fraud@champion", kubernetes: { kubeconfig: "x" }, image: "i:1", ...over });

  test("fails when replicas.min > replicas.max", () => {
    expect(attempt({ replicas: { min: 5, max: 2 } })).toThrow(/args\.replicas: min must not exceed max/);
  });

  test("fails when model is not a model reference", () => {
    expect(attempt({ model: "fraud" })).toThrow(/args\.model: is not a model reference.*received "fraud"/);
  });

  test("fails when both provider and kubeconfig are given", () => {
    const provider = new k8s.Provider(`p${++n}`, { kubeconfig: "x" });
    expect(attempt({ kubernetes: { provider, kubeconfig: "x" } as never })).toThrow(/args\.kubernetes: gives both provider and kubeconfig/);
  });

  test("fails when the registry is not a URI", () => {
    expect(attempt({ registry: "models-bucket" })).toThrow(/args\.registry/);
  });

  test("fails when the name is not a DNS label", () => {
    expect(attempt({}, "Fraud_Model")).toThrow(/^new ModelEndpoint\("Fraud_Model"\).*\n.*name: must be/);
  });

  test("fails when a resource is not a Kubernetes quantity", () => {
    expect(attempt({ resources: { memory: "2 GB" } })).toThrow(/args\.resources\.memory: must be a Kubernetes memory quantity such as "1Gi" or "512Mi".*received "2 GB"/);
  });

  test("fails when a resource is out of the range a pod can have", () => {
    expect(attempt({ resources: { cpu: "0" } })).toThrow(/args\.resources\.cpu: must be a Kubernetes CPU quantity/);
  });

  test("fails when an unknown option is given", () => {
    expect(attempt({ replica: 3 } as never)).toThrow(/replica/);
  });

  test("fails with every problem listed in one error", () => {
    expect(attempt({ model: "x", replicas: { min: 0 }, gpu: { count: 0 } })).toThrow(/3 invalid values/);
  });

  test("fails before creating any child", async () => {
    expect(attempt({ model: "nope" })).toThrow();
    await waitForResources();
    expect(resources().filter((r) => r.options.parent.includes("mlops:serving:ModelEndpoint"))).toEqual([]);
  });
});
