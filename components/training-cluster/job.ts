import * as pulumi from "@pulumi/pulumi";
import { runtimeImage } from "../shared/image.js";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { renderTrainSpec } from "../../src/spec/train.js";
import { irsaRole } from "./eks.js";
import { registryKmsKeyArn } from "../model-registry/kms.js";
import { KMS_KEY_ARN_FIX, parseKmsKeyArn, s3AccessPolicy, type KmsKeyGrant, type S3Location } from "./iam.js";
import type { TrainingJobArgs } from "./job-args.js";
import {
  buildTrainingJobManifests,
  buildTrainSpec,
  normalizeTrainingJob,
  type JobClusterView,
  type NormalizedTrainingJob,
  type TrainingJobManifests,
} from "./training-job.js";
import { applyTransform, type Transform } from "../shared/transform.js";

/** What a TrainingCluster hands each of its jobs. */
export interface TrainingJobContext extends JobClusterView {
  readonly provider: k8s.Provider;
  /** EKS only: the OIDC provider, so jobs get their own service-account roles. */
  readonly irsa?: { readonly providerArn: pulumi.Output<string>; readonly issuer: pulumi.Output<string>; readonly tags: Record<string, string> };
  /** Namespaces, priority classes and queues the job's objects need first. */
  readonly dependsOn: readonly pulumi.Resource[];
}

/** Anything that hands out a TrainingJobContext: a TrainingCluster. */
export interface TrainingJobHost {
  readonly jobContext: TrainingJobContext;
}

export interface TrainingJobNodes {
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly service?: k8s.core.v1.Service;
  readonly job?: k8s.batch.v1.Job;
  readonly cronJob?: k8s.batch.v1.CronJob;
  readonly role?: aws.iam.Role;
  readonly rolePolicy?: aws.iam.RolePolicy;
}

/**
 * A training job on a {@link TrainingCluster}: a Job (one worker), an Indexed Job with a headless
 * Service (`workers > 1`), or a CronJob (`schedule`). Created by `cluster.addTrainingJob(name, args)`.
 *
 * To start a run on demand (e.g. from a drift alert), run {@link runOnDemandCommand}, or create
 * {@link manualJobManifest} with any Kubernetes client: it has `metadata.generateName`, so each create
 * is a new run.
 */
export class TrainingJob extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:training:TrainingJob";

  /** Name of the Job or CronJob. */
  readonly jobName: pulumi.Output<string>;
  readonly namespace: pulumi.Output<string>;
  /** `"Job"` without a schedule, `"CronJob"` with one. */
  readonly kind: pulumi.Output<"Job" | "CronJob">;
  /**
   * A shell command that starts one run now. CronJob: `kubectl create job --from=cronjob/<name>
   * <name>-manual-$(date +%s) -n <ns>`; Job: `kubectl create -f -` fed {@link manualJobManifest}.
   */
  readonly runOnDemandCommand: pulumi.Output<string>;
  /** A batch/v1 Job (with `generateName`) that runs the same training once. */
  readonly manualJobManifest: pulumi.Output<Record<string, unknown>>;
  /** The TrainSpec JSON rendered into the container's `MLOPS_TRAIN_SPEC`. */
  readonly trainSpec: pulumi.Output<string>;
  private readonly _nodes: TrainingJobNodes;

  constructor(name: string, args: TrainingJobArgs & { readonly cluster: TrainingJobHost; readonly jobName?: string }, opts: pulumi.ComponentResourceOptions = {}) {
    super(TrainingJob.TYPE, name, {}, opts);
    const ctx = args.cluster.jobContext;
    const normalized = normalizeTrainingJob(args.jobName ?? name, args, ctx);
    const job = args.image
      ? normalized
      : { ...normalized, image: runtimeImage(name, args.imageRepository ? { imageRepository: args.imageRepository } : {}, this).ref };

    const registryUri = registryUriOf(args.registry).apply((uri) => {
      if (typeof uri !== "string" || !uri.startsWith("s3://")) {
        throw new pulumi.ResourceError(
          `addTrainingJob(${JSON.stringify(job.name)}).registry: a pod cannot reach ${JSON.stringify(uri)}. Use an S3 registry (ModelRegistry with storage: { s3: {} }, or an s3:// URI).`,
          this,
        );
      }
      return uri;
    });
    this.trainSpec = registryUri.apply((uri) => renderTrainSpec(buildTrainSpec(job, uri)));

    const { role, rolePolicy } = this.createRole(name, job, args, ctx, registryUri);
    const roleArn = args.serviceAccountRoleArn ?? role?.arn;
    const plan = { ...job, instance: ctx.instance, partOf: ctx.partOf, renderedSpec: this.trainSpec, ...(roleArn !== undefined ? { serviceAccountRoleArn: roleArn } : {}) };
    const manifests = buildTrainingJobManifests(plan);

    const k8sOpts = (): pulumi.CustomResourceOptions => ({ parent: this, provider: ctx.provider, dependsOn: [...ctx.dependsOn] });
    const make = <A extends object, R>(t: Transform<A> | undefined, n: string, manifest: object, ctor: new (n: string, a: A, o: pulumi.CustomResourceOptions) => R): R => {
      const [a, o] = applyTransform<A>(t, n, manifest as A, k8sOpts());
      return new ctor(n, a, o);
    };
    const serviceAccount = make(args.transform?.serviceAccount, `${name}-sa`, manifests.serviceAccount, k8s.core.v1.ServiceAccount);
    const service = manifests.service ? make(args.transform?.service, `${name}-workers`, manifests.service, k8s.core.v1.Service) : undefined;
    const cronJob = manifests.cronJob ? make(args.transform?.cronJob, `${name}-cron`, manifests.cronJob, k8s.batch.v1.CronJob) : undefined;
    const jobRes = manifests.job ? make(args.transform?.job, `${name}-job`, manifests.job, k8s.batch.v1.Job) : undefined;

    // Resolved once every Input is known, for the outputs that must be plain data.
    const resolved: pulumi.Output<TrainingJobManifests> = pulumi
      .all([this.trainSpec, pulumi.output(job.image), pulumi.output(roleArn)])
      .apply(([spec, image, arn]) =>
        buildTrainingJobManifests({ ...plan, renderedSpec: spec, image, ...(arn !== undefined ? { serviceAccountRoleArn: arn } : {}) }),
      );
    this.jobName = pulumi.output(job.name);
    this.namespace = pulumi.output(job.namespace);
    this.kind = pulumi.output(job.schedule !== undefined ? ("CronJob" as const) : ("Job" as const));
    this.runOnDemandCommand = resolved.apply((m) => m.runOnDemandCommand);
    this.manualJobManifest = resolved.apply((m) => m.manualJob);
    this._nodes = { serviceAccount, ...(service ? { service } : {}), ...(jobRes ? { job: jobRes } : {}), ...(cronJob ? { cronJob } : {}), ...(role ? { role } : {}), ...(rolePolicy ? { rolePolicy } : {}) };

    this.registerOutputs({
      jobName: this.jobName,
      namespace: this.namespace,
      kind: this.kind,
      runOnDemandCommand: this.runOnDemandCommand,
    });
  }

  /** The underlying resources: ServiceAccount, Service, Job or CronJob, and the IAM role on EKS. */
  get nodes(): TrainingJobNodes {
    return this._nodes;
  }

  /**
   * On EKS, a role only this job's ServiceAccount can assume, reaching only the dataset (read) and the
   * registry and checkpoint prefixes (read/write), and the registry's KMS key, if any, through S3.
   */
  private createRole(
    name: string,
    job: NormalizedTrainingJob,
    args: TrainingJobArgs,
    ctx: TrainingJobContext,
    registryUri: pulumi.Output<string>,
  ): { role?: aws.iam.Role; rolePolicy?: aws.iam.RolePolicy } {
    if (!ctx.irsa || args.serviceAccountRoleArn !== undefined) return {};
    const irsa = ctx.irsa;
    const role = irsaRole(`${name}-role`, irsa, job.namespace, job.serviceAccountName, irsa.tags, { parent: this }, args.transform?.role);
    const policy = pulumi.all([registryUri, registryKmsKeyArn(args.registry, args.registryKmsKeyArn)]).apply(([uri, kmsKeyArn]) => {
      const locations: S3Location[] = [
        { uri, access: "readwrite" },
        { uri: job.spec.dataset.uri, access: "read" },
      ];
      if (job.spec.checkpoint?.uri) locations.push({ uri: job.spec.checkpoint.uri, access: "readwrite" });
      if (kmsKeyArn && !parseKmsKeyArn(kmsKeyArn)) {
        throw new pulumi.ResourceError(`addTrainingJob(${JSON.stringify(job.name)}): the registry's KMS key ${JSON.stringify(kmsKeyArn)} is not a key ARN. ${KMS_KEY_ARN_FIX}`, this);
      }
      // The default checkpoint prefix is inside the registry, so the registry's key covers it too.
      const kmsKeys: KmsKeyGrant[] = kmsKeyArn ? [{ arn: kmsKeyArn, access: "readwrite" }] : [];
      return JSON.stringify(s3AccessPolicy(locations, kmsKeys));
    });
    const rolePolicy = new aws.iam.RolePolicy(`${name}-s3`, { role: role.id, policy }, { parent: this });
    return { role, rolePolicy };
  }
}

function registryUriOf(registry: TrainingJobArgs["registry"]): pulumi.Output<string> {
  if (registry !== null && typeof registry === "object" && !pulumi.Output.isInstance(registry) && !(registry instanceof Promise) && "uri" in registry) {
    return pulumi.output(registry.uri);
  }
  return pulumi.output(registry as pulumi.Input<string>);
}
