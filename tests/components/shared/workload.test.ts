// The runtime workload builder alone: plain values in, plain objects out, no Pulumi engine involved.
import { describe, expect, test } from "vitest";
import { runtimePodTemplate, runtimeServiceAccount, type RuntimeWorkload } from "../../../components/shared/workload.js";
import { podSecurityLabels } from "../../../components/shared/pod-security.js";
import { podSecurityRestrictedViolations, validateK8sObject } from "../../helpers/k8s.js";

const workload = (over: Partial<RuntimeWorkload> = {}): RuntimeWorkload => ({
  containerName: "job",
  image: "runtime@sha256:abc",
  command: ["drift"],
  spec: { env: "MLOPS_DRIFT_SPEC", json: '{"name":"x"}' },
  serviceAccountName: "drift",
  resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { memory: "1Gi" } },
  volumes: [{ name: "tmp", mountPath: "/tmp", sizeLimit: "1Gi" }],
  labels: { app: "drift" },
  terminationGracePeriodSeconds: 30,
  ...over,
});
const asJob = (template: ReturnType<typeof runtimePodTemplate>) => ({
  apiVersion: "batch/v1",
  kind: "Job",
  metadata: { name: "drift", namespace: "ml" },
  spec: { template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } } },
});

describe("runtimePodTemplate", () => {
  test("makes a pod that validates and meets Pod Security restricted", () => {
    const job = asJob(runtimePodTemplate(workload()));
    expect(validateK8sObject(job).errors).toEqual([]);
    expect(podSecurityRestrictedViolations(job.spec.template.spec)).toEqual([]);
  });

  test("puts the spec first in the environment, then the extra variables", () => {
    const t = runtimePodTemplate(workload({ env: [{ name: "A", value: "1" }] }));
    expect(t.spec.containers[0]!.env).toEqual([
      { name: "MLOPS_DRIFT_SPEC", value: '{"name":"x"}' },
      { name: "A", value: "1" },
    ]);
  });

  test("runs `mlops <command>` of the image, as the image's non-root user, on a read-only root filesystem", () => {
    const c = runtimePodTemplate(workload()).spec.containers[0]!;
    expect(c.args).toEqual(["drift"]);
    expect(c.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
  });

  test("gives the pod no Kubernetes API token and no service links", () => {
    const t = runtimePodTemplate(workload());
    expect(t.spec).toMatchObject({ serviceAccountName: "drift", automountServiceAccountToken: false, enableServiceLinks: false });
  });

  test("mounts each writable folder as an emptyDir of its size", () => {
    const t = runtimePodTemplate(workload({ volumes: [{ name: "shm", mountPath: "/dev/shm", medium: "Memory", sizeLimit: "2Gi" }, { name: "tmp", mountPath: "/tmp", sizeLimit: "1Gi" }] }));
    expect(t.spec.containers[0]!.volumeMounts).toEqual([{ name: "shm", mountPath: "/dev/shm" }, { name: "tmp", mountPath: "/tmp" }]);
    expect(t.spec.volumes).toEqual([{ name: "shm", emptyDir: { medium: "Memory", sizeLimit: "2Gi" } }, { name: "tmp", emptyDir: { sizeLimit: "1Gi" } }]);
  });

  test("leaves nodeSelector and tolerations out when there are none", () => {
    const t = runtimePodTemplate(workload({ nodeSelector: {}, tolerations: [] }));
    expect(t.spec).not.toHaveProperty("nodeSelector");
    expect(t.spec).not.toHaveProperty("tolerations");
  });
});

describe("runtimeServiceAccount", () => {
  test("annotates the role to assume when there is one", () => {
    const sa = runtimeServiceAccount({ name: "drift", namespace: "ml", labels: {}, roleArn: "arn:aws:iam::1:role/r" });
    expect(sa.metadata.annotations).toEqual({ "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r" });
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(validateK8sObject(sa).errors).toEqual([]);
  });

  test("has no annotation without a role", () => {
    expect(runtimeServiceAccount({ name: "drift", namespace: "ml", labels: {} }).metadata).not.toHaveProperty("annotations");
  });
});

describe("podSecurityLabels", () => {
  test("enforces, audits and warns at the same level", () => {
    expect(podSecurityLabels("restricted")).toEqual({
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "latest",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/audit": "restricted",
    });
  });
});
