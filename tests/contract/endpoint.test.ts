/**
 * Contract: the Deployment that `ModelEndpoint` renders (container args, MLOPS_ENDPOINT_SPEC, the token
 * from its Secret, probe paths and port) boots the real `mlops serve`, whose probes then answer and which
 * serves the registered model from the S3 registry the component named. A second endpoint, on an empty
 * registry reached the way a kind cluster reaches MinIO (an S3 endpoint and credentials from a Secret, no
 * IRSA), boots from the rendered environment alone: live, ready for the rollout (what the Deployment's
 * await reads) but not OIP ready, until a model is registered.
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
let freshDeployment: K8sObject;
let secrets: K8sObject[];
const TOKEN = "contract-test-token-0123456789";
let freshRegistry: Registry;

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
  // A fresh stage on kind: nothing registered yet, S3 reached at an endpoint with static credentials.
  const freshUri = `s3://${s3.bucket}/fresh-stage`;
  freshRegistry = new Registry(openStore(freshUri, { env: { ...process.env, ...s3.env } }));
  new ModelEndpoint("fresh", {
    registry: freshUri,
    model: "cancer@champion",
    kubernetes: { kubeconfig: "apiVersion: v1" },
    image: "registry.example.com/mlops-runtime:1",
    pollIntervalSeconds: 0.2,
    s3: {
      endpoint: s3.endpoint,
      region: s3.env.AWS_REGION!,
      credentials: { accessKeyId: pulumi.secret(s3.env.AWS_ACCESS_KEY_ID!), secretAccessKey: pulumi.secret(s3.env.AWS_SECRET_ACCESS_KEY!) },
    },
  });
  await waitForResources();
  deployment = k8sObjectsOfKind("Deployment").find((d) => d.metadata.name === "mlops-staging-cancer")!;
  freshDeployment = k8sObjectsOfKind("Deployment").find((d) => d.metadata.name === "mlops-staging-fresh")!;
  secrets = k8sObjectsOfKind("Secret");
});
afterAll(async () => s3?.stop());


/** The env the kubelet would give the container: plain values and secretKeyRefs resolved. */
function containerEnv(
  container: { env: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }> },
  from: K8sObject[] = secrets,
) {
  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const secret = from.find((x) => x.metadata.name === ref.name);
      expect(secret, `Secret ${ref.name}`).toBeDefined();
      const data = (secret! as unknown as { stringData?: Record<string, string>; data?: Record<string, string> });
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
      const denied = await fetch(`${base}/v2/models/cancer/infer`, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(denied.status).toBe(401);
      const ok = await fetch(`${base}/v2/models/cancer/infer`, { method: "POST", body, headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { model_version: string }).model_version).toBe("1");
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });
});

/** Starts `mlops serve` as the kubelet would: the container's args and only its rendered environment. */
function bootFromPod(d: K8sObject, port: number, from: K8sObject[] = secrets) {
  const container = podSpecOf(d)!.containers[0];
  const env = containerEnv(container, from);
  const spec = JSON.parse(env.MLOPS_ENDPOINT_SPEC!);
  spec.server.port = port;
  const child: ResultPromise = execa("node", [BIN, ...container.args], {
    cwd: ROOT,
    // Nothing from this machine's environment: the registry must be reached with what the pod is given.
    env: { ...env, MLOPS_ENDPOINT_SPEC: JSON.stringify(spec), PATH: process.env.PATH ?? "" },
    extendEnv: false,
    reject: false,
  });
  return { container, child };
}

describe("a fresh stage on kind: S3-compatible registry with credentials from a Secret, no model yet", () => {
  it("renders the S3 endpoint in plain and the credentials only as Secret references", () => {
    const env = podSpecOf(freshDeployment)!.containers[0].env as Array<{ name: string; value?: string; valueFrom?: unknown }>;
    expect(env.find((e) => e.name === "MLOPS_S3_ENDPOINT")?.value).toBe(s3.endpoint);
    for (const name of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      expect(env.find((e) => e.name === name)).toEqual({ name, valueFrom: { secretKeyRef: { name: "mlops-staging-fresh-s3", key: name } } });
    }
  });

  it("is live and ready for the rollout while not ready, then serves once the model is registered", async () => {
    const port = await freePort();
    const { container, child } = bootFromPod(freshDeployment, port);
    try {
      const base = `http://127.0.0.1:${port}`;
      const probe = async (path: string) => (await fetch(base + path).catch(() => undefined))?.status;
      const until = async (path: string, status: number) => {
        const deadline = Date.now() + 30_000;
        while ((await probe(path)) !== status) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${path} never answered ${status}: ${(await child).stderr}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      // What the Deployment's await reads (pod Ready, from this probe) holds with an empty registry...
      await until(container.readinessProbe.httpGet.path, 200);
      expect(await probe(container.livenessProbe.httpGet.path)).toBe(200);
      expect(await probe(container.startupProbe.httpGet.path)).toBe(200);
      // ...which the runtime only says after reading the registry with the rendered endpoint and credentials.
      const rollout = (await (await fetch(base + container.readinessProbe.httpGet.path)).json()) as { awaitingModel?: boolean; reason?: string };
      expect(rollout.awaitingModel).toBe(true);
      expect(rollout.reason).toBe("not_found");
      expect(await probe("/v2/health/ready")).toBe(503);

      await freshRegistry.register("cancer", await readFile(EXAMPLE_MODEL), { alias: "champion" });
      await until("/v2/health/ready", 200);
      const body = JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 30], data: new Array(30).fill(1) }] });
      const ok = await fetch(`${base}/v2/models/cancer/infer`, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(ok.status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });

  it("is not ready for the rollout when the credentials are wrong, so pulumi up would fail", async () => {
    const port = await freePort();
    const wrong = secrets.map((x) =>
      x.metadata.name === "mlops-staging-fresh-s3" ? { ...x, stringData: { AWS_ACCESS_KEY_ID: "WRONG", AWS_SECRET_ACCESS_KEY: "WRONG" } } : x,
    );
    const { container, child } = bootFromPod(freshDeployment, port, wrong);
    try {
      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      let reply: { status: number; reason: string } | undefined;
      while (Date.now() < deadline && child.exitCode === null) {
        const r = await fetch(base + container.readinessProbe.httpGet.path).catch(() => undefined);
        if (r) {
          const b = (await r.json()) as { reason?: string };
          if (b.reason && b.reason !== "loading") {
            reply = { status: r.status, reason: b.reason };
            break;
          }
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(reply?.status).toBe(503);
      expect(reply?.reason).toBe("access_denied");
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });
});
