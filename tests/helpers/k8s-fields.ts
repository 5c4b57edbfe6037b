/**
 * Allowed field names for the unknown-field check in k8s.ts (kubernetes-models accepts unknown fields
 * silently). Taken from the Kubernetes API reference (1.27 plus later fields that are GA or beta by 1.31).
 * A rule maps each allowed key to `null` (not checked further), the name of a shared rule, or an inline rule.
 */
export type KeyRule = { readonly [key: string]: KeyRule | string | null };

const keys = (...names: string[]): Record<string, null> => Object.fromEntries(names.map((n) => [n, null]));

/** Shared rules, referenced by name. */
export const ALLOWED_KEYS: Record<string, KeyRule> = {
  ObjectMeta: keys(
    "name", "generateName", "namespace", "labels", "annotations", "ownerReferences", "finalizers", "uid",
    "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
    "managedFields", "selfLink",
  ),
  PodTemplateSpec: { metadata: "ObjectMeta", spec: "PodSpec" },
  PodSpec: {
    ...keys(
      "activeDeadlineSeconds", "affinity", "automountServiceAccountToken", "dnsConfig", "dnsPolicy",
      "enableServiceLinks", "hostAliases", "hostIPC", "hostNetwork", "hostPID", "hostUsers", "hostname",
      "imagePullSecrets", "nodeName", "nodeSelector", "os", "overhead", "preemptionPolicy", "priority",
      "priorityClassName", "readinessGates", "resourceClaims", "resources", "restartPolicy", "runtimeClassName",
      "schedulerName", "schedulingGates", "serviceAccount", "serviceAccountName", "setHostnameAsFQDN",
      "shareProcessNamespace", "subdomain", "terminationGracePeriodSeconds",
    ),
    containers: "Container",
    initContainers: "Container",
    ephemeralContainers: "Container",
    securityContext: "PodSecurityContext",
    tolerations: keys("effect", "key", "operator", "tolerationSeconds", "value"),
    topologySpreadConstraints: keys(
      "labelSelector", "matchLabelKeys", "maxSkew", "minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy",
      "topologyKey", "whenUnsatisfiable",
    ),
    volumes: keys(
      "name", "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi",
      "downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo",
      "glusterfs", "hostPath", "image", "iscsi", "nfs", "persistentVolumeClaim", "photonPersistentDisk",
      "portworxVolume", "projected", "quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume",
    ),
  },
  Container: {
    ...keys(
      "args", "command", "envFrom", "image", "imagePullPolicy", "lifecycle", "name", "resizePolicy",
      "restartPolicy", "stdin", "stdinOnce", "terminationMessagePath", "terminationMessagePolicy", "tty",
      "volumeDevices", "workingDir", "targetContainerName",
    ),
    env: {
      ...keys("name", "value"),
      valueFrom: keys("configMapKeyRef", "fieldRef", "resourceFieldRef", "secretKeyRef", "fileKeyRef"),
    },
    ports: keys("containerPort", "hostIP", "hostPort", "name", "protocol"),
    livenessProbe: "Probe",
    readinessProbe: "Probe",
    startupProbe: "Probe",
    resources: keys("limits", "requests", "claims"),
    securityContext: "SecurityContext",
    volumeMounts: keys("mountPath", "mountPropagation", "name", "readOnly", "recursiveReadOnly", "subPath", "subPathExpr"),
  },
  Probe: {
    ...keys(
      "exec", "failureThreshold", "grpc", "initialDelaySeconds", "periodSeconds", "successThreshold", "tcpSocket",
      "terminationGracePeriodSeconds", "timeoutSeconds",
    ),
    httpGet: keys("host", "httpHeaders", "path", "port", "scheme"),
  },
  SecurityContext: {
    ...keys(
      "allowPrivilegeEscalation", "appArmorProfile", "privileged", "procMount", "readOnlyRootFilesystem",
      "runAsGroup", "runAsNonRoot", "runAsUser", "seLinuxOptions", "windowsOptions",
    ),
    capabilities: keys("add", "drop"),
    seccompProfile: keys("type", "localhostProfile"),
  },
  PodSecurityContext: {
    ...keys(
      "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsNonRoot", "runAsUser",
      "seLinuxChangePolicy", "seLinuxOptions", "supplementalGroups", "supplementalGroupsPolicy", "sysctls",
      "windowsOptions",
    ),
    seccompProfile: keys("type", "localhostProfile"),
  },
  JobSpec: {
    ...keys(
      "activeDeadlineSeconds", "backoffLimit", "backoffLimitPerIndex", "completionMode", "completions",
      "managedBy", "manualSelector", "maxFailedIndexes", "parallelism", "podFailurePolicy",
      "podReplacementPolicy", "selector", "successPolicy", "suspend", "ttlSecondsAfterFinished",
    ),
    template: "PodTemplateSpec",
  },
};

const top = (extra: KeyRule): KeyRule => ({ apiVersion: null, kind: null, metadata: "ObjectMeta", status: null, ...extra });

/** Top-level rule per kind (by `kind`, whatever the group). Kinds not listed get no unknown-field check. */
export const KIND_KEYS: Record<string, KeyRule> = {
  Deployment: top({
    spec: {
      ...keys("minReadySeconds", "paused", "progressDeadlineSeconds", "replicas", "revisionHistoryLimit", "selector", "strategy"),
      template: "PodTemplateSpec",
    },
  }),
  StatefulSet: top({
    spec: {
      ...keys(
        "minReadySeconds", "ordinals", "persistentVolumeClaimRetentionPolicy", "podManagementPolicy", "replicas",
        "revisionHistoryLimit", "selector", "serviceName", "updateStrategy", "volumeClaimTemplates",
      ),
      template: "PodTemplateSpec",
    },
  }),
  DaemonSet: top({
    spec: { ...keys("minReadySeconds", "revisionHistoryLimit", "selector", "updateStrategy"), template: "PodTemplateSpec" },
  }),
  Pod: top({ spec: "PodSpec" }),
  Job: top({ spec: "JobSpec" }),
  CronJob: top({
    spec: {
      ...keys(
        "concurrencyPolicy", "failedJobsHistoryLimit", "schedule", "startingDeadlineSeconds",
        "successfulJobsHistoryLimit", "suspend", "timeZone",
      ),
      jobTemplate: { metadata: "ObjectMeta", spec: "JobSpec" },
    },
  }),
  Service: top({
    spec: {
      ...keys(
        "allocateLoadBalancerNodePorts", "clusterIP", "clusterIPs", "externalIPs", "externalName",
        "externalTrafficPolicy", "healthCheckNodePort", "internalTrafficPolicy", "ipFamilies", "ipFamilyPolicy",
        "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges", "publishNotReadyAddresses", "selector",
        "sessionAffinity", "sessionAffinityConfig", "trafficDistribution", "type",
      ),
      ports: keys("appProtocol", "name", "nodePort", "port", "protocol", "targetPort"),
    },
  }),
  HorizontalPodAutoscaler: top({
    spec: { ...keys("behavior", "maxReplicas", "metrics", "minReplicas"), scaleTargetRef: keys("apiVersion", "kind", "name") },
  }),
  PodDisruptionBudget: top({ spec: keys("maxUnavailable", "minAvailable", "selector", "unhealthyPodEvictionPolicy") }),
  NetworkPolicy: top({
    spec: { ...keys("egress", "podSelector", "policyTypes"), ingress: keys("from", "ports") },
  }),
  Secret: top(keys("data", "immutable", "stringData", "type")),
  ConfigMap: top(keys("binaryData", "data", "immutable")),
  ServiceAccount: top(keys("automountServiceAccountToken", "imagePullSecrets", "secrets")),
  Namespace: top({ spec: keys("finalizers") }),
  ResourceQuota: top({ spec: keys("hard", "scopeSelector", "scopes") }),
  LimitRange: top({ spec: keys("limits") }),
  PersistentVolumeClaim: top({
    spec: keys(
      "accessModes", "dataSource", "dataSourceRef", "resources", "selector", "storageClassName",
      "volumeAttributesClassName", "volumeMode", "volumeName",
    ),
  }),
  PriorityClass: top(keys("description", "globalDefault", "preemptionPolicy", "value")),
  Role: top(keys("rules")),
  ClusterRole: top(keys("rules", "aggregationRule")),
  RoleBinding: top(keys("roleRef", "subjects")),
  ClusterRoleBinding: top(keys("roleRef", "subjects")),
  StorageClass: top(
    keys("allowVolumeExpansion", "allowedTopologies", "mountOptions", "parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"),
  ),
  Ingress: top({ spec: keys("defaultBackend", "ingressClassName", "rules", "tls") }),
};
