import type * as aws from "@pulumi/aws";
import type * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import type { FeatureStoreSpec } from "../../src/spec/features.js";
import { runtimeImage } from "../shared/image.js";
import { isServiceAccountRoleHost } from "../shared/irsa.js";
import { resolveProvider } from "../shared/kubernetes.js";
import { stackContext, stackPhysicalName } from "../shared/stage.js";
import { applyTransform, type Transform } from "../shared/transform.js";
import { validateArgs } from "../shared/validate.js";
import { TrainingCluster } from "../training-cluster/index.js";
import { FeatureStoreArgsSchema, FeatureStoreNameSchema, type FeatureStoreArgs } from "./args.js";
import { createElastiCache, createOfflineBucket, elastiCacheUrl, type ElastiCacheResources, type OfflineBucketResources } from "./aws.js";
import * as m from "./manifests.js";
import { FEATURE_STORE_DEFAULTS, featureStoreProblems, normalizeFeatureStore, sourceLocations, type FeatureStoreClusterFacts, type NormalizedFeatureStore } from "./normalize.js";
import { inClusterRedisUrl, redisNetworkPolicyManifest, redisServiceManifest, redisStatefulSetManifest } from "./redis.js";
import { buildFeatureStoreSpec, offlineUri, registryUriOf } from "./spec.js";

export * from "./args.js";
export * from "./aws.js";
export * from "./manifests.js";
export * from "./normalize.js";
export * from "./redis.js";
export * from "./spec.js";

/** The resources a FeatureStore made. */
export interface FeatureStoreNodes {
  /** Only when the component created the namespace. */
  readonly namespace?: k8s.core.v1.Namespace;
  /** Only when it created a provider from a kubeconfig. */
  readonly provider?: k8s.Provider;
  /** Only when the component created the offline bucket. */
  readonly offline?: OfflineBucketResources;
  /** Only on ElastiCache. */
  readonly elastiCache?: ElastiCacheResources;
  /** Only with the in-cluster online store. */
  readonly redis?: { readonly statefulSet: k8s.apps.v1.StatefulSet; readonly service: k8s.core.v1.Service; readonly networkPolicy: k8s.networking.v1.NetworkPolicy };
  readonly serviceAccounts: { readonly server: k8s.core.v1.ServiceAccount; readonly materialize: k8s.core.v1.ServiceAccount };
  /** Only when the component made them (an EKS TrainingCluster, no `serviceAccountRoleArn`, no static S3 credentials). */
  readonly roles: { readonly server?: aws.iam.Role; readonly materialize?: aws.iam.Role };
  /** The online store's AUTH token. */
  readonly secret: k8s.core.v1.Secret;
  /** Only with `s3.credentials`. */
  readonly s3Secret?: k8s.core.v1.Secret;
  readonly cronJob: k8s.batch.v1.CronJob;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
  /** Only when the image was built. */
  readonly image?: docker.Image;
}

const Validated = z.object({ name: FeatureStoreNameSchema, args: FeatureStoreArgsSchema });

/**
 * A feature store on Kubernetes: feature views over offline sources, materialized on a schedule into an
 * online store, and served over Feast's feature-server HTTP API.
 *
 * On an EKS TrainingCluster: an offline bucket (private, encrypted, TLS only; or `offline.bucket`) holding
 * the registry, ElastiCache Valkey as the online store (TLS, encryption at rest, the AUTH token, the
 * cluster's subnets, reachable from its nodes only, failover in prod), and IAM roles through IRSA. Elsewhere:
 * a Valkey StatefulSet in the store's namespace and an existing bucket. Either way: a CronJob running
 * `mlops features materialize --incremental` (never two at once), and the feature server (Deployment,
 * Service on 6566, HPA, PDB, NetworkPolicy). The pods get the spec as MLOPS_FEATURE_SPEC, with the online
 * store's URL and the name of the variable that holds its token, which they read from a Secret.
 *
 * @example
 * const features = new mlops.FeatureStore("features", {
 *   kubernetes: cluster, entities, views, online: { authToken: config.requireSecret("featureStoreToken") },
 *   server: { allowFrom: { namespaces: ["mlops-prod-fraud"] } },
 * });
 * export const featureServer = features.serverUrl; // http://mlops-prod-features-server.mlops-prod-features.svc:6566
 */
export class FeatureStore extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:features:FeatureStore";

  /** The online store's URL, without credentials: `rediss://<ElastiCache primary>:6379` or `redis://<svc>.<ns>.svc:6379`. */
  readonly onlineStore: pulumi.Output<string>;
  /** Where view versions, training sets and watermarks live: `s3://<offline>/registry`. */
  readonly registryUri: pulumi.Output<string>;
  /** The offline location: `s3://bucket[/prefix]`. */
  readonly offlineUri: pulumi.Output<string>;
  /** The feature server in the cluster: `http://<service>.<namespace>.svc:6566`. */
  readonly serverUrl: pulumi.Output<string>;
  /** The rendered spec the pods boot from (no secret in it), for workloads that read features. */
  readonly spec: pulumi.Output<FeatureStoreSpec>;
  readonly namespace: pulumi.Output<string>;
  /**
   * The Secret (in {@link namespace}) whose `password` key holds the online store's AUTH token; set the
   * variable the spec's `online.redis.passwordEnv` names from it.
   */
  readonly authSecretName: string;
  private readonly children: FeatureStoreNodes;

  constructor(name: string, args: FeatureStoreArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(FeatureStore.TYPE, name, {}, opts);
    const target = (args as { kubernetes?: unknown } | undefined)?.kubernetes;
    const cluster = target instanceof TrainingCluster ? target : undefined;
    const eks = cluster?.nodes.eks;
    const facts: FeatureStoreClusterFacts = {
      eks: eks !== undefined,
      ...(cluster?.servingPlacement ? { servingPlacement: cluster.servingPlacement } : {}),
      ...(cluster ? { servingPriorityClass: cluster.servingPriorityClassName } : {}),
    };
    validateArgs(Validated, { name, args }, {
      context: `new FeatureStore("${name}")`,
      prefix: "",
      crossFieldChecks: ({ args: a }) => (a && typeof a === "object" ? featureStoreProblems(name, a, facts) : []),
    });
    const { project, stage, defaults } = stackContext();
    const store = normalizeFeatureStore(args, stage, facts);
    const physicalName = stackPhysicalName(name);
    // Room for the longest suffix (`-materialize`) within a CronJob's 52 characters.
    const base = stackPhysicalName(name, 40);
    const t = args.transform ?? {};
    const tags = { "mlops:project": project, "mlops:stage": stage, "mlops:component": "feature-store" };

    const provider = resolveProvider(args.kubernetes, name, this);
    const createdProvider = "provider" in args.kubernetes && args.kubernetes.provider === provider ? undefined : provider;
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider };
    const create = <A extends object, R>(
      Ctor: new (n: string, a: A, o: pulumi.CustomResourceOptions) => R,
      child: string,
      hook: Transform<A> | undefined,
      manifest: object,
      dependsOn: pulumi.Input<pulumi.Resource>[] = [],
    ): R => new Ctor(`${name}-${child}`, ...applyTransform(hook, `${name}-${child}`, manifest as A, { ...childOpts, dependsOn }));

    const labelContext = { name, base, partOf: project };
    let namespaceResource: k8s.core.v1.Namespace | undefined;
    let namespaceName: pulumi.Output<string>;
    let plainNamespace: string | undefined;
    if (args.namespace === undefined) {
      namespaceResource = create(k8s.core.v1.Namespace, "ns", t.namespace, m.namespaceManifest(labelContext, physicalName));
      namespaceName = namespaceResource.metadata.name;
      plainNamespace = physicalName;
    } else if (typeof args.namespace === "string") {
      namespaceName = pulumi.output(args.namespace);
      plainNamespace = args.namespace;
    } else {
      namespaceName = args.namespace.metadata.name;
    }

    const awsContext = { parent: this, name, physicalName, tags, protect: defaults.protect, ...(args.transform ? { transform: args.transform } : {}) };
    const offline = this.offlineLocation(store, args, awsContext);
    this.offlineUri = offline.uri;
    this.registryUri = offline.uri.apply(registryUriOf);

    let elastiCache: ElastiCacheResources | undefined;
    if (store.online.kind === "elasticache") {
      const vpc = eks!.cluster.vpcConfig;
      elastiCache = createElastiCache(
        awsContext,
        { vpcId: vpc.vpcId, subnetIds: eks!.network.subnetIds, nodeSecurityGroupId: vpc.clusterSecurityGroupId },
        store.online,
        args.online.authToken,
        args.online.elastiCache?.kmsKeyArn,
      );
      this.onlineStore = elastiCacheUrl(elastiCache.replicationGroup);
    } else {
      this.onlineStore = namespaceName.apply((ns) => inClusterRedisUrl({ base }, ns));
    }
    this.spec = pulumi.all([this.registryUri, this.onlineStore]).apply(([registryUri, redisUrl]) =>
      buildFeatureStoreSpec({ name, registryUri, redisUrl, entities: args.entities, views: args.views, ...(args.materialization ? { materialization: args.materialization } : {}) }),
    );
    const specJson = this.spec.apply((s) => JSON.stringify(s));

    const image = runtimeImage(name, { ...(args.image ? { image: args.image } : {}), ...(args.imageRepository ? { imageRepository: args.imageRepository } : {}) }, this, t.image);
    const roles = this.createRoles(name, args, plainNamespace, base, offline.uri);
    const ctx: m.FeatureStoreManifestContext = {
      name,
      base,
      namespace: namespaceName,
      partOf: project,
      image: image.ref,
      specJson,
      store,
      roleArns: {
        ...(args.serviceAccountRoleArn !== undefined || roles.materialize ? { materialize: args.serviceAccountRoleArn ?? roles.materialize!.arn } : {}),
        ...(args.serviceAccountRoleArn !== undefined || roles.server ? { server: args.serviceAccountRoleArn ?? roles.server!.arn } : {}),
      },
    };

    const inCluster = store.online.kind === "in-cluster" ? store.online : undefined;
    const secret = create(k8s.core.v1.Secret, "online-auth", t.secret, m.authSecretManifest(ctx, args.online.authToken, inCluster !== undefined));
    const s3Secret = args.s3?.credentials ? create(k8s.core.v1.Secret, "s3", t.s3Secret, m.s3SecretManifest(ctx, args.s3.credentials)) : undefined;
    const serviceAccounts = {
      server: create(k8s.core.v1.ServiceAccount, "server-sa", t.serviceAccount, m.serviceAccountManifest(ctx, "server")),
      materialize: create(k8s.core.v1.ServiceAccount, "materialize-sa", t.serviceAccount, m.serviceAccountManifest(ctx, "materialize")),
    };
    const secrets = [secret, ...(s3Secret ? [s3Secret] : [])];
    // Pods naming the serving PriorityClass wait for it (a TrainingCluster creates it).
    const priority = cluster && store.priorityClassName === cluster.servingPriorityClassName ? cluster.nodes.priorityClasses : [];
    const redis = inCluster
      ? {
          statefulSet: create(k8s.apps.v1.StatefulSet, "redis", t.redisStatefulSet, redisStatefulSetManifest(ctx, inCluster), [secret, ...priority]),
          service: create(k8s.core.v1.Service, "redis-svc", t.redisService, redisServiceManifest(ctx)),
          networkPolicy: create(k8s.networking.v1.NetworkPolicy, "redis-netpol", t.redisNetworkPolicy, redisNetworkPolicyManifest(ctx)),
        }
      : undefined;
    // The in-cluster store first: pods that start before it is ready only fail their first connections.
    const online = redis ? [redis.statefulSet] : [];
    const cronJob = create(k8s.batch.v1.CronJob, "materialize", t.cronJob, m.cronJobManifest(ctx), [serviceAccounts.materialize, ...secrets, ...online]);
    const deployment = create(k8s.apps.v1.Deployment, "server", t.deployment, m.deploymentManifest(ctx), [serviceAccounts.server, ...secrets, ...priority, ...online]);
    const service = create(k8s.core.v1.Service, "server-svc", t.service, m.serviceManifest(ctx));
    const autoscaler = create(k8s.autoscaling.v2.HorizontalPodAutoscaler, "server-hpa", t.autoscaler, m.autoscalerManifest(ctx), [deployment]);
    const disruptionBudget = create(k8s.policy.v1.PodDisruptionBudget, "server-pdb", t.disruptionBudget, m.disruptionBudgetManifest(ctx));
    const networkPolicy = create(k8s.networking.v1.NetworkPolicy, "server-netpol", t.networkPolicy, m.serverNetworkPolicyManifest(ctx));

    this.children = {
      ...(namespaceResource ? { namespace: namespaceResource } : {}),
      ...(createdProvider ? { provider: createdProvider } : {}),
      ...(offline.resources ? { offline: offline.resources } : {}),
      ...(elastiCache ? { elastiCache } : {}),
      ...(redis ? { redis } : {}),
      serviceAccounts,
      roles,
      secret,
      ...(s3Secret ? { s3Secret } : {}),
      cronJob,
      deployment,
      service,
      autoscaler,
      disruptionBudget,
      networkPolicy,
      ...(image.resource ? { image: image.resource } : {}),
    };
    this.namespace = namespaceName;
    this.authSecretName = m.authSecretName(ctx);
    this.serverUrl = pulumi.interpolate`http://${service.metadata.name}.${namespaceName}.svc:${FEATURE_STORE_DEFAULTS.servePort}`;
    this.registerOutputs({ onlineStore: this.onlineStore, registryUri: this.registryUri, offlineUri: this.offlineUri, serverUrl: this.serverUrl, namespace: this.namespace, spec: specJson });
  }

  /** The underlying resources, for what the args and transforms do not cover. */
  get nodes(): FeatureStoreNodes {
    return this.children;
  }

  /** The given bucket, or a new one (only on EKS: validated), usable once its guard rails are in place. */
  private offlineLocation(store: NormalizedFeatureStore, args: FeatureStoreArgs, awsContext: Parameters<typeof createOfflineBucket>[0]) {
    const { bucket, prefix, forceDestroy } = store.offline;
    if (bucket !== undefined) return { uri: pulumi.output(offlineUri(bucket, prefix)) };
    const resources = createOfflineBucket(awsContext, { prefix, forceDestroy, ...(args.offline?.kmsKeyArn !== undefined ? { kmsKeyArn: args.offline.kmsKeyArn } : {}) });
    const ready = [resources.publicAccessBlock.id, resources.encryption.id, resources.versioning.id];
    return { uri: pulumi.all([resources.bucket.bucket, ...ready]).apply(([b]) => offlineUri(b, prefix)), resources };
  }

  /**
   * On a cluster that issues ServiceAccount roles (an EKS TrainingCluster), two least-privilege roles: the
   * materializer reads the sources and reads/writes the offline location (the registry is under it); the
   * server only reads the registry. None when a role is given, with static S3 credentials (they win in the
   * SDK's chain), or when the namespace's name is not known before deployment.
   */
  private createRoles(name: string, args: FeatureStoreArgs, namespace: string | undefined, base: string, offline: pulumi.Output<string>): FeatureStoreNodes["roles"] {
    if (args.serviceAccountRoleArn !== undefined || args.s3?.credentials !== undefined || !isServiceAccountRoleHost(args.kubernetes)) return {};
    if (namespace === undefined) {
      pulumi.log.warn(
        `FeatureStore "${name}": the namespace is a Namespace resource, whose name is only known at deploy time, so no IAM roles were made and the pods may not reach S3. ` +
          `Give the namespace by name, or pass serviceAccountRoleArn.`,
        this,
      );
      return {};
    }
    const host = args.kubernetes;
    const offlineKey = args.offline?.kmsKeyArn !== undefined ? [args.offline.kmsKeyArn] : [];
    const sa = (part: m.StorePart) => m.partName({ base }, part);
    const materialize = host.addServiceAccountRole(
      `${name}-materialize`,
      {
        namespace,
        serviceAccount: sa("materialize"),
        read: sourceLocations(args.views),
        write: [offline],
        kmsKeyArns: offlineKey,
        ...(args.sourceKmsKeyArns ? { readKmsKeyArns: [...args.sourceKmsKeyArns] } : {}),
      },
      { parent: this },
    );
    const server = host.addServiceAccountRole(`${name}-server`, { namespace, serviceAccount: sa("server"), read: [offline.apply(registryUriOf)], kmsKeyArns: offlineKey }, { parent: this });
    return { ...(materialize ? { materialize } : {}), ...(server ? { server } : {}) };
  }
}
