import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
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

/** The package root (where runtime/Dockerfile is), from this file's location in the source or in dist/. */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, "runtime", "Dockerfile")) && existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`runtime/Dockerfile not found above ${from}`);
    dir = up;
  }
}

function packageVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
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
  const root = packageRoot();
  const repository = args.imageRepository ?? LOCAL_RUNTIME_IMAGE;
  const imageArgs: docker.ImageArgs = {
    imageName: pulumi.interpolate`${repository}:${packageVersion(root)}`,
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
