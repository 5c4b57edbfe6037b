import * as pulumi from "@pulumi/pulumi";
import { beforeAll, beforeEach, describe, expect, test } from "vitest";
import { podSpecOf } from "../../helpers/k8s.js";
import { byType, k8sObjectsOfKind, outputOf, reset, setupMocks, waitForResources } from "../../helpers/pulumi-mocks.js";

let mod: typeof import("../../../components/runtime-image/index.js");
let endpointMod: typeof import("../../../components/model-endpoint/index.js");
let n = 0;

beforeAll(async () => {
  await setupMocks({ project: "mlops", stack: "dev" });
  mod = await import("../../../components/runtime-image/index.js");
  endpointMod = await import("../../../components/model-endpoint/index.js");
});
beforeEach(() => reset());

describe("RuntimeImage", () => {
  test("builds runtime/Dockerfile for linux/amd64 and does not push by default", async () => {
    new mod.RuntimeImage(`rt${++n}`);
    await waitForResources();
    const [image] = byType("docker:index/image:Image");
    expect(image!.inputs).toMatchObject({ skipPush: true, build: { platform: "linux/amd64" } });
    expect(String((image!.inputs.build as { dockerfile: string }).dockerfile)).toMatch(/runtime\/Dockerfile$/);
  });

  test("pushes to the repository given (an Output) and pins the reference by digest", async () => {
    const img = new mod.RuntimeImage(`rt${++n}`, { imageRepository: pulumi.output("123456789012.dkr.ecr.us-east-1.amazonaws.com/rt") });
    await waitForResources();
    const [image] = byType("docker:index/image:Image");
    expect(image!.inputs.skipPush).toBe(false);
    expect(image!.inputs.imageName).toMatch(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/rt:0\.1\.0-[0-9a-f]{12}$/);
    expect(await outputOf(img.ref)).toMatch(/^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/rt.*@sha256:/);
  });

  test("one image serves an endpoint, which then builds none of its own", async () => {
    const img = new mod.RuntimeImage(`rt${++n}`, { imageRepository: "registry.example.com/team/runtime" });
    new endpointMod.ModelEndpoint(`ep${n}`, { registry: "s3://models/x", model: "fraud@champion", kubernetes: { kubeconfig: "apiVersion: v1" }, image: img.ref });
    await waitForResources();
    expect(byType("docker:index/image:Image")).toHaveLength(1);
    const container = podSpecOf(k8sObjectsOfKind("Deployment")[0])!.containers[0];
    expect(container.image).toBe(await outputOf(img.ref));
  });

  test("tags the image with the package version and a digest of the build context", async () => {
    new mod.RuntimeImage(`rt${++n}`, { imageRepository: "registry.example.com/team/runtime" });
    await waitForResources();
    const [image] = byType("docker:index/image:Image");
    const { buildContextDigest } = await import("../../../components/shared/image.js");
    const { packageRoot } = await import("../../../src/package.js");
    expect(image!.inputs.imageName).toBe(`registry.example.com/team/runtime:0.1.0-${buildContextDigest(packageRoot()).slice(0, 12)}`);
  });

  test("passes baseImage to runtime/Dockerfile as NODE_IMAGE, and a new base is a new tag", async () => {
    const base = `node:24-bookworm-slim@sha256:${"a".repeat(64)}`;
    new mod.RuntimeImage(`rt${++n}`, { imageRepository: "registry.example.com/team/runtime" });
    new mod.RuntimeImage(`rt${++n}`, { imageRepository: "registry.example.com/team/runtime", baseImage: base });
    await waitForResources();
    const [plain, rebased] = byType("docker:index/image:Image");
    expect(rebased!.inputs.build).toMatchObject({ args: { NODE_IMAGE: base } });
    expect((plain!.inputs.build as { args?: unknown }).args).toBeUndefined();
    expect(rebased!.inputs.imageName).not.toBe(plain!.inputs.imageName);
  });

  test("fails when baseImage is not an image reference", () => {
    expect(() => new mod.RuntimeImage(`rt${++n}`, { baseImage: "node 24" })).toThrow(/baseImage/);
  });

  test("fails when the repository is not a string", () => {
    expect(() => new mod.RuntimeImage(`rt${++n}`, { imageRepository: 42 as unknown as string })).toThrow(/imageRepository/);
  });
});
