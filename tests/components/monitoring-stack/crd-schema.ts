/**
 * Validates custom resources against their CRD's structural OpenAPI v3 schema, as the API server does
 * before admission: types, required fields, enums, patterns, bounds, and unknown fields (which the API
 * server prunes silently, so an object that "applies" may still lose the field that mattered). CEL rules
 * (`x-kubernetes-validations`) are not evaluated. The schemas are the Prometheus Operator v0.93.1 CRDs
 * (tests/fixtures/prometheus-operator-v0.93.1, descriptions removed).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures", "prometheus-operator-v0.93.1");
const SCHEMAS: Record<string, string> = { ServiceMonitor: "servicemonitors", PrometheusRule: "prometheusrules" };

/** The kinds this helper has a schema for. */
export const CRD_KINDS = Object.keys(SCHEMAS);

function schemaOf(kind: string): Schema {
  const file = SCHEMAS[kind];
  if (!file) throw new Error(`no CRD schema for ${kind}`);
  return (JSON.parse(readFileSync(join(FIXTURES, `${file}.schema.json`), "utf8")) as { openAPIV3Schema: Schema }).openAPIV3Schema;
}

/** Every problem of `obj` against its kind's schema, `<path>: <problem>`; empty when valid. */
export function validateCustomResource(obj: Record<string, unknown>): string[] {
  const out: string[] = [];
  const root = schemaOf(String(obj.kind));
  // metadata is the API server's ObjectMeta, not part of the CRD schema.
  const { metadata: _m, ...rest } = obj;
  walk(rest, { ...root, properties: { ...root.properties, metadata: undefined as never } }, "", out);
  return out;
}

function walk(value: unknown, s: Schema, path: string, out: string[]): void {
  const at = path || "/";
  if (value === undefined) return;
  if (s["x-kubernetes-int-or-string"]) {
    if (typeof value !== "string" && !Number.isInteger(value)) out.push(`${at}: must be an integer or a string`);
    return;
  }
  switch (s.type) {
    case "object": {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return void out.push(`${at}: must be an object`);
      const o = value as Record<string, unknown>;
      for (const r of s.required ?? []) if (o[r] === undefined) out.push(`${at}: missing required field ${r}`);
      for (const [k, v] of Object.entries(o)) {
        const sub = s.properties?.[k];
        if (sub) walk(v, sub, `${path}.${k}`, out);
        else if (s.properties && k in s.properties) continue;
        else if (typeof s.additionalProperties === "object") walk(v, s.additionalProperties, `${path}.${k}`, out);
        else if (!s["x-kubernetes-preserve-unknown-fields"] && s.additionalProperties !== true) out.push(`${path}.${k}: unknown field`);
      }
      return;
    }
    case "array":
      if (!Array.isArray(value)) return void out.push(`${at}: must be an array`);
      if (s.minItems !== undefined && value.length < s.minItems) out.push(`${at}: needs at least ${s.minItems} items`);
      value.forEach((v, i) => s.items && walk(v, s.items, `${path}[${i}]`, out));
      return;
    case "string":
      if (typeof value !== "string") return void out.push(`${at}: must be a string, got ${JSON.stringify(value)}`);
      if (s.pattern && !new RegExp(s.pattern).test(value)) out.push(`${at}: ${JSON.stringify(value)} does not match ${s.pattern}`);
      if (s.minLength !== undefined && value.length < s.minLength) out.push(`${at}: shorter than ${s.minLength}`);
      if (s.maxLength !== undefined && value.length > s.maxLength) out.push(`${at}: longer than ${s.maxLength}`);
      break;
    case "integer":
      if (!Number.isInteger(value)) return void out.push(`${at}: must be an integer, got ${JSON.stringify(value)}`);
      break;
    case "number":
      if (typeof value !== "number") return void out.push(`${at}: must be a number`);
      break;
    case "boolean":
      if (typeof value !== "boolean") return void out.push(`${at}: must be a boolean`);
      break;
    default:
      break;
  }
  if (s.enum && !s.enum.includes(value)) out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`);
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${at}: below ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${at}: above ${s.maximum}`);
  }
}
