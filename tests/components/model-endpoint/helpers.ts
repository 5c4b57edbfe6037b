import { waitForResources } from "../../helpers/pulumi-mocks.js";

type EndpointMod = typeof import("../../../components/model-endpoint/index.js");
type EndpointArgs = import("../../../components/model-endpoint/index.js").ModelEndpointArgs;

/** The args every endpoint test starts from: an S3 registry, a kubeconfig cluster, a ready image. */
export const BASE_ENDPOINT_ARGS = {
  registry: "s3://models/team",
  model: "fraud@champion",
  kubernetes: { kubeconfig: "apiVersion: v1" },
  image: "registry.example.com/mlops-runtime:1",
} as const;

/** Creates an endpoint named `name` from the base args and `over`, and waits for every child to reach the mocks. */
export async function makeEndpoint(mod: EndpointMod, name: string, over: Partial<EndpointArgs> = {}) {
  const endpoint = new mod.ModelEndpoint(name, { ...BASE_ENDPOINT_ARGS, ...over });
  await waitForResources();
  return endpoint;
}
