import type * as aws from "@pulumi/aws";
import type * as docker from "@pulumi/docker";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { recommendedLabels, selectorLabels } from "../../src/naming.js";
import { SERVE_PATHS } from "../../src/spec/endpoint.js";
import { runtimeImage } from "../shared/image.js";
import { resolveProvider } from "../shared/kubernetes.js";
import { stackContext, stackPhysicalName } from "../shared/stage.js";
import { validateArgs } from "../shared/validate.js";
import type { Placement } from "../shared/constants.js";
import { TrainingCluster } from "../training-cluster/index.js";
import { applyTransform, type Transform } from "../shared/transform.js";
import { EndpointNameSchema, ModelEndpointArgsSchema, type ModelEndpointArgs } from "./args.js";
import {
  AUTH_SECRET_KEY,
  authSecretArgs,
  autoscalerArgs,
  deploymentArgs,
  disruptionBudgetArgs,
  namespaceArgs,
  networkPolicyArgs,
  serviceAccountArgs,
  serviceArgs,
  s3SecretArgs,
  type ManifestContext,
} from "./manifests.js";
import { featuresArgsProblems, featuresBlock, featureWiring } from "./features.js";
import { endpointFitProblems, MODEL_ENDPOINT_DEFAULTS, normalizeEndpoint } from "./normalize.js";
import type { MonitoredEndpoint } from "../monitoring-stack/targets.js";
import { endpointRole } from "./role.js";
import { buildEndpointSpec } from "./spec.js";

export * from "./args.js";
export * from "./features.js";
export * from "./manifests.js";
export * from "./normalize.js";
export * from "./role.js";
export * from "./spec.js";

/** The resources a ModelEndpoint made. */
export interface ModelEndpointNodes {
  /** Only when the component created the namespace. */
  readonly namespace?: k8s.core.v1.Namespace;
  /** Only when it created a provider from a kubeconfig. */
  readonly provider?: k8s.Provider;
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** Only when the component made the pods' IAM role (see `serviceAccountRoleArn`). */
  readonly role?: aws.iam.Role;
  /** Only with `auth`. */
  readonly secret?: k8s.core.v1.Secret;
  /** Only with `s3.credentials`. */
  readonly s3Secret?: k8s.core.v1.Secret;
  readonly deployment: k8s.apps.v1.Deployment;
  readonly service: k8s.core.v1.Service;
  readonly autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  readonly disruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  readonly networkPolicy: k8s.networking.v1.NetworkPolicy;
  /** Only when the image was built. */
  readonly image?: docker.Image;
}

const Validated = z.object({ name: EndpointNameSchema, args: ModelEndpointArgsSchema });

/**
 * Serves a registered model over the Open Inference Protocol on Kubernetes: a Deployment of the runtime
 * image (restricted security context, probes on the runtime's health paths, spread across zones, Prometheus
 * scrape annotations, a `preStop` sleep that lets the endpoints update before SIGTERM), a ClusterIP Service, a CPU
 * HorizontalPodAutoscaler, a PodDisruptionBudget and a NetworkPolicy admitting only the serving port (and, with
 * `metricsPort`, the metrics port from the monitoring namespace). The model and settings reach the container as one
 * validated EndpointSpec (MLOPS_ENDPOINT_SPEC); the auth token as a Kubernetes Secret. Deployed to a
 * cluster that issues ServiceAccount roles (a TrainingCluster on EKS) with an S3 registry, the pods get
 * an IAM role of their own that only reads the registry (unless `serviceAccountRoleArn` is given).
 *
 * @example
 * const endpoint = new mlops.ModelEndpoint("fraud", {
 *   registry, model: "fraud@champion", kubernetes: { kubeconfig },
 *   replicas: { min: 2, max: 20 }, auth: { token: config.requireSecret("fraudToken") },
 *   allowFrom: { namespaces: ["checkout", "monitoring"] },
 * });
 * export const url = endpoint.url; // http://mlops-prod-fraud.mlops-prod-fraud.svc.cluster.local
 */
export class ModelEndpoint extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:serving:ModelEndpoint";

  /** In-cluster URL: `http://<service>.<namespace>.svc.cluster.local` (port 80). */
  readonly url: pulumi.Output<string>;
  readonly serviceName: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  /**
   * `GET` it in the cluster to see whether the model is served: 200 once a version is loaded; 503 until then,
   * with why (a fresh stage: the model or its alias is not in the registry yet, until the first training run
   * registers it or a promotion copies it).
   */
  readonly readyUrl: pulumi.Output<string>;
  /**
   * What a MonitoringStack scrapes, holds to its SLOs and watches for drift: pass the endpoint itself in its
   * `endpoints`. Its Service (by name), the metrics port's name with `metricsPort`, the auth Secret with `auth`
   * (each scrape sends the token), the autoscaler, and the model reference (the drift job's `--model`).
   */
  readonly monitoringTarget: MonitoredEndpoint;
  private readonly children: ModelEndpointNodes;

  constructor(name: string, args: ModelEndpointArgs, opts: pulumi.ComponentResourceOptions = {}) {
    super(ModelEndpoint.TYPE, name, {}, opts);
    // Duck-typed, like `provider`: any cluster object may say where serving pods go and on which instance
    // types (a TrainingCluster with a serving pool does). Read before validation, so the raw args may lack it.
    const target = (args as { kubernetes?: unknown } | undefined)?.kubernetes as { servingPlacement?: Placement; servingInstanceTypes?: readonly string[] } | undefined;
    const servingPlacement = target?.servingPlacement;
    const servingInstanceTypes = target?.servingInstanceTypes;
    validateArgs(Validated, { name, args }, {
      context: `new ModelEndpoint("${name}")`,
      prefix: "",
      // Requests that no node the pods may land on can satisfy: they would stay Pending forever.
      crossFieldChecks: ({ args: a }) =>
        a && typeof a === "object" ? [...endpointFitProblems(a, { ...(servingInstanceTypes ? { servingInstanceTypes } : {}) }), ...featuresArgsProblems(a.features)] : [],
    });
    const { project, stage } = stackContext();
    // On a TrainingCluster the pods get the serving PriorityClass it creates (and wait for it).
    const cluster = args.kubernetes instanceof TrainingCluster ? args.kubernetes : undefined;
    const endpoint = normalizeEndpoint(args, stage, {
      project,
      ...(cluster ? { servingPriorityClass: cluster.servingPriorityClassName } : {}),
      ...(servingPlacement ? { servingPlacement } : {}),
      ...(servingInstanceTypes ? { servingInstanceTypes } : {}),
    });
    const physicalName = stackPhysicalName(name);
    const labels = recommendedLabels({ name, instance: physicalName, component: "model-endpoint", partOf: project });
    const selector = selectorLabels({ name, instance: physicalName });
    const t = args.transform ?? {};

    const provider = resolveProvider(args.kubernetes, name, this);
    // A cluster object carries a kubeconfig too, but resolveProvider reuses its provider: only a new one is ours.
    const createdProvider = "provider" in args.kubernetes && args.kubernetes.provider === provider ? undefined : provider;
    const childOpts: pulumi.CustomResourceOptions = { parent: this, provider };
    const create = <A extends object, R>(
      Ctor: new (n: string, a: A, o: pulumi.CustomResourceOptions) => R,
      child: string,
      hook: Transform<A> | undefined,
      a: A,
      o: pulumi.CustomResourceOptions = childOpts,
    ): R => new Ctor(`${name}-${child}`, ...applyTransform(hook, `${name}-${child}`, a, o));

    let namespaceResource: k8s.core.v1.Namespace | undefined;
    let namespaceName: pulumi.Output<string>;
    // Known before deployment unless a Namespace resource was passed in.
    let plainNamespace: string | undefined;
    if (args.namespace === undefined) {
      namespaceResource = create(k8s.core.v1.Namespace, "ns", t.namespace, namespaceArgs(physicalName, labels));
      namespaceName = namespaceResource.metadata.name;
      plainNamespace = physicalName;
    } else if (typeof args.namespace === "string") {
      namespaceName = pulumi.output(args.namespace);
      plainNamespace = args.namespace;
    } else {
      namespaceName = args.namespace.metadata.name;
    }

    const image = runtimeImage(name, { ...(args.image ? { image: args.image } : {}), ...(args.imageRepository ? { imageRepository: args.imageRepository } : {}) }, this, t.image);
    const registryUri = typeof args.registry === "string" ? pulumi.output(args.registry) : args.registry.uri;
    const loggingUri = args.logging ? pulumi.output(args.logging.uri) : undefined;
    // Serving by entity id: the store's spec goes into the endpoint's, its AUTH token by Secret reference (features.ts).
    const features = args.features ? featureWiring(name, this, args.features, namespaceName) : undefined;
    const specJson = pulumi.all([registryUri, loggingUri, features?.storeSpec]).apply(([uri, logUri, store]) => {
      if (uri.startsWith("file://")) {
        // Legitimate only when the image or a volume carries the registry; usually a forgotten S3 registry.
        pulumi.log.warn(`registry ${uri} is a local path: the pods will only find models if the image or a volume provides that path`, this);
      }
      if (logUri?.startsWith("file://")) {
        pulumi.log.warn(`logging.uri ${logUri} is a local path: the pods' root filesystem is read-only, so it must be on a volume they mount`, this);
      }
      return JSON.stringify(
        buildEndpointSpec({ name, registryUri: uri, endpoint, ...(logUri !== undefined ? { loggingUri: logUri } : {}), ...(store !== undefined ? { features: featuresBlock(args.features!, store) } : {}) }),
      );
    });

    // The ServiceAccount is named physicalName (serviceAccountArgs).
    const role = endpointRole(this, { name, args, namespace: plainNamespace, serviceAccount: physicalName, registryUri, ...(loggingUri ? { loggingUri } : {}) });
    const roleArn = args.serviceAccountRoleArn ?? role?.arn;
    const ctx: ManifestContext = {
      physicalName,
      namespace: namespaceName,
      labels,
      selector,
      image: image.ref,
      specJson,
      endpoint,
      ...(roleArn !== undefined ? { serviceAccountRoleArn: roleArn } : {}),
      ...(features ? { featureEnv: features.env } : {}),
    };

    const serviceAccount = create(k8s.core.v1.ServiceAccount, "sa", t.serviceAccount, serviceAccountArgs(ctx));
    const secret = args.auth ? create(k8s.core.v1.Secret, "auth", t.secret, authSecretArgs(ctx, args.auth.token)) : undefined;
    const s3Secret = args.s3?.credentials ? create(k8s.core.v1.Secret, "s3", t.s3Secret, s3SecretArgs(ctx, args.s3.credentials)) : undefined;
    const deployment = create(k8s.apps.v1.Deployment, "deployment", t.deployment, deploymentArgs(ctx), {
      ...childOpts,
      // A FeatureStore first: pods that start before its online store answers fail at boot and restart.
      dependsOn: [serviceAccount, ...(secret ? [secret] : []), ...(s3Secret ? [s3Secret] : []), ...(args.features?.store instanceof pulumi.Resource ? [args.features.store] : []), ...(cluster && endpoint.priorityClassName === cluster.servingPriorityClassName ? cluster.nodes.priorityClasses : [])],
    });
    const service = create(k8s.core.v1.Service, "svc", t.service, serviceArgs(ctx));
    const autoscaler = create(k8s.autoscaling.v2.HorizontalPodAutoscaler, "hpa", t.autoscaler, autoscalerArgs(ctx), {
      ...childOpts,
      dependsOn: [deployment],
    });
    const disruptionBudget = create(k8s.policy.v1.PodDisruptionBudget, "pdb", t.disruptionBudget, disruptionBudgetArgs(ctx));
    const networkPolicy = create(k8s.networking.v1.NetworkPolicy, "netpol", t.networkPolicy, networkPolicyArgs(ctx));

    this.children = {
      ...(namespaceResource ? { namespace: namespaceResource } : {}),
      ...(createdProvider ? { provider: createdProvider } : {}),
      serviceAccount,
      ...(role ? { role } : {}),
      ...(secret ? { secret } : {}),
      ...(s3Secret ? { s3Secret } : {}),
      deployment,
      service,
      autoscaler,
      disruptionBudget,
      networkPolicy,
      ...(image.resource ? { image: image.resource } : {}),
    };
    this.serviceName = service.metadata.name;
    this.namespace = namespaceName;
    // The Service listens on port 80, so the URL needs no port.
    this.url = pulumi.interpolate`http://${service.metadata.name}.${namespaceName}.svc.cluster.local`;
    this.readyUrl = pulumi.interpolate`${this.url}${SERVE_PATHS.ready}`;
    this.monitoringTarget = {
      name,
      model: endpoint.model,
      namespace: namespaceName,
      serviceName: this.serviceName,
      ...(endpoint.metrics ? { metricsPortName: MODEL_ENDPOINT_DEFAULTS.metricsPortName } : {}),
      ...(secret ? { authSecret: { name: secret.metadata.name, key: AUTH_SECRET_KEY } } : {}),
      autoscalerName: autoscaler.metadata.name,
      ...(args.logging ? { payloadUri: args.logging.uri } : {}),
    };
    // Whether the registry holds the model is not known here (the program may not even reach it), so this
    // says what a fresh stage's first `pulumi up` leads to: the rollout completes (see ROLLOUT_READY_PATH) and
    // the endpoint answers 503 until the model is registered, then serves without a restart.
    pulumi.log.warn(
      `ModelEndpoint "${name}" waits for its first model while ${endpoint.model} is not in the registry (a fresh stage, before its first training run or promotion): ` +
        `the rollout completes and the endpoint answers 503 until the model is registered, then serves it without a restart. See the readyUrl output.`,
      this,
    );
    this.registerOutputs({ url: this.url, serviceName: this.serviceName, namespace: this.namespace, readyUrl: this.readyUrl });
  }

  /** The underlying resources, for what the args and transforms do not cover. */
  get nodes(): ModelEndpointNodes {
    return this.children;
  }
}
