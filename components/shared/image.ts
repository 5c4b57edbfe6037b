import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { packageRoot, packageVersion } from "../../src/package.js";
import { applyTransform, type Transform } from "./transform.js";

/** The image repository used when none is given (the image is then built but not pushed). */
export const LOCAL_RUNTIME_IMAGE = "pulumi-mlops-runtime";
/** Kubernetes nodes this package's runtime image is built for (its onnxruntime binaries are linux/x64 only). */
export const RUNTIME_PLATFORM = "linux/amd64";

export interface RuntimeImageArgs {
  /** A ready image; nothing is built. */
  readonly image?: pulumi.Input<string>;
  /** Where to push the built image, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-runtime`. */
  readonly imageRepository?: pulumi.Input<string>;
  /** Credentials for `imageRepository`. @default - the Docker client's own login */
  readonly registry?: pulumi.Input<{ server: pulumi.Input<string>; username?: pulumi.Input<string>; password?: pulumi.Input<string> }>;
}

/** The runtime image's build context: the package root, which holds runtime/Dockerfile. */
export function dockerContext(): string {
  const root = packageRoot();
  if (!existsSync(join(root, "runtime", "Dockerfile"))) throw new Error(`runtime/Dockerfile is missing from the package at ${root}`);
  return root;
}

/**
 * The runtime image to run: the one named, else one built by `@pulumi/docker` from runtime/Dockerfile at
 * the package root (pushed to `imageRepository` when given; without it the image stays in the local
 * Docker engine, which only a local cluster such as kind can use).
 */
export function runtimeImage(
  name: string,
  args: RuntimeImageArgs,
  parent: pulumi.Resource,
  transform?: Transform<docker.ImageArgs>,
): { ref: pulumi.Output<string>; resource?: docker.Image } {
  if (args.image) return { ref: pulumi.output(args.image) };
  const root = dockerContext();
  const repository = args.imageRepository ?? LOCAL_RUNTIME_IMAGE;
  const imageArgs: docker.ImageArgs = {
    imageName: pulumi.interpolate`${repository}:${packageVersion()}`,
    build: { context: root, dockerfile: join(root, "runtime", "Dockerfile"), platform: RUNTIME_PLATFORM },
    skipPush: args.imageRepository === undefined,
    ...(args.registry ? { registry: args.registry } : {}),
  };
  const resource = new docker.Image(`${name}-image`, ...applyTransform(transform, `${name}-image`, imageArgs, { parent }));
  // A pushed image is pinned by digest so that a rebuild rolls the Deployment out.
  const ref = args.imageRepository
    ? pulumi.all([resource.repoDigest, resource.imageName]).apply(([digest, image]) => digest || image)
    : resource.imageName;
  return { ref, resource };
}
