import { readFile } from "node:fs/promises";
import { z } from "zod";
import YAML from "yaml";
import { MlopsError } from "../src/errors.js";
import { EndpointSpecSchema, parseEndpointSpec } from "../src/spec/endpoint.js";
import { FeatureStoreSpecSchema, parseFeatureStoreSpec } from "../src/spec/features.js";
import { TrainSpecSchema, parseTrainSpec } from "../src/spec/train.js";
import { parse, positionals } from "./args.js";

const USAGE = "mlops spec schema <train|endpoint|features> | mlops spec validate <train|endpoint|features> <file.yaml|json>";
const SCHEMAS = { train: TrainSpecSchema, endpoint: EndpointSpecSchema, features: FeatureStoreSpecSchema } as const;
const PARSERS = { train: parseTrainSpec, endpoint: parseEndpointSpec, features: parseFeatureStoreSpec } as const;

/** `mlops spec schema <kind>` prints the JSON Schema (for editors and CI); `validate` checks a file. */
export async function specCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const { positionals: pos } = parse(argv, {}, USAGE);
  const [sub, kind, file] = pos;
  if (kind !== "train" && kind !== "endpoint" && kind !== "features") {
    throw MlopsError.of("<kind>", "is not a spec kind", kind, `Use "train", "endpoint" or "features".\nusage: ${USAGE}`);
  }
  if (sub === "schema") {
    positionals(pos, ["command", "kind"], USAGE);
    const schema = z.toJSONSchema(SCHEMAS[kind], { io: "input", unrepresentable: "any" });
    out(JSON.stringify({ $id: `https://pulumi-mlops.dev/schemas/${kind}-spec.json`, title: `${kind} spec`, ...schema }, null, 2));
    return 0;
  }
  if (sub === "validate") {
    positionals(pos, ["command", "kind", "file"], USAGE);
    const spec = await readSpecFile(file!);
    const parsed = PARSERS[kind](spec, file);
    out(JSON.stringify(parsed, null, 2));
    return 0;
  }
  throw new MlopsError(`unknown spec command ${JSON.stringify(sub ?? "")}\nusage: ${USAGE}`);
}

/** Reads a YAML or JSON spec file; a parse error names the file and the line, a read error `field` (the flag). */
export async function readSpecFile(path: string, field = "--spec"): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw MlopsError.of(field, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path, "Pass the path of a YAML or JSON spec file.");
  }
  try {
    return path.endsWith(".json") ? JSON.parse(text) : YAML.parse(text);
  } catch (e) {
    throw MlopsError.of(path, `is not valid ${path.endsWith(".json") ? "JSON" : "YAML"} (${(e as Error).message.split("\n")[0]})`, text.slice(0, 60), "Fix the syntax at the position given.");
  }
}
