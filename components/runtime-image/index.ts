import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { runtimeImage } from "../shared/image.js";
import type { Transform } from "../shared/transform.js";
import { inputString, validateArgs } from "../shared/validate.js";

export interface RuntimeImageArgs {
  /**
   * Where to push the image, e.g. an ECR repository URL (`123456789012.dkr.ecr.us-east-1.amazonaws.com/mlops-runtime`).
   * @default - not pushed: only a cluster that shares the local Docker engine (kind) can run it
   */
  readonly imageRepository?: pulumi.Input<string>;
  /** Credentials for `imageRepository`. @default - the Docker client's own login */
  readonly registry?: pulumi.Input<{ server: pulumi.Input<string>; username?: pulumi.Input<string>; password?: pulumi.Input<string> }>;
  /**
   * The Node.js base image, passed to runtime/Dockerfile as `NODE_IMAGE` (e.g. a newer digest, or a mirror
   * in your registry). It must be a Node.js LTS image with `node` and `npm` on Debian.
   * @default - the Dockerfile's: `node:24-bookworm-slim` pinned by digest
   * @example "node:24-bookworm-slim@sha256:<digest>"
   */
  readonly baseImage?: string;
  readonly transform?: { readonly image?: Transform<docker.ImageArgs> };
}

const ArgsSchema = z
  .object({
    imageRepository: inputString("must be a repository URL string or Output").optional(),
    registry: z.unknown().optional(),
    baseImage: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._/:-]*(@sha256:[0-9a-f]{64})?$/, 'must be an image reference such as "node:24-bookworm-slim@sha256:<digest>"')
      .optional(),
    transform: z.object({ image: z.function().optional() }).strict().optional(),
  })
  .strict();

/**
 * The runtime image (`runtime/Dockerfile` of this package: `mlops serve`, `mlops train`) built once with
 * `@pulumi/docker` and pushed, to hand to every component that runs it (`image: runtime.ref`), instead of
 * each component building its own copy.
 *
 * @example
 * const repo = new aws.ecr.Repository("runtime", { forceDelete: true });
 * const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId });
 * const runtime = new mlops.RuntimeImage("runtime", {
 *   imageRepository: repo.repositoryUrl,
 *   registry: { server: repo.repositoryUrl, username: token.userName, password: token.password },
 * });
 * new mlops.ModelEndpoint("fraud", { ..., image: runtime.ref });
 */
export class RuntimeImage extends pulumi.ComponentResource {
  static readonly TYPE = "mlops:runtime:RuntimeImage";
  /**
   * The image to run: pinned by digest when pushed. Its tag is content-derived
   * (`<package version>-<digest of the build context>`), so a repository may make tags immutable.
   */
  readonly ref: pulumi.Output<string>;
  private readonly image: docker.Image | undefined;

  constructor(name: string, args: RuntimeImageArgs = {}, opts: pulumi.ComponentResourceOptions = {}) {
    super(RuntimeImage.TYPE, name, {}, opts);
    validateArgs(ArgsSchema, args, { context: `new RuntimeImage("${name}")` });
    const built = runtimeImage(
      name,
      {
        ...(args.imageRepository !== undefined ? { imageRepository: args.imageRepository } : {}),
        ...(args.registry !== undefined ? { registry: args.registry } : {}),
        ...(args.baseImage !== undefined ? { baseImage: args.baseImage } : {}),
      },
      this,
      args.transform?.image,
    );
    this.ref = built.ref;
    this.image = built.resource;
    this.registerOutputs({ ref: this.ref });
  }

  /** The underlying resources. */
  get nodes(): { readonly image: docker.Image | undefined } {
    return { image: this.image };
  }
}
