/**
 * What the pod policies read out of a Kubernetes resource: the pod spec inside a Pod or a workload, its
 * containers, and the Pod Security Standard "restricted" controls (which include "baseline"), for Linux
 * pods, as the standard lists them: https://kubernetes.io/docs/concepts/security/pod-security-standards/
 * Pure functions over the resource's properties, so the tests call them without an engine.
 */

/** Pulumi type tokens of the Kubernetes resources that carry a pod spec, with the path to it. */
export const POD_CARRIERS: Readonly<Record<string, readonly string[]>> = {
  "kubernetes:core/v1:Pod": ["spec"],
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export type PodSpec = Record<string, any>;

/** The pod spec of a resource of `type`, with the property path that leads to it; undefined for other types. */
export function podSpecOf(type: string, props: Record<string, any>): { spec: PodSpec; path: string } | undefined {
  const path = POD_CARRIERS[type];
  if (!path) return undefined;
  let v: any = props;
  for (const key of path) v = v?.[key];
  return v && typeof v === "object" ? { spec: v as PodSpec, path: path.join(".") } : undefined;
}

/** Every container of a pod (init and ephemeral ones too), each with its path inside the pod spec. */
export function containersOf(pod: PodSpec): { path: string; container: Record<string, any> }[] {
  const out: { path: string; container: Record<string, any> }[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    const list = Array.isArray(pod[field]) ? pod[field] : [];
    list.forEach((c: Record<string, any>, i: number) => out.push({ path: `${field}[${i}]${c?.name ? ` (${c.name})` : ""}`, container: c ?? {} }));
  }
  return out;
}

const VOLUME_TYPES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes",
]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const SECCOMP_OK = new Set(["RuntimeDefault", "Localhost"]);

/**
 * The ways `pod` breaks "restricted": one line per finding, `<path>: <what>; <fix>`. Empty when it complies.
 * A container's own setting wins over the pod's where the standard says so (runAsNonRoot, seccomp).
 */
export function restrictedViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  const psc = (pod.securityContext ?? {}) as Record<string, any>;
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) {
    out.push(`hostNetwork/hostPID/hostIPC: a host namespace is shared; set them false (or leave them unset)`);
  }
  for (const [i, v] of (Array.isArray(pod.volumes) ? pod.volumes : []).entries()) {
    const type = Object.keys(v ?? {}).find((k) => k !== "name");
    if (!type || !VOLUME_TYPES.has(type)) {
      out.push(`volumes[${i}] (${v?.name}): a ${type ?? "typeless"} volume; restricted allows ${[...VOLUME_TYPES].join(", ")}`);
    }
  }
  if (psc.windowsOptions?.hostProcess) out.push("securityContext.windowsOptions.hostProcess: true; remove it");
  for (const s of Array.isArray(psc.sysctls) ? psc.sysctls : []) {
    if (!SAFE_SYSCTLS.has(s?.name)) out.push(`securityContext.sysctls: ${s?.name} is not a safe sysctl; remove it`);
  }
  checkProfiles(psc, "securityContext", out);
  if (psc.runAsUser === 0) out.push("securityContext.runAsUser: 0 (root); run as a non-zero user");
  const podSeccomp = psc.seccompProfile?.type;
  if (podSeccomp !== undefined && !SECCOMP_OK.has(podSeccomp)) out.push(`securityContext.seccompProfile.type: ${podSeccomp}; use RuntimeDefault`);

  for (const { path, container } of containersOf(pod)) {
    const sc = (container.securityContext ?? {}) as Record<string, any>;
    const at = `${path}.securityContext`;
    if (sc.privileged) out.push(`${at}.privileged: true; remove it`);
    if (sc.windowsOptions?.hostProcess) out.push(`${at}.windowsOptions.hostProcess: true; remove it`);
    for (const p of Array.isArray(container.ports) ? container.ports : []) {
      if (p?.hostPort) out.push(`${path}.ports: hostPort ${p.hostPort}; use a Service instead`);
    }
    checkProfiles(sc, at, out);
    if (sc.procMount !== undefined && sc.procMount !== "Default") out.push(`${at}.procMount: ${sc.procMount}; use Default`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${at}.allowPrivilegeEscalation: not false; set it to false`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${at}.runAsNonRoot: not true (here or on the pod); set it to true`);
    if (sc.runAsUser === 0) out.push(`${at}.runAsUser: 0 (root); run as a non-zero user`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (!SECCOMP_OK.has(seccomp)) out.push(`${at}.seccompProfile.type: ${seccomp ?? "unset"} (here and on the pod); set RuntimeDefault`);
    const drop: unknown[] = Array.isArray(sc.capabilities?.drop) ? sc.capabilities.drop : [];
    if (!drop.includes("ALL")) out.push(`${at}.capabilities.drop: does not include ALL; drop ALL`);
    for (const cap of Array.isArray(sc.capabilities?.add) ? sc.capabilities.add : []) {
      if (cap !== "NET_BIND_SERVICE") out.push(`${at}.capabilities.add: ${cap}; only NET_BIND_SERVICE may be added`);
    }
  }
  return out;
}

/** AppArmor and SELinux settings of a pod or container security context. */
function checkProfiles(sc: Record<string, any>, at: string, out: string[]): void {
  const apparmor = sc.appArmorProfile?.type;
  if (apparmor !== undefined && !SECCOMP_OK.has(apparmor)) out.push(`${at}.appArmorProfile.type: ${apparmor}; use RuntimeDefault`);
  const se = sc.seLinuxOptions;
  if (se) {
    if (se.type !== undefined && !SELINUX_TYPES.has(se.type)) out.push(`${at}.seLinuxOptions.type: ${se.type}; use container_t or leave it unset`);
    if (se.user || se.role) out.push(`${at}.seLinuxOptions: user/role set; leave them unset`);
  }
}

/**
 * Containers that do not say what they need: each must request CPU and memory (so the scheduler can place
 * it and the HPA can scale on utilization) and limit memory (so one pod cannot take a node's memory). A CPU
 * limit is not required: it throttles a pod that has spare CPU next to it.
 */
export function resourceViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  for (const { path, container } of containersOf(pod)) {
    if (path.startsWith("ephemeralContainers")) continue; // ephemeral containers take no resources
    const r = (container.resources ?? {}) as Record<string, any>;
    const missing = [
      r.requests?.cpu === undefined ? "requests.cpu" : undefined,
      r.requests?.memory === undefined ? "requests.memory" : undefined,
      r.limits?.memory === undefined ? "limits.memory" : undefined,
    ].filter(Boolean);
    if (missing.length > 0) out.push(`${path}.resources: ${missing.join(", ")} not set; set them (e.g. requests { cpu: "500m", memory: "1Gi" }, limits { memory: "1Gi" })`);
  }
  return out;
}

/** An image reference pinned to one content: `<repo>[:tag]@sha256:<64 hex>`. */
export const DIGEST_PINNED = /@sha256:[a-f0-9]{64}$/;

/** Containers whose image is a tag (mutable) rather than a digest. */
export function unpinnedImages(pod: PodSpec): string[] {
  return containersOf(pod)
    .filter(({ container }) => typeof container.image !== "string" || !DIGEST_PINNED.test(container.image))
    .map(({ path, container }) => `${path}.image: ${JSON.stringify(container.image ?? null)} is not pinned by digest; use <repo>@sha256:<digest> (RuntimeImage's ref is)`);
}

/** Environment variables that hold long-lived cloud keys (an IRSA role or workload identity replaces them). */
export const CLOUD_KEY_VARS: ReadonlySet<string> = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AZURE_CLIENT_SECRET"]);

/**
 * Containers that receive long-lived cloud keys: a key variable set literally or from a Secret or
 * ConfigMap. The value is never quoted.
 */
export function cloudKeyViolations(pod: PodSpec): string[] {
  const out: string[] = [];
  for (const { path, container } of containersOf(pod)) {
    for (const e of Array.isArray(container.env) ? container.env : []) {
      if (!CLOUD_KEY_VARS.has(e?.name)) continue;
      out.push(`${path}.env ${e.name}: a long-lived cloud key from ${keySource(e)}; give the pod's ServiceAccount an IAM role (IRSA) instead`);
    }
  }
  return out;
}

/** Where a key variable's value comes from; "a value" when a preview does not know it yet (reading it throws). */
function keySource(e: Record<string, any>): string {
  try {
    if (e.valueFrom?.secretKeyRef) return `Secret ${e.valueFrom.secretKeyRef.name}`;
    if (e.valueFrom?.configMapKeyRef) return `ConfigMap ${e.valueFrom.configMapKeyRef.name}`;
    return e.value !== undefined ? "a literal value" : "a reference";
  } catch {
    return "a value";
  }
}

/** Keys of a Kubernetes Secret that look like long-lived cloud keys (env-style names or a credentials file). */
export function cloudKeySecretKeys(props: Record<string, any>): string[] {
  const keys = [...Object.keys(props.data ?? {}), ...Object.keys(props.stringData ?? {})];
  return keys.filter((k) => CLOUD_KEY_VARS.has(k) || /^aws_(access_key_id|secret_access_key)$/.test(k));
}
