/**
 * The AWS SDK is loaded when an S3 store is first used, not when the store module is imported: a command on
 * the local default (`file://` stores) does not pay its load (about a quarter of a second here). Checked in a
 * child process with a module-resolution hook that records every import of `@aws-sdk/client-s3`.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlops-lazy-sdk-"));
  await writeFile(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  if (specifier.startsWith("@aws-sdk/client-s3")) appendFileSync(process.env.SDK_TRACE, specifier + "\\n");\n  return next(specifier, context);\n}\n`);
  await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(`file://${join(dir, "hooks.mjs")}`)});\n`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `body` (ESM, with `openStore` in scope) in a child; answers the SDK imports seen. */
async function sdkImports(body: string, trace: string): Promise<string[]> {
  const script = `const { openStore } = await import(${JSON.stringify(join(ROOT, "src/store/index.ts"))});\n${body}\n`;
  await promisify(execFile)(process.execPath, ["--import", "tsx", "--import", join(dir, "register.mjs"), "--input-type=module", "-e", script], {
    cwd: ROOT,
    env: { ...process.env, SDK_TRACE: trace, AWS_MAX_ATTEMPTS: "1", MLOPS_S3_ENDPOINT: "http://127.0.0.1:9", AWS_ACCESS_KEY_ID: "x", AWS_SECRET_ACCESS_KEY: "y" },
    timeout: 60_000,
  });
  return (await readFile(trace, "utf8").catch(() => "")).split("\n").filter(Boolean);
}

it("a file:// store, and an S3 store opened but not used, load no AWS SDK", async () => {
  const seen = await sdkImports(`const f = openStore("file://${dir}/store");\nawait f.put("a/b", "x");\nif ((await f.get("a/b")).toString() !== "x") process.exit(1);\nopenStore("s3://acme-models/registry");`, join(dir, "trace-1"));
  expect(seen).toEqual([]);
});

it("an S3 store loads the SDK on its first call", async () => {
  const seen = await sdkImports(`const s = openStore("s3://acme-models/registry");\nawait s.exists("x").catch(() => {});`, join(dir, "trace-2"));
  expect(seen).toContain("@aws-sdk/client-s3");
});
