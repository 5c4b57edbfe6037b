import { beforeAll, expect, test } from "vitest";
import { k8sObjectsOfKind, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

// A file of its own: the stage comes from the stack the mocks were set up with.
beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "staging" });
});

test("uses the staging stage's 2 to 4 replicas by default in staging", async () => {
  const { ModelEndpoint } = await import("../../../components/model-endpoint/index.js");
  new ModelEndpoint("fraud", { registry: "s3://models", model: "fraud@champion", kubernetes: { kubeconfig: "x" }, image: "i:1" });
  await waitForResources();
  const [hpa] = k8sObjectsOfKind("HorizontalPodAutoscaler");
  expect(hpa!.spec).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
  expect(hpa!.metadata.name).toBe("mlops-staging-fraud");
});
