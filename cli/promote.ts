import { MlopsError, show } from "../src/errors.js";
import { Registry } from "../src/registry/index.js";
import { parseRequire, parseStackTarget, promoteRelease, type PromoteReleaseOptions, type SloOptions } from "../src/release/index.js";
import { parse, positionals } from "./args.js";

const USAGE =
  "mlops promote <release> --from <registry uri> --to <registry uri> [--alias champion] [--require gate,slo,no-drift|none]\n" +
  "              [--slo-query <promql> (--slo-min x | --slo-max x) --prometheus <url> [--window 1h]]\n" +
  "              [--stack <program dir>:<stack> [--image-config-key pulumi-mlops:image]] [--dry-run]";

/** Exit status of a promotion a check refused (as `mlops drift` exits 3 on drift): not a usage error. */
export const REFUSED_EXIT = 3;

/**
 * `mlops promote`: {@link promoteRelease} between two stages' registries. Prints one JSON object (the
 * outcome, as audited); a refusal also prints each failed check with its value on stderr and exits 3.
 */
export async function promoteCommand(argv: string[], out: (s: string) => void, err: (s: string) => void = (s) => process.stderr.write(s + "\n")): Promise<number> {
  const { values, positionals: pos } = parse(
    argv,
    {
      from: { type: "string" },
      to: { type: "string" },
      alias: { type: "string" },
      require: { type: "string" },
      "slo-query": { type: "string" },
      "slo-min": { type: "string" },
      "slo-max": { type: "string" },
      prometheus: { type: "string" },
      window: { type: "string" },
      stack: { type: "string" },
      "image-config-key": { type: "string" },
      "dry-run": { type: "boolean" },
    },
    USAGE,
  );
  const [ref] = positionals(pos, ["release"], USAGE);
  if (!values.from || !values.to) throw new MlopsError(`--from and --to are required\nusage: ${USAGE}`);
  const slo = sloOptions(values);
  const require = values.require !== undefined ? parseRequire(values.require) : undefined;
  if (require && slo && !require.includes("slo")) {
    throw MlopsError.of("--require", "leaves out slo, yet --slo-query is given", values.require, "Add slo to --require, or drop --slo-query.");
  }
  const opts: PromoteReleaseOptions = {
    ...(values.alias ? { alias: values.alias } : {}),
    ...(require ? { require } : {}),
    ...(slo ? { slo } : {}),
    ...(values["dry-run"] ? { dryRun: true } : {}),
  };
  if (values["image-config-key"] !== undefined && !values.stack) {
    throw MlopsError.of("--image-config-key", "needs --stack", values["image-config-key"], "Give --stack <program dir>:<stack> to say which stack's config it is.");
  }
  if (values.stack) {
    const target = parseStackTarget(values.stack);
    const key = values["image-config-key"];
    if (key !== undefined && !/^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/.test(key)) {
      throw MlopsError.of("--image-config-key", "is not a Pulumi config key", key, "Write <namespace>:<name>, e.g. pulumi-mlops:image.");
    }
    // Loaded only when a stack is named: everything else in promotion runs without the Pulumi SDK.
    const { automationDriver } = await import("./deploy-automation.js");
    Object.assign(opts, { stack: { driver: automationDriver({ onOutput: (s) => process.stderr.write(s) }), target, ...(key ? { imageConfigKey: key } : {}) } });
  }
  if (values.from === values.to) {
    throw MlopsError.of("--to", "is the same registry as --from", values.to, "Promote into the next stage's registry (e.g. --to s3://models-prod).");
  }
  const source = await Registry.open(values.from);
  const target = await Registry.open(values.to);
  const result = await promoteRelease(source, target, ref!, opts);
  out(JSON.stringify(result, null, 2));
  if (result.failed.length > 0) {
    for (const c of result.failed) err(`refused: check ${c.name} failed: ${c.detail} (value ${show(c.value ?? null)})`);
    return REFUSED_EXIT;
  }
  return 0;
}

function sloOptions(v: Record<string, string | boolean | undefined>): SloOptions | undefined {
  const query = v["slo-query"] as string | undefined;
  const given = ["slo-min", "slo-max", "prometheus", "window"].filter((k) => v[k] !== undefined);
  if (query === undefined) {
    if (given.length) throw MlopsError.of(`--${given[0]}`, "needs --slo-query", v[given[0]!], "Give --slo-query <promql> too, or drop it.");
    return undefined;
  }
  if (!v.prometheus) throw MlopsError.of("--prometheus", "is required with --slo-query", undefined, "Give Prometheus's base URL, e.g. --prometheus http://prometheus.monitoring:9090.");
  const num = (k: "slo-min" | "slo-max") => {
    const s = v[k] as string | undefined;
    if (s === undefined) return undefined;
    const n = Number(s);
    if (s.trim() === "" || !Number.isFinite(n)) throw MlopsError.of(`--${k}`, "is not a number", s, `Write e.g. --${k} 0.995.`);
    return n;
  };
  const min = num("slo-min");
  const max = num("slo-max");
  return { prometheus: v.prometheus as string, query, ...(v.window ? { window: v.window as string } : {}), ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}
