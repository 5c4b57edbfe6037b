/**
 * Runs the policy pack's validations the way the Pulumi engine does, without an engine: every resource the
 * components registered under the mocks (tests/helpers/pulumi-mocks.ts) becomes the `ResourceValidationArgs`
 * of @pulumi/policy (type, name, URN, inputs as `props`, the policy's config) and, for stack policies, a
 * `PolicyResource` (outputs as `props`, dependencies by property, linked by URN).
 *
 * Call `recordUrns()` once after `setupMocks` (it notes each registration's URN and property dependencies,
 * which the recorder does not keep); `resources()` of the mocks then map one to one.
 */
import type {
  Policies,
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks.js";
import type { RecordedResource } from "../helpers/pulumi-mocks.js";

interface Registration {
  urn: string;
  propertyDependencies: Record<string, string[]>;
}
const registrations = new Map<string, Registration>();
let wrapped = false;

/** Notes the URN and property dependencies of every registration from now on (idempotent). */
export function recordUrns(): void {
  if (wrapped) return;
  wrapped = true;
  const proto = MockMonitor.prototype as unknown as {
    registerResource: (req: any, cb: any) => Promise<void>;
    newUrn: (parent: string, type: string, name: string) => string;
  };
  const original = proto.registerResource;
  proto.registerResource = function (this: typeof proto, req: any, cb: any) {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap?.().forEach((deps: any, key: string) => {
      propertyDependencies[key] = deps.getUrnsList();
    });
    registrations.set(`${req.getType()}::${req.getName()}`, { urn: this.newUrn(req.getParent(), req.getType(), req.getName()), propertyDependencies });
    return original.call(this, req, cb);
  };
}

/** One violation as the engine would report it. */
export interface Violation {
  readonly policy: string;
  readonly type: string;
  readonly name: string;
  readonly message: string;
}

const OPTS = { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] };

class NotApplicable extends Error {}

function urnOf(r: { type: string; name: string }, stack: string): string {
  return registrations.get(`${r.type}::${r.name}`)?.urn ?? `urn:pulumi:${stack}::mlops::${r.type}::${r.name}`;
}

/** The argument bag of a resource validation for `r`, as @pulumi/policy's server builds it. */
export function validationArgs(
  r: Pick<RecordedResource, "type" | "name" | "inputs">,
  opts: { stack?: string; config?: Record<string, unknown>; urn?: string } = {},
): ResourceValidationArgs {
  return {
    type: r.type,
    name: r.name,
    props: r.inputs,
    urn: opts.urn ?? urnOf(r, opts.stack ?? "dev"),
    opts: OPTS,
    stackTags: new Map(),
    isType: (cls: any) => cls?.__pulumiType === r.type,
    asType: (cls: any) => (cls?.__pulumiType === r.type ? (r.inputs as any) : undefined),
    getConfig: <T extends object>() => ({ ...(opts.config ?? {}) }) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
}

/** Runs one resource policy against one resource; the messages it reported. */
export async function runResourcePolicy(
  policy: ResourceValidationPolicy,
  r: Pick<RecordedResource, "type" | "name" | "inputs">,
  opts: { stack?: string; config?: Record<string, unknown>; urn?: string } = {},
): Promise<string[]> {
  const messages: string[] = [];
  const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
  for (const validate of validations) {
    try {
      await validate(validationArgs(r, opts), (message) => messages.push(message));
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
  }
  return messages;
}

/** The stack's resources as a stack validation sees them: outputs as props, dependencies linked by URN. */
export function policyResources(recorded: readonly RecordedResource[], stack = "dev"): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const out = recorded.map((r) => {
    const pr: PolicyResource = {
      type: r.type,
      name: r.name,
      urn: urnOf(r, stack),
      props: { ...r.inputs, ...unwrap(r.state), ...(r.id ? { id: r.id } : {}) },
      opts: OPTS,
      dependencies: [],
      propertyDependencies: {},
      isType: (cls: any) => cls?.__pulumiType === r.type,
      asType: (cls: any) => (cls?.__pulumiType === r.type ? (pr as any) : undefined),
    };
    byUrn.set(pr.urn, pr);
    return pr;
  });
  recorded.forEach((r, i) => {
    const deps = registrations.get(`${r.type}::${r.name}`)?.propertyDependencies ?? {};
    for (const [key, urns] of Object.entries(deps)) {
      out[i]!.propertyDependencies[key] = urns.flatMap((u) => (byUrn.has(u) ? [byUrn.get(u)!] : []));
    }
    out[i]!.dependencies = [...new Set(Object.values(out[i]!.propertyDependencies).flat())];
  });
  return out;
}

/** Runs one stack policy over the resources; the messages it reported, each with the URN it named. */
export async function runStackPolicy(policy: StackValidationPolicy, resources: PolicyResource[], config: Record<string, unknown> = {}): Promise<{ message: string; urn?: string }[]> {
  const out: { message: string; urn?: string }[] = [];
  try {
    await policy.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({ ...config }) as T,
        notApplicable: (reason?: string): never => {
          throw new NotApplicable(reason);
        },
      },
      (message, urn) => out.push({ message, ...(urn ? { urn } : {}) }),
    );
  } catch (e) {
    if (!(e instanceof NotApplicable)) throw e;
  }
  return out;
}

/** Every violation of every policy in `policies` over the recorded resources (resource and stack policies). */
export async function runPack(policies: Policies, recorded: readonly RecordedResource[], opts: { stack?: string; config?: Record<string, unknown> } = {}): Promise<Violation[]> {
  const out: Violation[] = [];
  for (const policy of policies) {
    if ("validateStack" in policy) {
      const all = policyResources(recorded, opts.stack);
      for (const v of await runStackPolicy(policy, all, opts.config)) {
        const r = all.find((x) => x.urn === v.urn);
        out.push({ policy: policy.name, type: r?.type ?? "stack", name: r?.name ?? "stack", message: v.message });
      }
      continue;
    }
    for (const r of recorded) {
      for (const message of await runResourcePolicy(policy, r, opts)) out.push({ policy: policy.name, type: r.type, name: r.name, message });
    }
  }
  return out;
}

function unwrap(v: unknown): any {
  if (Array.isArray(v)) return v.map(unwrap);
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (o[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrap(o.value);
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrap(x)]));
}
