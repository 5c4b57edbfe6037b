import { describe, expect, test } from "vitest";
import { podSecurityRestrictedViolations, podSpecOf, validateK8sObject, validateK8sObjects } from "./k8s.js";

const restrictedPod = () => ({
  securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: "RuntimeDefault" } },
  containers: [
    {
      name: "c",
      image: "i",
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, readOnlyRootFilesystem: true },
    },
  ],
  volumes: [{ name: "tmp", emptyDir: {} }],
});

const deployment = (spec: Record<string, unknown> = restrictedPod()) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web" },
  spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec } },
});

describe("validateK8sObject", () => {
  test("accepts a valid Deployment against the schema", () => {
    expect(validateK8sObject(deployment())).toEqual({ gvk: "apps/v1/Deployment", checkedBy: "schema", errors: [] });
  });
  test("fails when a field has the wrong type", () => {
    const d = deployment();
    (d.spec as Record<string, unknown>).replicas = "two";
    expect(validateK8sObject(d).errors.join()).toMatch(/\/spec\/replicas: must be integer/);
  });
  test("fails when a container has an unknown field", () => {
    const pod = restrictedPod();
    (pod.containers[0] as Record<string, unknown>).imagePullPolicyy = "Always";
    expect(validateK8sObject(deployment(pod)).errors).toContain(
      "spec.template.spec.containers[0].imagePullPolicyy: unknown field",
    );
  });
  test("fails when metadata.name is not a DNS name", () => {
    expect(validateK8sObject({ ...deployment(), metadata: { name: "Web_1" } }).errors[0]).toMatch(/metadata.name/);
  });
  test("checks unknown kinds for metadata only", () => {
    const cq = { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "ClusterQueue", metadata: { name: "gpu" }, spec: { anything: 1 } };
    expect(validateK8sObjects([cq])).toEqual({ errors: [], metadataOnly: ["kueue.x-k8s.io/v1beta1/ClusterQueue gpu"] });
  });
});

describe("podSecurityRestrictedViolations", () => {
  test("accepts a restricted pod", () => {
    expect(podSecurityRestrictedViolations(podSpecOf(deployment())!)).toEqual([]);
  });
  test("fails when a container is privileged and escalates", () => {
    const pod = restrictedPod();
    Object.assign(pod.containers[0]!.securityContext, { privileged: true, allowPrivilegeEscalation: true });
    const v = podSecurityRestrictedViolations(pod);
    expect(v.some((x) => x.startsWith("privileged:"))).toBe(true);
    expect(v.some((x) => x.startsWith("privilegeEscalation:"))).toBe(true);
  });
  test("fails when seccomp and runAsNonRoot are unset", () => {
    const pod = restrictedPod();
    pod.securityContext = {} as never;
    const v = podSecurityRestrictedViolations(pod);
    expect(v.filter((x) => /^(seccomp|runAsNonRoot):/.test(x))).toHaveLength(2);
  });
  test("fails when a capability other than NET_BIND_SERVICE is added", () => {
    const pod = restrictedPod();
    Object.assign(pod.containers[0]!.securityContext.capabilities, { add: ["NET_BIND_SERVICE", "SYS_ADMIN"] });
    expect(podSecurityRestrictedViolations(pod)).toEqual([
      "capabilities: spec.containers[0].securityContext.capabilities.add has SYS_ADMIN (not even baseline)",
    ]);
  });
  test("fails when the pod uses host namespaces, hostPath and host ports", () => {
    const pod = { ...restrictedPod(), hostNetwork: true, volumes: [{ name: "h", hostPath: { path: "/" } }] };
    (pod.containers[0] as Record<string, unknown>).ports = [{ containerPort: 80, hostPort: 80 }];
    const controls = podSecurityRestrictedViolations(pod).map((x) => x.split(":")[0]);
    expect(controls).toEqual(expect.arrayContaining(["hostNamespaces", "hostPath", "hostPorts"]));
  });
  test("skips the controls listed in allow", () => {
    const pod = { ...restrictedPod(), volumes: [{ name: "h", hostPath: { path: "/" } }] };
    expect(podSecurityRestrictedViolations(pod, { allow: ["hostPath"] })).toEqual([]);
  });
  test("finds the pod spec of a CronJob", () => {
    const spec = restrictedPod();
    const cron = { kind: "CronJob", spec: { jobTemplate: { spec: { template: { spec } } } } };
    expect(podSpecOf(cron)).toBe(spec);
  });
});
