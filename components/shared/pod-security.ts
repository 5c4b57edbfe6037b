/**
 * Pod Security, written once for every workload and namespace a component creates: the namespace labels
 * that make the API server enforce a level (and audit and warn at it), and the pod and container security
 * contexts that meet the "restricted" standard.
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
import { RUNTIME_UID } from "./constants.js";

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

/**
 * Labels of a namespace that enforces `level` on every pod in it, and reports violations of it in the
 * audit log and as warnings to the client, against the cluster's own (latest) version of the standard.
 */
export function podSecurityLabels(level: PodSecurityLevel): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": level,
    "pod-security.kubernetes.io/audit": level,
  };
}

/** A pod's security context under "restricted": non-root (the runtime image's user), the default seccomp profile. */
export function restrictedPodSecurityContext(uid: number = RUNTIME_UID) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * A container's security context under "restricted", with a read-only root filesystem on top: the
 * runtime writes only to the volumes mounted for it (/tmp, checkpoints, shared memory).
 */
export function restrictedContainerSecurityContext(uid: number = RUNTIME_UID) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}
