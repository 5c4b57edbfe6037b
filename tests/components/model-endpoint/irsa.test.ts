import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { byType, findResource, k8sObjectsOfKind, outputOf, reset, setupMocks, waitForResources, type RecordedResource } from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;
type ClusterMod = typeof import("../../../components/training-cluster/index.js");
let mod: EndpointMod;
let clusterMod: ClusterMod;
let registryMod: typeof import("../../../components/model-registry/index.js");
let k8s: typeof import("@pulumi/kubernetes");
let n = 0;

const IRSA = "eks.amazonaws.com/role-arn";

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  k8s = await import("@pulumi/kubernetes");
  mod = await import("../../../components/model-endpoint/index.js");
  clusterMod = await import("../../../components/training-cluster/index.js");
  registryMod = await import("../../../components/model-registry/index.js");
});
beforeEach(() => reset());

/** An EKS TrainingCluster with a fresh name; `kubeconfig` gives one reached by kubeconfig instead. */
function cluster(kind: "eks" | "kubeconfig" = "eks", name = `c${++n}`) {
  return new clusterMod.TrainingCluster(
    name,
    kind === "eks" ? { eks: { version: "1.35", subnetIds: ["subnet-a", "subnet-b"] }, nodePools: [] } : { kubeconfig: "apiVersion: v1" },
  );
}

/** Creates an endpoint with a fresh name on `kubernetes` and waits for every child to reach the mocks. */
async function make(kubernetes: EndpointArgs["kubernetes"], over: Partial<EndpointArgs> = {}) {
  const name = `fraud${++n}`;
  const endpoint = new mod.ModelEndpoint(name, {
    registry: "s3://models/team",
    model: "fraud@champion",
    kubernetes,
    image: "registry.example.com/mlops-runtime:1",
    ...over,
  });
  await waitForResources();
  return { name, endpoint, physical: `mlops-dev-${name}` };
}

/** The role (and policy) the endpoint asked the cluster for: `<cluster>-<endpoint>-endpoint-role`. */
const endpointRoles = () => byType("aws:iam/role:Role").filter((r) => r.name.endsWith("-endpoint-role"));
const endpointPolicies = () => byType("aws:iam/rolePolicy:RolePolicy").filter((r) => r.name.endsWith("-endpoint-s3"));
const onlyOne = (rs: RecordedResource[]): RecordedResource => {
  expect(rs.map((r) => r.name)).toHaveLength(1);
  return rs[0]!;
};
const serviceAccount = (physical: string) => k8sObjectsOfKind("ServiceAccount").find((s) => s.metadata.name === physical)!;

describe("on an EKS TrainingCluster", () => {
  test("makes a role named after the cluster and the endpoint", async () => {
    const { name } = await make(cluster("eks", "ml"));
    expect(onlyOne(endpointRoles()).name).toBe(`ml-${name}-endpoint-role`);
  });

  test("trusts only the endpoint's namespace:serviceAccount through the cluster's OIDC provider", async () => {
    const c = cluster();
    const { physical } = await make(c);
    const oidc = findResource("aws:iam/openIdConnectProvider:OpenIdConnectProvider");
    const issuer = (await outputOf(c.nodes.eks!.oidcIssuer)).replace(/^https:\/\//, "");
    const [statement] = JSON.parse(onlyOne(endpointRoles()).inputs.assumeRolePolicy).Statement;
    expect(statement.Principal).toEqual({ Federated: oidc.state.arn });
    expect(statement.Condition.StringEquals).toEqual({
      [`${issuer}:sub`]: `system:serviceaccount:${physical}:${physical}`,
      [`${issuer}:aud`]: "sts.amazonaws.com",
    });
  });

  test("trusts the ServiceAccount in the namespace given by name", async () => {
    const { physical } = await make(cluster(), { namespace: "serving" });
    expect(onlyOne(endpointRoles()).inputs.assumeRolePolicy).toContain(`"system:serviceaccount:serving:${physical}"`);
  });

  test("lets the role read and list the registry prefix only, without write", async () => {
    await make(cluster());
    const statements = JSON.parse(onlyOne(endpointPolicies()).inputs.policy).Statement;
    expect(statements).toEqual([
      { Sid: "Read", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::models/team", "arn:aws:s3:::models/team/*"] },
      { Sid: "List1", Effect: "Allow", Action: ["s3:ListBucket"], Resource: "arn:aws:s3:::models", Condition: { StringLike: { "s3:prefix": ["team", "team/*"] } } },
    ]);
  });

  test("lets the role read a ModelRegistry's bucket, once its URI resolves", async () => {
    const registry = new registryMod.ModelRegistry(`models${++n}`, { storage: { s3: {} } });
    await make(cluster(), { registry });
    const bucket = (await outputOf(registry.bucketName))!;
    const actions = JSON.parse(onlyOne(endpointPolicies()).inputs.policy).Statement.flatMap((s: { Action: string[] }) => s.Action);
    expect(onlyOne(endpointPolicies()).inputs.policy).toContain(`"arn:aws:s3:::${bucket}/*"`);
    expect(actions.sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
  });

  test("may decrypt with a ModelRegistry's KMS key, only through S3, and nothing more", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/models";
    const registry = new registryMod.ModelRegistry(`models${++n}`, { storage: { s3: { kmsKeyArn: key } } });
    await make(cluster(), { registry });
    const statements = JSON.parse(onlyOne(endpointPolicies()).inputs.policy).Statement as { Action: string[] }[];
    expect(statements.filter((s) => s.Action.some((a) => a.startsWith("kms:")))).toEqual([
      { Sid: "KmsRead", Effect: "Allow", Action: ["kms:Decrypt"], Resource: [key], Condition: { StringEquals: { "kms:ViaService": "s3.us-east-1.amazonaws.com" } } },
    ]);
  });

  test("uses registryKmsKeyArn for a registry given as an s3:// URI", async () => {
    const key = "arn:aws:kms:us-east-1:123456789012:key/team";
    await make(cluster(), { registryKmsKeyArn: key });
    const statements = JSON.parse(onlyOne(endpointPolicies()).inputs.policy).Statement as { Action: string[]; Resource: unknown }[];
    expect(statements.filter((s) => s.Action.includes("kms:Decrypt")).map((s) => s.Resource)).toEqual([[key]]);
  });

  test("annotates the ServiceAccount with the role's ARN", async () => {
    const { physical } = await make(cluster());
    expect(serviceAccount(physical).metadata.annotations).toEqual({ [IRSA]: onlyOne(endpointRoles()).state.arn });
  });

  test("deploys through the cluster's provider and lists no provider of its own among its nodes", async () => {
    const { endpoint } = await make(cluster("eks", "shared"));
    expect(findResource("kubernetes:apps/v1:Deployment").provider).toMatch(/pulumi:providers:kubernetes::shared-k8s::/);
    expect(endpoint.nodes.provider).toBeUndefined();
  });

  test("keeps the role among the endpoint's nodes, as its child", async () => {
    const { endpoint } = await make(cluster());
    const role = onlyOne(endpointRoles());
    expect(await outputOf(endpoint.nodes.role!.arn)).toBe(role.state.arn);
    expect(role.options.parent).toBe(await outputOf(endpoint.urn));
  });

  test("uses the serviceAccountRoleArn given instead of making a role", async () => {
    const { physical, endpoint } = await make(cluster(), { serviceAccountRoleArn: "arn:aws:iam::1:role/mine" });
    expect(endpointRoles()).toEqual([]);
    expect(endpoint.nodes.role).toBeUndefined();
    expect(serviceAccount(physical).metadata.annotations).toEqual({ [IRSA]: "arn:aws:iam::1:role/mine" });
  });

  test("makes no role for a file:// registry", async () => {
    const { physical } = await make(cluster(), { registry: "file:///models" });
    expect(endpointRoles()).toEqual([]);
    expect(serviceAccount(physical).metadata.annotations).toBeUndefined();
  });

  test("makes no role when the namespace is a Namespace resource, whose name is not known yet", async () => {
    const c = cluster();
    const ns = new k8s.core.v1.Namespace(`ns${++n}`, { metadata: { name: "serving" } }, { provider: c.provider });
    await make(c, { namespace: ns });
    expect(endpointRoles()).toEqual([]);
  });
});

describe("on a cluster reached by kubeconfig", () => {
  test("makes no role and leaves the ServiceAccount unannotated", async () => {
    const { physical } = await make(cluster("kubeconfig"));
    expect(byType("aws:iam/role:Role")).toEqual([]);
    expect(byType("aws:iam/rolePolicy:RolePolicy")).toEqual([]);
    expect(serviceAccount(physical).metadata.annotations).toBeUndefined();
  });

  test("still annotates the ServiceAccount with the serviceAccountRoleArn given", async () => {
    const { physical } = await make(cluster("kubeconfig"), { serviceAccountRoleArn: "arn:aws:iam::1:role/mine" });
    expect(serviceAccount(physical).metadata.annotations).toEqual({ [IRSA]: "arn:aws:iam::1:role/mine" });
  });
});

describe("with any cluster object offering addServiceAccountRole", () => {
  /** A stand-in cluster that records what it is asked for and answers with no role. */
  function fakeCluster() {
    const asked: { name: string; args: import("../../../components/shared/index.js").ServiceAccountRoleArgs }[] = [];
    const provider = new k8s.Provider(`fake${++n}`, { kubeconfig: "apiVersion: v1" });
    return { asked, target: { provider, addServiceAccountRole: (name: string, args: (typeof asked)[number]["args"]) => void asked.push({ name, args }) } };
  }

  test("asks it for a role reading only the registry, for the endpoint's ServiceAccount", async () => {
    const { asked, target } = fakeCluster();
    const { name, physical } = await make(target);
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ name: `${name}-endpoint`, args: { namespace: physical, serviceAccount: physical } });
    expect(asked[0]!.args.write).toBeUndefined();
    expect(await Promise.all(asked[0]!.args.read!.map((u) => outputOf(u)))).toEqual(["s3://models/team"]);
  });

  test("does not ask when given a plain { provider }", async () => {
    const { asked, target } = fakeCluster();
    await make({ provider: target.provider });
    expect(asked).toEqual([]);
  });
});
