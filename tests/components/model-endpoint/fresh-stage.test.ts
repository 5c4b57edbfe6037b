/**
 * A fresh stage: its registry has no model yet, so the Deployment must still become Available (pulumi
 * awaits it) while a real rollout failure keeps failing. See ROLLOUT_READY_PATH in manifests.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { SERVE_PATHS } from "../../../src/spec/endpoint.js";
import { podSpecOf } from "../../helpers/k8s.js";
import { findResource, k8sObjectsOfKind, outputOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
let mod: EndpointMod;
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "prod" });
  mod = await import("../../../components/model-endpoint/index.js");
});
beforeEach(() => reset());
afterEach(() => vi.restoreAllMocks());

async function make() {
  const name = `fraud${++n}`;
  const endpoint = new mod.ModelEndpoint(name, {
    registry: "s3://models/prod",
    model: "fraud@champion",
    kubernetes: { kubeconfig: "apiVersion: v1" },
    image: "registry.example.com/mlops-runtime:1",
  });
  await waitForResources();
  return { name, endpoint };
}
const deployment = () => k8sObjectsOfKind("Deployment")[0]!;
const container = () => podSpecOf(deployment())!.containers[0];

describe("a fresh stage's endpoint", () => {
  test("is ready for Kubernetes on the runtime's rollout path, not on OIP ready", async () => {
    await make();
    expect(container().readinessProbe.httpGet).toEqual({ path: "/v2/health/rollout", port: "http" });
    expect(mod.ROLLOUT_READY_PATH).toBe("/v2/health/rollout");
  });

  test("keeps liveness and startup on the live path, so a crash loop still fails them", async () => {
    await make();
    expect([container().livenessProbe.httpGet.path, container().startupProbe.httpGet.path]).toEqual([SERVE_PATHS.live, SERVE_PATHS.live]);
  });

  test("keeps pulumi's default Deployment await: no skipAwait, no waitFor that a broken rollout would satisfy", async () => {
    await make();
    const d = findResource("kubernetes:apps/v1:Deployment");
    const annotations = { ...(d.object!.metadata.annotations ?? {}), ...(d.object!.spec.template.metadata.annotations ?? {}) };
    expect(Object.keys(annotations).filter((k) => k.startsWith("pulumi.com/"))).toEqual([]);
  });

  test("never takes a serving pod away before its replacement is ready", async () => {
    await make();
    expect(deployment().spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
  });

  test("creates the autoscaler after the Deployment", async () => {
    await make();
    const hpa = findResource("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    expect(hpa.options.dependencies.some((u) => u.includes("kubernetes:apps/v1:Deployment"))).toBe(true);
  });

  test("warns that it waits for its first model when the registry has none", async () => {
    const warn = vi.spyOn(pulumi.log, "warn");
    const { name } = await make();
    const said = warn.mock.calls.map((c) => String(c[0])).filter((m) => m.includes(`ModelEndpoint "${name}"`));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/waits for its first model while fraud@champion is not in the registry/);
    expect(said[0]).toMatch(/readyUrl/);
  });

  test("exposes readyUrl, the OIP ready path of its Service", async () => {
    const { name, endpoint } = await make();
    expect(await outputOf(endpoint.readyUrl)).toBe(`http://mlops-prod-${name}.mlops-prod-${name}.svc.cluster.local/v2/health/ready`);
  });
});
