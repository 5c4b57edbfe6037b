import { resolve } from "node:path";
import { MlopsError } from "../src/errors.js";
import { Registry, defaultRegistryUri, promoteVersion, readModelFile } from "../src/registry/index.js";
import { HelpRequested, intFlag, keyValues, numericKeyValues, parse, positionals } from "./args.js";

const USAGE = {
  register:
    "mlops registry register <name> --file <model.onnx> [--metric k=v]… [--param k=v]… [--alias <a>] [--registry <uri>] [--skip-load-check]",
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
      "skip-load-check": { type: "boolean" },
    },
    USAGE.register,
  );
  const [name] = positionals(pos, ["name"], USAGE.register);
  if (!values.file) throw new MlopsError(`--file is required\nusage: ${USAGE.register}`);
  const bytes = await readModelFile(resolve(values.file));
  // What cannot be served must not become a version an endpoint then fails to load.
  if (!values["skip-load-check"]) await checkServable(name!, bytes, resolve(values.file));
  const registry = await Registry.open(values.registry ?? defaultRegistryUri());
  const mv = await registry.register(name!, bytes, {
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
  const [{ versions, broken }, aliases] = await Promise.all([registry.survey(name!), registry.aliases(name!).catch((e: unknown) => e as Error)]);
  const aliasProblem = aliases instanceof Error ? aliases.message : undefined;
  if (values.json) {
    out(JSON.stringify({ name, aliases: aliasProblem ? {} : aliases, versions, ...(broken.length || aliasProblem ? { problems: [...broken.map((b) => b.problem), ...(aliasProblem ? [aliasProblem] : [])] } : {}) }, null, 2));
    return broken.length || aliasProblem ? 1 : 0;
  }
  const byVersion = new Map<number, string[]>();
  for (const [a, v] of Object.entries(aliasProblem ? {} : (aliases as Record<string, number>))) byVersion.set(v, [...(byVersion.get(v) ?? []), a]);
  const rows = versions.map((v) => [
    String(v.version),
    (byVersion.get(v.version) ?? []).sort().join(","),
    v.digest.slice(0, 19),
    v.createdAt,
    Object.entries(v.metrics)
      .map(([k, m]) => `${k}=${Number(m.toPrecision(4))}`)
      .join(" "),
  ]);
  for (const b of broken) rows.push([String(b.version), "", "CORRUPT", "", "(see below)"]);
  rows.sort((x, y) => Number(x[0]) - Number(y[0]));
  out(table(["VERSION", "ALIASES", "DIGEST", "CREATED", "METRICS"], rows));
  // The good versions are listed; what is wrong with the others is said, with the way to repair it.
  for (const problem of [...broken.map((b) => b.problem), ...(aliasProblem ? [aliasProblem] : [])]) process.stderr.write(`warning: ${problem}\n`);
  return broken.length || aliasProblem ? 1 : 0;
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

/** Loads the model in onnxruntime as `mlops serve` would; a model it cannot load is refused, naming why. */
async function checkServable(name: string, bytes: Buffer, file: string): Promise<void> {
  const { LoadedModel } = await import("../runtime/serve/model.js");
  const { UnservableModel } = await import("../runtime/serve/servable.js");
  const probe = { name, version: 0, digest: "sha256:", uri: file, format: "onnx", sizeBytes: bytes.length, metrics: {}, params: {}, lineage: {}, createdAt: "" } as const;
  let model: Awaited<ReturnType<typeof LoadedModel.load>>;
  try {
    model = await LoadedModel.load(probe as never, bytes);
  } catch (err) {
    if (err instanceof UnservableModel) {
      throw MlopsError.of("--file", `cannot be served: ${err.problems.join("; ")}`, file, "Export the model with tensor types the server serves, or pass --skip-load-check to register it anyway.");
    }
    const reason = ((err as Error).message ?? String(err)).split("\n")[0]!.slice(0, 300);
    throw MlopsError.of("--file", `cannot be served: onnxruntime does not load it as an ONNX model (${reason})`, file, "Export it with operators and types onnxruntime supports (check the opset), or pass --skip-load-check to register it anyway.");
  }
  model.retire();
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((c, i) => (c ?? "").padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}
