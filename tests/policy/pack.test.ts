/**
 * The pack as the Pulumi engine meets it. The engine starts the pack's folder (policy/) with Pulumi's
 * run-policy-pack, which loads package.json's "main" there, reads its version, and serves the analyzer
 * over gRPC. There is no engine here: this test starts the pack the same way from source and talks to it
 * as the engine does (GetAnalyzerInfo, Analyze), with @pulumi/pulumi's own analyzer protocol classes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import YAML from "yaml";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { POLICIES, POLICY_PACK_NAME } from "../../policy/policies.js";
import { ROOT } from "../helpers/cli.js";
import { startPack, type RunningPack } from "./analyzer.js";

const POLICY_DIR = join(ROOT, "policy");

describe("the pack's folder", () => {
  const pkg = JSON.parse(readFileSync(join(POLICY_DIR, "package.json"), "utf8"));
  const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));

  test("has the package's version (the engine reports it) and points main at the compiled pack", () => {
    expect(pkg.version).toBe(root.version);
    expect(pkg.type).toBe("module");
    // tsconfig.build.json compiles policy/index.ts (rootDir ".") into dist/policy/index.js.
    const build = JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8"));
    const base = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8"));
    expect(build.include).toContain("policy");
    expect([base.compilerOptions.outDir, base.compilerOptions.rootDir]).toEqual(["dist", "."]);
    expect(join(POLICY_DIR, pkg.main)).toBe(join(ROOT, "dist", "policy", "index.js"));
  });

  test("is shipped in the package with its PulumiPolicy.yaml for the nodejs runtime", () => {
    expect(root.files).toContain("policy");
    expect(root.dependencies["@pulumi/policy"]).toBeDefined();
    expect(YAML.parse(readFileSync(join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8"))).toMatchObject({ runtime: "nodejs", description: expect.any(String) });
  });

  test("names every policy once, in the engine's alphabet, none called all", () => {
    const names = POLICIES.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of [...names, POLICY_PACK_NAME]) expect(n).toMatch(/^[a-zA-Z0-9-_.]{1,100}$/);
    expect(names).not.toContain("all");
    expect(names.length).toBe(8);
  });
});

describe("served to the engine", () => {
  let pack: RunningPack;
  // As run-policy-pack does: the pack's folder is the working directory (PolicyPack reads ./package.json).
  beforeAll(async () => {
    pack = await startPack(["--import", "tsx", "index.ts"], POLICY_DIR);
  });
  afterAll(() => pack?.stop());
  const analyze = (type: string, urn: string, props: Record<string, unknown>) => pack.analyze(type, urn, props);

  const deployment = (image: string) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "fraud", namespace: "serving" },
    spec: {
      template: {
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "server",
              image,
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "1Gi" } },
            },
          ],
        },
      },
    },
  });

  test("reports its name, version and every policy", async () => {
    const info = await pack.info();
    expect(info).toEqual({ name: POLICY_PACK_NAME, version: JSON.parse(readFileSync(join(POLICY_DIR, "package.json"), "utf8")).version, policies: POLICIES.map((p) => p.name) });
  });

  test("refuses a tagged image in a prod stack and passes the same Deployment pinned by digest", async () => {
    const urn = "urn:pulumi:prod::shop::kubernetes:apps/v1:Deployment::fraud";
    const tagged = await analyze("kubernetes:apps/v1:Deployment", urn, deployment("r.example.com/mlops-runtime:1.2"));
    expect(tagged).toEqual([{ policy: "images-pinned-by-digest-in-prod", pack: POLICY_PACK_NAME, message: expect.stringContaining('"r.example.com/mlops-runtime:1.2" is not pinned by digest') }]);
    expect(await analyze("kubernetes:apps/v1:Deployment", urn, deployment(`r.example.com/mlops-runtime@sha256:${"c".repeat(64)}`))).toEqual([]);
  });

  test("still judges a pod during a preview while its namespace and a spec value are not known yet", async () => {
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // the engine's unknown string
    const d = deployment(`r.example.com/mlops-runtime@sha256:${"c".repeat(64)}`) as any;
    d.metadata.namespace = UNKNOWN;
    const c = d.spec.template.spec.containers[0];
    c.securityContext.privileged = true;
    c.env = [{ name: "MLOPS_ENDPOINT_SPEC", value: UNKNOWN }, { name: "AWS_SECRET_ACCESS_KEY", value: UNKNOWN }];
    const found = await analyze("kubernetes:apps/v1:Deployment", "urn:pulumi:dev::shop::kubernetes:apps/v1:Deployment::fraud", d);
    expect(found.map((x) => x.policy).sort()).toEqual(["pods-no-long-lived-cloud-keys", "pods-restricted"]);
    expect(found.find((x) => x.policy === "pods-restricted")!.message).toContain("privileged: true");
    expect(found.find((x) => x.policy === "pods-no-long-lived-cloud-keys")!.message).toContain("env AWS_SECRET_ACCESS_KEY: a long-lived cloud key from a value");
  });

  test("refuses a bucket with a public ACL, in any stage", async () => {
    const found = await analyze("aws:s3/bucket:Bucket", "urn:pulumi:dev::shop::aws:s3/bucket:Bucket::data", { acl: "public-read" });
    expect(found.map((d) => d.policy)).toEqual(["buckets-private"]);
  });
});
