import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import YAML from "yaml";
import { MlopsError } from "../src/errors.js";
import { Registry, defaultRegistryUri } from "../src/registry/index.js";
import { createRelease, diffReleases, isDeployedChange, listReleases, resolveRelease } from "../src/release/index.js";
import { HelpRequested, parse, positionals } from "./args.js";
import { table } from "./registry.js";

const USAGE = {
  create:
    "mlops release create <name> --model <name>@<alias>|<name>:<version> [--image <ref>@sha256:<hex>] [--endpoint <spec.yaml>] [--registry <uri>] [--feature-registry <uri>]",
  list: "mlops release list [<name>] [--registry <uri>] [--json]",
  show: "mlops release show <name>[@<digest>] [--registry <uri>]",
  diff: "mlops release diff <name>[@<digest>] <name>[@<digest>] [--registry <uri>] [--json]",
};

/** `mlops release create|list|show|diff`: content-addressed release records in a registry (src/release). */
export async function releaseCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") throw new HelpRequested(Object.values(USAGE).join("\n       "));
  switch (sub) {
    case "create":
      return create(rest, out);
    case "list":
      return list(rest, out);
    case "show":
      return show(rest, out);
    case "diff":
      return diff(rest, out);
    default:
      throw new MlopsError(`unknown release command ${JSON.stringify(sub ?? "")}\nusage:\n  ${Object.values(USAGE).join("\n  ")}`);
  }
}

async function create(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    { model: { type: "string" }, image: { type: "string" }, endpoint: { type: "string" }, registry: { type: "string" }, "feature-registry": { type: "string" } },
    USAGE.create,
  );
  const [name] = positionals(pos, ["name"], USAGE.create);
  if (!values.model) throw new MlopsError(`--model is required\nusage: ${USAGE.create}`);
  const endpoint = values.endpoint === undefined ? undefined : await readEndpointFile(values.endpoint);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const { record, created } = await createRelease(registry, name!, {
    model: values.model,
    ...(values.image !== undefined ? { image: values.image } : {}),
    ...(endpoint !== undefined ? { endpoint, endpointSource: resolve(values.endpoint!) } : {}),
    ...(values["feature-registry"] ? { featureRegistry: values["feature-registry"] } : {}),
  });
  const r = record.release;
  out(JSON.stringify({ name: r.name, digest: record.digest, created, createdAt: record.createdAt, model: `${r.model.name}:${r.model.version}`, modelDigest: r.model.digest, image: r.image?.ref ?? null }));
  return 0;
}

async function list(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { registry: { type: "string" }, json: { type: "boolean" } }, USAGE.list);
  if (pos.length > 1) positionals(pos, ["name"], USAGE.list);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const records = await listReleases(registry.store, pos[0]);
  if (values.json) {
    out(JSON.stringify(records, null, 2));
    return 0;
  }
  const rows = records.map((r) => [r.release.name, r.digest.slice(0, 19), r.createdAt, `${r.release.model.name}:${r.release.model.version}`, r.release.image?.ref.replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, "@sha256:$1…") ?? ""]);
  out(table(["NAME", "DIGEST", "CREATED", "MODEL", "IMAGE"], rows));
  return 0;
}

async function show(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { registry: { type: "string" } }, USAGE.show);
  const [ref] = positionals(pos, ["release"], USAGE.show);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  out(JSON.stringify(await resolveRelease(registry.store, ref!), null, 2));
  return 0;
}

async function diff(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { registry: { type: "string" }, json: { type: "boolean" } }, USAGE.diff);
  const [a, b] = positionals(pos, ["release", "release"], USAGE.diff);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const [ra, rb] = await Promise.all([resolveRelease(registry.store, a!, "<release a>"), resolveRelease(registry.store, b!, "<release b>")]);
  const changes = diffReleases(ra.release, rb.release);
  if (values.json) {
    out(JSON.stringify({ a: ra.digest, b: rb.digest, changes: changes.map((c) => ({ ...c, deployed: isDeployedChange(c) })) }, null, 2));
    return 0;
  }
  if (changes.length === 0) {
    out(`${ra.digest} and ${rb.digest}: the same release`);
    return 0;
  }
  const cell = (v: unknown) => (v === undefined ? "-" : typeof v === "string" ? v : JSON.stringify(v)).slice(0, 80);
  out(table(["PATH", "A", "B", "DEPLOYED"], changes.map((c) => [c.path, cell(c.a), cell(c.b), isDeployedChange(c) ? "yes" : ""])));
  return 0;
}

/** The EndpointSpec file `--endpoint` names, YAML or JSON (as `mlops spec` reads it). */
async function readEndpointFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw MlopsError.of("--endpoint", `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, file, "Pass the path of the endpoint's YAML or JSON spec.");
  }
  try {
    return file.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw MlopsError.of("--endpoint", `is not valid ${file.endsWith(".json") ? "JSON" : "YAML"} (${(e as Error).message.split("\n")[0]})`, file, "Fix the syntax at the position given.");
  }
}
