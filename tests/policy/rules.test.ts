/**
 * The checks behind each policy, on hand-built resources: every Pod Security control, the resource,
 * image and cloud-key rules, the bucket and cluster findings, and the type tokens the policies match
 * (taken from the provider SDKs' own classes, so a renamed token fails here).
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { describe, expect, test } from "vitest";
import { podSecurityRestrictedViolations } from "../helpers/k8s.js";
import { belongsTo, encryptionFindings, publicFindings, S3 } from "../../policy/buckets.js";
import { EKS_CLUSTER, endpointFindings } from "../../policy/cluster.js";
import { cloudKeySecretKeys, cloudKeyViolations, POD_CARRIERS, podSpecOf, resourceViolations, restrictedViolations, unpinnedImages } from "../../policy/pod-security.js";
import { stackOfUrn, tierOf } from "../../policy/stage.js";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../../components/shared/pod-security.js";

/** A pod that meets "restricted", built from the components' own security contexts. */
function goodPod(): Record<string, any> {
  return {
    securityContext: restrictedPodSecurityContext(),
    containers: [
      {
        name: "app",
        image: `r.example.com/app@sha256:${"0".repeat(64)}`,
        securityContext: restrictedContainerSecurityContext(),
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "128Mi" } },
      },
    ],
    volumes: [{ name: "tmp", emptyDir: {} }],
  };
}
const withContainer = (sc: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  const pod = goodPod();
  pod.containers[0] = { ...pod.containers[0], ...extra, securityContext: { ...pod.containers[0].securityContext, ...sc } };
  return pod;
};

describe("restrictedViolations", () => {
  test("passes a pod built from the components' restricted security contexts", () => {
    expect(restrictedViolations(goodPod())).toEqual([]);
  });

  const cases: [string, Record<string, any>, RegExp][] = [
    ["host network", { ...goodPod(), hostNetwork: true }, /hostNetwork\/hostPID\/hostIPC/],
    ["hostPath volume", { ...goodPod(), volumes: [{ name: "h", hostPath: { path: "/" } }] }, /volumes\[0\] \(h\): a hostPath volume/],
    ["unsafe sysctl", { ...goodPod(), securityContext: { ...restrictedPodSecurityContext(), sysctls: [{ name: "kernel.msgmax", value: "1" }] } }, /kernel\.msgmax is not a safe sysctl/],
    ["privileged", withContainer({ privileged: true }), /privileged: true/],
    ["privilege escalation", withContainer({ allowPrivilegeEscalation: true }), /allowPrivilegeEscalation: not false/],
    ["root", withContainer({ runAsUser: 0 }), /runAsUser: 0/],
    ["runAsNonRoot unset everywhere", { ...withContainer({ runAsNonRoot: undefined }), securityContext: { seccompProfile: { type: "RuntimeDefault" } } }, /runAsNonRoot: not true/],
    ["seccomp Unconfined", withContainer({ seccompProfile: { type: "Unconfined" } }), /seccompProfile\.type: Unconfined/],
    ["capabilities not dropped", withContainer({ capabilities: { drop: [] } }), /capabilities\.drop: does not include ALL/],
    ["capability added", withContainer({ capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } }), /capabilities\.add: SYS_ADMIN/],
    ["host port", withContainer({}, { ports: [{ containerPort: 80, hostPort: 80 }] }), /hostPort 80/],
    ["procMount", withContainer({ procMount: "Unmasked" }), /procMount: Unmasked/],
    ["AppArmor", withContainer({ appArmorProfile: { type: "Unconfined" } }), /appArmorProfile\.type: Unconfined/],
    ["SELinux type", withContainer({ seLinuxOptions: { type: "spc_t" } }), /seLinuxOptions\.type: spc_t/],
  ];
  test.each(cases)("reports %s, as the test suite's own check does", (_what, pod, message) => {
    const found = restrictedViolations(pod);
    expect(found.join("\n")).toMatch(message);
    expect(podSecurityRestrictedViolations(pod)).not.toEqual([]);
  });

  test("lets the pod's runAsNonRoot and seccomp stand for a container that sets neither", () => {
    const pod = withContainer({ runAsNonRoot: undefined, seccompProfile: undefined });
    expect(restrictedViolations(pod)).toEqual([]);
  });
});

describe("resourceViolations", () => {
  test("requires cpu and memory requests and a memory limit, not a CPU limit", () => {
    expect(resourceViolations(goodPod())).toEqual([]);
    const pod = withContainer({}, { resources: { limits: { cpu: "1" } } });
    expect(resourceViolations(pod)).toEqual([expect.stringMatching(/^containers\[0\] \(app\)\.resources: requests\.cpu, requests\.memory, limits\.memory not set/)]);
  });

  test("checks init containers too", () => {
    const pod = { ...goodPod(), initContainers: [{ name: "init", image: "x" }] };
    expect(resourceViolations(pod)).toEqual([expect.stringMatching(/^initContainers\[0\] \(init\)/)]);
  });
});

describe("unpinnedImages", () => {
  test("accepts repo@sha256 and repo:tag@sha256, refuses a tag or a short digest", () => {
    const pin = (image: string) => unpinnedImages(withContainer({}, { image }));
    expect(pin(`r.example.com/app@sha256:${"ab".repeat(32)}`)).toEqual([]);
    expect(pin(`r.example.com/app:1.2@sha256:${"ab".repeat(32)}`)).toEqual([]);
    expect(pin("r.example.com/app:1.2")).toEqual([expect.stringContaining('"r.example.com/app:1.2" is not pinned by digest')]);
    expect(pin("r.example.com/app@sha256:abc")).toHaveLength(1);
  });
});

describe("cloud keys", () => {
  test("reports AWS key variables however they are set, and nothing else", () => {
    const env = [
      { name: "AWS_ACCESS_KEY_ID", value: "AKIAIOSFODNN7EXAMPLE" },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "keys", key: "k" } } },
      { name: "AWS_REGION", value: "us-east-1" },
      { name: "AWS_ROLE_ARN", value: "arn:aws:iam::1:role/x" },
    ];
    const found = cloudKeyViolations(withContainer({}, { env }));
    expect(found).toHaveLength(2);
    expect(found.join("\n")).not.toContain("AKIAIOSFODNN7EXAMPLE");
  });

  test("finds key names in a Secret's data and stringData", () => {
    expect(cloudKeySecretKeys({ data: { aws_secret_access_key: "eA==" }, stringData: { token: "x" } })).toEqual(["aws_secret_access_key"]);
    expect(cloudKeySecretKeys({ stringData: { AUTH_TOKEN: "x" } })).toEqual([]);
  });
});

describe("bucket findings", () => {
  test("reports public ACLs, public grants, open public-access blocks and Allow-anyone policies", () => {
    expect(publicFindings("aws:s3/bucket:Bucket", { acl: "public-read-write" })).toHaveLength(1);
    expect(publicFindings("aws:s3/bucketAclV2:BucketAclV2", { accessControlPolicy: { grants: [{ grantee: { uri: "http://acs.amazonaws.com/groups/global/AllUsers" } }] } })).toHaveLength(1);
    expect(publicFindings("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", { blockPublicAcls: true })).toHaveLength(3);
    const allowAll = JSON.stringify({ Statement: [{ Sid: "open", Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "*" }] });
    expect(publicFindings("aws:s3/bucketPolicy:BucketPolicy", { policy: allowAll })).toEqual([expect.stringMatching(/statement open allows anyone/)]);
  });

  test("accepts a private ACL and a Deny-anyone (TLS-only) policy", () => {
    expect(publicFindings("aws:s3/bucket:Bucket", { acl: "private" })).toEqual([]);
    const tlsOnly = JSON.stringify({ Statement: [{ Effect: "Deny", Principal: "*", Action: "s3:*", Condition: { Bool: { "aws:SecureTransport": "false" } } }] });
    expect(publicFindings("aws:s3/bucketPolicy:BucketPolicy", { policy: tlsOnly })).toEqual([]);
  });

  test("requires AES256 or aws:kms in encryption settings, inline or separate", () => {
    const rules = (sseAlgorithm: string) => ({ rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm } }] });
    expect(encryptionFindings(S3.encryption[0], rules("aws:kms"))).toEqual([]);
    expect(encryptionFindings(S3.encryption[0], rules("none"))).toHaveLength(1);
    expect(encryptionFindings(S3.encryption[0], { rules: [] })).toHaveLength(1);
    expect(encryptionFindings("aws:s3/bucket:Bucket", { serverSideEncryptionConfiguration: { rule: { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } } } })).toEqual([]);
    expect(encryptionFindings("aws:s3/bucket:Bucket", {})).toEqual([]);
  });

  test("ties a setting to its bucket by property dependency or by the bucket's name or id", () => {
    const bucket = { urn: "urn:b", props: { bucket: "models-1", id: "models-id" } } as any;
    expect(belongsTo({ urn: "s", props: {}, propertyDependencies: { bucket: [bucket] } } as any, bucket)).toBe(true);
    expect(belongsTo({ urn: "s", props: { bucket: "models-1" }, propertyDependencies: {} } as any, bucket)).toBe(true);
    expect(belongsTo({ urn: "s", props: { bucket: "models-id" }, propertyDependencies: {} } as any, bucket)).toBe(true);
    expect(belongsTo({ urn: "s", props: { bucket: "other" }, propertyDependencies: {} } as any, bucket)).toBe(false);
  });
});

describe("endpointFindings", () => {
  test("accepts a private endpoint or one limited to CIDRs; refuses no CIDRs (EKS opens it to all) and ::/0", () => {
    expect(endpointFindings({ vpcConfig: { endpointPublicAccess: false } })).toEqual([]);
    expect(endpointFindings({ vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: ["203.0.113.0/24"] } })).toEqual([]);
    expect(endpointFindings({ vpcConfig: {} })).toEqual([expect.stringMatching(/publicAccessCidrs: not set/)]);
    expect(endpointFindings({ vpcConfig: { publicAccessCidrs: ["10.0.0.0/8", "::/0"] } })).toEqual([expect.stringMatching(/::\/0 opens the endpoint/)]);
  });
});

describe("stage", () => {
  test("reads the stack from a URN and the tier from it, unless the stage setting says otherwise", () => {
    expect(stackOfUrn("urn:pulumi:prod-eu::mlops::aws:eks/cluster:Cluster::ml")).toBe("prod-eu");
    expect(stackOfUrn("not-a-urn")).toBeUndefined();
    expect(tierOf("urn:pulumi:prod-eu::p::t::n", {})).toBe("prod");
    expect(tierOf("urn:pulumi:prod::p::t::n", { stage: "staging" })).toBe("staging");
    expect(tierOf("urn:pulumi:qa::p::t::n", { stage: "  " })).toBe("staging");
  });
});

describe("type tokens", () => {
  test("are the provider SDKs' own", () => {
    const token = (cls: unknown) => (cls as { __pulumiType: string }).__pulumiType;
    expect([...S3.bucket]).toEqual([token(aws.s3.Bucket), token(aws.s3.BucketV2)]);
    expect([...S3.publicAccessBlock]).toEqual([token(aws.s3.BucketPublicAccessBlock)]);
    expect([...S3.encryption]).toEqual([token(aws.s3.BucketServerSideEncryptionConfiguration), token(aws.s3.BucketServerSideEncryptionConfigurationV2)]);
    expect([...S3.acl]).toEqual([token(aws.s3.BucketAcl), token(aws.s3.BucketAclV2)]);
    expect([...S3.policy]).toEqual([token(aws.s3.BucketPolicy)]);
    expect(EKS_CLUSTER).toBe(token(aws.eks.Cluster));
    const carriers = [k8s.core.v1.Pod, k8s.apps.v1.Deployment, k8s.apps.v1.StatefulSet, k8s.apps.v1.DaemonSet, k8s.apps.v1.ReplicaSet, k8s.batch.v1.Job, k8s.batch.v1.CronJob];
    expect(Object.keys(POD_CARRIERS).sort()).toEqual(carriers.map(token).sort());
  });

  test("podSpecOf finds the pod in a CronJob and ignores other kinds", () => {
    const pod = goodPod();
    expect(podSpecOf("kubernetes:batch/v1:CronJob", { spec: { jobTemplate: { spec: { template: { spec: pod } } } } })).toEqual({ spec: pod, path: "spec.jobTemplate.spec.template.spec" });
    expect(podSpecOf("kubernetes:core/v1:Service", { spec: {} })).toBeUndefined();
  });
});
