/**
 * Retrying the first model load: the back-off schedule, and why an attempt failed. A server that starts
 * before its model exists (first training run still going, a fresh IRSA role whose S3 permissions have
 * not propagated, a registry that is briefly unreachable) keeps listening and retries, as KServe and
 * Triton do, rather than exiting into a crash loop.
 */
import { NotFoundError } from "../../src/errors.js";

/** Back-off between failed attempts at loading the first version. */
export interface RetryOptions {
  /** Wait after the first failure. @default 500 */
  readonly initialDelayMs?: number;
  /** Longest wait between attempts, jitter included. @default 30000 */
  readonly maxDelayMs?: number;
  /** Factor each wait grows by. @default 2 */
  readonly multiplier?: number;
  /** Fraction of each wait taken off at random, so replicas do not retry in step (0 to 1). @default 0.2 */
  readonly jitter?: number;
}

export const DEFAULT_LOAD_RETRY: Required<RetryOptions> = { initialDelayMs: 500, maxDelayMs: 30_000, multiplier: 2, jitter: 0.2 };

/** Fills in defaults and rejects settings that would spin or never retry. */
export function normalizeRetry(opts: RetryOptions = {}): Required<RetryOptions> {
  const o = { ...DEFAULT_LOAD_RETRY, ...withoutUndefined(opts) };
  if (!(o.initialDelayMs > 0) || !(o.maxDelayMs >= o.initialDelayMs) || !(o.multiplier >= 1) || !(o.jitter >= 0 && o.jitter <= 1)) {
    throw new Error(
      `invalid load retry settings ${JSON.stringify(o)}: need initialDelayMs > 0, maxDelayMs >= initialDelayMs, multiplier >= 1 and jitter in [0, 1]`,
    );
  }
  return o;
}

/**
 * Milliseconds to wait after the `failures`-th failed attempt in a row (1-based): `initialDelayMs`
 * multiplied by `multiplier` per earlier failure, capped at `maxDelayMs`, less up to `jitter` of it at random.
 */
export function retryDelayMs(failures: number, o: Required<RetryOptions>, random: () => number = Math.random): number {
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** Math.max(0, failures - 1));
  return Math.round(base * (1 - o.jitter * random()));
}

/** Why a load failed, as the `reason` label of `mlops_model_load_failures_total` and in logs. */
export type LoadFailureReason = "not_found" | "access_denied" | "unreachable" | "corrupt_artifact" | "error";

export const LOAD_FAILURE_REASONS: readonly LoadFailureReason[] = ["not_found", "access_denied", "unreachable", "corrupt_artifact", "error"];

/** What to check, per reason: the fix half of the log line and of the 503 answer. */
export const LOAD_FAILURE_HINTS: Record<LoadFailureReason, string> = {
  not_found: "register the model and set the alias the endpoint follows (the first training run may not have finished yet); retrying",
  access_denied: "the registry refused access: check the pod's IAM role or credentials (a new IRSA role can take a minute to apply); retrying",
  unreachable: "the registry could not be reached; retrying",
  corrupt_artifact: "the artifact cannot be loaded: register a good one and move the alias to it; retrying",
  error: "retrying",
};

/** Thrown by the holder when onnxruntime rejects the artifact bytes (not ONNX, truncated, unsupported). */
export class ArtifactRejected extends Error {
  override readonly name = "ArtifactRejected";
}

const ACCESS_NAMES = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "Forbidden",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidToken",
  "TokenRefreshRequired",
  "CredentialsProviderError",
  "UnrecognizedClientException",
]);
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EPIPE"]);

/** Sorts a load error into a reason, looking through `cause` chains (the AWS SDK and fetch wrap socket errors). */
export function classifyLoadError(err: unknown): LoadFailureReason {
  for (let e = err, depth = 0; e !== null && typeof e === "object" && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof NotFoundError) return "not_found";
    if (e instanceof ArtifactRejected) return "corrupt_artifact";
    const { name, code, message } = e as { name?: string; code?: string; message?: string };
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if ((name && ACCESS_NAMES.has(name)) || status === 401 || status === 403 || code === "EACCES" || code === "EPERM") return "access_denied";
    if (typeof message === "string" && /\bis corrupt\b/.test(message)) return "corrupt_artifact";
    if ((code && NETWORK_CODES.has(code)) || name === "TimeoutError" || name === "RequestTimeout" || (status !== undefined && status >= 500)) {
      return "unreachable";
    }
  }
  return "error";
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
