import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { MlopsError } from "../../../src/errors.js";
import { byType, findResource, outputOf, policyOf, type RecordedResource, reset, setupMocks, trustOf, waitForResources } from "../../helpers/pulumi-mocks.js";

type Mod = typeof import("../../../components/training-cluster/index.js");
let mod: Mod;
let n = 0;

beforeAll(async () => {
  await setupMocks({ stack: "dev" });
  mod = await import("../../../components/training-cluster/index.js");
});
beforeEach(() => reset());

/** A fresh EKS cluster (its own logical name, so its children never clash with another test's). */
function eksCluster() {
  const name = `sa${++n}`;
  const cluster = new mod.TrainingCluster(name, { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] });
  return { name, cluster };
}
function kubeconfigCluster() {
  return new mod.TrainingCluster(`kc${++n}`, { kubeconfig: "apiVersion: v1" });
}
/** The recorded resource of `type` named `name`; throws listing the names when there is none. */
function named(type: string, name: string): RecordedResource {
  const found = byType(type).find((r) => r.name === name);
  if (!found) throw new Error(`no ${type} named ${name}; have ${byType(type).map((r) => r.name).join(", ")}`);
  return found;
}
const args = { namespace: "batch", serviceAccount: "scorer", read: ["s3://models/registry"] };

describe("on EKS", () => {
  test("trusts only the named namespace:serviceAccount through the cluster's OIDC provider", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", args);
    await waitForResources();
    const oidc = findResource("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    const issuer = (await outputOf(cluster.nodes.eks!.oidcIssuer)).replace(/^https:\/\//, "");
    const [statement] = trustOf(`${name}-scorer-role`).Statement;
    expect(statement).toEqual({
      Effect: "Allow",
      Principal: { Federated: oidc.state.arn },
      Action: "sts:AssumeRoleWithWebIdentity",
      Condition: { StringEquals: { [`${issuer}:sub`]: "system:serviceaccount:batch:scorer", [`${issuer}:aud`]: "sts.amazonaws.com" } },
    });
  });

  test("returns the role it creates, named after the cluster and the name given", async () => {
    const { name, cluster } = eksCluster();
    const made = cluster.addServiceAccountRole("scorer", args);
    await waitForResources();
    expect(await outputOf(made!.arn)).toBe(named("aws:iam/role:Role", `${name}-scorer-role`).state.arn);
  });

  test("attaches the inline policy to the role it returns", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", args);
    await waitForResources();
    expect(named("aws:iam/rolePolicy:RolePolicy", `${name}-scorer-s3`).inputs.role).toBe(named("aws:iam/role:Role", `${name}-scorer-role`).id);
  });

  test("lets read locations be read and listed, and nothing else", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", args);
    await waitForResources();
    expect(policyOf(`${name}-scorer-role`).Statement).toEqual([
      { Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::models/registry", "arn:aws:s3:::models/registry/*"] },
      {
        Sid: "List1",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: "arn:aws:s3:::models",
        Condition: { StringLike: { "s3:prefix": ["registry", "registry/*"] } },
      },
    ]);
  });

  test("lets write locations be written too, resolving Outputs", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", { ...args, write: [pulumi.output("s3://scores/daily")] });
    await waitForResources();
    const write = policyOf(`${name}-scorer-role`).Statement.find((s) => [s.Action].flat().includes("s3:PutObject"));
    expect(write?.Resource).toEqual(["arn:aws:s3:::scores/daily", "arn:aws:s3:::scores/daily/*"]);
  });

  test("parents the resources to the cluster by default", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", args);
    await waitForResources();
    expect(named("aws:iam/role:Role", `${name}-scorer-role`).options.parent).toBe(await outputOf(cluster.urn));
  });

  test("parents the resources to opts.parent when given", async () => {
    const { name, cluster } = eksCluster();
    const owner = new pulumi.ComponentResource("test:index:Owner", `owner${n}`);
    cluster.addServiceAccountRole("scorer", args, { parent: owner });
    await waitForResources();
    const ownerUrn = await outputOf(owner.urn);
    expect(named("aws:iam/role:Role", `${name}-scorer-role`).options.parent).toBe(ownerUrn);
    expect(named("aws:iam/rolePolicy:RolePolicy", `${name}-scorer-s3`).options.parent).toBe(ownerUrn);
  });

  test("passes the other options on to both resources", async () => {
    const { name, cluster } = eksCluster();
    cluster.addServiceAccountRole("scorer", args, { protect: true });
    await waitForResources();
    expect(named("aws:iam/role:Role", `${name}-scorer-role`).options.protect).toBe(true);
    expect(named("aws:iam/rolePolicy:RolePolicy", `${name}-scorer-s3`).options.protect).toBe(true);
  });
});

describe("on a cluster reached by kubeconfig", () => {
  test("returns undefined and creates nothing", async () => {
    const cluster = kubeconfigCluster();
    await waitForResources();
    reset();
    expect(cluster.addServiceAccountRole("scorer", args)).toBeUndefined();
    await waitForResources();
    expect(byType("aws:iam/role:Role")).toHaveLength(0);
    expect(byType("aws:iam/rolePolicy:RolePolicy")).toHaveLength(0);
  });

  test("fails when the args are invalid, as on EKS", () => {
    expect(() => kubeconfigCluster().addServiceAccountRole("scorer", { ...args, namespace: "Batch" })).toThrow(MlopsError);
  });
});

describe("validation", () => {
  const attempt = (over: object) => () => eksCluster().cluster.addServiceAccountRole("scorer", { ...args, ...over });

  test("fails when the namespace is not a DNS label", () => {
    expect(attempt({ namespace: "Batch_Jobs" })).toThrow(/args\.namespace: must be a namespace name.*received "Batch_Jobs"/s);
  });

  test("fails when a location is not an s3:// URI", () => {
    expect(attempt({ read: ["file:///models"] })).toThrow(/args\.read\[0\]: must be an s3:\/\/ URI/);
  });

  test("fails when no S3 location is given", () => {
    expect(attempt({ read: [] })).toThrow(/args\.read: gives no S3 location/);
  });

  test("fails when an unknown option is given, naming it", () => {
    expect(attempt({ writes: ["s3://x"] })).toThrow(/Remove writes/);
  });

  test("creates nothing when it fails", async () => {
    expect(attempt({ serviceAccount: "" })).toThrow(MlopsError);
    await waitForResources();
    expect(byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-scorer-role"))).toEqual([]);
  });
});
