import * as k8s from "@pulumi/kubernetes";
import { describe, expect, test } from "vitest";
import { kubeconfigProblem, kubeconfigSchema, KubernetesTargetSchema } from "../../../components/shared/kubernetes.js";
import { eksKubeconfig } from "../../../components/training-cluster/eks.js";
import { MlopsError, parseOrThrow } from "../../../src/errors.js";

const CANARY = "CANARY-9f3b";
const yamlKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: { server: "https://example:6443" }
users:
- name: u
  user: { token: ${CANARY} }
contexts:
- name: c
  context: { cluster: c, user: u }
current-context: c
`;
const jsonKubeconfig = JSON.stringify({ apiVersion: "v1", kind: "Config", users: [{ name: "u", user: { token: CANARY } }] }, null, "\t");

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MlopsError);
    return (e as Error).message;
  }
  throw new Error("expected an MlopsError");
}

describe("kubeconfigProblem", () => {
  test("accepts YAML", () => expect(kubeconfigProblem(yamlKubeconfig)).toBeUndefined());

  test("accepts JSON, tab-indented too", () => expect(kubeconfigProblem(jsonKubeconfig)).toBeUndefined());

  test("accepts the kubeconfig an EKS TrainingCluster outputs (JSON)", () => {
    expect(kubeconfigProblem(eksKubeconfig({ clusterName: "c1", endpoint: "https://x", caData: "Q0E=", region: "eu-west-1" }))).toBeUndefined();
  });

  test("rejects broken JSON and broken YAML without quoting them", () => {
    const json = kubeconfigProblem(`{"users": [{"token": "${CANARY}"`);
    const yaml = kubeconfigProblem(`users:\n  - token: ${CANARY}\n bad: [`);
    expect(json).toMatch(/not valid JSON/);
    expect(yaml).toMatch(/not valid YAML \(line \d+, column \d+\)/);
    expect(`${json}${yaml}`).not.toContain(CANARY);
  });

  test("rejects an empty kubeconfig", () => expect(kubeconfigProblem("  \n")).toMatch(/is empty/));
});

describe("kubeconfig errors never print the kubeconfig", () => {
  test("a bad kubeconfig", () => {
    const msg = messageOf(() => parseOrThrow(kubeconfigSchema, `{ "token": "${CANARY}"`, "kubeconfig"));
    expect(msg).toContain("not shown: secret");
    expect(msg).not.toContain(CANARY);
  });

  test("a kubeconfig given as an object instead of text", () => {
    const msg = messageOf(() => parseOrThrow(KubernetesTargetSchema, { kubeconfig: { users: [{ token: CANARY }] } }, "kubernetes"));
    expect(msg).toContain("kubernetes.kubeconfig");
    expect(msg).not.toContain(CANARY);
  });

  test("a target giving both a provider and a kubeconfig", () => {
    const provider = Object.create(k8s.Provider.prototype) as k8s.Provider;
    const msg = messageOf(() => parseOrThrow(KubernetesTargetSchema, { provider, kubeconfig: yamlKubeconfig }, "kubernetes"));
    expect(msg).toContain("gives both provider and kubeconfig");
    expect(msg).not.toContain(CANARY);
  });
});
