/**
 * Contract: the Deployment that `ModelEndpoint` renders (container args, MLOPS_ENDPOINT_SPEC, the token
 * from its Secret, probe paths and port) boots the real `mlops serve`, whose probes then answer and which
 * serves the registered model from the S3 registry the component named.
 */
import { execa, type ResultPromise } from "execa";
import { readFile } from "node:fs/promises";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../src/registry/index.js";
import { openStore } from "../../src/store/index.js";
import { BIN, EXAMPLE_MODEL, ROOT } from "../helpers/cli.js";
import { podSpecOf } from "../helpers/k8s.js";
import { k8sObjectsOfKind, setupMocks, waitForResources, type K8sObject } from "../helpers/pulumi-mocks.js";
import { startS3, type TestS3 } from "../helpers/s3.js";
import { freePort } from "../../src/net.js";

let s3: TestS3;
let deployment: K8sObject;
let secret: K8sObject;
const TOKEN = "contract-test-token-0123456789";

beforeAll(async () => {
  s3 = await startS3("endpoint-contract");
  const registryUri = `s3://${s3.bucket}/registry`;
  const registry = new Registry(openStore(registryUri, { env: { ...process.env, ...s3.env } }));
  await registry.register("cancer", await readFile(EXAMPLE_MODEL), { alias: "champion" });

  await setupMocks({ project: "mlops", stack: "staging" });
  const { ModelEndpoint } = await import("../../components/model-endpoint/index.js");
  new ModelEndpoint("cancer", {
    registry: registryUri,
    model: "cancer@champion",
    kubernetes: { kubeconfig: "apiVersion: v1" },
    image: "registry.example.com/mlops-runtime:1",
    auth: { token: pulumi.secret(TOKEN) },
  });
  await waitForResources();
  deployment = k8sObjectsOfKind("Deployment")[0]!;
  secret = k8sObjectsOfKind("Secret")[0]!;
});
afterAll(async () => s3?.stop());


/** The env the kubelet would give the container: plain values and secretKeyRefs resolved. */
function containerEnv(container: { env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }> }) {
  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      expect(secret.metadata.name).toBe(ref.name);
      const data = (secret as unknown as { stringData?: Record<string, string>; data?: Record<string, string> });
      env[e.name] = data.stringData?.[ref.key] ?? Buffer.from(data.data![ref.key]!, "base64").toString();
    }
  }
  return env;
}

describe("the EndpointSpec rendered by ModelEndpoint", () => {
  it("boots mlops serve, whose configured probes answer and which serves the model", async () => {
    const pod = podSpecOf(deployment)!;
    const container = pod.containers[0];
    const env = containerEnv(container);
    const spec = JSON.parse(env.MLOPS_ENDPOINT_SPEC!);
    const http = container.ports.find((p: { name: string }) => p.name === "http");
    expect(spec.server.port).toBe(http.containerPort);
    expect(container.readinessProbe.httpGet.port).toBe("http");
    // The pod owns its network namespace; here the port must be one that is free on this machine.
    const port = await freePort();
    spec.server.port = port;

    const child: ResultPromise = execa("node", [BIN, ...container.args], {
      cwd: ROOT,
      env: { ...env, MLOPS_ENDPOINT_SPEC: JSON.stringify(spec), ...s3.env },
      reject: false,
    });
    try {
      const base = `http://127.0.0.1:${port}`;
      const probe = async (path: string) => (await fetch(base + path).catch(() => undefined))?.status;
      const deadline = Date.now() + 30_000;
      while ((await probe(container.readinessProbe.httpGet.path)) !== 200) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server never became ready: ${(await child).stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await probe(container.livenessProbe.httpGet.path)).toBe(200);
      expect(await probe(container.startupProbe.httpGet.path)).toBe(200);

      const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 30], data: new Array(30).fill(1) }] });
      const denied = await fetch(`${base}/v2/models/cancer/infer`, { method: "POST", body });
      expect(denied.status).toBe(401);
      const ok = await fetch(`${base}/v2/models/cancer/infer`, { method: "POST", body, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { model_version: string }).model_version).toBe("1");
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });
});
