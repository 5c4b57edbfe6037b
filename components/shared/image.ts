import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
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
  /**
   * The Node.js base image (`NODE_IMAGE` of runtime/Dockerfile), e.g. a newer digest of the same tag or a
   * mirror in your own registry. @default - the Dockerfile's own: Node 24 LTS (bookworm-slim), pinned by digest
   */
  readonly baseImage?: string;
}

/**
 * What runtime/Dockerfile copies into the image (its COPY lines), relative to the package root: the
 * inputs of the content-derived tag.
 */
export const RUNTIME_BUILD_INPUTS = ["package.json", "package-lock.json", ".npmrc", "tsconfig.json", "tsconfig.build.json", "index.ts", "src", "cli", "components", "runtime"] as const;

/**
 * A digest of the build context: every file runtime/Dockerfile copies, by path and content, and the base
 * image. The image tag is `<package version>-<first 12 hex digits>`, so a tag names one content and can
 * be immutable in the registry (ECR `IMMUTABLE`): a changed context is a new tag, an unchanged one the same
 * tag (nothing to push). The package version alone would be reused by every unreleased change.
 */
export function buildContextDigest(root: string, baseImage = ""): string {
  // Once per process and input: a program builds the image once, but every component that could build
  // one asks (the files do not change while a program runs).
  const key = `${root}\0${baseImage}`;
  const known = digests.get(key);
  if (known) return known;
  const hash = createHash("sha256").update(`base:${baseImage}\0`);
  const files: string[] = [];
  const walk = (path: string): void => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) if (entry !== "node_modules" && entry !== "dist") walk(join(path, entry));
    } else {
      files.push(path);
    }
  };
  for (const input of RUNTIME_BUILD_INPUTS) walk(join(root, input));
  for (const file of files) hash.update(`${relative(root, file).split(sep).join("/")}\0`).update(readFileSync(file)).update("\0");
  const digest = hash.digest("hex");
  digests.set(key, digest);
  return digest;
}
const digests = new Map<string, string>();

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
  const tag = `${packageVersion()}-${buildContextDigest(root, args.baseImage).slice(0, 12)}`;
  const imageArgs: docker.ImageArgs = {
    imageName: pulumi.interpolate`${repository}:${tag}`,
    build: {
      context: root,
      dockerfile: join(root, "runtime", "Dockerfile"),
      platform: RUNTIME_PLATFORM,
      ...(args.baseImage ? { args: { NODE_IMAGE: args.baseImage } } : {}),
    },
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
