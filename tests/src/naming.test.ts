import { expect, test } from "vitest";
import { dnsLabel, labelValue, physicalName, recommendedLabels, selectorLabels } from "../../src/naming.js";

test("joins project, stage and name", () => {
  expect(physicalName({ project: "mlops", stage: "prod", name: "fraud" })).toBe("mlops-prod-fraud");
});

test("shortens a long name to 63 characters with a hash that keeps names distinct", () => {
  const a = physicalName({ project: "p", stage: "dev", name: "a".repeat(80) + "1" });
  const b = physicalName({ project: "p", stage: "dev", name: "a".repeat(80) + "2" });
  expect([a.length, b.length]).toEqual([63, 63]);
  expect(a).not.toBe(b);
  expect(a).toMatch(/^[a-z]([-a-z0-9]*[a-z0-9])?$/);
});

test("makes any string a DNS label starting with a letter", () => {
  expect(dnsLabel("My_Project.Prod--9")).toBe("my-project-prod-9");
  expect(dnsLabel("9lives")).toBe("x-9lives");
});

test("sanitizes label values", () => {
  expect(labelValue("fraud@champion")).toBe("fraud-champion");
  expect(labelValue("-x-")).toBe("x");
});

test("selector labels are a subset of the recommended labels", () => {
  const input = { name: "fraud", instance: "mlops-dev-fraud", component: "model-endpoint", partOf: "mlops" };
  expect(recommendedLabels(input)).toMatchObject(selectorLabels(input));
  expect(recommendedLabels(input)["app.kubernetes.io/managed-by"]).toBe("pulumi");
});
