/**
 * Checks for the Kubernetes objects components emit: schema validation (kubernetes-models 4.5, i.e. the
 * Kubernetes 1.27 OpenAPI schema), an unknown-field check that schema validation lacks, and the Pod
 * Security Standard "restricted" profile.
 *
 * ```ts
 * for (const obj of k8sObjects()) expect(validateK8sObject(obj).errors).toEqual([]);
 * const pod = podSpecOf(deployment);
 * expect(podSecurityRestrictedViolations(pod!)).toEqual([]);
 * ```
 */
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ClusterRole } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole";
import { ClusterRoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { PriorityClass } from "kubernetes-models/scheduling.k8s.io/v1/PriorityClass";
import { StorageClass } from "kubernetes-models/storage.k8s.io/v1/StorageClass";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { PersistentVolumeClaim } from "kubernetes-models/v1/PersistentVolumeClaim";
import { Pod } from "kubernetes-models/v1/Pod";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ServiceAccount } from "kubernetes-models/v1/ServiceAccount";
import { ALLOWED_KEYS, KIND_KEYS, type KeyRule } from "./k8s-fields.js";

type ModelCtor = new (data: any) => { validate(): void };

/** `apiVersion/kind` → the kubernetes-models class that validates it. */
const MODELS: Record<string, ModelCtor> = {
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "apps/v1/DaemonSet": DaemonSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "batch/v1/Job": Job,
  "batch/v1/CronJob": CronJob,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "scheduling.k8s.io/v1/PriorityClass": PriorityClass,
  "storage.k8s.io/v1/StorageClass": StorageClass,
  "v1/ConfigMap": ConfigMap,
  "v1/LimitRange": LimitRange,
  "v1/Namespace": Namespace,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Pod": Pod,
  "v1/ResourceQuota": ResourceQuota,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
};

/** The `apiVersion/kind` pairs validated against the full schema. Anything else is metadata-only. */
export const SCHEMA_KINDS: readonly string[] = Object.keys(MODELS);

export interface K8sValidation {
  /** `apiVersion/kind` of the object. */
  readonly gvk: string;
  /**
   * `schema`: full OpenAPI schema plus the unknown-field check; `metadata-only`: a kind this helper has
   * no schema for (a CRD such as Kueue's ClusterQueue), checked for apiVersion, kind and metadata.name only.
   */
  readonly checkedBy: "schema" | "metadata-only";
  /** Empty when valid; each entry `<path>: <problem>`. */
  readonly errors: readonly string[];
}

/**
 * Validates one object. Besides the schema, it flags fields the schema does not know (kubernetes-models
 * accepts them silently, the API server drops or rejects them): at the top level, in metadata, in the
 * spec of the kinds listed in `KIND_KEYS`, and everywhere a pod template appears (pod spec, every
 * container, security contexts, probes, ports, env, volumes and volume mounts).
 */
export function validateK8sObject(obj: unknown): K8sValidation {
  const o = (obj ?? {}) as Record<string, any>;
  const gvk = `${String(o.apiVersion)}/${String(o.kind)}`;
  const errors: string[] = [];
  if (typeof o.apiVersion !== "string" || !o.apiVersion) errors.push("apiVersion: missing");
  if (typeof o.kind !== "string" || !o.kind) errors.push("kind: missing");
  const name = o.metadata?.name;
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    errors.push(`metadata.name: not a DNS subdomain name (${JSON.stringify(name)})`);
  }
  const Model = MODELS[gvk];
  if (!Model) return { gvk, checkedBy: "metadata-only", errors };
  try {
    new Model(o).validate();
  } catch (e) {
    const list = (e as { errors?: { instancePath: string; message?: string; params?: unknown }[] }).errors;
    if (list) errors.push(...list.map((x) => `${x.instancePath || "/"}: ${x.message ?? "invalid"} ${JSON.stringify(x.params ?? {})}`));
    else errors.push(String(e));
  }
  errors.push(...unknownFields(o, gvk));
  return { gvk, checkedBy: "schema", errors };
}

/** Validates many objects; returns the problems prefixed with `Kind/name`, and which were metadata-only. */
export function validateK8sObjects(objs: readonly unknown[]): { errors: string[]; metadataOnly: string[] } {
  const errors: string[] = [];
  const metadataOnly: string[] = [];
  for (const obj of objs) {
    const o = obj as Record<string, any>;
    const id = `${o?.kind}/${o?.metadata?.name}`;
    const v = validateK8sObject(obj);
    errors.push(...v.errors.map((e) => `${id} ${e}`));
    if (v.checkedBy === "metadata-only") metadataOnly.push(`${v.gvk} ${o?.metadata?.name}`);
  }
  return { errors, metadataOnly };
}

function unknownFields(o: Record<string, any>, gvk: string): string[] {
  const out: string[] = [];
  const rule = KIND_KEYS[gvk.slice(gvk.lastIndexOf("/") + 1)];
  if (rule) walk(o, rule, "", out);
  return out;
}

/** Checks keys of `value` against `rule` (a set of allowed keys, some of which recurse into sub-rules). */
function walk(value: unknown, rule: KeyRule, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, rule, `${path}[${i}]`, out));
    return;
  }
  if (typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    if (!(key in rule)) {
      out.push(`${path ? path + "." : ""}${key}: unknown field`);
      continue;
    }
    const sub = rule[key];
    if (sub) walk(child, typeof sub === "string" ? ALLOWED_KEYS[sub]! : sub, `${path ? path + "." : ""}${key}`, out);
  }
}

/** The pod spec inside a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob; else undefined. */
export function podSpecOf(obj: unknown): Record<string, any> | undefined {
  const o = (obj ?? {}) as Record<string, any>;
  switch (o.kind) {
    case "Pod":
      return o.spec;
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return o.spec?.template?.spec;
    case "CronJob":
      return o.spec?.jobTemplate?.spec?.template?.spec;
    default:
      return undefined;
  }
}

/** The pod template metadata (labels, annotations) of a workload, or the Pod's own metadata. */
export function podMetadataOf(obj: unknown): Record<string, any> | undefined {
  const o = (obj ?? {}) as Record<string, any>;
  if (o.kind === "Pod") return o.metadata;
  if (o.kind === "CronJob") return o.spec?.jobTemplate?.spec?.template?.metadata;
  return o.spec?.template?.metadata;
}

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
  "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
]);
const RESTRICTED_VOLUME_TYPES = new Set([
  "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

/**
 * The Pod Security Standard "restricted" profile (which includes "baseline"), as documented at
 * https://kubernetes.io/docs/concepts/security/pod-security-standards/ for Linux pods. Returns one line
 * per violation, `<control>: <path> <what>`; empty when the pod spec complies.
 *
 * `allow` lists control names to skip (e.g. `["hostPath"]` for a node agent that is documented as an
 * exception): `hostProcess`, `hostNamespaces`, `privileged`, `capabilities`, `hostPath`, `hostPorts`,
 * `appArmor`, `seLinux`, `procMount`, `seccomp`, `sysctls`, `volumeTypes`, `privilegeEscalation`,
 * `runAsNonRoot`, `runAsUser`.
 */
export function podSecurityRestrictedViolations(podSpec: Record<string, any>, opts: { allow?: string[] } = {}): string[] {
  const allow = new Set(opts.allow ?? []);
  const out: string[] = [];
  const add = (control: string, msg: string) => {
    if (!allow.has(control)) out.push(`${control}: ${msg}`);
  };
  const psc = (podSpec.securityContext ?? {}) as Record<string, any>;
  const containers: [string, Record<string, any>][] = [];
  for (const field of ["containers", "initContainers", "ephemeralContainers"]) {
    (podSpec[field] ?? []).forEach((c: Record<string, any>, i: number) => containers.push([`spec.${field}[${i}]`, c]));
  }
  if (containers.length === 0) add("containers", "spec.containers is empty");

  // Baseline.
  if (psc.windowsOptions?.hostProcess) add("hostProcess", "spec.securityContext.windowsOptions.hostProcess is true");
  for (const f of ["hostNetwork", "hostPID", "hostIPC"]) if (podSpec[f]) add("hostNamespaces", `spec.${f} is true`);
  for (const [i, v] of (podSpec.volumes ?? []).entries()) {
    const type = Object.keys(v).find((k) => k !== "name");
    if (v.hostPath) add("hostPath", `spec.volumes[${i}] (${v.name}) is a hostPath volume`);
    else if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) add("volumeTypes", `spec.volumes[${i}] (${v.name}) has type ${type}`);
  }
  checkAppArmor(psc.appArmorProfile, "spec.securityContext", add);
  checkSeLinux(psc.seLinuxOptions, "spec.securityContext", add);
  for (const s of psc.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) add("sysctls", `spec.securityContext.sysctls ${s.name} is not a safe sysctl`);

  // Restricted, pod level.
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp !== undefined && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") {
    add("seccomp", `spec.securityContext.seccompProfile.type is ${podSeccomp}`);
  }
  if (psc.runAsUser === 0) add("runAsUser", "spec.securityContext.runAsUser is 0");

  for (const [path, c] of containers) {
    const sc = (c.securityContext ?? {}) as Record<string, any>;
    if (sc.windowsOptions?.hostProcess) add("hostProcess", `${path}.securityContext.windowsOptions.hostProcess is true`);
    if (sc.privileged) add("privileged", `${path}.securityContext.privileged is true`);
    for (const [j, p] of (c.ports ?? []).entries()) if (p.hostPort) add("hostPorts", `${path}.ports[${j}].hostPort is ${p.hostPort}`);
    checkAppArmor(sc.appArmorProfile, `${path}.securityContext`, add);
    checkSeLinux(sc.seLinuxOptions, `${path}.securityContext`, add);
    if (sc.procMount !== undefined && sc.procMount !== "Default") add("procMount", `${path}.securityContext.procMount is ${sc.procMount}`);
    if (sc.allowPrivilegeEscalation !== false) add("privilegeEscalation", `${path}.securityContext.allowPrivilegeEscalation is not false`);
    // runAsNonRoot: the container's own setting wins; unset falls back to the pod's.
    const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
    if (nonRoot !== true) add("runAsNonRoot", `${path}: runAsNonRoot is not true (container or pod securityContext)`);
    if (sc.runAsUser === 0) add("runAsUser", `${path}.securityContext.runAsUser is 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
      add("seccomp", `${path}: seccompProfile.type is ${seccomp ?? "unset"} (need RuntimeDefault or Localhost on the container or pod)`);
    }
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) add("capabilities", `${path}.securityContext.capabilities.drop does not include ALL`);
    for (const cap of (sc.capabilities?.add ?? []) as string[]) {
      if (cap !== "NET_BIND_SERVICE") {
        add("capabilities", `${path}.securityContext.capabilities.add has ${cap}${BASELINE_CAPABILITIES.has(cap) ? "" : " (not even baseline)"}`);
      }
    }
  }
  return out;
}

function checkAppArmor(profile: Record<string, any> | undefined, path: string, add: (c: string, m: string) => void): void {
  if (profile?.type !== undefined && profile.type !== "RuntimeDefault" && profile.type !== "Localhost") {
    add("appArmor", `${path}.appArmorProfile.type is ${profile.type}`);
  }
}

function checkSeLinux(opts: Record<string, any> | undefined, path: string, add: (c: string, m: string) => void): void {
  if (!opts) return;
  if (opts.type !== undefined && !SELINUX_TYPES.has(opts.type)) add("seLinux", `${path}.seLinuxOptions.type is ${opts.type}`);
  if (opts.user) add("seLinux", `${path}.seLinuxOptions.user is set`);
  if (opts.role) add("seLinux", `${path}.seLinuxOptions.role is set`);
}
