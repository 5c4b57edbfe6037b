// The builders alone, with plain strings: no Pulumi engine or mocks involved.
import { describe, expect, test } from "vitest";
import {
  autoscalerArgs,
  buildEndpointSpec,
  deploymentArgs,
  disruptionBudgetArgs,
  endpointEnv,
  namespaceArgs,
  networkPolicyArgs,
  normalizeEndpoint,
  serviceAccountArgs,
  serviceArgs,
  ROLLOUT_READY_PATH,
  type ManifestContext,
} from "../../../components/model-endpoint/index.js";
import { SERVING_PLACEMENT } from "../../../components/shared/constants.js";
import { recommendedLabels, selectorLabels } from "../../../src/naming.js";
import { parseEndpointSpec, SERVE_PATHS } from "../../../src/spec/endpoint.js";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject } from "../../helpers/k8s.js";

const labels = recommendedLabels({ name: "fraud", instance: "mlops-dev-fraud", component: "model-endpoint", partOf: "mlops" });
const ctx = (over: Partial<Parameters<typeof normalizeEndpoint>[0]> = {}): ManifestContext => {
  const endpoint = normalizeEndpoint({ registry: "s3://b", model: "fraud@champion", kubernetes: { kubeconfig: "x" }, ...over }, "dev");
  return {
    physicalName: "mlops-dev-fraud",
    namespace: "ml",
    labels,
    selector: selectorLabels({ name: "fraud", instance: "mlops-dev-fraud" }),
    image: "runtime:1",
    specJson: JSON.stringify(buildEndpointSpec({ name: "fraud", registryUri: "s3://b", endpoint })),
    endpoint,
  };
};
const obj = (apiVersion: string, kind: string, args: object) => ({ apiVersion, kind, ...args });

describe("manifest builders", () => {
  test("every object validates against the Kubernetes schema", () => {
    const c = ctx({ gpu: { count: 1, nodeSelector: { gpu: "a10g" } }, allowFrom: { namespaces: ["monitoring"] } });
    const objects = [
      obj("v1", "Namespace", namespaceArgs("ml", labels)),
      obj("v1", "ServiceAccount", serviceAccountArgs(c)),
      obj("apps/v1", "Deployment", deploymentArgs(c)),
      obj("v1", "Service", serviceArgs(c)),
      obj("autoscaling/v2", "HorizontalPodAutoscaler", autoscalerArgs(c)),
      obj("policy/v1", "PodDisruptionBudget", disruptionBudgetArgs(c)),
      obj("networking.k8s.io/v1", "NetworkPolicy", networkPolicyArgs(c)),
    ];
    expect(objects.flatMap((o) => validateK8sObject(o).errors)).toEqual([]);
  });

  test("the pod meets Pod Security restricted", () => {
    const pod = podSpecOf(obj("apps/v1", "Deployment", deploymentArgs(ctx())));
    expect(podSecurityRestrictedViolations(pod!)).toEqual([]);
  });

  test("the namespace enforces Pod Security restricted", () => {
    expect(namespaceArgs("ml", labels).metadata).toMatchObject({ labels: { "pod-security.kubernetes.io/enforce": "restricted" } });
  });

  test("the spec rendered into the container parses as an EndpointSpec", () => {
    const env = (deploymentArgs(ctx()) as any).spec.template.spec.containers[0].env;
    const spec = parseEndpointSpec(JSON.parse(env.find((e: { name: string }) => e.name === "MLOPS_ENDPOINT_SPEC").value));
    expect(spec).toMatchObject({ name: "fraud", model: "fraud@champion", registry: "s3://b", server: { port: 8080 } });
  });

  test("buildEndpointSpec carries batching, drain and auth settings", () => {
    const endpoint = normalizeEndpoint(
      { registry: "s3://b", model: "fraud:3", kubernetes: { kubeconfig: "x" }, batching: { maxBatchSize: 8 }, drainSeconds: 5, auth: { token: "t" } },
      "prod",
    );
    expect(buildEndpointSpec({ name: "fraud", registryUri: "file:///r", endpoint })).toMatchObject({
      model: "fraud:3",
      registry: "file:///r",
      batching: { maxBatchSize: 8, maxBatchDelayMs: 2 },
      server: { drainSeconds: 5 },
      auth: { enabled: true },
    });
  });

  test("probes point at paths the runtime serves", () => {
    const c = (deploymentArgs(ctx()) as any).spec.template.spec.containers[0];
    const paths = [c.livenessProbe, c.readinessProbe, c.startupProbe].map((p) => p.httpGet.path);
    expect(paths.every((p: string) => ([...Object.values(SERVE_PATHS), ROLLOUT_READY_PATH] as string[]).includes(p))).toBe(true);
    expect(c.readinessProbe.httpGet.path).toBe(ROLLOUT_READY_PATH);
  });
});

describe("normalizeEndpoint placement", () => {
  const base = { registry: "s3://b", model: "fraud@champion", kubernetes: { kubeconfig: "x" } } as const;

  test("puts a CPU endpoint on the cluster's serving placement", () => {
    const e = normalizeEndpoint(base, "prod", { servingPlacement: SERVING_PLACEMENT });
    expect(e.placement).toEqual({ nodeSelector: SERVING_PLACEMENT.nodeSelector, tolerations: SERVING_PLACEMENT.tolerations });
  });

  test("keeps a GPU endpoint's own placement over the serving placement", () => {
    const e = normalizeEndpoint({ ...base, gpu: { count: 1, nodeSelector: { gpu: "a10g" } } }, "prod", { servingPlacement: SERVING_PLACEMENT });
    expect(e.placement).toEqual({ nodeSelector: { gpu: "a10g" }, tolerations: [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }] });
  });

  test("places nothing by default", () => {
    expect(normalizeEndpoint(base, "prod").placement).toBeUndefined();
  });
});

describe("endpointEnv", () => {
  test("references the S3 credentials and auth token by Secret, with the endpoint in plain", () => {
    const c = ctx({ auth: { token: "t" }, s3: { endpoint: "http://minio:9000", credentials: { accessKeyId: "k", secretAccessKey: "s" } } });
    expect(endpointEnv(c)).toEqual([
      { name: "MLOPS_AUTH_TOKEN", valueFrom: { secretKeyRef: { name: "mlops-dev-fraud-auth", key: "token" } } },
      { name: "MLOPS_S3_ENDPOINT", value: "http://minio:9000" },
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "mlops-dev-fraud-s3", key: "AWS_ACCESS_KEY_ID" } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "mlops-dev-fraud-s3", key: "AWS_SECRET_ACCESS_KEY" } } },
    ]);
  });

  test("is empty by default", () => {
    expect(endpointEnv(ctx())).toEqual([]);
  });
});
