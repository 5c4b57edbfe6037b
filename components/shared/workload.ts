/**
 * The runtime workload builder: what every component that runs this package's runtime image shares,
 * written once. A pod runs the image with one `mlops <command>`, receives its validated spec as one JSON
 * environment variable, runs as the image's non-root user under Pod Security "restricted" with a
 * read-only root filesystem, and uses a ServiceAccount of its own (an IAM role through IRSA on EKS,
 * never a Kubernetes API token). ModelEndpoint (Deployment) and TrainingJob (Job, CronJob) build their
 * pods here; feature materialization and drift jobs will too.
 *
 * Pure: given plain values (or Inputs) it returns plain objects, tested without Pulumi.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { IRSA_ANNOTATION, RUNTIME_UID } from "./constants.js";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "./pod-security.js";

type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;

/** A writable folder of the pod (the root filesystem is read-only). */
export interface ScratchVolume {
  readonly name: string;
  readonly mountPath: string;
  /** `emptyDir.sizeLimit`, a Kubernetes quantity. */
  readonly sizeLimit: pulumi.Input<string>;
  /** `"Memory"` for a tmpfs (e.g. /dev/shm). @default - the node's disk */
  readonly medium?: "Memory";
}

/** One pod of the runtime image. */
export interface RuntimeWorkload {
  readonly containerName: string;
  readonly image: pulumi.Input<string>;
  /** Arguments of the image's entrypoint (the `mlops` command): `["serve"]`, `["train"]`. */
  readonly command: readonly string[];
  /** The spec: its environment variable (e.g. `MLOPS_ENDPOINT_SPEC`) and the rendered JSON. */
  readonly spec: { readonly env: string; readonly json: pulumi.Input<string> };
  /** More environment, after the spec (secrets by reference, the Job's own variables). @default [] */
  readonly env?: readonly EnvVar[];
  readonly serviceAccountName: string;
  readonly resources: k8s.types.input.core.v1.ResourceRequirements;
  /** Writable folders, mounted in this order. */
  readonly volumes: readonly ScratchVolume[];
  readonly ports?: readonly k8s.types.input.core.v1.ContainerPort[];
  readonly probes?: { readonly startup?: Probe; readonly liveness?: Probe; readonly readiness?: Probe };
  /** Container lifecycle hooks (e.g. a `preStop` sleep while endpoints update). @default - none */
  readonly lifecycle?: k8s.types.input.core.v1.Lifecycle;
  /** Pod template labels and annotations. */
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly terminationGracePeriodSeconds: number;
  /** Pod spec fields of the workload kind: `restartPolicy`, `priorityClassName`, `subdomain`, `topologySpreadConstraints`, … */
  readonly podSpec?: Omit<k8s.types.input.core.v1.PodSpec, "containers" | "volumes" | "securityContext" | "serviceAccountName">;
  /** Where the pods may run. @default - anywhere */
  readonly nodeSelector?: Record<string, string>;
  readonly tolerations?: readonly k8s.types.input.core.v1.Toleration[];
}

/** The pod template of a Deployment, Job or CronJob running the runtime image. */
export function runtimePodTemplate(w: RuntimeWorkload) {
  const container = {
    name: w.containerName,
    image: w.image,
    imagePullPolicy: "IfNotPresent",
    args: [...w.command],
    ...(w.ports && w.ports.length > 0 ? { ports: [...w.ports] } : {}),
    env: [{ name: w.spec.env, value: w.spec.json }, ...(w.env ?? [])],
    resources: w.resources,
    ...(w.probes?.startup ? { startupProbe: w.probes.startup } : {}),
    ...(w.probes?.liveness ? { livenessProbe: w.probes.liveness } : {}),
    ...(w.probes?.readiness ? { readinessProbe: w.probes.readiness } : {}),
    ...(w.lifecycle ? { lifecycle: w.lifecycle } : {}),
    securityContext: restrictedContainerSecurityContext(RUNTIME_UID),
    volumeMounts: w.volumes.map((v) => ({ name: v.name, mountPath: v.mountPath })),
  };
  return {
    metadata: { labels: { ...w.labels }, ...(w.annotations ? { annotations: { ...w.annotations } } : {}) },
    spec: {
      ...w.podSpec,
      serviceAccountName: w.serviceAccountName,
      // The runtime never calls the Kubernetes API: no API token in the pod (IRSA mounts its own).
      automountServiceAccountToken: false,
      // Service environment variables would only grow with the namespace; nothing reads them.
      enableServiceLinks: false,
      terminationGracePeriodSeconds: w.terminationGracePeriodSeconds,
      securityContext: restrictedPodSecurityContext(RUNTIME_UID),
      ...(w.nodeSelector && Object.keys(w.nodeSelector).length > 0 ? { nodeSelector: { ...w.nodeSelector } } : {}),
      ...(w.tolerations && w.tolerations.length > 0 ? { tolerations: [...w.tolerations] } : {}),
      containers: [container],
      volumes: w.volumes.map((v) => ({ name: v.name, emptyDir: { ...(v.medium ? { medium: v.medium } : {}), sizeLimit: v.sizeLimit } })),
    },
  };
}

/** The workload's own ServiceAccount: no API token, and the IAM role to assume when there is one. */
export function runtimeServiceAccount(sa: {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly labels: Record<string, string>;
  readonly roleArn?: pulumi.Input<string>;
}) {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: {
      name: sa.name,
      namespace: sa.namespace,
      labels: { ...sa.labels },
      ...(sa.roleArn !== undefined ? { annotations: { [IRSA_ANNOTATION]: sa.roleArn } } : {}),
    },
    automountServiceAccountToken: false,
  };
}
