import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import {
  CHARTS,
  CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
  clusterAutoscalerValues,
  createRelease,
  dcgmExporterValues,
  devicePluginValues,
} from "./addons.js";
import type { TrainingClusterArgs } from "./args.js";
import { createEks, SYSTEM_NODE_SELECTOR, type EksResources } from "./eks.js";
import { clusterAutoscalerPolicy } from "./iam.js";
import { TrainingJob } from "../training-job/index.js";
import type { TrainingJobArgs } from "../training-job/args.js";
import type { TrainingJobContext } from "../training-job/normalize.js";
import {
  DEFAULT_TRAINING_NAMESPACE,
  GPU_SYSTEM_NAMESPACE,
  PRIORITY_SERVING,
  PRIORITY_TRAINING,
  KUEUE_NAMESPACE,
  normalizeClusterArgs,
  type NormalizedCluster,
} from "./normalize.js";
import {
  clusterQueueManifest,
  cpuFlavorManifest,
  localQueueManifest,
  namespaceManifest,
  priorityClassManifests,
  resourceFlavorManifest,
  teamQuotaManifest,
  tenancyNames,
  type LabelContext,
  type TenancyNames,
  type Manifest,
} from "./tenancy.js";
import { applyTransform } from "../shared/transform.js";
import { stackContext, stackPhysicalName } from "../shared/stage.js";
import type { Placement } from "../shared/constants.js";
import { createServiceAccountRole, irsaRole, normalizeServiceAccountRole, type IrsaIssuer, type ServiceAccountRoleArgs, type ServiceAccountRoleHost } from "../shared/irsa.js";

export interface TrainingClusterNodes {
  /** EKS resources (cluster, roles, OIDC provider, node groups, ASG tags); absent with `kubeconfig`. */
  readonly eks?: EksResources;
  readonly provider: k8s.Provider;
  /** Namespaces by name: the default training namespace, the GPU system namespace, one per team. */
  readonly namespaces: Readonly<Record<string, k8s.core.v1.Namespace>>;
  readonly resourceQuotas: Readonly<Record<string, k8s.core.v1.ResourceQuota>>;
  readonly priorityClasses: readonly k8s.scheduling.v1.PriorityClass[];
  readonly releases: {
    readonly devicePlugin?: k8s.helm.v3.Release;
    readonly dcgmExporter?: k8s.helm.v3.Release;
    readonly clusterAutoscaler?: k8s.helm.v3.Release;
    readonly kueue?: k8s.helm.v3.Release;
  };
  readonly clusterAutoscalerRole?: aws.iam.Role;
  readonly kueue: readonly k8s.apiextensions.CustomResource[];
}

/**
 * A Kubernetes cluster for training: an EKS cluster with GPU node pools that scale from zero (or an
 * existing cluster through its kubeconfig), the NVIDIA device plugin, optional DCGM exporter and Kueue,
 * per-team namespaces with GPU quotas, and priority classes for training and serving.
 *
 * Add jobs with {@link addTrainingJob}, and IAM roles for other workloads' ServiceAccounts with
 * {@link addServiceAccountRole}. Other components (ModelEndpoint, MonitoringStack) take the cluster
 * itself, or its {@link provider}; given the cluster, a ModelEndpoint gets a role for its registry.
 *
 * @example
 * const cluster = new TrainingCluster("ml", {
 *   eks: { subnetIds },
 *   nodePools: [{ name: "a100", instanceType: "p4d.24xlarge", gpusPerNode: 8, min: 0, max: 4, spot: true }],
 *   teams: [{ name: "fraud", gpuQuota: 16 }],
 *   kueue: {},
 * });
 * cluster.addTrainingJob("fraud", { registry, model: "fraud", dataset, trainer: { command: ["torchrun", "train.py"] },
 *                                   workers: 4, team: "fraud", schedule: "0 3 * * *" });
 */
export class TrainingCluster extends pulumi.ComponentResource implements ServiceAccountRoleHost {
  static readonly TYPE = "mlops:training:TrainingCluster";

  /** Kubeconfig of the cluster (secret). On EKS it authenticates with `aws eks get-token`. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The Kubernetes provider for this cluster; pass the cluster (or this) to other components. */
  readonly provider: k8s.Provider;
  /** Names of the GPU node pools, in the order given. */
  readonly nodePoolNames: pulumi.Output<string[]>;
  /** The EKS cluster's name; undefined with `kubeconfig`. */
  readonly clusterName: pulumi.Output<string | undefined>;
  /**
   * Node selector and tolerations for the cluster's CPU serving node group (`SERVING_PLACEMENT`); undefined
   * when there is none (`eks.servingNodes: false`, or a cluster reached by kubeconfig).
   */
  readonly servingPlacement?: Placement;
  /**
   * The EC2 instance types of the serving node group (`eks.servingNodes.instanceType`); undefined when there
   * is none. Endpoints on this cluster check their requests against them.
   */
  readonly servingInstanceTypes?: readonly string[];
  /**
   * The PriorityClass this cluster creates for serving pods (`${project}-${stage}-serving`: its name
   * carries the stack, so several stacks can share one cluster). Endpoints on this cluster use it.
   */
  readonly servingPriorityClassName: string;
  /** What jobs added to this cluster are handed (provider, pools, teams, OIDC issuer). */
  private readonly jobContext: TrainingJobContext;
  private readonly _nodes: TrainingClusterNodes;
  private readonly logicalName: string;

  constructor(name: string, args: TrainingClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(TrainingCluster.TYPE, name, {}, opts);
    this.logicalName = name;
    const cfg = normalizeClusterArgs(args, `TrainingCluster ${JSON.stringify(name)}`);
    for (const w of cfg.warnings) pulumi.log.warn(w, this);
    // EKS cluster names may be 100 characters; the stage drives the name.
    const clusterName = stackPhysicalName(name, 100);
    const stack = stackContext();
    const owner: LabelContext = { name, instance: clusterName, partOf: stack.project };
    // Cluster-scoped objects this stack owns carry the stack in their names (see TenancyNames for why).
    const names = tenancyNames(stack, cfg.pools, cfg.teams);
    this.servingPriorityClassName = names.priorityClasses.serving;

    const eks = cfg.eks ? createEks(this, name, clusterName, cfg.eks, cfg.pools, args.transform) : undefined;
    this.kubeconfig = eks ? eks.kubeconfig : pulumi.secret(pulumi.output(cfg.kubeconfig!));
    // Add-ons and jobs deploy through this provider; on EKS they also wait for the system nodes.
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, { parent: this });
    const systemNodes: pulumi.Resource[] = eks ? [eks.systemNodeGroup] : [];
    const k8sOpts = (dependsOn: pulumi.Resource[] = []): pulumi.CustomResourceOptions => ({
      parent: this,
      provider: this.provider,
      dependsOn: [...systemNodes, ...dependsOn],
    });
    // Service-account roles (the autoscaler's, jobs', addServiceAccountRole's) trust the cluster's OIDC provider.
    const irsa: IrsaIssuer | undefined = eks ? { providerArn: eks.oidcProvider.arn, issuer: eks.oidcIssuer, tags: { ...cfg.eks!.tags, "mlops.dev/cluster": clusterName } } : undefined;

    const { namespaces, resourceQuotas, priorityClasses } = this.createTenancy(name, owner, cfg, names, args, k8sOpts);
    const releases = this.createAddons(name, clusterName, cfg, eks, irsa, namespaces, args, systemNodes);
    const kueue = this.createKueue(name, owner, cfg, names, namespaces, releases.kueue, k8sOpts);

    this.nodePoolNames = pulumi.output(cfg.pools.map((p) => p.name));
    this.clusterName = eks ? eks.cluster.name : pulumi.output(undefined);
    this.servingPlacement = eks?.servingPlacement;
    // Only with the node group itself (eks.servingPlacement says it was created).
    this.servingInstanceTypes = eks?.servingPlacement && cfg.eks?.servingNodes ? [cfg.eks.servingNodes.instanceType] : undefined;
    this.jobContext = {
      instance: clusterName,
      partOf: owner.partOf,
      pools: cfg.pools,
      teams: cfg.teams.map((t) => t.name),
      kueueTeams: cfg.kueue ? cfg.kueue.teams : [],
      namespaces: { default: names.trainingNamespace, byTeam: names.teamNamespaces },
      priorityClassName: names.priorityClasses.training,
      // CPU-only jobs tolerate no pool's taint: on EKS they run on the system group.
      cpuInstanceTypes: cfg.eks ? [cfg.eks.systemNodes.instanceType] : [],
      provider: this.provider,
      ...(irsa ? { irsa } : {}),
      dependsOn: [...Object.values(namespaces), ...priorityClasses, ...kueue, ...systemNodes],
    };
    this._nodes = {
      ...(eks ? { eks } : {}),
      provider: this.provider,
      namespaces,
      resourceQuotas,
      priorityClasses,
      releases: releases.all,
      ...(releases.clusterAutoscalerRole ? { clusterAutoscalerRole: releases.clusterAutoscalerRole } : {}),
      kueue,
    };

    this.registerOutputs({ kubeconfig: this.kubeconfig, nodePoolNames: this.nodePoolNames, clusterName: this.clusterName });
  }

  /** The underlying resources, for what the args do not cover. */
  get nodes(): TrainingClusterNodes {
    return this._nodes;
  }

  /**
   * Adds a training job: a Job, an Indexed Job with a headless Service (`workers > 1`), or a CronJob
   * (`schedule`), rendering a TrainSpec into the container's `MLOPS_TRAIN_SPEC`.
   *
   * @example
   * const train = cluster.addTrainingJob("fraud", { registry, model: "fraud", dataset, trainer: { builtin: "logistic-regression" } });
   * export const retrain = train.runOnDemandCommand;
   */
  addTrainingJob(name: string, args: TrainingJobArgs, opts: pulumi.ComponentResourceOptions = {}): TrainingJob {
    return new TrainingJob(`${this.logicalName}-${name}`, name, args, this.jobContext, { ...opts, parent: this });
  }

  /**
   * Gives a ServiceAccount its own IAM role (IRSA): only `namespace/serviceAccount` can assume it, through
   * this cluster's OIDC provider, and it reaches only the S3 locations listed. Creates
   * `<cluster>-<name>-role` and its inline policy `<cluster>-<name>-s3` (logical names), children of
   * `opts.parent` (this cluster by default). Annotate the ServiceAccount with
   * `eks.amazonaws.com/role-arn: role.arn`.
   *
   * On a cluster reached through `kubeconfig` it creates nothing and returns undefined: whether that
   * cluster has an OIDC provider is not known. The args are validated either way.
   *
   * @example
   * const role = cluster.addServiceAccountRole("scorer", {
   *   namespace: "batch", serviceAccount: "scorer", read: [registry.uri], write: ["s3://scores/daily"],
   * });
   */
  addServiceAccountRole(name: string, args: ServiceAccountRoleArgs, opts: pulumi.CustomResourceOptions = {}): aws.iam.Role | undefined {
    const context = `TrainingCluster ${JSON.stringify(this.logicalName)}.addServiceAccountRole(${JSON.stringify(name)})`;
    const valid = normalizeServiceAccountRole(args, context);
    const irsa = this.jobContext.irsa;
    if (!irsa) return undefined;
    return createServiceAccountRole({ name: `${this.logicalName}-${name}`, irsa, access: valid, context, opts: { ...opts, parent: opts.parent ?? this } }).role;
  }

  private createTenancy(
    name: string,
    owner: LabelContext,
    cfg: NormalizedCluster,
    names: TenancyNames,
    args: TrainingClusterArgs,
    k8sOpts: (d?: pulumi.Resource[]) => pulumi.CustomResourceOptions,
  ) {
    // Logical names as before the stack was in the physical names (which Pulumi replaces on `up`).
    const namespaces: Record<string, k8s.core.v1.Namespace> = {};
    const ns = (key: string, m: Manifest) => {
      const [a, o] = applyTransform<k8s.core.v1.NamespaceArgs>(args.transform?.namespace, `${name}-ns-${key}`, m as k8s.core.v1.NamespaceArgs, k8sOpts());
      namespaces[m.metadata.name] = new k8s.core.v1.Namespace(`${name}-ns-${key}`, a, o);
    };
    ns(DEFAULT_TRAINING_NAMESPACE, namespaceManifest(names.trainingNamespace, owner, "restricted"));
    // The GPU agents' namespace goes with the agents: one per cluster, in the stack that installs them.
    if (cfg.devicePlugin || cfg.dcgmExporter) ns(GPU_SYSTEM_NAMESPACE, namespaceManifest(GPU_SYSTEM_NAMESPACE, owner, "privileged"));
    for (const team of cfg.teams) ns(team.name, namespaceManifest(names.teamNamespaces[team.name]!, owner, "restricted", { "mlops.dev/team": team.name }));

    const resourceQuotas: Record<string, k8s.core.v1.ResourceQuota> = {};
    for (const team of cfg.teams) {
      const teamNs = names.teamNamespaces[team.name]!;
      resourceQuotas[team.name] = new k8s.core.v1.ResourceQuota(
        `${name}-quota-${team.name}`,
        teamQuotaManifest(team, teamNs, owner) as k8s.core.v1.ResourceQuotaArgs,
        k8sOpts([namespaces[teamNs]!]),
      );
    }
    const priorityClasses = priorityClassManifests(names.priorityClasses, owner).map(
      (m, i) => new k8s.scheduling.v1.PriorityClass(`${name}-${i === 0 ? PRIORITY_TRAINING : PRIORITY_SERVING}`, m as unknown as k8s.scheduling.v1.PriorityClassArgs, k8sOpts()),
    );
    return { namespaces, resourceQuotas, priorityClasses };
  }

  private createAddons(
    name: string,
    clusterName: string,
    cfg: NormalizedCluster,
    eks: EksResources | undefined,
    irsa: IrsaIssuer | undefined,
    namespaces: Record<string, k8s.core.v1.Namespace>,
    args: TrainingClusterArgs,
    systemNodes: readonly pulumi.Resource[],
  ) {
    const common = { provider: this.provider, transform: args.transform?.release };
    const deps = (...extra: pulumi.Resource[]) => [...systemNodes, ...extra];
    const gpuNs = namespaces[GPU_SYSTEM_NAMESPACE];
    const devicePlugin = cfg.devicePlugin
      ? createRelease(this, `${name}-device-plugin`, {
          ...common,
          chart: CHARTS.devicePlugin,
          version: cfg.devicePlugin.chartVersion,
          namespace: GPU_SYSTEM_NAMESPACE,
          values: devicePluginValues(cfg.pools),
          dependsOn: deps(gpuNs!),
        })
      : undefined;
    const dcgmExporter = cfg.dcgmExporter
      ? createRelease(this, `${name}-dcgm-exporter`, {
          ...common,
          chart: CHARTS.dcgmExporter,
          version: cfg.dcgmExporter.chartVersion,
          namespace: GPU_SYSTEM_NAMESPACE,
          values: dcgmExporterValues(cfg.pools),
          dependsOn: deps(gpuNs!, ...(devicePlugin ? [devicePlugin] : [])),
        })
      : undefined;

    let clusterAutoscaler: k8s.helm.v3.Release | undefined;
    let clusterAutoscalerRole: aws.iam.Role | undefined;
    if (eks && irsa && cfg.eks?.clusterAutoscaler) {
      const ca = cfg.eks.clusterAutoscaler;
      clusterAutoscalerRole = irsaRole(`${name}-autoscaler-role`, irsa, "kube-system", CLUSTER_AUTOSCALER_SERVICE_ACCOUNT, irsa.tags, { parent: this });
      const policy = new aws.iam.RolePolicy(
        `${name}-autoscaler-policy`,
        { role: clusterAutoscalerRole.id, policy: JSON.stringify(clusterAutoscalerPolicy(clusterName)) },
        { parent: this },
      );
      clusterAutoscaler = createRelease(this, `${name}-cluster-autoscaler`, {
        ...common,
        chart: CHARTS.clusterAutoscaler,
        version: ca.chartVersion,
        namespace: "kube-system",
        values: clusterAutoscalerValues({
          clusterName,
          region: eks.region,
          roleArn: clusterAutoscalerRole.arn,
          imageTag: ca.imageTag,
          nodeSelector: { ...SYSTEM_NODE_SELECTOR },
        }),
        dependsOn: deps(policy, ...eks.asgTags),
      });
    }

    // One controller per cluster: a stack sharing the cluster with the one that installs it creates none.
    const kueue = cfg.kueue && cfg.kueue.installController
      ? createRelease(this, `${name}-kueue`, {
          ...common,
          chart: CHARTS.kueue,
          version: cfg.kueue.chartVersion,
          namespace: KUEUE_NAMESPACE,
          createNamespace: true,
          values: {},
          dependsOn: deps(),
        })
      : undefined;
    const all = {
      ...(devicePlugin ? { devicePlugin } : {}),
      ...(dcgmExporter ? { dcgmExporter } : {}),
      ...(clusterAutoscaler ? { clusterAutoscaler } : {}),
      ...(kueue ? { kueue } : {}),
    };
    return { all, kueue, clusterAutoscalerRole };
  }

  /**
   * ResourceFlavors, ClusterQueues and LocalQueues; they need Kueue's CRDs, hence the release first. Without
   * the release (`kueue.installController: false`) there is nothing of this stack's to wait for: the
   * controller another stack installed must already be there.
   */
  private createKueue(
    name: string,
    owner: LabelContext,
    cfg: NormalizedCluster,
    names: TenancyNames,
    namespaces: Record<string, k8s.core.v1.Namespace>,
    release: k8s.helm.v3.Release | undefined,
    k8sOpts: (d?: pulumi.Resource[]) => pulumi.CustomResourceOptions,
  ): k8s.apiextensions.CustomResource[] {
    if (!cfg.kueue) return [];
    const cr = (logical: string, m: Manifest, deps: pulumi.Resource[]) =>
      new k8s.apiextensions.CustomResource(logical, m as unknown as k8s.apiextensions.CustomResourceArgs, k8sOpts([...(release ? [release] : []), ...deps]));
    const flavors = [
      ...cfg.pools.map((p) => cr(`${name}-flavor-${p.name}`, resourceFlavorManifest(p, names.flavors[p.name]!, owner), [])),
      cr(`${name}-flavor-cpu`, cpuFlavorManifest(names.cpuFlavor, owner), []),
    ];
    const out = [...flavors];
    for (const teamName of cfg.kueue.teams) {
      const team = cfg.teams.find((t) => t.name === teamName)!;
      const cq = cr(`${name}-cq-${team.name}`, clusterQueueManifest(team, cfg.pools, names, owner), flavors);
      out.push(cq, cr(`${name}-lq-${team.name}`, localQueueManifest(team.name, names, owner), [cq, namespaces[names.teamNamespaces[team.name]!]!]));
    }
    return out;
  }
}


export type { TrainingClusterArgs, GpuNodePoolArgs, EksArgs, TeamArgs, NodeTaint, GpuAmiType, KueueArgs } from "./args.js";
export { TrainingClusterArgsSchema } from "./args.js";
export { normalizeClusterArgs, CLUSTER_DEFAULTS, EKS_DEFAULT_VERSION, EKS_STANDARD_SUPPORT_END, GPU_SYSTEM_NAMESPACE, DEFAULT_TRAINING_NAMESPACE, PRIORITY_TRAINING, PRIORITY_SERVING } from "./normalize.js";
export { scaleFromZeroTags } from "./node-pools.js";
