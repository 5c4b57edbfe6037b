/**
 * Pulumi unit-test mocks that record every resource a program registers.
 *
 * Usage (the order matters: a component module that creates resources at import time, or any module
 * that does, hangs unless the mocks are in place first, so import components dynamically):
 *
 * ```ts
 * import { beforeAll, beforeEach, test, expect } from "vitest";
 * import { setupMocks, reset, waitForResources, byType, hasResource } from "../../helpers/pulumi-mocks.js";
 *
 * let mod: typeof import("../../../components/model-endpoint/index.js");
 * beforeAll(async () => {
 *   await setupMocks({ stack: "dev" });
 *   mod = await import("../../../components/model-endpoint/index.js");
 * });
 * beforeEach(() => reset());
 *
 * test("uses 2 replicas by default", async () => {
 *   new mod.ModelEndpoint("fraud", { ... });
 *   await waitForResources();
 *   expect(hasResource("kubernetes:apps/v1:Deployment", { spec: { replicas: 2 } })).toBe(true);
 * });
 * ```
 *
 * `setupMocks` may be called again (e.g. with `stack: "prod"`): it swaps the engine's mock monitor; the
 * record is shared and cleared only by `reset()`.
 */
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks.js";
import { mockCall, mockOutputs, mockSuffix } from "../../cli/mock-cloud.js";

/** One registered resource, as the engine would have received it. */
export interface RecordedResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment`, `aws:s3/bucketV2:BucketV2`, `mlops:serving:ModelEndpoint`. */
  readonly type: string;
  /** The Pulumi (logical) name. */
  readonly name: string;
  /** Inputs with secrets unwrapped to their plain values (see `secretPaths` for which were secret). */
  readonly inputs: Record<string, any>;
  /** Inputs as serialized, secret values still wrapped in Pulumi's secret envelope. */
  readonly rawInputs: Record<string, any>;
  /** JSON-pointer-like paths (`/spec/template`) of every value that arrived as a secret. */
  readonly secretPaths: readonly string[];
  /** The id the mock returned (custom resources only). */
  readonly id: string | undefined;
  /** The output state the mock returned. */
  readonly state: Record<string, any>;
  /** True for provider-managed resources, false for components. */
  readonly custom: boolean;
  /** The provider reference (`urn::id`) when one was given explicitly. */
  readonly provider: string | undefined;
  /** Resource options as the engine received them. */
  readonly options: RecordedOptions;
  /**
   * For Kubernetes resources: the object as it would be sent to the API server (secrets unwrapped,
   * `metadata.name` auto-named like the provider does when absent). Undefined for everything else.
   */
  readonly object: K8sObject | undefined;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [key: string]: any;
}

/** The resource options of a registration (what the mocks API itself does not pass on). */
export interface RecordedOptions {
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** URN of the parent ("" for the stack's own resources). */
  readonly parent: string;
  /** URNs of explicit dependencies (`dependsOn` plus those Pulumi derived from inputs). */
  readonly dependencies: readonly string[];
}

/** A provider function call (invoke) the program made. */
export interface RecordedCall {
  readonly token: string;
  readonly inputs: Record<string, any>;
}

export interface MockOptions {
  /** @default "mlops" */
  readonly project?: string;
  /** The stack, which components read as the stage. @default "dev" */
  readonly stack?: string;
  /** @default false */
  readonly preview?: boolean;
  /** Extra output state for a resource, merged over the defaults; return undefined to keep them. */
  readonly outputs?: (args: pulumi.runtime.MockResourceArgs) => Record<string, any> | undefined;
  /** Answer for a provider function call; return undefined to use the defaults. */
  readonly call?: (args: pulumi.runtime.MockCallArgs) => Record<string, any> | undefined;
}

const SIG_KEY = pulumi.runtime.specialSigKey;
const SECRET_SIG = pulumi.runtime.specialSecretSig;

const recorded: RecordedResource[] = [];
// Options of the registration being mocked right now, keyed by type and name (see patchMonitor).
const pendingOptions = new Map<string, RecordedOptions>();
let patched = false;

/**
 * The mocks API passes type, name and inputs only; protect, retainOnDelete, parent and dependencies are on
 * the gRPC request. Wrap MockMonitor.registerResource once to note them before it calls `newResource`.
 */
function patchMonitor(): void {
  if (patched) return;
  patched = true;
  const proto = MockMonitor.prototype as unknown as { registerResource: (req: any, cb: any) => Promise<void> };
  const original = proto.registerResource;
  proto.registerResource = function (this: unknown, req: any, cb: any) {
    pendingOptions.set(`${req.getType()}::${req.getName()}`, {
      protect: Boolean(req.getProtect?.()),
      retainOnDelete: Boolean(req.getRetainondelete?.()),
      parent: req.getParent?.() ?? "",
      dependencies: req.getDependenciesList?.() ?? [],
    });
    return original.call(this, req, cb);
  };
}
const calls: RecordedCall[] = [];

/** Installs the mocks (await it before importing any component module). */
export async function setupMocks(opts: MockOptions = {}): Promise<void> {
  patchMonitor();
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const secretPaths: string[] = [];
        const inputs = unwrapSecrets(args.inputs ?? {}, "", secretPaths) as Record<string, any>;
        const custom = args.custom !== false;
        const id = custom ? args.id || `${args.name}-id` : undefined;
        const object = isK8sObject(args.type, inputs) && custom ? renderK8s(args.type, args.name, inputs) : undefined;
        // Built from the raw inputs so that secret inputs come back as secret outputs, as with the engine.
        const state = {
          ...(args.inputs ?? {}),
          ...(object ? { metadata: object.metadata } : {}),
          ...mockOutputs(args.type, args.name, inputs),
          ...(opts.outputs?.(args) ?? {}),
        };
        const key = `${args.type}::${args.name}`;
        const options = pendingOptions.get(key) ?? { protect: false, retainOnDelete: false, parent: "", dependencies: [] };
        pendingOptions.delete(key);
        recorded.push({
          options,
          type: args.type,
          name: args.name,
          inputs,
          rawInputs: args.inputs ?? {},
          secretPaths,
          id,
          state,
          custom,
          provider: args.provider || undefined,
          object,
        });
        return { id, state };
      },
      call(args) {
        const inputs = unwrapSecrets(args.inputs ?? {}, "", []) as Record<string, any>;
        calls.push({ token: args.token, inputs });
        return opts.call?.(args) ?? mockCall(args.token, inputs);
      },
    },
    opts.project ?? "mlops",
    opts.stack ?? "dev",
    opts.preview ?? false,
  );
}

/** An IAM policy document as a resource recorded it. */
export interface RecordedPolicy {
  readonly Statement: { Sid?: string; Effect: string; Action: string | string[]; Resource?: string | string[]; Principal?: unknown; Condition?: any }[];
}

/** The IAM role with this logical name; fails naming the roles there are. */
export function roleNamed(roleName: string): RecordedResource {
  const role = byType("aws:iam/role:Role").find((r) => r.name === roleName);
  if (!role) throw new Error(`no IAM role named ${roleName}; have ${byType("aws:iam/role:Role").map((r) => r.name).join(", ") || "none"}`);
  return role;
}

/** The trust policy (who may assume it) of the IAM role with this logical name. */
export function trustOf(roleName: string): RecordedPolicy {
  return JSON.parse(roleNamed(roleName).inputs.assumeRolePolicy) as RecordedPolicy;
}

/**
 * The permissions of the IAM role with this logical name: the statements of every inline RolePolicy
 * attached to it (by the role's id), in the order they were created. Fails when it has none.
 */
export function policyOf(roleName: string): RecordedPolicy {
  const role = roleNamed(roleName);
  const policies = byType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.inputs.role === role.id);
  if (policies.length === 0) throw new Error(`IAM role ${roleName} has no inline policy`);
  return { Statement: policies.flatMap((p) => (JSON.parse(p.inputs.policy) as RecordedPolicy).Statement) };
}

/** Forgets every recorded resource and call (resources already created stay registered). */
export function reset(): void {
  recorded.length = 0;
  calls.length = 0;
}

/** Every resource registered since the last `reset()`, in registration order. */
export function resources(): readonly RecordedResource[] {
  return [...recorded];
}

/** Every provider function call since the last `reset()`. */
export function invokes(): readonly RecordedCall[] {
  return [...calls];
}

/** The resources of one type token, e.g. `byType("kubernetes:apps/v1:Deployment")`. */
export function byType(type: string): RecordedResource[] {
  return recorded.filter((r) => r.type === type);
}

/** The Kubernetes objects registered (custom `kubernetes:*` resources), as the API server would get them. */
export function k8sObjects(): K8sObject[] {
  return recorded.flatMap((r) => (r.object ? [r.object] : []));
}

/** The Kubernetes objects of one kind, e.g. `k8sObjectsOfKind("Deployment")`. */
export function k8sObjectsOfKind(kind: string): K8sObject[] {
  return k8sObjects().filter((o) => o.kind === kind);
}

/** True when some resource of `type` has inputs that contain `partial` (deep; arrays match element-wise by prefix-free containment). */
export function hasResource(type: string, partial: unknown = {}): boolean {
  return byType(type).some((r) => matches(r.inputs, partial));
}

/** The first resource of `type` whose inputs contain `partial`; throws listing what exists when none does. */
export function findResource(type: string, partial: unknown = {}): RecordedResource {
  const found = byType(type).find((r) => matches(r.inputs, partial));
  if (!found) {
    const have = recorded.map((r) => `${r.type} ${r.name}`).join("\n  ");
    throw new Error(`no ${type} matching ${JSON.stringify(partial)}; registered:\n  ${have}`);
  }
  return found;
}

/**
 * Deep partial match: every key in `partial` must be in `actual` with a matching value. Arrays: every
 * element of `partial` must match some element of `actual` (order-free). Functions in `partial` act as
 * predicates.
 */
export function matches(actual: unknown, partial: unknown): boolean {
  if (typeof partial === "function") return Boolean((partial as (v: unknown) => unknown)(actual));
  if (partial === null || typeof partial !== "object") return Object.is(actual, partial);
  if (Array.isArray(partial)) {
    if (!Array.isArray(actual)) return false;
    return partial.every((p) => actual.some((a) => matches(a, p)));
  }
  if (actual === null || typeof actual !== "object" || Array.isArray(actual)) return false;
  return Object.entries(partial).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v));
}

/** Resolves an Output's value (unknown values during preview resolve to undefined). */
export function outputOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  return new Promise<T>((resolve) => pulumi.output(o as pulumi.Input<T>).apply((v) => { resolve(v as T); return v; }));
}

/** True when the Output is marked secret. */
export function isSecretOutput(o: pulumi.Output<unknown>): Promise<boolean> {
  return pulumi.isSecret(o);
}

/**
 * Waits until every pending registration has reached the mocks: first Pulumi's own RPC queue, then until
 * the record stops growing for `idleMs`. Mocked inputs are only visible after registration, so await
 * this before asserting on `resources()`.
 */
export async function waitForResources(opts: { idleMs?: number; timeoutMs?: number } = {}): Promise<readonly RecordedResource[]> {
  const idleMs = opts.idleMs ?? 20;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  // waitForRPCs is exported by the runtime's settings module but marked @internal in its typings.
  const waitForRPCs = (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs;
  let last = -1;
  while (Date.now() < deadline) {
    if (waitForRPCs) await Promise.race([waitForRPCs(), sleep(Math.max(0, deadline - Date.now()))]);
    await sleep(idleMs);
    if (recorded.length === last) break;
    last = recorded.length;
  }
  return resources();
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Replaces Pulumi secret envelopes by their values, noting where they were. */
function unwrapSecrets(value: unknown, path: string, secretPaths: string[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}/${i}`, secretPaths));
  if (value === null || typeof value !== "object") return value;
  const obj = value as Record<string, unknown>;
  if (obj[SIG_KEY] === SECRET_SIG) {
    secretPaths.push(path || "/");
    return unwrapSecrets(obj.value, path, secretPaths);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, unwrapSecrets(v, `${path}/${k}`, secretPaths)]));
}

function isK8sObject(type: string, inputs: Record<string, any>): boolean {
  // `kubernetes:apps/v1:Deployment` and CRDs (`kubernetes:kueue.x-k8s.io/v1beta1:ClusterQueue`) carry
  // apiVersion/kind; the provider (`pulumi:providers:kubernetes`) and Helm releases do not.
  return type.startsWith("kubernetes:") && typeof inputs.apiVersion === "string" && typeof inputs.kind === "string";
}

export { mockSuffix };

function renderK8s(type: string, name: string, inputs: Record<string, any>): K8sObject {
  const metadata = { ...(inputs.metadata ?? {}) };
  // The Kubernetes provider auto-names `<name>-<random>` when metadata.name is absent.
  if (!metadata.name) metadata.name = `${name}-${mockSuffix(type + name)}`;
  return { ...inputs, metadata } as K8sObject;
}


