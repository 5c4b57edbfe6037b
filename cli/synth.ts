import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import YAML from "yaml";
import { MlopsError } from "../src/errors.js";
import { packageRoot } from "../src/package.js";
import { parse, positionals } from "./args.js";
import { mockCall, mockOutputs } from "./mock-cloud.js";

const USAGE = "mlops synth [--stack <stage>] --out <dir> [--project-dir <dir>]";
const MASK = "[secret]";
/**
 * What a secure config value reads as under synth. The plaintext is not here (it is encrypted with the
 * stack's secrets provider) and synth never needs it, but the program still validates its config: a stand-in
 * such as MASK (8 characters) fails a rule like "an auth token has at least 16 characters", so synth of a
 * stage with a secret auth token failed. The stand-in is long, a single token without spaces, and a
 * kubeconfig for keys that hold one, so that it passes the checks a real value would; `clean` then shows any
 * output that carries it as MASK, whether or not the program marked that output secret.
 */
export const SECRET_PLACEHOLDER = "mlops-synth-placeholder-for-a-secret-value";
/** A kubeconfig that parses (YAML) and names one context, `synth`, for keys that hold a kubeconfig. */
const KUBECONFIG_PLACEHOLDER = [
  "apiVersion: v1",
  "kind: Config",
  "clusters: [{ name: synth, cluster: { server: https://synth.invalid } }]",
  `users: [{ name: synth, user: { token: ${SECRET_PLACEHOLDER} } }]`,
  "contexts: [{ name: synth, context: { cluster: synth, user: synth } }]",
  "current-context: synth",
  "",
].join("\n");

/** The stand-in for the secure value of `key` (see SECRET_PLACEHOLDER). */
export function secretPlaceholder(key: string): string {
  return /kubeconfig/i.test(key) ? KUBECONFIG_PLACEHOLDER : SECRET_PLACEHOLDER;
}

/** One resource as the stack program registered it. */
export interface SynthResource {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export interface SynthResult {
  /** Relative path → file content, every Kubernetes object as YAML and `plan.json`. */
  files: Map<string, string>;
  resources: SynthResource[];
}

/**
 * `mlops synth`: runs the stack program offline under Pulumi's mocks and writes every Kubernetes object
 * as YAML (one file each, under `k8s/<namespace>/`) and every other resource into `plan.json` (type, name,
 * inputs; secret values masked). The same input gives byte-identical output.
 */
export async function synthCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    { stack: { type: "string" }, out: { type: "string" }, "project-dir": { type: "string" } },
    USAGE,
  );
  positionals(pos, [], USAGE);
  if (!values.out) throw new MlopsError(`--out is required\nusage: ${USAGE}`);
  const projectDir = resolve(values["project-dir"] ?? defaultProjectDir());
  const result = await synthesize({ projectDir, stack: values.stack ?? "dev" });
  const outDir = resolve(values.out);
  await rm(outDir, { recursive: true, force: true });
  for (const [rel, content] of result.files) {
    const path = join(outDir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  const k8s = [...result.files.keys()].filter((f) => f.startsWith("k8s/")).length;
  out(JSON.stringify({ stack: values.stack ?? "dev", out: outDir, kubernetesObjects: k8s, otherResources: result.resources.length - k8s }));
  return 0;
}

function defaultProjectDir(): string {
  if (existsSync(resolve("Pulumi.yaml"))) return process.cwd();
  return packageRoot();
}

/** Runs the Pulumi program of `projectDir` for `stack` under mocks; returns the rendered files. */
export async function synthesize(opts: { projectDir: string; stack: string }): Promise<SynthResult> {
  const project = await readProject(opts.projectDir);
  const config = await readStackConfig(project.configDir, project.name, opts.stack);
  const pulumi = await import("@pulumi/pulumi");
  const resources: SynthResource[] = [];
  pulumi.runtime.setAllConfig(config.values, config.secretKeys);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const inputs = args.inputs as Record<string, unknown>;
        resources.push({ type: args.type, name: args.name, inputs });
        return { id: `${args.name}-id`, state: mockState(args.type, args.name, inputs) };
      },
      call(args) {
        return mockCall(args.token, args.inputs as Record<string, unknown>);
      },
    },
    project.name,
    opts.stack,
    false,
  );
  // The stack program may look for an ambient kubeconfig; synth never contacts a cluster.
  process.env.MLOPS_SYNTH = "1";
  const main = resolve(opts.projectDir, project.main);
  await import(pathToFileURL(main).href);
  await pulumi.runtime.disconnect();
  for (const r of resources) r.inputs = (await resolveAssets(r.inputs)) as Record<string, unknown>;
  return render(resources, opts.projectDir);
}

async function readProject(dir: string): Promise<{ name: string; main: string; configDir: string }> {
  const path = join(dir, "Pulumi.yaml");
  let doc: { name?: unknown; main?: unknown; stackConfigDir?: unknown };
  try {
    doc = YAML.parse(await readFile(path, "utf8")) ?? {};
  } catch (e) {
    throw MlopsError.of("--project-dir", `has no readable Pulumi.yaml (${(e as Error).message.split("\n")[0]})`, dir, "Run synth from the project root or pass --project-dir.");
  }
  const main = typeof doc.main === "string" ? doc.main : "index.ts";
  const entry = main.endsWith(".ts") || main.endsWith(".js") ? main : join(main, "index.ts");
  const configDir = typeof doc.stackConfigDir === "string" ? join(dir, doc.stackConfigDir) : dir;
  return { name: String(doc.name), main: entry, configDir };
}

async function readStackConfig(dir: string, project: string, stack: string): Promise<{ values: Record<string, string>; secretKeys: string[] }> {
  const path = join(dir, `Pulumi.${stack}.yaml`);
  if (!existsSync(path)) {
    throw MlopsError.of("--stack", "has no stack file", stack, `Create ${path} (pulumi stack init ${stack}), or pick an existing stage.`);
  }
  const doc = (YAML.parse(await readFile(path, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [rawKey, value] of Object.entries(doc.config ?? {})) {
    const key = rawKey.includes(":") ? rawKey : `${project}:${rawKey}`;
    if (value && typeof value === "object" && "secure" in (value as object)) {
      // Encrypted with the stack's secrets provider, which is not here: synth never needs the plaintext.
      values[key] = secretPlaceholder(key);
      secretKeys.push(key);
    } else {
      values[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { values, secretKeys };
}

/** Outputs the mocks give back: inputs, the cloud's computed fields, a name for Kubernetes objects. */
function mockState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const state: Record<string, unknown> = { ...inputs, ...mockOutputs(type, name, inputs) };
  if (type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm")) {
    state.metadata = { name, ...((inputs.metadata as Record<string, unknown>) ?? {}) };
  }
  return state;
}

function isSecret(v: unknown): boolean {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270";
}

/**
 * The mocks receive a FileAsset/StringAsset as the object the program made, whose `path`/`text` are
 * promises: resolve them into the serialized form (`specialAssetSig`) that `clean` renders.
 */
async function resolveAssets(v: unknown): Promise<unknown> {
  if (Array.isArray(v)) return Promise.all(v.map(resolveAssets));
  if (!v || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  if (o.__pulumiAsset === true || o.__pulumiArchive === true) {
    const out: Record<string, unknown> = { "4dabf18193072939515e22adb298388d": o.__pulumiAsset ? "c44067f5952c0a294b673a41bacd8c17" : "0def7320c3a5731c473e5ecbe6d01bc7" };
    for (const k of ["path", "text", "uri"]) if (o[k] !== undefined) out[k] = await o[k];
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = await resolveAssets(x);
  return out;
}

/** An asset or archive as the mocks receive it (`specialAssetSig`/`specialArchiveSig` of @pulumi/pulumi's rpc.ts). */
function isAsset(v: unknown): v is Record<string, unknown> {
  const sig = !!v && typeof v === "object" ? (v as Record<string, unknown>)["4dabf18193072939515e22adb298388d"] : undefined;
  return sig === "c44067f5952c0a294b673a41bacd8c17" || sig === "0def7320c3a5731c473e5ecbe6d01bc7";
}

/** What a reviewer needs of an asset: the file it uploads (relative to the project), or the size of its text. */
function cleanAsset(v: Record<string, unknown>, root: string): Record<string, unknown> {
  if (typeof v.path === "string") return { asset: clean(v.path, root) };
  if (typeof v.text === "string") return { asset: `text of ${v.text.length} characters` };
  if (typeof v.uri === "string") return { asset: v.uri };
  return { asset: "archive" };
}

/**
 * Deep copy with secrets masked, unknowns made explicit, paths inside the project made relative (so the
 * output is the same in any checkout) and object keys in a stable order.
 */
function clean(v: unknown, root: string): unknown {
  if (isSecret(v)) return masked((v as Record<string, unknown>).value);
  if (isAsset(v)) return cleanAsset(v, root);
  if (Array.isArray(v)) return v.map((x) => clean(x, root));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const c = clean((v as Record<string, unknown>)[k], root);
      if (c !== undefined) out[k] = c;
    }
    return out;
  }
  if (v === "04da6b54-80e4-46f7-96ec-b56ff0331ba9") return "(known after apply)";
  if (typeof v === "string" && v.includes(SECRET_PLACEHOLDER)) return MASK;
  if (typeof v === "string" && (v === root || v.startsWith(root + "/"))) return "." + v.slice(root.length);
  return v;
}

/**
 * A secret value as MASK; a secret object or list keeps its shape with every value masked, so a Secret whose
 * whole `stringData` is secret still renders as a mapping (keys name the fields, never hold the values).
 */
function masked(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(masked);
  if (v && typeof v === "object" && !isSecret(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, masked((v as Record<string, unknown>)[k])]));
  return MASK;
}

/**
 * A Kubernetes object type token such as `kubernetes:apps/v1:Deployment` (not Helm, not providers, not a
 * `kubernetes:yaml/v2:ConfigGroup` of manifests fetched at deploy time, which plan.json lists).
 */
function isK8sObject(type: string): boolean {
  return /^kubernetes:[a-z0-9.]*\/?v[0-9a-z]+:[A-Za-z]+$/.test(type) && !/^kubernetes:(helm\.sh|yaml)\//.test(type) && !type.endsWith("List") && !type.endsWith("Patch");
}

function render(resources: SynthResource[], root: string): SynthResult {
  const files = new Map<string, string>();
  const plan: Array<{ type: string; name: string; inputs: unknown }> = [];
  const sorted = [...resources].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type.localeCompare(b.type)));
  for (const r of sorted) {
    const inputs = clean(r.inputs, root) as Record<string, unknown>;
    if (isK8sObject(r.type)) {
      const metadata = (inputs.metadata as Record<string, unknown>) ?? {};
      const ns = typeof metadata.namespace === "string" ? metadata.namespace : "_cluster";
      const kind = String(inputs.kind ?? r.type.split(":")[2]).toLowerCase();
      const objName = typeof metadata.name === "string" ? metadata.name : r.name;
      const obj = { apiVersion: inputs.apiVersion, kind: inputs.kind, ...inputs };
      let path = `k8s/${ns}/${kind}-${objName}.yaml`;
      for (let i = 2; files.has(path); i++) path = `k8s/${ns}/${kind}-${objName}-${i}.yaml`;
      files.set(path, YAML.stringify(obj, { sortMapEntries: false, lineWidth: 0 }));
    } else if (!r.type.startsWith("mlops:") && r.type !== "pulumi:pulumi:Stack") {
      plan.push({ type: r.type, name: r.name, inputs });
    }
  }
  files.set("plan.json", JSON.stringify({ resources: plan }, null, 2) + "\n");
  return { files, resources };
}
