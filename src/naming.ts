/**
 * Physical names and Kubernetes labels, shared by the components and anything that must find their
 * objects again (the CLI, the runtime's logs). Pure: no Pulumi here, the caller passes project and stage.
 */
import { createHash } from "node:crypto";

/** The three parts of a physical name: `${project}-${stage}-${name}`. */
export interface NameParts {
  readonly project: string;
  readonly stage: string;
  readonly name: string;
}

/** Kubernetes object names that end up in DNS (Services, Namespaces) are RFC 1035 labels: 63 characters. */
export const DNS_LABEL_MAX = 63;

/**
 * `${project}-${stage}-${name}`, made a valid RFC 1035 DNS label (lowercase letters, digits, '-', starting
 * with a letter, at most `maxLength`). When it must be shortened, a hash of the full name is kept at the end
 * so two long names never collide.
 *
 * @example physicalName({ project: "mlops", stage: "prod", name: "fraud" }) // "mlops-prod-fraud"
 */
export function physicalName(parts: NameParts, maxLength: number = DNS_LABEL_MAX): string {
  return dnsLabel([parts.project, parts.stage, parts.name].join("-"), maxLength);
}

/** Any string as an RFC 1035 label of at most `maxLength` characters (see {@link physicalName}). */
export function dnsLabel(raw: string, maxLength: number = DNS_LABEL_MAX): string {
  let s = raw.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(s)) s = `x-${s}`.replace(/-+$/, "");
  if (s.length <= maxLength) return s;
  const hash = createHash("sha256").update(raw).digest("hex").slice(0, 7);
  return `${s.slice(0, maxLength - hash.length - 1).replace(/-+$/, "")}-${hash}`;
}

/** A valid label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending alphanumeric. */
export function labelValue(raw: string): string {
  const s = raw.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
  return s;
}

/** The label keys Kubernetes recommends (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */
export const LABEL = {
  name: "app.kubernetes.io/name",
  instance: "app.kubernetes.io/instance",
  version: "app.kubernetes.io/version",
  component: "app.kubernetes.io/component",
  partOf: "app.kubernetes.io/part-of",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

export interface LabelInput {
  /** The application, e.g. the endpoint's name (`fraud`). */
  readonly name: string;
  /** The unique instance: the physical name (`mlops-prod-fraud`). */
  readonly instance: string;
  /** The role in the architecture: `model-endpoint`, `training-job`, … */
  readonly component: string;
  /** The higher-level application: the project. */
  readonly partOf: string;
  /** @default - not set */
  readonly version?: string;
  /** @default "pulumi" */
  readonly managedBy?: string;
}

/** The recommended `app.kubernetes.io/*` labels, values sanitized to valid label values. */
export function recommendedLabels(input: LabelInput): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.name]: labelValue(input.name),
    [LABEL.instance]: labelValue(input.instance),
    [LABEL.component]: labelValue(input.component),
    [LABEL.partOf]: labelValue(input.partOf),
    [LABEL.managedBy]: labelValue(input.managedBy ?? "pulumi"),
  };
  if (input.version) labels[LABEL.version] = labelValue(input.version);
  return labels;
}

/**
 * The stable subset used in selectors (Deployment, Service, PDB, NetworkPolicy): name and instance. A
 * Deployment's selector is immutable, so it must not include labels that change (version).
 */
export function selectorLabels(input: Pick<LabelInput, "name" | "instance">): Record<string, string> {
  return { [LABEL.name]: labelValue(input.name), [LABEL.instance]: labelValue(input.instance) };
}
