import { beforeAll, expect, test } from "vitest";
import { k8sObjectsOfKind, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

// A file of its own: the stage comes from the stack the mocks were set up with.
beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "prod" });
});

test("uses the prod stage's 3 to 20 replicas by default in prod", async () => {
  const { ModelEndpoint } = await import("../../../components/model-endpoint/index.js");
  new ModelEndpoint("fraud", { registry: "s3://models", model: "fraud@champion", kubernetes: { kubeconfig: "x" }, image: "i:1" });
  await waitForResources();
  const [hpa] = k8sObjectsOfKind("HorizontalPodAutoscaler");
  expect(hpa!.spec).toMatchObject({ minReplicas: 3, maxReplicas: 20 });
  expect(hpa!.metadata.name).toBe("mlops-prod-fraud");
});
