import * as pulumi from "@pulumi/pulumi";
import type * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { renderTrainSpec } from "../../src/spec/train.js";
import { registryKmsKeyArn } from "../model-registry/kms.js";
import { runtimeImage } from "../shared/image.js";
import { createServiceAccountRole } from "../shared/irsa.js";
import { applyTransform, type Transform } from "../shared/transform.js";
import type { TrainingJobArgs } from "./args.js";
import { buildTrainingJobManifests, buildTrainSpec, runOnDemandCommand, type TrainingJobManifests } from "./manifests.js";
import { normalizeTrainingJob, trainingJobS3Access, underUri, type NormalizedTrainingJob, type TrainingJobContext } from "./normalize.js";

export interface TrainingJobNodes {
  readonly serviceAccount: k8s.core.v1.ServiceAccount;
  readonly service?: k8s.core.v1.Service;
  readonly job?: k8s.batch.v1.Job;
  readonly cronJob?: k8s.batch.v1.CronJob;
  /** Only with `s3.credentials`. */
  readonly s3Secret?: k8s.core.v1.Secret;
  readonly role?: aws.iam.Role;
  readonly rolePolicy?: aws.iam.RolePolicy;
}

/**
 * A training job on a {@link TrainingCluster}: a Job (one worker), an Indexed Job with a headless
 * Service (`workers > 1`), or a CronJob (`schedule`). Created by `cluster.addTrainingJob(name, args)`,
 * which hands it the cluster's context.
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

  /**
   * @param jobName the job's own name (its Kubernetes objects' names); `name` is the component's logical name.
   * @param context what the cluster hands its jobs (internal: use `cluster.addTrainingJob`).
   */
  constructor(name: string, jobName: string, args: TrainingJobArgs, context: TrainingJobContext, opts: pulumi.ComponentResourceOptions = {}) {
    super(TrainingJob.TYPE, name, {}, opts);
    const job = normalizeTrainingJob(jobName, args, context);
    const image = job.image ?? runtimeImage(name, args.imageRepository ? { imageRepository: args.imageRepository } : {}, this).ref;
    const registryUri = this.registryUri(job, args);
    const featureRegistryUri = job.featureRegistry !== undefined ? this.featureRegistryUri(job, job.featureRegistry) : undefined;
    this.trainSpec = pulumi.all([registryUri, featureRegistryUri]).apply(([uri, features]) => renderTrainSpec(buildTrainSpec(job, uri, features)));

    const { role, rolePolicy } = this.createRole(name, job, args, context, registryUri, featureRegistryUri);
    const roleArn = args.serviceAccountRoleArn ?? role?.arn;
    const manifests = buildTrainingJobManifests({
      ...job,
      image,
      instance: context.instance,
      partOf: context.partOf,
      renderedSpec: this.trainSpec,
      ...(roleArn !== undefined ? { serviceAccountRoleArn: roleArn } : {}),
      ...(args.s3?.credentials ? { s3Credentials: args.s3.credentials } : {}),
    });
    this._nodes = { ...this.createObjects(name, manifests, args.transform, context), ...(role ? { role } : {}), ...(rolePolicy ? { rolePolicy } : {}) };

    this.jobName = pulumi.output(job.name);
    this.namespace = pulumi.output(job.namespace);
    this.kind = pulumi.output(job.schedule !== undefined ? ("CronJob" as const) : ("Job" as const));
    // pulumi.output resolves the Inputs inside the manifest (image, spec, role ARN) into plain data.
    this.manualJobManifest = pulumi.output(manifests.manualJob) as pulumi.Output<Record<string, unknown>>;
    this.runOnDemandCommand = this.manualJobManifest.apply((m) => runOnDemandCommand(job, m));

    this.registerOutputs({ jobName: this.jobName, namespace: this.namespace, kind: this.kind, runOnDemandCommand: this.runOnDemandCommand });
  }

  /** The underlying resources: ServiceAccount, Service, Job or CronJob, and the IAM role on EKS. */
  get nodes(): TrainingJobNodes {
    return this._nodes;
  }

  /** The registry's URI, refused at deploy time unless a pod can reach it (S3). */
  private registryUri(job: NormalizedTrainingJob, args: TrainingJobArgs): pulumi.Output<string> {
    const r = args.registry;
    const uri = r !== null && typeof r === "object" && !pulumi.Output.isInstance(r) && !(r instanceof Promise) && "uri" in r ? r.uri : (r as pulumi.Input<string>);
    return pulumi.output(uri).apply((u) => {
      if (typeof u !== "string" || !u.startsWith("s3://")) {
        throw new pulumi.ResourceError(
          `addTrainingJob(${JSON.stringify(job.name)}).registry: a pod cannot reach ${JSON.stringify(u)}. Use an S3 registry (ModelRegistry with storage: { s3: {} }, or an s3:// URI).`,
          this,
        );
      }
      return u;
    });
  }

  /** A training set's feature registry, refused at deploy time unless a pod can reach it (S3). */
  private featureRegistryUri(job: NormalizedTrainingJob, uri: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.output(uri).apply((u) => {
      if (typeof u !== "string" || !u.startsWith("s3://")) {
        throw new pulumi.ResourceError(
          `addTrainingJob(${JSON.stringify(job.name)}).dataset.featureRegistry: a pod cannot reach ${JSON.stringify(u)}. Use the FeatureStore's S3 registry (pass the FeatureStore, or its s3:// registryUri).`,
          this,
        );
      }
      return u;
    });
  }

  private createObjects(name: string, m: TrainingJobManifests, t: TrainingJobArgs["transform"], context: TrainingJobContext) {
    const opts = (after: pulumi.Resource[]): pulumi.CustomResourceOptions => ({ parent: this, provider: context.provider, dependsOn: [...context.dependsOn, ...after] });
    const make = <A extends object, R>(hook: Transform<A> | undefined, n: string, manifest: object, Ctor: new (n: string, a: A, o: pulumi.CustomResourceOptions) => R, after: pulumi.Resource[] = []): R =>
      new Ctor(n, ...applyTransform<A>(hook, n, manifest as A, opts(after)));
    const serviceAccount = make(t?.serviceAccount, `${name}-sa`, m.serviceAccount, k8s.core.v1.ServiceAccount);
    const s3Secret = m.s3Secret ? make(t?.s3Secret, `${name}-s3`, m.s3Secret, k8s.core.v1.Secret) : undefined;
    const first = [serviceAccount, ...(s3Secret ? [s3Secret] : [])];
    // Pods name the ServiceAccount (and its IAM role): created before it, they fail admission or start without the role.
    return {
      serviceAccount,
      ...(s3Secret ? { s3Secret } : {}),
      ...(m.service ? { service: make(t?.service, `${name}-workers`, m.service, k8s.core.v1.Service) } : {}),
      ...(m.cronJob ? { cronJob: make(t?.cronJob, `${name}-cron`, m.cronJob, k8s.batch.v1.CronJob, first) } : {}),
      ...(m.job ? { job: make(t?.job, `${name}-job`, m.job, k8s.batch.v1.Job, first) } : {}),
    };
  }

  /**
   * On EKS, a role only this job's ServiceAccount can assume, reaching only what a run of this job's model
   * needs ({@link trainingJobS3Access}): the dataset or its training set's folder (read), its own model's
   * prefix and its checkpoint prefix (read/write), the content-addressed blobs (read/put); the registry's
   * KMS key, if any, through S3, and the dataset's (`datasetKmsKeyArn`) to decrypt only.
   */
  private createRole(
    name: string,
    job: NormalizedTrainingJob,
    args: TrainingJobArgs,
    context: TrainingJobContext,
    registryUri: pulumi.Output<string>,
    featureRegistryUri: pulumi.Output<string> | undefined,
  ): { role?: aws.iam.Role; rolePolicy?: aws.iam.RolePolicy } {
    // Static S3 credentials win over IRSA in the SDK's chain: a role would go unused.
    if (!context.irsa || args.serviceAccountRoleArn !== undefined || args.s3?.credentials !== undefined) return {};
    return createServiceAccountRole({
      name,
      irsa: context.irsa,
      access: {
        namespace: job.namespace,
        serviceAccount: job.serviceAccountName,
        ...trainingJobS3Access(
          job,
          (path) => registryUri.apply((uri) => underUri(uri, path)),
          featureRegistryUri ? (path) => featureRegistryUri.apply((uri) => underUri(uri, path)) : undefined,
        ),
        // The default checkpoint prefix is inside the registry, so the registry's key covers it too.
        kmsKeyArns: [registryKmsKeyArn(args.registry, args.registryKmsKeyArn)],
        ...(args.datasetKmsKeyArn !== undefined ? { readKmsKeyArns: [args.datasetKmsKeyArn] } : {}),
      },
      context: `addTrainingJob(${JSON.stringify(job.name)})`,
      opts: { parent: this },
      ...(args.transform?.role ? { transform: args.transform.role } : {}),
    });
  }
}

export type { TrainingJobArgs, TrainingJobDataset, TrainingJobFileDataset, TrainingJobTrainingSetDataset } from "./args.js";
export { TRAINING_PUSHGATEWAY_ENV, TrainingJobArgsSchema } from "./args.js";
export { TRAINING_JOB_DEFAULTS, normalizeTrainingJob, trainingJobS3Access, type TrainingJobContext, type NormalizedTrainingJob, type TrainingJobS3Access } from "./normalize.js";
export { buildTrainingJobManifests, buildTrainSpec, distributedEnvVars, renderTrainingJob, runOnDemandCommand, type TrainingJobPlan, type TrainingJobManifests } from "./manifests.js";
