/**
 * Health and metadata: `/v2/health/live|ready` (the kubelet probes), `GET /v2` (server metadata),
 * `GET /v2/models/{m}[/versions/{v}]` and its `/ready`. Routing, method and auth checks are app.ts's.
 */
import { SERVE_PATHS } from "../../../src/spec/endpoint.js";
import type { ServingVersion } from "../holder.js";
import { SERVER_NAME, SERVER_VERSION } from "../version.js";
import type { Reply, RouteContext } from "./reply.js";

const LIVE: Reply = { status: 200, body: '{"live":true}' };
const READY_OK: Reply = { status: 200, body: '{"ready":true}' };
const READY_NO: Reply = { status: 503, body: '{"ready":false}' };
/** What a client without the token reads while no version is loaded (with a reason code beside it). */
const NOT_LOADED = "model not loaded yet";
const SERVER_METADATA: Reply = { status: 200, body: JSON.stringify({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ["binary_tensor_data"] }) };

/** `GET /v2/health/live`: the process answers. */
export function live(): Reply {
  return LIVE;
}

/** `GET /v2/health/ready`: a version is loaded and the app is not draining. */
export function ready(ctx: RouteContext): Reply {
  return ctx.draining ? READY_NO : ctx.holder.serving === undefined ? notLoaded(ctx, { ready: false }, false) : READY_OK;
}

/**
 * The readiness the Deployment's kubelet probe reads (not part of the OIP; OIP clients use /v2/health/ready).
 * The components render the same path (components/model-endpoint/manifests.ts); the contract test boots this
 * runtime from the rendered probe, so the two cannot drift apart unnoticed.
 */
export const ROLLOUT_READY_PATH = SERVE_PATHS.rollout;

/**
 * `GET /v2/health/rollout`: 200 when a version is loaded, and also while the registry answers that the model
 * does not exist yet (`awaitingModel: true`, with why), so a fresh stage's Deployment becomes Available and
 * `pulumi up` completes; 503 while loading, while the registry cannot be read, and while draining.
 */
export function rolloutReady(ctx: RouteContext): Reply {
  if (ctx.draining) return READY_NO;
  if (ctx.holder.serving !== undefined) return READY_OK;
  if (!ctx.holder.awaitingFirstModel) return notLoaded(ctx, { ready: false }, false);
  return { status: 200, body: JSON.stringify({ ready: false, awaitingModel: true, error: NOT_LOADED, reason: ctx.holder.notLoadedCode().reason }) };
}

/** `GET /v2`: the server's name, version and extensions. */
export function serverMetadata(): Reply {
  return SERVER_METADATA;
}

/** `GET /v2/models/{m}[/versions/{v}]`: the served version's name, versions, platform and tensors. */
export function modelMetadata(serving: ServingVersion): Reply {
  return { status: 200, body: serving.metadata };
}

/** `GET /v2/models/{m}[/versions/{v}]/ready`: 503 while draining. */
export function modelReady(ctx: RouteContext, serving: ServingVersion): Reply {
  const name = serving.model.mv.name;
  return ctx.draining ? { status: 503, body: JSON.stringify({ name, ready: false }) } : { status: 200, body: JSON.stringify({ name, ready: true }) };
}

/**
 * 503 until the first version is loaded, with a reason code (`loading`, `not_found`, `access_denied`,
 * `unreachable`, `corrupt_artifact`, `error`) and Retry-After. The registry's own words (its URI, the models
 * and aliases it holds, the model reference) go only to a `detailed` answer, for a client that proved it holds
 * the token; everyone else reads them in the server's log, where every failed attempt is written.
 */
export function notLoaded(ctx: RouteContext, fields: Record<string, unknown>, detailed: boolean): Reply {
  const { reason, retryAfterSeconds } = ctx.holder.notLoadedCode();
  const error = detailed ? ctx.holder.notLoadedReason().message : NOT_LOADED;
  return { status: 503, body: JSON.stringify({ ...fields, error, reason }), headers: { "retry-after": String(retryAfterSeconds) } };
}
