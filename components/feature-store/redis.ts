/**
 * The in-cluster online store, for clusters the component makes no AWS resources for: one Valkey server
 * (the Valkey project's image) as a StatefulSet under Pod Security "restricted" (its own non-root user, a
 * read-only root filesystem with the data on a PersistentVolumeClaim, no capabilities, RuntimeDefault
 * seccomp), a ClusterIP Service and a NetworkPolicy. The AUTH token reaches the server as a config file
 * mounted from the Secret, never on its command line nor in the manifest. Pure builders.
 */
import { quantityValue } from "../shared/validate.js";
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from "../shared/pod-security.js";
import { allowedPeers, authSecretName, partLabels, partName, type FeatureStoreManifestContext } from "./manifests.js";
import { FEATURE_STORE_DEFAULTS as D, type OnlineStore } from "./normalize.js";

type Obj = Record<string, any>;
type InCluster = Extract<OnlineStore, { kind: "in-cluster" }>;

const CONFIG_DIR = "/etc/valkey";
const DATA_DIR = "/data";

/** `redis://<service>.<namespace>.svc:6379`: no credentials (they come from passwordEnv). */
export function inClusterRedisUrl(ctx: Pick<FeatureStoreManifestContext, "base">, namespace: string): string {
  return `redis://${partName(ctx, "redis")}.${namespace}.svc:${D.redisPort}`;
}

/**
 * The server's arguments after its config file (which holds only `requirepass`): append-only persistence
 * (the store must survive a restart: the watermark says what was materialized), no RDB snapshots (a fork per
 * save), and `noeviction` below the memory limit, so a full store fails writes loudly instead of dropping
 * features that reads would then report as NOT_FOUND.
 */
export function serverArgs(store: InCluster): string[] {
  const limit = quantityValue(store.resources.memory) ?? 0;
  const maxmemory = Math.floor(limit * D.inCluster.maxmemoryFraction);
  return [
    `${CONFIG_DIR}/${D.secretKeys.serverConfig}`,
    "--port", String(D.redisPort),
    "--dir", DATA_DIR,
    "--appendonly", store.storage ? "yes" : "no",
    "--save", "",
    "--maxmemory", String(maxmemory),
    "--maxmemory-policy", "noeviction",
    // The Service and the NetworkPolicy are the perimeter; the image already builds with protected mode off.
    "--protected-mode", "no",
  ];
}

export function redisStatefulSetManifest(ctx: FeatureStoreManifestContext, store: InCluster): Obj {
  const { labels, selector } = partLabels(ctx, "redis");
  const name = partName(ctx, "redis");
  const uid = D.inCluster.uid;
  const { cpu, memory } = store.resources;
  const auth = { secretKeyRef: { name: authSecretName(ctx), key: D.secretKeys.password } };
  const container = {
    name: "valkey",
    image: store.image,
    imagePullPolicy: "IfNotPresent",
    // The image's entrypoint only steps down from root, which this pod never is.
    command: ["valkey-server"],
    args: serverArgs(store),
    ports: [{ name: "redis", containerPort: D.redisPort, protocol: "TCP" }],
    // For the probe's valkey-cli only (it reads the token from these, so it is not on a command line).
    env: [
      { name: "VALKEYCLI_AUTH", valueFrom: auth },
      { name: "REDISCLI_AUTH", valueFrom: auth },
    ],
    resources: { requests: { cpu, memory }, limits: { cpu, memory } },
    // PONG only once the data is loaded and the token accepted (valkey-cli exits 0 on an error reply).
    readinessProbe: { exec: { command: ["sh", "-c", "valkey-cli -p 6379 ping | grep -q PONG"] }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    livenessProbe: { tcpSocket: { port: "redis" }, initialDelaySeconds: 10, periodSeconds: 10, failureThreshold: 6 },
    securityContext: restrictedContainerSecurityContext(uid),
    volumeMounts: [
      { name: "data", mountPath: DATA_DIR },
      { name: "config", mountPath: CONFIG_DIR, readOnly: true },
    ],
  };
  const volumes: Obj[] = [
    // Group-readable: the pod's fsGroup owns the projected file.
    { name: "config", secret: { secretName: authSecretName(ctx), items: [{ key: D.secretKeys.serverConfig, path: D.secretKeys.serverConfig }], defaultMode: 0o440 } },
    ...(store.storage ? [] : [{ name: "data", emptyDir: { sizeLimit: memory } }]),
  ];
  const claims = store.storage
    ? [
        {
          metadata: { name: "data", labels },
          spec: {
            accessModes: ["ReadWriteOnce"],
            ...(store.storage.storageClassName !== undefined ? { storageClassName: store.storage.storageClassName } : {}),
            resources: { requests: { storage: store.storage.size } },
          },
        },
      ]
    : [];
  const p = ctx.store.placement;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace: ctx.namespace, labels },
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: selector },
      ...(claims.length > 0 ? { volumeClaimTemplates: claims, persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" } } : {}),
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          securityContext: restrictedPodSecurityContext(uid),
          ...(ctx.store.priorityClassName !== undefined ? { priorityClassName: ctx.store.priorityClassName } : {}),
          ...(p ? { nodeSelector: p.nodeSelector, tolerations: p.tolerations } : {}),
          containers: [container],
          volumes,
        },
      },
    },
  };
}

export function redisServiceManifest(ctx: FeatureStoreManifestContext): Obj {
  const { labels, selector } = partLabels(ctx, "redis");
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: partName(ctx, "redis"), namespace: ctx.namespace, labels },
    spec: { type: "ClusterIP", selector, ports: [{ name: "redis", port: D.redisPort, targetPort: "redis", protocol: "TCP", appProtocol: "redis" }] },
  };
}

/** Ingress to the server only on 6379, only from the store's namespace and the namespaces its server admits. */
export function redisNetworkPolicyManifest(ctx: FeatureStoreManifestContext): Obj {
  const { labels, selector } = partLabels(ctx, "redis");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: partName(ctx, "redis"), namespace: ctx.namespace, labels },
    spec: { podSelector: { matchLabels: selector }, policyTypes: ["Ingress"], ingress: [{ from: allowedPeers(ctx), ports: [{ protocol: "TCP", port: D.redisPort }] }] },
  };
}
