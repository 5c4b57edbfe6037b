import { MlopsError } from "../errors.js";
import { FeatureRegistry, sha256, viewDigest } from "../features/registry.js";
import { profileKey } from "../registry/profiles.js";
import type { Registry } from "../registry/registry.js";
import type { ModelVersion } from "../registry/types.js";
import { RUN_ID_PATTERN, finalMetrics, readRun } from "../runs/store.js";
import { featureEntity } from "../spec/endpoint-features.js";
import { parseEndpointSpec, type EndpointSpec } from "../spec/endpoint.js";
import { parseModelRef, type ModelRef } from "../spec/model-ref.js";
import { putRelease } from "./store.js";
import type { ReleaseBody, ReleaseFeatures, ReleaseRecord, ReleaseRun } from "./types.js";

export interface CreateReleaseOptions {
  /** `name@alias` (resolved now: the release pins the version) or `name:version`. */
  readonly model: string | ModelRef;
  /** The runtime image, `<repository>[:tag]@sha256:<hex>`; a tag alone is refused. @default - none */
  readonly image?: string;
  /** The EndpointSpec (raw: it is parsed and normalized here). @default - none */
  readonly endpoint?: unknown;
  /** Where the endpoint's feature views are looked up. @default - the endpoint's `features.store.registry` */
  readonly featureRegistry?: string;
  /** Where the spec came from, for error messages. @default "endpoint spec" */
  readonly endpointSource?: string;
}

/** `<repository>[:tag]@sha256:<64 hex>`: the repository, then the digest. */
const IMAGE_REF = /^([a-z0-9][a-z0-9._\-/:]*?)(?::[\w][\w.-]{0,127})?@(sha256:[0-9a-f]{64})$/;

/**
 * Parses a runtime image reference pinned by digest. The release keeps `<repository>@sha256:…`: a tag names
 * nothing a release can rely on (it may move), so it is dropped, and two tags of one image are one release.
 */
export function parseImageRef(ref: string, field = "--image"): { ref: string; digest: string } {
  const m = IMAGE_REF.exec(ref);
  if (!m) {
    const fix = ref.includes("@")
      ? "Give the digest as @sha256:<64 hex digits>."
      : "Pin the image by digest: <repository>@sha256:<hex> (docker buildx imagetools inspect <ref> or crane digest <ref> prints it).";
    throw MlopsError.of(field, ref.includes("@") ? "has a malformed digest" : "is not pinned by a digest (a tag can be moved to another image)", ref, fix);
  }
  return { ref: `${m[1]}@${m[2]}`, digest: m[2]! };
}

/**
 * Assembles a release body from what the registries hold now: the model version (resolved), the image,
 * the normalized serving config, the feature view versions the endpoint reads, the version's drift
 * reference profile and its training run. Reads only; {@link createRelease} stores the result.
 */
export async function assembleRelease(registry: Registry, name: string, opts: CreateReleaseOptions): Promise<ReleaseBody> {
  const mv = await registry.resolve(opts.model);
  const serving = opts.endpoint === undefined ? undefined : parseEndpointSpec(opts.endpoint, opts.endpointSource ?? "endpoint spec");
  if (serving && parseModelRef(serving.model).name !== mv.name) {
    throw MlopsError.of("endpoint.model", `serves model "${parseModelRef(serving.model).name}", not the release's model "${mv.name}"`, serving.model, `Give an endpoint spec that serves ${mv.name} (e.g. model: ${mv.name}@champion), or release that model.`);
  }
  const features = serving?.features ? await featureVersions(serving, opts.featureRegistry) : undefined;
  const profile = await profileOf(registry, mv);
  const run = await runOf(registry, mv);
  const ts = mv.lineage.trainingSet;
  return {
    apiVersion: "mlops/v1",
    kind: "Release",
    name,
    model: {
      name: mv.name,
      version: mv.version,
      digest: mv.digest,
      metrics: { ...mv.metrics },
      ...(ts ? { trainingSet: { name: ts.name, version: ts.version, digest: ts.digest, views: { ...ts.views } } } : {}),
    },
    ...(opts.image !== undefined ? { image: parseImageRef(opts.image) } : {}),
    ...(serving ? { serving } : {}),
    ...(features ? { features } : {}),
    ...(profile ? { profile } : {}),
    ...(run ? { run } : {}),
  };
}

/** Assembles and stores a release in `registry`'s store; the same inputs give the same digest and keep the first record. */
export async function createRelease(registry: Registry, name: string, opts: CreateReleaseOptions): Promise<{ record: ReleaseRecord; created: boolean }> {
  return putRelease(registry.store, await assembleRelease(registry, name, opts));
}

/**
 * The version of each view the endpoint reads: the recorded version whose definition has the same digest
 * as the view in the endpoint's store spec (the latest such, when it was applied, changed and changed back).
 */
async function featureVersions(serving: EndpointSpec, registryUri?: string): Promise<ReleaseFeatures> {
  const f = serving.features!;
  const store = f.store;
  const registry = FeatureRegistry.open(registryUri ?? store.registry);
  const names = [...new Set(featureEntity(f).refs.map((r) => r.view))].sort();
  const views: Record<string, { version: number; digest: string }> = {};
  for (const viewName of names) {
    const view = store.views.find((v) => v.name === viewName)!;
    const digest = viewDigest(view, store);
    const numbers = await registry.viewVersionNumbers(viewName);
    let found: number | undefined;
    for (let i = numbers.length - 1; i >= 0 && found === undefined; i--) {
      if ((await registry.viewVersion(viewName, numbers[i]!)).digest === digest) found = numbers[i];
    }
    if (found === undefined) {
      throw MlopsError.of(
        `endpoint.features.store.views.${viewName}`,
        numbers.length ? `is not recorded in the feature registry ${registry.uri} with this definition (it has versions ${numbers.join(", ")} of other definitions)` : `is not recorded in the feature registry ${registry.uri}`,
        digest,
        "Apply the feature store spec the endpoint serves first (mlops features apply --spec <features.yaml>), or pass the --feature-registry it was applied to.",
      );
    }
    views[viewName] = { version: found, digest };
  }
  return { registry: registry.uri, store: store.name, views };
}

async function profileOf(registry: Registry, mv: ModelVersion): Promise<ReleaseBody["profile"]> {
  const key = profileKey(mv.name, mv.version);
  const bytes = await registry.store.get(key);
  return bytes ? { key, digest: sha256(bytes) } : undefined;
}

async function runOf(registry: Registry, mv: ModelVersion): Promise<ReleaseRun | undefined> {
  const runId = mv.lineage.runId;
  if (!runId) return undefined;
  // Versions registered before run records existed carry other run ids: known, but not recorded.
  const record = RUN_ID_PATTERN.test(runId) ? await readRun(registry.store, mv.name, runId) : undefined;
  if (!record) return { runId, recorded: false };
  return {
    runId,
    recorded: true,
    status: record.status,
    ...(record.gate ? { gate: { passed: record.gate.passed, checks: record.gate.checks.map((c) => ({ metric: c.metric, op: c.op, bound: c.bound, value: c.value, passed: c.passed })) } } : {}),
    metrics: finalMetrics(record),
    ...(record.datasetDigest ? { datasetDigest: record.datasetDigest } : {}),
    ...(record.codeRevision ? { codeRevision: record.codeRevision } : {}),
    ...(record.imageDigest ? { imageDigest: record.imageDigest } : {}),
  };
}
