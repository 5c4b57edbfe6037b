import { resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { Registry, defaultRegistryUri, promoteVersion } from "../src/registry/index.js";
import { HelpRequested, intFlag, keyValues, numericKeyValues, parse, positionals } from "./args.js";

const USAGE = {
  register:
    "mlops registry register <name> --file <model.onnx> [--metric k=v]… [--param k=v]… [--alias <a>] [--registry <uri>]",
  list: "mlops registry list <name> [--registry <uri>] [--json]",
  alias: "mlops registry alias <name> <alias> <version> [--registry <uri>]",
  promote: "mlops registry promote <name>@<alias>|<name>:<version> --from <uri> --to <uri> [--alias <a>]",
};

export async function registryCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "--help" || sub === "-h" || sub === "help") throw new HelpRequested(Object.values(USAGE).join("\n       "));
  switch (sub) {
    case "register":
      return register(rest, out);
    case "list":
      return list(rest, out);
    case "alias":
      return alias(rest, out);
    case "promote":
      return promote(rest, out);
    default:
      throw new MlopsError(
        `unknown registry command ${JSON.stringify(sub ?? "")}\nusage:\n  ${Object.values(USAGE).join("\n  ")}`,
      );
  }
}

async function register(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    {
      file: { type: "string" },
      metric: { type: "string", multiple: true },
      param: { type: "string", multiple: true },
      alias: { type: "string" },
      registry: { type: "string" },
      description: { type: "string" },
    },
    USAGE.register,
  );
  const [name] = positionals(pos, ["name"], USAGE.register);
  if (!values.file) throw new MlopsError(`--file is required\nusage: ${USAGE.register}`);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const mv = await registry.registerFile(name!, resolve(values.file), {
    metrics: numericKeyValues(values.metric, "metric"),
    params: keyValues(values.param, "param"),
    ...(values.alias ? { alias: values.alias } : {}),
    ...(values.description ? { description: values.description } : {}),
  });
  out(JSON.stringify({ name: mv.name, version: mv.version, digest: mv.digest, uri: mv.uri }));
  return 0;
}

async function list(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    { registry: { type: "string" }, json: { type: "boolean" } },
    USAGE.list,
  );
  const [name] = positionals(pos, ["name"], USAGE.list);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const [versions, aliases] = await Promise.all([registry.list(name!), registry.aliases(name!)]);
  if (values.json) {
    out(JSON.stringify({ name, aliases, versions }, null, 2));
    return 0;
  }
  const byVersion = new Map<number, string[]>();
  for (const [a, v] of Object.entries(aliases)) byVersion.set(v, [...(byVersion.get(v) ?? []), a]);
  const rows = versions.map((v) => [
    String(v.version),
    (byVersion.get(v.version) ?? []).sort().join(","),
    v.digest.slice(0, 19),
    v.createdAt,
    Object.entries(v.metrics)
      .map(([k, m]) => `${k}=${Number(m.toPrecision(4))}`)
      .join(" "),
  ]);
  out(table(["VERSION", "ALIASES", "DIGEST", "CREATED", "METRICS"], rows));
  return 0;
}

async function alias(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(argv, { registry: { type: "string" } }, USAGE.alias);
  const [name, aliasName, version] = positionals(pos, ["name", "alias", "version"], USAGE.alias);
  const v = intFlag(version, "version", 1, 1);
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  await registry.setAlias(name!, aliasName!, v);
  out(JSON.stringify({ name, alias: aliasName, version: v }));
  return 0;
}

/** `mlops registry promote`: {@link promoteVersion} between the registries at --from and --to. */
async function promote(argv: string[], out: (s: string) => void): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    { from: { type: "string" }, to: { type: "string" }, alias: { type: "string" } },
    USAGE.promote,
  );
  const [ref] = positionals(pos, ["model"], USAGE.promote);
  if (!values.from || !values.to) throw new MlopsError(`--from and --to are required\nusage: ${USAGE.promote}`);
  if (values.from === values.to) {
    throw MlopsError.of("--to", "is the same registry as --from", values.to, "Promote into the next stage's registry (e.g. --to s3://models-prod).");
  }
  const source = await Registry.open(values.from);
  const target = await Registry.open(values.to);
  const r = await promoteVersion(source, target, ref!, values.alias ? { alias: values.alias } : {});
  const { name, version, digest, uri } = r.promoted;
  out(JSON.stringify({ name, version, digest, uri, from: r.promotedFrom, alias: r.alias ?? null, copied: r.copied }));
  return 0;
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? "").padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
